"""Retrieval indexes: exact brute force, ScaNN recall, per-request k, exclusion, fallback."""

import warnings

import numpy as np
import pytest

from tfdeeprec._keras import tf
from tfdeeprec.retrieval import (BruteForceIndex, ScannIndex, build_scann_index,
                                 scann_available, scann_parameters)
from tfdeeprec.retrieval import scann_index as scann_module

needs_scann = pytest.mark.skipif(not scann_available(), reason="scann is not installed")


def _clustered(n, d=16, clusters=20, noise=0.8, seed=0):
    """Unit vectors around random centres; the last rows serve as queries."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, d)) / np.sqrt(d)
    x = centres[rng.integers(0, clusters, n)] + noise * rng.normal(size=(n, d)) / np.sqrt(d)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype("float32")


def _exact(queries, items, k, exclude_positions=None):
    scores = queries @ items.T
    if exclude_positions is not None:
        for row, positions in enumerate(exclude_positions):
            scores[row, positions] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, order, axis=1), order


def _recall(found, exact):
    return np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(found, exact)])


class TestBruteForceIndex:
    def test_exact_top_k_matches_numpy(self):
        rng = np.random.default_rng(0)
        items = rng.normal(size=(300, 8)).astype("float32")
        queries = rng.normal(size=(7, 8)).astype("float32")
        scores, ids = BruteForceIndex(items, k_max=20)(queries, k=10)
        want_scores, want_ids = _exact(queries, items, 10)
        np.testing.assert_array_equal(ids.numpy(), want_ids)
        np.testing.assert_allclose(scores.numpy(), want_scores, rtol=1e-5)

    def test_k_is_chosen_per_request_and_clipped_to_k_max(self):
        rng = np.random.default_rng(1)
        items = rng.normal(size=(50, 4)).astype("float32")
        queries = rng.normal(size=(3, 4)).astype("float32")
        index = BruteForceIndex(items, k_max=8)
        no_exclusions = tf.zeros([3, 0], tf.int32)
        for k, width in ((1, 1), (5, 5), (8, 8), (30, 8), (0, 1)):
            scores, ids = index.search(queries, k, no_exclusions)
            assert ids.shape == (3, width)
            np.testing.assert_array_equal(ids.numpy(), _exact(queries, items, width)[1])
        assert BruteForceIndex(items[:5], k_max=100).k_max == 5

    def test_excluded_ids_are_masked_before_top_k(self):
        rng = np.random.default_rng(2)
        items = rng.normal(size=(40, 4)).astype("float32")
        queries = rng.normal(size=(4, 4)).astype("float32")
        ids = np.array([f"item{i}" for i in range(40)]).astype(bytes)
        index = BruteForceIndex(items, ids, k_max=10)
        best = _exact(queries, items, 3)[1]
        exclude = np.concatenate([ids[best], np.full((4, 2), b"")], axis=1)  # "" pads
        exclude[0, -1] = b"unknown-item"                                     # ignored
        scores, found = index.search(queries, 5, exclude)
        want_scores, want = _exact(queries, items, 5, exclude_positions=best)
        np.testing.assert_array_equal(found.numpy(), ids[want])
        np.testing.assert_allclose(scores.numpy(), want_scores, rtol=1e-5)

    def test_too_few_items_left_pads_with_minus_inf(self):
        items = np.eye(3, dtype="float32")
        index = BruteForceIndex(items, np.array([10, 20, 30], np.int64), k_max=3)
        scores, ids = index.search(np.ones((1, 3), "float32"), 3, np.array([[10, 30]]))
        assert ids.numpy().tolist() == [[20, -1, -1]]
        assert scores.numpy()[0, 0] == 1.0 and np.all(np.isneginf(scores.numpy()[0, 1:]))

    def test_saved_model_serves_the_same_results(self, tmp_path):
        rng = np.random.default_rng(3)
        items = rng.normal(size=(30, 4)).astype("float32")
        queries = rng.normal(size=(2, 4)).astype("float32")
        index = BruteForceIndex(items, k_max=5)
        exclude = np.array([[0, 1], [2, -1]], np.int32)
        tf.saved_model.save(index, str(tmp_path / "index"))
        loaded = tf.saved_model.load(str(tmp_path / "index"))
        for got, want in zip(loaded.search(queries, 4, exclude), index.search(queries, 4, exclude)):
            np.testing.assert_array_equal(got.numpy(), want.numpy())

    def test_invalid_arguments_raise(self):
        with pytest.raises(ValueError, match="k_max=0"):
            BruteForceIndex(np.ones((3, 2), "float32"), k_max=0)
        with pytest.raises(ValueError, match="one ID per candidate"):
            BruteForceIndex(np.ones((3, 2), "float32"), np.arange(4))


@needs_scann
class TestScannIndex:
    @pytest.mark.parametrize("size, dim, options, scoring", [
        (5_000, 16, {"num_leaves": 50}, "ah"),  # a tree (the rule would score all)
        (20_000, 64, {}, "ah"),                 # the rule: AH over all, then re-scoring
    ])
    def test_recall_against_brute_force_on_clustered_data(self, size, dim, options, scoring):
        vectors = _clustered(size + 200, d=dim)
        items, queries = vectors[:size], vectors[size:]
        index = build_scann_index(items, k_max=100, **options)
        assert isinstance(index, ScannIndex)
        assert index.parameters["scoring"] == scoring
        assert 0 < index.index_bytes
        assert index.parameters["num_leaves"] == options.get("num_leaves")
        _, found = index(queries, k=10)
        exact = BruteForceIndex(items, k_max=10)(queries, k=10)[1]
        assert _recall(found.numpy(), exact.numpy()) >= 0.9

    def test_per_request_k_and_exclusion(self):
        vectors = _clustered(3050, seed=1)
        items, queries = vectors[:3000], vectors[3000:]
        ids = np.array([f"i{i}" for i in range(3000)]).astype(bytes)
        index = build_scann_index(items, ids, k_max=20)
        assert index.parameters["scoring"] == "brute_force"  # the rule below 20k
        assert index.index_bytes >= items.nbytes
        _, top = index(queries, k=6)
        assert top.shape == (50, 6)
        exclude = np.concatenate([top.numpy()[:, :4], np.full((50, 1), b"")], axis=1)
        _, found = index.search(queries, 3, exclude)
        assert found.shape == (50, 3)
        for row, excluded in zip(found.numpy(), exclude):
            assert not set(row) & set(excluded)
        # Removing the 4 best leaves the next ones: ScaNN was asked for k + E neighbours.
        np.testing.assert_array_equal(found.numpy()[:, :2], top.numpy()[:, 4:6])

    def test_saved_model_with_scann_namespace_reloads(self, tmp_path):
        vectors = _clustered(2100, seed=2)
        index = build_scann_index(vectors[:2000], k_max=5)
        queries = vectors[2000:]
        options = tf.saved_model.SaveOptions(namespace_whitelist=["Scann"])
        tf.saved_model.save(index, str(tmp_path / "scann"), options=options)
        loaded = tf.saved_model.load(str(tmp_path / "scann"))
        none = tf.zeros([100, 0], tf.int32)
        np.testing.assert_array_equal(loaded.search(queries, 5, none)[1].numpy(),
                                      index.search(queries, 5, none)[1].numpy())

    def test_tuning_queries_pick_the_leaves_to_search(self):
        vectors = _clustered(4200, seed=3)
        index = build_scann_index(vectors[:4000], k_max=10, num_leaves=64,
                                  tuning_queries=vectors[4000:], target_recall=0.9)
        curve = index.parameters["tuning"]["recall_at_10"]
        chosen = index.parameters["num_leaves_to_search"]
        assert curve[chosen] >= 0.9
        assert all(value < 0.9 for count, value in curve.items() if count < chosen)
        assert int(index.num_leaves_to_search.numpy()) == chosen


def test_parameter_rule_follows_the_catalogue_size():
    assert scann_parameters(10_000)["scoring"] == "brute_force"
    middle = scann_parameters(50_000)
    assert (middle["scoring"], middle["num_leaves"]) == ("ah", None)
    assert scann_parameters(100_000)["num_leaves"] == 316
    big = scann_parameters(1_000_000, k_max=100)
    assert (big["num_leaves"], big["num_leaves_to_search"], big["reorder_k"]) == (1000, 80, 200)
    assert big["training_sample_size"] == 100_000


def test_missing_scann_falls_back_to_brute_force_once(monkeypatch):
    def missing():
        raise ImportError("No module named 'scann'")

    monkeypatch.setattr(scann_module, "_import_scann_ops", missing)
    monkeypatch.setattr(scann_module, "_warned", False)
    items = np.random.default_rng(0).normal(size=(20, 4)).astype("float32")
    with pytest.warns(RuntimeWarning, match="Falling back to exact brute-force"):
        index = build_scann_index(items, k_max=5)
    assert isinstance(index, BruteForceIndex)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once only
        assert isinstance(build_scann_index(items, k_max=5), BruteForceIndex)
    with pytest.raises(ImportError, match="pip install scann"):
        build_scann_index(items, k_max=5, use_scann=True)
    assert not scann_module.scann_available()
