"""export_retrieval: brute-force and ScaNN twins and the query tower, checked against numpy,
a fresh TensorFlow-only process and ``tfdeeprec serve``."""

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tfdeeprec._keras import keras, tf
from tfdeeprec.data import (build_vocabularies, encode, make_synthetic_ratings,
                            split_by_user_ratio)
from tfdeeprec.export import ExportVerificationError, check_plain_tf, read_metadata
from tfdeeprec.export import retrieval_exporter
from tfdeeprec.export.retrieval_exporter import export_retrieval, tuning_and_held_out_users
from tfdeeprec.models.mf import build_mf
from tfdeeprec.models.two_tower import build_two_tower, sampling_probabilities, tower_embeddings

CHECK_SCRIPT = Path(__file__).with_name("serving_check.py")
K = 10


@dataclass
class Exported:
    model: object
    users: object  # Vocabulary
    items: object
    train: object
    base: Path
    paths: dict
    queries: np.ndarray  # [num_users, d], row 0 = OOV
    candidates: np.ndarray  # [num_items, d]
    popularity: np.ndarray  # [num_items], from the raw training frame
    seen: dict  # user token -> set of item tokens


def _train():
    frame = make_synthetic_ratings(num_users=300, num_items=400, seed=0).frame
    split = split_by_user_ratio(frame, (0.8, 0.1, 0.1), seed=0)
    users, items = build_vocabularies(split.train)
    train = encode(split.train, users, items)
    tf.keras.utils.set_random_seed(0)
    model = build_two_tower(train.num_users, train.num_items, embedding_dim=16,
                            item_probabilities=sampling_probabilities(train.item,
                                                                      train.num_items))
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    data = tf.data.Dataset.from_tensor_slices(
        {"user_id": train.user.astype("int32"), "item_id": train.item.astype("int32")})
    model.fit(data.shuffle(len(train), seed=0).batch(256), epochs=5, verbose=0)
    return model, users, items, train, split.train.interactions


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model, users, items, train, train_df = _train()
    base = tmp_path_factory.mktemp("retrieval")
    # Asymmetric hashing + exact re-scoring (ScaNN's rule for 20k-100k items), forced
    # here so the ScaNN twin really approximates.
    paths = export_retrieval(model, users, items, base=base, name="tt", train=train,
                             max_k=50, scann=True, scann_options={"scoring": "ah"})
    per_item = train_df.groupby("item_id")["user_id"].nunique()
    popularity = np.zeros(len(items), np.float32)
    popularity[items.lookup(per_item.index.astype(str))] = (
        per_item.values / train_df["user_id"].nunique())
    seen = train_df.groupby("user_id")["item_id"].agg(lambda s: set(s.astype(str)))
    return Exported(model, users, items, train, base, paths,
                    tower_embeddings(model.query_tower, len(users)),
                    tower_embeddings(model.candidate_tower, len(items)), popularity,
                    {str(u): v for u, v in seen.items()})


def _exact_top_k(case, user_token, k, exclude=()):
    """numpy: the best k known items by dot product, seen and excluded items left out."""
    user = int(case.users.lookup([user_token])[0])
    scores = case.candidates @ case.queries[user]
    banned = case.seen[user_token] | set(exclude)
    order = [i for i in np.argsort(-scores, kind="stable") if i > 0
             and case.items.tokens[i - 1] not in banned]
    return [case.items.tokens[i - 1] for i in order[:k]], scores[order[:k]]


def _strings(tensor):
    return tensor.numpy().astype(str).tolist()


class TestLayout:
    def test_three_exports_share_one_version_and_name_each_other(self, exported):
        assert {kind: path.relative_to(exported.base).as_posix()
                for kind, path in exported.paths.items()} == {
            "brute_force": "tt/1", "scann": "tt_scann/1", "query_tower": "tt_query_tower/1"}
        for kind, path in exported.paths.items():
            meta = read_metadata(path)
            assert meta["retrieval"]["index"] == kind
            assert meta["retrieval"]["exports"]["scann"] == "tt_scann/1"
            assert meta["model"]["family"] == "embedding"
        meta = read_metadata(exported.paths["scann"])
        assert meta["task"] == "retrieval" and meta["export"]["max_k"] == 50
        assert meta["retrieval"]["scann_parameters"]["scoring"] == "ah"
        assert meta["retrieval"]["scann_recall_at_10"] >= 0.95
        assert "ScaNN" in meta["retrieval"]["needs"]
        assert set(meta["signatures"]["recommend"]["inputs"]) == {"user_id", "k", "exclude"}

    def test_brute_force_and_query_tower_use_stock_ops_and_scann_does_not(self, exported):
        check_plain_tf(exported.paths["brute_force"])
        check_plain_tf(exported.paths["query_tower"])
        with pytest.raises(ExportVerificationError, match="Scann"):
            check_plain_tf(exported.paths["scann"])
        check_plain_tf(exported.paths["scann"], allow_scann=True)


class TestBruteForceExport:
    @pytest.fixture(scope="class")
    def loaded(self, exported):
        return tf.saved_model.load(str(exported.paths["brute_force"])).signatures

    def test_score_is_the_towers_dot_product(self, exported, loaded):
        users = np.array([1, 5, 9, 200], np.int32)
        items = np.array([3, 3, 80, 399], np.int32)
        out = loaded["score"](user_id=tf.constant(exported.users.ids_of(users).astype(str)),
                              item_id=tf.constant(exported.items.ids_of(items).astype(str)))
        want = np.sum(exported.queries[users] * exported.candidates[items], axis=1)
        np.testing.assert_allclose(out["score"].numpy(), want, atol=1e-5)
        assert out["known"].numpy().all()

    def test_unknown_ids_get_popularity_or_zero(self, exported, loaded):
        item = exported.items.tokens[7]
        out = loaded["score"](user_id=tf.constant(["nobody", exported.users.tokens[0],
                                                   "nobody"]),
                              item_id=tf.constant([item, "no-item", "no-item"]))
        np.testing.assert_allclose(out["score"].numpy(),
                                   [exported.popularity[8], 0.0, 0.0], atol=1e-6)
        assert out["known"].numpy().tolist() == [False, False, False]

    @pytest.mark.parametrize("k", [1, 3, 10])
    def test_recommend_is_the_exact_top_k_without_seen_items(self, exported, loaded, k):
        tokens = list(exported.users.tokens[:40])
        out = loaded["recommend"](user_id=tf.constant(tokens), k=tf.constant(k),
                                  exclude=tf.zeros([len(tokens), 0], tf.string))
        for row, token in enumerate(tokens):
            items, scores = _exact_top_k(exported, token, k)
            assert _strings(out["item_ids"])[row] == items
            np.testing.assert_allclose(out["scores"].numpy()[row], scores, atol=1e-5)

    def test_exclude_drops_listed_items_and_ignores_unknown_and_padding(self, exported,
                                                                        loaded):
        token = exported.users.tokens[3]
        best, _ = _exact_top_k(exported, token, 4)
        out = loaded["recommend"](user_id=tf.constant([token]), k=tf.constant(4),
                                  exclude=tf.constant([[best[0], "no-item", "", best[2]]]))
        want, _ = _exact_top_k(exported, token, 4, exclude=(best[0], best[2]))
        assert _strings(out["item_ids"])[0] == want

    def test_k_is_clipped_to_max_k_and_recommend_default_uses_it(self, exported, loaded):
        token = exported.users.tokens[0]
        out = loaded["recommend"](user_id=tf.constant([token]), k=tf.constant(500),
                                  exclude=tf.zeros([1, 0], tf.string))
        default = loaded["recommend_default"](user_id=tf.constant([token]))
        assert out["item_ids"].shape == (1, 50)
        assert _strings(default["item_ids"]) == _strings(out["item_ids"])

    def test_unknown_user_gets_the_most_popular_items(self, exported, loaded):
        order = np.argsort(-exported.popularity[1:], kind="stable") + 1
        popular = [exported.items.tokens[i - 1] for i in order]
        out = loaded["recommend"](user_id=tf.constant(["nobody"]), k=tf.constant(5),
                                  exclude=tf.constant([[popular[1]]]))
        assert _strings(out["item_ids"])[0] == [popular[0]] + popular[2:6]
        np.testing.assert_allclose(out["scores"].numpy()[0],
                                   exported.popularity[[order[0], *order[2:6]]], atol=1e-6)

    def test_exclude_needs_one_row_per_user(self, exported, loaded):
        with pytest.raises(tf.errors.InvalidArgumentError, match="one row per"):
            loaded["recommend"](user_id=tf.constant(["1", "2"]), k=tf.constant(3),
                                exclude=tf.constant([["1"]]))


class TestQueryTowerExport:
    def test_embed_equals_the_tower_and_unknown_users_get_zeros(self, exported):
        loaded = tf.saved_model.load(str(exported.paths["query_tower"])).signatures
        tokens = list(exported.users.tokens[:20]) + ["nobody"]
        out = loaded["serving_default"](user_id=tf.constant(tokens))
        np.testing.assert_allclose(out["embedding"].numpy()[:20], exported.queries[1:21],
                                   atol=1e-6)
        assert not out["embedding"].numpy()[20].any()
        assert out["known"].numpy().tolist() == [True] * 20 + [False]
        items = loaded["item_embedding"](item_id=tf.constant(
            [exported.items.tokens[0], "no-item"]))
        np.testing.assert_allclose(items["embedding"].numpy()[0], exported.candidates[1],
                                   atol=1e-6)
        assert items["known"].numpy().tolist() == [True, False]


def _serve_recommend(serve_exports, base, name, users, k):
    """``tfdeeprec serve`` in a subprocess; ``recommend`` over REST for ``users``."""
    with serve_exports(base) as server:
        server.wait_available(name)
        metadata = server.get(name, "/metadata")
        rows = []
        for start in range(0, len(users), 64):
            chunk = users[start:start + 64]
            answer = server.predict(name, {
                "signature_name": "recommend",
                "inputs": {"user_id": chunk, "k": k, "exclude": [[] for _ in chunk]}})
            rows += list(zip(answer["outputs"]["item_ids"], answer["outputs"]["scores"]))
        return rows, metadata


def _fresh_tf_recommend(path, users, k, tmp_path, env):
    """``recommend`` of ``path`` in a new process where Keras and tfdeeprec cannot load."""
    requests = {"block": True, "exports": [{
        "path": str(path), "score": {"user_id": users[:2], "item_id": users[:2]},
        "recommend": [{"user_id": users, "k": k, "exclude": [[] for _ in users]}],
        "recommend_default": {"user_id": users[:2]}}]}
    (tmp_path / "requests.json").write_text(json.dumps(requests))
    subprocess.run([sys.executable, str(CHECK_SCRIPT), str(tmp_path / "requests.json"),
                    str(tmp_path / "answers.json")], check=True, env=env, timeout=300)
    answers = json.loads((tmp_path / "answers.json").read_text())
    assert answers["modules_at_end"] == []
    out = answers["exports"][0]["recommend"][0]
    return list(zip(out["item_ids"], out["scores"]))


def test_scann_served_by_tfdeeprec_serve_agrees_with_brute_force_in_plain_tf(
        exported, tmp_path, plain_tf_env, serve_exports):
    users = list(exported.users.tokens)
    served, metadata = _serve_recommend(serve_exports, exported.base, "tt_scann", users, K)
    assert "recommend" in metadata["metadata"]["signature_def"]["signature_def"]
    exact = _fresh_tf_recommend(exported.paths["brute_force"], users, K, tmp_path,
                                plain_tf_env)
    same = [set(a) == set(b) for (a, _), (b, _) in zip(served, exact)]
    recall = np.mean([len(set(a) & set(b)) / K for (a, _), (b, _) in zip(served, exact)])
    assert len(same) == len(users) == 300
    print(f"same top-{K} for {np.mean(same):.2%} of {len(users)} users, recall {recall:.4f}")
    assert np.mean(same) >= 0.95, f"same top-{K} for {np.mean(same):.1%} of users"
    assert recall >= 0.99
    for (items_a, scores_a), (items_b, scores_b) in zip(served, exact):
        if items_a == items_b:  # ScaNN re-scores exactly: equal scores
            np.testing.assert_allclose(scores_a, scores_b, atol=1e-4)
    # And the brute-force export equals numpy's exact top k.
    for token, (items, _) in list(zip(users, exact))[:50]:
        assert items == _exact_top_k(exported, token, K)[0]


def test_without_scann_only_brute_force_is_written_with_a_warning(exported, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setattr(retrieval_exporter, "scann_available", lambda: False)
    with pytest.raises(ImportError, match="scann==1.4.2"):
        export_retrieval(exported.model, exported.users, exported.items, base=tmp_path,
                         name="tt", train=exported.train, scann=True)
    assert not any(tmp_path.iterdir())
    with pytest.warns(RuntimeWarning, match="only the brute-force export"):
        paths = export_retrieval(exported.model, exported.users, exported.items,
                                 base=tmp_path, name="tt", train=exported.train)
    assert sorted(paths) == ["brute_force", "query_tower"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tt", "tt_query_tower"]


def test_a_failure_in_any_export_leaves_none_of_them(exported, tmp_path, monkeypatch):
    real = retrieval_exporter._verify

    def fail_on_scann(folder, kind, *args):
        if kind == "scann":
            raise ExportVerificationError("planted failure")
        real(folder, kind, *args)

    monkeypatch.setattr(retrieval_exporter, "_verify", fail_on_scann)
    with pytest.raises(ExportVerificationError, match="planted"):
        export_retrieval(exported.model, exported.users, exported.items, base=tmp_path,
                         name="tt", train=exported.train, scann=True)
    assert [p for p in tmp_path.rglob("*") if p.name.isdigit() or "tmp" in p.name] == []


def test_existing_versions_and_bad_arguments_are_refused(exported, tmp_path):
    with pytest.raises(FileExistsError, match="never overwritten"):
        export_retrieval(exported.model, exported.users, exported.items,
                         base=exported.base, name="tt", train=exported.train, version=1)
    from tfdeeprec.families import get_family
    with pytest.raises(ValueError, match="needs `query_tower` and `candidate_tower`"):
        get_family("embedding").export(
            build_mf(3, 4), exported.users, exported.items, config=None, base=tmp_path,
            name="tt", train=exported.train, version=None, metadata={}, max_k=10,
            exclude_seen=True, options={"scann": False})
    with pytest.raises(ValueError, match="max_k"):
        export_retrieval(exported.model, exported.users, exported.items, base=tmp_path,
                         name="tt", train=exported.train, max_k=0, scann=False)
    assert not any(tmp_path.iterdir())


def test_server_without_scann_names_the_brute_force_twin(exported, monkeypatch):
    from tfdeeprec.serving import model_registry

    monkeypatch.setitem(sys.modules, "scann", None)  # `import scann...` now fails
    with pytest.raises(RuntimeError, match="scann==1.4.2.*brute-force twin"):
        model_registry._load("tt_scann", 1, str(exported.paths["scann"]))
    servable = model_registry._load("tt", 1, str(exported.paths["brute_force"]))
    assert {"score", "recommend", "recommend_default"} <= set(servable.signatures)


def test_models_config_for_stock_tf_serving_leaves_the_scann_twin_out(exported):
    script = Path(__file__).resolve().parents[2] / "serving" / "make_models_config.py"
    stock = subprocess.run([sys.executable, str(script), str(exported.base)],
                           capture_output=True, text=True, timeout=60, check=True)
    assert 'name: "tt"' in stock.stdout and 'name: "tt_query_tower"' in stock.stdout
    assert "tt_scann" not in stock.stdout and "tt_scann" in stock.stderr
    with_scann = subprocess.run([sys.executable, str(script), str(exported.base), "--scann"],
                                capture_output=True, text=True, timeout=60, check=True)
    assert with_scann.stdout.count("config {") == 3
    assert 'base_path: "/models/tt_scann"' in with_scann.stdout


def test_tree_leaves_to_search_are_tuned_on_the_served_top_10(exported, tmp_path):
    paths = export_retrieval(exported.model, exported.users, exported.items, base=tmp_path,
                             name="tree", train=exported.train, scann=True,
                             scann_options={"num_leaves": 16, "target_recall": 0.98})
    retrieval = read_metadata(paths["scann"])["retrieval"]
    params = retrieval["scann_parameters"]
    curve = {int(c): r for c, r in params["tuning"]["recall_at_10_tuning_users"].items()}
    chosen = params["num_leaves_to_search"]
    assert params["num_leaves"] == 16 and chosen == max(curve)
    assert curve[chosen] >= 0.98 or chosen == 16
    assert all(r < 0.98 for c, r in curve.items() if c < chosen)
    # The recall reported is measured on users that took no part in the choice.
    assert retrieval["scann_recall_at_10"] == params["tuning"]["recall_at_10_held_out_users"]
    tuning, held_out = tuning_and_held_out_users(exported.users)
    assert not set(tuning.numpy().tolist()) & set(held_out.numpy().tolist())
    assert len(tuning.numpy()) + len(held_out.numpy()) == len(exported.users) - 1
