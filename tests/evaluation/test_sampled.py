"""SampledEvaluator: fixed seeded negatives, never positives, a hand-computed case."""

import numpy as np
import pytest

from tfdeeprec.data.encoded import EncodedInteractions
from tfdeeprec.evaluation.full_ranking import FullRankingEvaluator
from tfdeeprec.evaluation.sampled import SampledEvaluator, full_scores_to_pair_scorer


def _encoded(pairs, num_users, num_items):
    pairs = np.asarray(pairs, np.int32).reshape(-1, 2)
    return EncodedInteractions(pairs[:, 0], pairs[:, 1], num_users, num_items)


def _random_splits(seed=0, num_users=81, num_items=301):
    rng = np.random.default_rng(seed)
    keys = rng.choice((num_users - 1) * (num_items - 1), size=4000, replace=False)
    pairs = np.stack([keys // (num_items - 1) + 1, keys % (num_items - 1) + 1], axis=1)
    train, valid, test = pairs[:3000], pairs[3000:3400], pairs[3400:]
    test = np.concatenate([test, [[2, 0], [0, 5]]])       # OOV rows are ignored
    return (_encoded(train, num_users, num_items), _encoded(valid, num_users, num_items),
            _encoded(test, num_users, num_items))


def test_negatives_are_never_seen_items_and_distinct():
    train, valid, test = _random_splits()
    evaluator = SampledEvaluator(train, test, exclude=[valid], num_negatives=100)
    seen = {(int(u), int(i)) for s in (train, valid, test) for u, i in zip(s.user, s.item)}
    assert evaluator.candidates.shape == (600, 101)
    assert evaluator.negatives.min() >= 1 and evaluator.negatives.max() <= 300
    for user, row in zip(evaluator.row_users, evaluator.candidates):
        assert (int(user), int(row[0])) in seen          # column 0: the test positive
        assert len(set(row[1:].tolist())) == 100         # distinct
        assert not any((int(user), int(i)) in seen for i in row[1:])


def test_negatives_are_drawn_once_and_reused():
    train, valid, test = _random_splits()
    evaluator = SampledEvaluator(train, test, exclude=valid, num_negatives=50, batch_size=128)
    before = evaluator.candidates.copy()
    received = []

    def score_fn(users, items):
        received.append(items.copy())
        return np.sin(users[:, None] * 7.0 + items * 0.1)

    first, second = evaluator.evaluate(score_fn), evaluator.evaluate(score_fn)
    calls = len(received) // 2
    assert calls == 5                                    # 600 rows / 128 per batch
    for a, b in zip(received[:calls], received[calls:]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.concatenate(received[:calls]), before)
    assert first.metrics == second.metrics
    assert not evaluator.candidates.flags.writeable


def test_seed_determinism():
    train, valid, test = _random_splits()
    a = SampledEvaluator(train, test, exclude=valid, seed=3)
    b = SampledEvaluator(train, test, exclude=valid, seed=3)
    c = SampledEvaluator(train, test, exclude=valid, seed=4)
    np.testing.assert_array_equal(a.candidates, b.candidates)
    assert not np.array_equal(a.negatives, c.negatives)


def test_negatives_are_uniform_over_unseen_items():
    # 500 users with the same history: train {1}, test {2}; negatives come from 3..20
    users = np.arange(1, 501)
    train = _encoded(np.stack([users, np.full(500, 1)], 1), 501, 21)
    test = _encoded(np.stack([users, np.full(500, 2)], 1), 501, 21)
    evaluator = SampledEvaluator(train, test, num_negatives=5, ks=(1,))
    counts = np.bincount(evaluator.negatives.ravel(), minlength=21)
    assert counts[:3].sum() == 0
    # 2,500 draws over 18 items: about 139 each (sd ~ 11)
    assert counts[3:].min() > 90 and counts[3:].max() < 190


def test_label_says_sampled():
    train, valid, test = _random_splits()
    result = SampledEvaluator(train, test, exclude=valid, ks=(10,)).evaluate(
        lambda users, items: items * 0.001)
    assert result.protocol == "sampled-100"
    assert result.as_table().splitlines()[0].endswith("sampled-100 (80 users)")
    assert result.to_dict()["protocol"] == "sampled-100"


def test_hand_computed_case():
    # items 1..7. u1: train {1, 2}, test {3, 4}; u2: train {1, 2, 3}, test {4}.
    # Each user has exactly 3 unseen items, {5, 6, 7}, so every row's negatives are known.
    train = _encoded([(1, 1), (1, 2), (2, 1), (2, 2), (2, 3)], 3, 8)
    test = _encoded([(1, 3), (1, 4), (2, 4)], 3, 8)
    table = np.zeros((3, 8))
    table[1, 3:] = [0.5, 0.9, 0.7, 0.5, 0.1]              # u1: items 3, 4, 5, 6, 7
    table[2, 4:] = [0.2, 0.3, 0.1, 0.0]                   # u2: items 4, 5, 6, 7
    evaluator = SampledEvaluator(train, test, num_negatives=3, ks=(1, 3),
                                 metrics=("hit", "precision", "recall", "ndcg", "mrr", "gauc",
                                          "auc"))
    assert sorted(evaluator.negatives.ravel().tolist()) == [5, 5, 5, 6, 6, 6, 7, 7, 7]
    result = evaluator.evaluate(lambda users, items: table[users[:, None], items])
    # row (u1, 3): 0.5 vs 0.7, 0.5, 0.1 -> the tie ranks below: 0-based rank 2
    #              row AUC = (win 0.1 + tie 0.5) / 3 = 0.5
    # row (u1, 4): 0.9 beats all -> rank 0, row AUC 1
    # row (u2, 4): 0.2 vs 0.3, 0.1, 0.0 -> rank 1, row AUC 2/3
    # per user first: u1 = mean of its two rows, u2 = its row; then mean over users.
    expected = {
        "hit@1": 0.25,                  # u1 (0 + 1)/2, u2 0
        "precision@1": 0.25,
        "recall@1": 0.25,
        "ndcg@1": 0.25,
        "mrr@1": 0.25,
        "hit@3": 1.0,
        "precision@3": 1 / 3,           # one hit in 3 slots everywhere
        "recall@3": 1.0,
        "ndcg@3": 0.6904649,            # u1 (1/log2(4) + 1)/2 = 0.75; u2 1/log2(3) = 0.6309298
        "mrr@3": 0.5833333,             # u1 (1/3 + 1)/2 = 2/3; u2 1/2
        "gauc": 0.7083333,              # u1 (0.5 + 1)/2 = 0.75; u2 2/3
        # pooled: positives 0.5, 0.9, 0.2 against the 9 negatives of the three rows,
        # 0.7 0.5 0.1 | 0.7 0.5 0.1 | 0.3 0.1 0.0. Wins: 0.5 -> 5 + two ties = 6;
        # 0.9 -> 9; 0.2 -> 4 (0.0 and the three 0.1) -> 19 / 27
        "auc": 0.7037037,
    }
    assert result.protocol == "sampled-3"
    assert result.num_users == 2
    assert result.metrics == pytest.approx(expected, abs=1e-6)


def test_constant_model_scores_zero_not_one():
    train, valid, test = _random_splits()
    result = SampledEvaluator(train, test, exclude=valid, ks=(10,),
                              metrics=("hit", "gauc", "auc")).evaluate(
        lambda users, items: np.zeros(items.shape))
    assert result["hit@10"] == 0.0
    assert result["gauc"] == result["auc"] == 0.5


def test_gauc_averages_users_and_auc_pools_their_rows():
    # items 1..4; each user trained on 4 and tested on 1, so the negatives are 2 and 3
    train = _encoded([(1, 4), (2, 4)], 3, 5)
    test = _encoded([(1, 1), (2, 1)], 3, 5)
    table = np.array([[0.0] * 5,
                      [0.0, 0.9, 0.1, 0.2, 99.0],         # u1: 1 beats 2 and 3
                      [0.0, 10.9, 10.1, 10.2, 99.0]])     # u2: the same, ten points higher
    evaluator = SampledEvaluator(train, test, num_negatives=2, ks=(1,),
                                 metrics=("gauc", "auc"), batch_size=1)
    result = evaluator.evaluate(lambda users, items: table[users[:, None], items])
    # gauc: (1 + 1) / 2; auc: 0.9 beats 0.1, 0.2 but not 10.1, 10.2, 10.9 beats all -> 6/8
    assert result.metrics == {"gauc": 1.0, "auc": 0.75}


def test_full_scores_to_pair_scorer_matches_direct_scoring():
    train, valid, test = _random_splits()
    full = np.random.default_rng(1).standard_normal((81, 301))
    evaluator = SampledEvaluator(train, test, exclude=valid, ks=(5, 10))
    direct = evaluator.evaluate(lambda users, items: full[users[:, None], items])
    wrapped = evaluator.evaluate(full_scores_to_pair_scorer(lambda users: full[users]))
    assert direct.metrics == wrapped.metrics
    assert direct.num_users == FullRankingEvaluator(train, test, exclude=valid).num_users


@pytest.mark.parametrize("kwargs, match", [
    ({"num_negatives": 0}, r"num_negatives=0"),
    ({"num_negatives": 5, "ks": (7,)}, r"ks=\(7,\)"),
    ({"metrics": ("coverage",)}, r"metrics=\('coverage',\)"),
    ({"batch_size": -1}, r"batch_size=-1"),
    ({"num_negatives": 4}, r"user 2 never interacted with \(3\).*num_negatives=4"),
])
def test_invalid_arguments_raise(kwargs, match):
    train = _encoded([(1, 1), (2, 1), (2, 2)], 3, 7)      # u2 has 3 unseen items: 4, 5, 6
    test = _encoded([(1, 2), (2, 3)], 3, 7)
    with pytest.raises(ValueError, match=match):
        SampledEvaluator(train, test, **{"ks": (1,), **kwargs})


def test_bad_scores_raise():
    train, valid, test = _random_splits()
    evaluator = SampledEvaluator(train, test, exclude=valid, num_negatives=10)
    with pytest.raises(ValueError, match=r"shape=\(600, 10\)"):
        evaluator.evaluate(lambda users, items: np.zeros((len(users), 10)))
