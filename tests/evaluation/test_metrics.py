"""Every metric against a case worked out by hand."""

import numpy as np
import pytest

from tfdeeprec.evaluation import metrics

# Four users, K = 5 (1 = the item at that rank is relevant):
#   row 0: ranks 1 and 3 hit, 3 relevant items in all
#   row 1: no hit,            2 relevant
#   row 2: rank 2 hits,       1 relevant
#   row 3: ranks 1 and 2 hit, 6 relevant (more than K)
HITS = np.array([[1, 0, 1, 0, 0],
                 [0, 0, 0, 0, 0],
                 [0, 1, 0, 0, 0],
                 [1, 1, 0, 0, 0]], bool)
NUM_RELEVANT = np.array([3, 2, 1, 6])

# log2 discounts by rank: 1/log2(2) = 1, 1/log2(3) = 0.6309298, 1/log2(4) = 0.5,
# 1/log2(5) = 0.4306766, 1/log2(6) = 0.3868528.
EXPECTED = {
    "hit": [1.0, 0.0, 1.0, 1.0],
    # hits / K
    "precision": [0.4, 0.0, 0.2, 0.4],
    # hits / num_relevant: 2/3, 0/2, 1/1, 2/6
    "recall": [0.6666667, 0.0, 1.0, 0.3333333],
    # 2PR/(P+R): row 0: 2(.4)(2/3)/(.4+2/3) = (8/15)/(16/15) = 0.5
    #            row 2: 2(.2)(1)/(1.2) = 1/3; row 3: 2(.4)(1/3)/(.4+1/3) = 4/11
    "f1": [0.5, 0.0, 0.3333333, 0.3636364],
    # row 0: DCG 1 + 0.5 = 1.5; IDCG(3) = 1 + 0.6309298 + 0.5 = 2.1309298 -> 0.7039181
    # row 2: DCG 0.6309298; IDCG(1) = 1 -> 0.6309298
    # row 3: DCG 1 + 0.6309298 = 1.6309298; IDCG(min(6, 5) = 5) = 2.9484591 -> 0.5531465
    "ndcg": [0.7039181, 0.0, 0.6309298, 0.5531465],
    # 1 / rank of the first hit
    "mrr": [1.0, 0.0, 0.5, 1.0],
    # sum of precision@i at hit ranks / min(num_relevant, K):
    # row 0: (1/1 + 2/3) / 3 = 5/9; row 2: (1/2) / 1; row 3: (1/1 + 2/2) / 5
    "map": [0.5555556, 0.0, 0.5, 0.4],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_ranking_metric_hand_computed(name):
    values = metrics.RANKING_METRICS[name](HITS, NUM_RELEVANT)
    assert values.dtype == np.float64
    np.testing.assert_allclose(values, EXPECTED[name], atol=1e-6)


def test_ranking_metrics_at_k_slices_each_cutoff():
    out = metrics.ranking_metrics_at_k(HITS, NUM_RELEVANT, ks=(5, 1), names=("ndcg", "map"))
    assert list(out) == ["ndcg@1", "map@1", "ndcg@5", "map@5"]
    # K = 1: only rank 1 counts. ndcg@1 = hit at rank 1 (IDCG(1) = 1); map@1 likewise.
    np.testing.assert_allclose(out["ndcg@1"], [1.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(out["map@1"], [1.0, 0.0, 0.0, 1.0])
    np.testing.assert_allclose(out["ndcg@5"], EXPECTED["ndcg"], atol=1e-6)


def test_zero_relevant_scores_zero():
    hits = np.zeros((1, 3), bool)
    for name, fn in metrics.RANKING_METRICS.items():
        assert fn(hits, [0]).tolist() == [0.0], name


def test_per_row_auc_hand_computed():
    scores = np.array([[0.9, 0.8, 0.3, 0.3, 0.1],
                       [0.5, 0.5, 0.5, 0.2, 0.7],
                       [1.0, 2.0, 3.0, 4.0, 5.0],
                       [-np.inf, 0.2, 0.1, 0.4, 0.3]])
    relevant = np.array([[0, 1, 0, 1, 0],
                         [1, 0, 0, 0, 1],
                         [1, 1, 1, 1, 1],
                         [1, 0, 0, 0, 0]], bool)
    valid = np.array([[1, 1, 1, 1, 1],
                      [1, 1, 0, 1, 1],
                      [1, 1, 1, 1, 1],
                      [0, 1, 1, 1, 1]], bool)
    # row 0: positives 0.8, 0.3; negatives 0.9, 0.3, 0.1.
    #   0.8 beats 0.3 and 0.1 -> 2; 0.3 ties 0.3 (0.5) and beats 0.1 -> 1.5; 3.5 / 6
    # row 1: positives 0.5, 0.7; negatives 0.5, 0.2 (column 2 is not valid).
    #   0.5: tie + win -> 1.5; 0.7: 2 wins; 3.5 / 4 = 0.875
    # row 2: no negative -> undefined (NaN)
    # row 3: the positive was masked to -inf: it loses all 4 pairs -> 0
    out = metrics.per_row_auc(scores, relevant, valid)
    np.testing.assert_allclose(out, [3.5 / 6, 0.875, np.nan, 0.0])


def test_per_row_auc_default_valid_is_everything():
    # positive 0.4 against 0.1, 0.4, 0.9: 1 + 0.5 + 0 = 1.5 of 3 pairs
    assert metrics.per_row_auc([[0.1, 0.4, 0.4, 0.9]], [[0, 1, 0, 0]]).tolist() == [0.5]


def test_global_auc_hand_computed():
    # positives 0.5, 0.5, 2.0, -inf; negatives 0.1, 0.5, 0.5, 1.0, 3.0 (20 pairs)
    #   0.5: beats 0.1, ties two 0.5 -> 2 (twice); 2.0: beats four -> 4; -inf: 0
    assert metrics.global_auc([0.5, 2.0, -np.inf, 0.5],
                              [1.0, 0.5, 3.0, 0.1, 0.5]) == pytest.approx(8 / 20)
    assert metrics.global_auc(np.array([1, 2], np.int64), [2, 3]) == 0.125  # one tie of 4
    assert np.isnan(metrics.global_auc([], [0.1])) and np.isnan(metrics.global_auc([1.0], []))


def test_global_auc_pools_rows_unlike_mean_per_row_auc():
    # each user ranks its positive first, but user 1's scores sit far below user 2's
    scores = np.array([[0.9, 0.1, 0.2], [10.9, 10.1, 10.2]])
    relevant = np.array([[1, 0, 0], [1, 0, 0]], bool)
    assert metrics.per_row_auc(scores, relevant).tolist() == [1.0, 1.0]   # GAUC 1
    # pooled: 0.9 beats 0.1 and 0.2 only (2 of 4); 10.9 beats all 4 -> 6 / 8
    assert metrics.global_auc(scores[relevant], scores[~relevant]) == 0.75


def test_global_auc_matches_pairwise_count():
    rng = np.random.default_rng(0)
    pos = rng.integers(0, 20, 300).astype(np.float32)     # small integers: many ties
    neg = rng.integers(0, 20, 500).astype(np.float32)
    pairwise = ((pos[:, None] > neg).sum() + 0.5 * (pos[:, None] == neg).sum()) / (300 * 500)
    assert metrics.global_auc(pos, neg) == pytest.approx(pairwise, abs=1e-15)


def test_item_coverage_hand_computed():
    # real items are 1..6; the lists hold {1, 2, 3, 4} (0 is ignored) -> 4/6
    assert metrics.item_coverage([[1, 2, 3], [3, 4, 0]], num_items=7) == pytest.approx(4 / 6)


def test_mae_rmse_hand_computed():
    y_true, y_pred = [3.0, 4.0, 5.0, 1.0], [2.5, 4.0, 3.0, 2.0]
    # errors 0.5, 0, 2, 1 -> MAE 3.5/4 = 0.875; squares 0.25, 0, 4, 1 -> RMSE sqrt(5.25/4)
    assert metrics.mae(y_true, y_pred) == pytest.approx(0.875)
    assert metrics.rmse(y_true, y_pred) == pytest.approx(1.1456439)
    assert metrics.evaluate_ratings(y_true, y_pred) == {
        "mae": pytest.approx(0.875), "rmse": pytest.approx(1.1456439)}


@pytest.mark.parametrize("call, match", [
    (lambda: metrics.ndcg_at_k(np.zeros((2, 0), bool), [1, 1]), r"`K` must be positive"),
    (lambda: metrics.recall_at_k(np.zeros(3, bool), [1]), r"hits.shape=\(3,\)"),
    (lambda: metrics.recall_at_k(np.zeros((2, 3), bool), [1]), r"num_relevant.shape=\(1,\)"),
    (lambda: metrics.map_at_k(np.zeros((1, 3), bool), [-1]), r"num_relevant=-1"),
    (lambda: metrics.precision_at_k([[1, 1]], [1]), r"has 2 hits.*num_relevant=1"),
    (lambda: metrics.hit_rate_at_k([[0.5, 1.0]], [1]), r"`hits` must be boolean"),
    (lambda: metrics.ranking_metrics_at_k([[True]], [1], ks=(0,), names=("hit",)), r"k=0"),
    (lambda: metrics.ranking_metrics_at_k([[True]], [1], ks=(2,), names=("hit",)),
     r"ks=\(2,\)"),
    (lambda: metrics.ranking_metrics_at_k([[True]], [1], ks=(1,), names=("nope",)),
     r"names=\('nope',\)"),
    (lambda: metrics.per_row_auc([[0.1, 0.2]], [[True]]), r"relevant.shape=\(1, 1\)"),
    (lambda: metrics.global_auc([[0.1]], [0.2]), r"pos_scores.shape=\(1, 1\)"),
    (lambda: metrics.global_auc([0.1], [np.nan, 0.2]), r"neg_scores with 1 NaN"),
    (lambda: metrics.item_coverage([[7]], num_items=5), r"top_items=7"),
    (lambda: metrics.item_coverage([[1]], num_items=1), r"num_items=1"),
    (lambda: metrics.mae([1.0, 2.0], [1.0]), r"y_pred.shape=\(1,\)"),
    (lambda: metrics.rmse([], []), r"y_true.size=0"),
])
def test_invalid_inputs_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()
