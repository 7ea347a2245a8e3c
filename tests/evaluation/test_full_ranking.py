"""FullRankingEvaluator against a brute-force reference and a case worked out by hand."""

import math

import numpy as np
import pytest

from tfdeeprec._keras import tf
from tfdeeprec.data.encoded import EncodedInteractions
from tfdeeprec.evaluation.full_ranking import EvaluationResult, FullRankingEvaluator

ALL_METRICS = ("hit", "precision", "recall", "f1", "ndcg", "mrr", "map", "gauc", "auc",
               "coverage")


def _encoded(pairs, num_users, num_items):
    pairs = np.asarray(pairs, np.int32).reshape(-1, 2)
    return EncodedInteractions(pairs[:, 0], pairs[:, 1], num_users, num_items)


def _random_splits(seed, num_users=61, num_items=41):
    """Users 1..60, items 1..40; overlaps, OOV rows and users without test items planted."""
    rng = np.random.default_rng(seed)
    cells = [(u, i) for u in range(1, num_users) for i in range(1, num_items)]
    rng.shuffle(cells)
    train, valid, test = cells[:500], cells[500:600], cells[600:800]
    test += train[:10]                                  # test items also seen in training
    test = [p for p in test if p[0] % 7 != 0]            # users 7, 14, ... have no test item
    test += [(3, 0), (5, 0), (0, 4), (0, 0)]            # OOV item: unreachable; OOV user: ignored
    test += [(7, 0)]                                    # a user whose only test item is OOV
    test += test[:5]                                    # duplicates count once
    train += [(9, 0)]                                   # an OOV training row
    return (_encoded(train, num_users, num_items), _encoded(valid, num_users, num_items),
            _encoded(test, num_users, num_items))


def _brute_force(scores, train, valid, test, ks):
    """Loop over users, argsort every candidate, compute each metric from its definition."""
    num_items = scores.shape[1]
    seen, relevant = {}, {}
    for split in (train, valid):
        for u, i in zip(split.user, split.item):
            seen.setdefault(int(u), set()).add(int(i))
    for row, (u, i) in enumerate(zip(test.user, test.item)):
        if u > 0:  # an OOV item stays relevant as a unique item no model can rank
            relevant.setdefault(int(u), set()).add(int(i) if i > 0 else -1 - row)
    sums, auc_values, covered = {}, [], {k: set() for k in ks}
    pooled_pos, pooled_neg = [], []
    for u in sorted(relevant):
        excluded = seen.get(u, set()) | {0}
        candidates = np.array([i for i in range(num_items) if i not in excluded])
        ranked = candidates[np.argsort(-scores[u, candidates], kind="stable")]
        rel = relevant[u]
        for k in ks:
            top = ranked[:k]
            covered[k].update(top.tolist())
            h = [int(i) in rel for i in top]
            n_hit = sum(h)
            precision, recall = n_hit / k, n_hit / len(rel)
            values = {
                "hit": float(n_hit > 0),
                "precision": precision,
                "recall": recall,
                "f1": 2 * precision * recall / (precision + recall) if n_hit else 0.0,
                "ndcg": sum(1 / math.log2(r + 2) for r in range(k) if r < len(h) and h[r])
                / sum(1 / math.log2(r + 2) for r in range(min(len(rel), k))),
                "mrr": next((1 / (r + 1) for r in range(len(h)) if h[r]), 0.0),
                "map": sum(sum(h[:r + 1]) / (r + 1) for r in range(len(h)) if h[r])
                / min(len(rel), k),
            }
            for name, value in values.items():
                sums[f"{name}@{k}"] = sums.get(f"{name}@{k}", 0.0) + value
        negatives = [i for i in candidates if i not in rel]
        known = {p for p in rel if p > 0}  # AUCs cover the items the model can score
        # pooled AUC: every user's candidates are negatives, even with no known positive
        pooled_neg += [scores[u, n] for n in negatives]
        pooled_pos += [-np.inf if p in excluded else scores[u, p] for p in known]
        if not known:
            continue
        wins = 0.0
        for p in known:
            if p in excluded:
                continue  # masked: ranked below every candidate
            for n in negatives:
                if scores[u, p] > scores[u, n]:
                    wins += 1.0
                elif scores[u, p] == scores[u, n]:
                    wins += 0.5
        auc_values.append(wins / (len(known) * len(negatives)))
    out = {name: value / len(relevant) for name, value in sums.items()}
    out["gauc"] = float(np.mean(auc_values))
    pos, neg = np.array(pooled_pos)[:, None], np.array(pooled_neg)[None, :]
    out["auc"] = float(((pos > neg).sum() + 0.5 * (pos == neg).sum()) / (pos.size * neg.size))
    for k in ks:
        out[f"coverage@{k}"] = len(covered[k] - {0}) / (num_items - 1)
    return out, len(relevant)


@pytest.mark.parametrize("seed, batch_size", [(0, 7), (1, 64), (2, 1), (3, 256)])
def test_matches_brute_force(seed, batch_size):
    train, valid, test = _random_splits(seed)
    scores = np.random.default_rng(100 + seed).standard_normal((61, 41))
    ks = (1, 3, 5, 10)
    evaluator = FullRankingEvaluator(train, test, exclude=(valid,), ks=ks,
                                     metrics=ALL_METRICS, batch_size=batch_size)
    result = evaluator.evaluate(lambda users: scores[users])
    expected, num_users = _brute_force(scores, train, valid, test, ks)
    assert result.protocol == "full"
    assert result.num_users == num_users
    assert set(result.metrics) == set(expected)
    for name, value in expected.items():
        assert result.metrics[name] == pytest.approx(value, abs=1e-9), name


def test_users_without_test_items_are_skipped_and_oov_items_stay_relevant():
    train, valid, test = _random_splits(0)
    evaluator = FullRankingEvaluator(train, test, exclude=valid)
    assert 0 not in evaluator.users
    assert not np.isin(evaluator.users, [14, 21, 28, 35, 42, 49, 56]).any()
    row = evaluator.users.tolist().index(7)       # only an OOV test item: never a hit
    assert evaluator.num_relevant[row] == 1


def test_training_and_excluded_items_never_in_top_k():
    train, valid, test = _random_splits(4)
    # a score function that prefers exactly the items that must be excluded
    seen = np.zeros((61, 41))
    seen[train.user, train.item] = 10.0
    seen[valid.user, valid.item] = 10.0
    seen[:, 0] = 20.0
    scores = seen + np.random.default_rng(0).random((61, 41))
    evaluator = FullRankingEvaluator(train, test, exclude=[valid], ks=(10,), batch_size=9)
    top = evaluator.top_items(lambda users: scores[users])
    assert top.shape == (evaluator.num_users, 10)
    rows = np.repeat(evaluator.users, 10)
    assert (seen[rows, top.ravel()] == 0).all()
    assert (top > 0).all()


def _planted():
    """3 users, 5 items (index 0 = OOV), scores chosen by hand."""
    train = _encoded([(1, 1), (2, 2), (2, 3), (3, 5)], 4, 6)
    test = _encoded([(1, 2), (1, 4), (2, 1), (3, 5), (3, 3), (2, 0), (0, 3)], 4, 6)
    scores = np.array([
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],   # OOV user: never asked for
        [9.0, 0.9, 0.8, 0.1, 0.7, 0.5],   # u1: candidates 2,3,4,5 -> ranked 2, 4, 5, 3
        [9.0, 0.1, 0.9, 0.8, 0.3, 0.2],   # u2: candidates 1,4,5 -> ranked 4, 5, 1
        [9.0, 0.6, 0.2, 0.4, 0.3, 1.0],   # u3: candidates 1,2,3,4 -> ranked 1, 3, 4, 2
    ])
    return train, test, scores


# relevant: u1 {2, 4}; u2 {1, OOV (never a hit; outside the AUCs)};
# u3 {5 (also in train, so masked), 3} -> num_relevant 2, 2, 2
# hits@2: u1 [T, T]; u2 [F, F]; u3 [F, T]       hits@1: u1 [T]; u2 [F]; u3 [F]
PLANTED_EXPECTED = {
    "hit@1": 1 / 3,                         # 1, 0, 0
    "precision@1": 1 / 3,                   # 1, 0, 0
    "recall@1": 1 / 6,                      # 1/2, 0, 0
    "f1@1": 2 / 9,                          # u1: 2(1)(.5)/1.5 = 2/3
    "ndcg@1": 1 / 3,                        # 1, 0, 0
    "mrr@1": 1 / 3,
    "map@1": 1 / 3,
    "coverage@1": 0.6,                      # top-1 items {2, 4, 1} of 5
    "hit@2": 2 / 3,                         # 1, 0, 1
    "precision@2": 0.5,                     # (1 + 0 + 1/2) / 3
    "recall@2": 0.5,                        # (1 + 0 + 1/2) / 3
    "f1@2": 0.5,                            # (1 + 0 + 1/2) / 3
    "ndcg@2": 0.4622843,                    # (1 + 0 + 0.6309298/1.6309298) / 3
    "mrr@2": 0.5,                           # (1 + 0 + 1/2) / 3
    "map@2": 0.4166667,                     # ((1 + 1)/2 + 0 + (1/2)/2) / 3
    "coverage@2": 1.0,                      # {2, 4} | {4, 5} | {1, 3}
    # u1: 2 and 4 beat 3 and 5 -> 4/4; u2: 1 (0.1) loses to 4, 5 -> 0/2;
    # u3: 5 is masked (0 wins), 3 (0.4) beats 2 and 4, loses to 1 -> 2/6
    "gauc": 0.4444444,                      # (1 + 0 + 1/3) / 3
    # pooled: positives 0.8, 0.7 (u1), 0.1 (u2), -inf, 0.4 (u3); negatives 0.1, 0.5 (u1),
    # 0.3, 0.2 (u2), 0.6, 0.2, 0.3 (u3). Wins: 7 + 7 + 0.5 (tie with 0.1) + 0 + 5 -> 19.5/35
    "auc": 0.5571429,
}


def test_planted_case_exact_values():
    train, test, scores = _planted()
    evaluator = FullRankingEvaluator(train, test, ks=(1, 2), metrics=ALL_METRICS,
                                     batch_size=2)
    assert evaluator.users.tolist() == [1, 2, 3]
    assert evaluator.num_relevant.tolist() == [2, 2, 2]  # u2's OOV test item counts
    result = evaluator.evaluate(lambda users: scores[users])
    assert result.num_users == 3
    assert list(result.metrics) == [
        f"{m}@{k}" for k in (1, 2) for m in ALL_METRICS if "auc" not in m] + ["gauc", "auc"]
    for name, value in PLANTED_EXPECTED.items():
        assert result.metrics[name] == pytest.approx(value, abs=1e-6), name
    assert evaluator.top_items(lambda users: scores[users]).tolist() == [
        [2, 4], [4, 5], [1, 3]]


def test_gauc_averages_users_and_auc_pools_their_pairs():
    # items 1..3 candidates, item 4 trained (excluded, so never a negative despite 99)
    train = _encoded([(1, 4), (2, 4)], 3, 5)
    test = _encoded([(1, 1), (2, 1)], 3, 5)
    scores = np.array([[0.0] * 5,
                       [0.0, 0.9, 0.1, 0.2, 99.0],      # u1: 1 beats 2 and 3
                       [0.0, 10.9, 10.1, 10.2, 99.0]])  # u2: the same, ten points higher
    result = FullRankingEvaluator(train, test, ks=(1,), metrics=("gauc", "auc"),
                                  batch_size=1).evaluate(lambda users: scores[users])
    # gauc: (2/2 + 2/2) / 2; auc: 0.9 beats 0.1, 0.2 but not 10.1, 10.2 (2 of 4),
    # 10.9 beats all 4 -> 6 / 8
    assert result.metrics == {"gauc": 1.0, "auc": 0.75}


def test_tensor_score_fn_and_float32():
    train, test, scores = _planted()
    table = tf.constant(scores, tf.float32)
    evaluator = FullRankingEvaluator(train, test, ks=(1, 2), metrics=ALL_METRICS)
    result = evaluator.evaluate(lambda users: tf.gather(table, users))
    for name, value in PLANTED_EXPECTED.items():
        assert result.metrics[name] == pytest.approx(value, abs=1e-6), name


def test_fewer_candidates_than_k_fills_with_zero():
    train = _encoded([(1, 1), (1, 2), (1, 3)], 2, 5)     # u1 keeps only item 4
    test = _encoded([(1, 4)], 2, 5)
    evaluator = FullRankingEvaluator(train, test, ks=(3,))
    assert evaluator.top_items(lambda u: np.ones((len(u), 5))).tolist() == [[4, 0, 0]]
    result = evaluator.evaluate(lambda u: np.ones((len(u), 5)))
    assert result["hit@3"] == 1.0 and result["precision@3"] == pytest.approx(1 / 3)


def test_result_table_and_dict():
    train, test, scores = _planted()
    result = FullRankingEvaluator(train, test, ks=(2,), metrics=("ndcg", "gauc", "auc")
                                  ).evaluate(lambda users: scores[users])
    assert result.as_table().splitlines() == [
        "metric  full (3 users)", "ndcg@2  0.4623", "gauc    0.4444", "auc     0.5571"]
    assert result.to_dict() == {"protocol": "full", "num_users": 3,
                                "metrics": result.metrics}
    assert isinstance(result, EvaluationResult)


@pytest.mark.parametrize("kwargs, match", [
    ({"ks": (0,)}, r"k=0"),
    ({"ks": (6,)}, r"ks=\(6,\)"),
    ({"metrics": ("ndcg", "bleu")}, r"metrics=\('ndcg', 'bleu'\)"),
    ({"batch_size": 0}, r"batch_size=0"),
])
def test_invalid_arguments_raise(kwargs, match):
    train, test, _ = _planted()
    with pytest.raises(ValueError, match=match):
        FullRankingEvaluator(train, test, **{"ks": (2,), **kwargs})


def test_mismatched_or_empty_splits_raise():
    train, test, _ = _planted()
    with pytest.raises(ValueError, match=r"num_items=7"):
        FullRankingEvaluator(_encoded([(1, 1)], 4, 7), test, ks=(2,))
    with pytest.raises(ValueError, match=r"none known"):
        FullRankingEvaluator(train, _encoded([(0, 1), (1, 0)], 4, 6), ks=(2,))
    with pytest.raises(TypeError, match=r"exclude\[0\]=ndarray"):
        FullRankingEvaluator(train, test, exclude=[np.zeros(3)], ks=(2,))


def test_bad_scores_raise():
    train, test, scores = _planted()
    evaluator = FullRankingEvaluator(train, test, ks=(2,))
    with pytest.raises(ValueError, match=r"shape=\(3, 5\)"):
        evaluator.evaluate(lambda users: scores[users][:, :5])
    with pytest.raises(ValueError, match=r"NaN"):
        evaluator.evaluate(lambda users: np.full((len(users), 6), np.nan))


def test_exclude_train_false_ranks_the_training_items_too():
    # user 1 trained on item 1 and is tested on item 2; the scores prefer item 1
    train = EncodedInteractions(np.array([1], np.int32), np.array([1], np.int32), 2, 4)
    test = EncodedInteractions(np.array([1], np.int32), np.array([2], np.int32), 2, 4)
    prefer = lambda users: np.tile([0.0, 3.0, 2.0, 1.0], (len(users), 1))  # noqa: E731
    kept = FullRankingEvaluator(train, test, ks=(1,), metrics=("hit", "mrr"))
    ranked = FullRankingEvaluator(train, test, ks=(1,), metrics=("hit", "mrr"),
                                  exclude_train=False)
    assert kept.evaluate(prefer).metrics == {"hit@1": 1.0, "mrr@1": 1.0}
    assert ranked.evaluate(prefer).metrics == {"hit@1": 0.0, "mrr@1": 0.0}
    assert ranked.top_items(prefer, k=2).tolist() == [[1, 2]]
