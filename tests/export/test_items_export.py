"""export_items_model: recommend, fold-in and score of row and sequence models, by hand."""

import numpy as np
import pytest

from tfdeeprec._keras import tf
from tfdeeprec.data import EncodedInteractions, Vocabulary
from tfdeeprec.export import read_metadata
from tfdeeprec.export.items_exporter import export_items_model
from tfdeeprec.models.item_knn import build_item_knn, solve_item_knn

USERS = Vocabulary(["ann", "bob", "cat"])
ITEMS = Vocabulary(["a", "b", "c", "d"])
# ann: a, b; bob: a, c; cat: b, c, d. Indices: users 1..3, items 1..4.
TRAIN = EncodedInteractions(np.array([1, 1, 2, 2, 3, 3, 3]), np.array([1, 2, 1, 3, 2, 3, 4]),
                            4, 5)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = build_item_knn(4, 5, neighbours=4)
    solve_item_knn(model, TRAIN)
    base = tmp_path_factory.mktemp("rows")
    path = export_items_model(model, USERS, ITEMS, base=base, name="knn", train=TRAIN,
                              kind="row", max_k=3)
    return model, tf.saved_model.load(str(path)).signatures, path


def _cosine():
    x = np.zeros((4, 5))
    x[TRAIN.user, TRAIN.item] = 1
    co = x.T @ x
    n = np.sqrt(np.diag(co))
    sim = co / (np.outer(n, n) + 1e-12)
    np.fill_diagonal(sim, 0)
    return sim  # 4 neighbours of 4 items: nothing cut


def _call(signature, **inputs):
    out = signature(**{k: tf.constant(v) for k, v in inputs.items()})
    return {k: v.numpy().astype(str).tolist() if v.dtype == tf.string else v.numpy().tolist()
            for k, v in out.items()}


def test_recommend_ranks_unseen_items_by_summed_similarity(exported):
    _, sigs, _ = exported
    sim = _cosine()
    # ann (a, b): c = sim(a,c) + sim(b,c) = 1/2 + 1/2; d = 0 + 1/sqrt(2).
    out = _call(sigs["recommend"], user_id=["ann"], k=3, exclude=np.zeros((1, 0), str))
    assert out["item_ids"] == [["c", "d", ""]]
    np.testing.assert_allclose(out["scores"][0][:2], [sim[1, 3] + sim[2, 3],
                                                      sim[1, 4] + sim[2, 4]], rtol=1e-6)
    assert out["scores"][0][2] == -np.inf  # only two unseen items


def test_fold_in_of_a_users_items_equals_recommend_and_unknown_ids_are_ignored(exported):
    _, sigs, _ = exported
    none = np.zeros((2, 0), str)
    users = _call(sigs["recommend"], user_id=["ann", "cat"], k=3, exclude=none)
    folded = _call(sigs["recommend_from_items"], item_ids=[["a", "b", ""], ["b", "c", "d"]],
                   k=3, exclude=none)
    assert folded == users
    noisy = _call(sigs["recommend_from_items"], item_ids=[["zz", "a", "b"]], k=3,
                  exclude=np.zeros((1, 0), str))
    assert noisy["item_ids"] == users["item_ids"][:1]


def test_unknown_users_and_rows_of_unknown_items_get_popularity(exported):
    _, sigs, path = exported
    # popularity: a 2/3, b 2/3, c 2/3, d 1/3 (ties in vocabulary order)
    out = _call(sigs["recommend"], user_id=["nobody"], k=3, exclude=[["b"]])
    assert out["item_ids"] == [["a", "c", "d"]]
    np.testing.assert_allclose(out["scores"], [[2 / 3, 2 / 3, 1 / 3]], rtol=1e-6)
    folded = _call(sigs["recommend_from_items"], item_ids=[["zz", ""]], k=2,
                   exclude=[["b"]])
    assert folded["item_ids"] == [["a", "c"]]
    assert read_metadata(path)["model"]["family"] == "row"


def test_score_is_the_models_score_with_documented_fallbacks(exported):
    model, sigs, _ = exported
    sim = _cosine()
    out = _call(sigs["score"], user_id=["bob", "bob", "nobody", "bob"],
                item_id=["b", "d", "d", "zz"])
    np.testing.assert_allclose(out["score"], [sim[1, 2] + sim[3, 2], sim[1, 4] + sim[3, 4],
                                              1 / 3, 0.0], rtol=1e-6)
    assert out["known"] == [True, True, False, False]


def test_k_is_clipped_to_max_k_and_exclude_needs_one_row_per_request(exported):
    _, sigs, _ = exported
    out = _call(sigs["recommend_from_items"], item_ids=[["a"]], k=50,
                exclude=np.zeros((1, 0), str))
    assert len(out["item_ids"][0]) == 3
    with pytest.raises(tf.errors.InvalidArgumentError, match="one row per request row"):
        _call(sigs["recommend"], user_id=["ann", "bob"], k=2, exclude=[["a"]])


def test_sequence_export_reads_the_latest_items_in_time_order(tmp_path):
    from tfdeeprec.models.markov import build_markov, solve_markov
    # ann: a -> b -> c; bob: a -> c; cat: b -> c -> d (timestamps give the order).
    train = EncodedInteractions(np.array([1, 1, 1, 2, 2, 3, 3, 3]),
                                np.array([2, 1, 3, 1, 3, 2, 3, 4]), 4, 5,
                                timestamp=np.array([2, 1, 3, 1, 2, 1, 2, 3]))
    model = build_markov(4, 5, max_length=2)
    solve_markov(model, train)
    path = export_items_model(model, USERS, ITEMS, base=tmp_path, name="mc", train=train,
                              kind="sequence", max_length=2, max_k=4)
    sigs = tf.saved_model.load(str(path)).signatures
    # Transitions: a->b 1, a->c 1; b->c 2; c->d 1. ann's latest item is c: d (1.0).
    out = _call(sigs["recommend"], user_id=["ann"], k=4, exclude=np.zeros((1, 0), str))
    assert out["item_ids"][0][0] == "d" and out["scores"][0][0] == pytest.approx(1.0)
    # A session ending in a: b and c at 1/2 each, the session's own item left out.
    folded = _call(sigs["recommend_from_items"], item_ids=[["c", "zz", "a"]], k=2,
                   exclude=np.zeros((1, 0), str))
    assert folded["item_ids"] == [["b", "d"]]
    np.testing.assert_allclose(folded["scores"], [[0.5, 0.0]], atol=1e-6)
    # The order matters: the same items ending in c point at d.
    other = _call(sigs["recommend_from_items"], item_ids=[["a", "c"]], k=1,
                  exclude=np.zeros((1, 0), str))
    assert other["item_ids"] == [["d"]]
    score = _call(sigs["score"], user_id=["bob", "bob"], item_id=["d", "b"])
    np.testing.assert_allclose(score["score"], [1.0, 0.0], atol=1e-6)
