"""Recommendation metrics in numpy: top-K ranking, per-row and pooled AUC, coverage, MAE, RMSE."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

# Ranking metrics read a boolean hit matrix ``hits[n, K]`` (True where the item at rank
# ``r`` is relevant, best rank first) and ``num_relevant[n]`` (how many relevant items
# each row has in total, ranked or not). They return one float64 value per row; callers
# average. A row with ``num_relevant == 0`` scores 0 on every metric.


def hit_rate_at_k(hits, num_relevant) -> np.ndarray:
    """1 where at least one of the top K items is relevant, else 0.

    >>> hit_rate_at_k([[False, True], [False, False]], [1, 2]).tolist()
    [1.0, 0.0]
    """
    hits, _ = _check_hits(hits, num_relevant)
    return hits.any(axis=1).astype(np.float64)


def precision_at_k(hits, num_relevant) -> np.ndarray:
    """Relevant items among the top K, divided by K.

    >>> precision_at_k([[True, False, True, False]], [5]).tolist()
    [0.5]
    """
    hits, _ = _check_hits(hits, num_relevant)
    return hits.sum(axis=1) / hits.shape[1]


def recall_at_k(hits, num_relevant) -> np.ndarray:
    """Relevant items among the top K, divided by all relevant items of the row.

    >>> recall_at_k([[True, False, True, False]], [5]).tolist()
    [0.4]
    """
    hits, num_relevant = _check_hits(hits, num_relevant)
    return _divide(hits.sum(axis=1), num_relevant)


def f1_at_k(hits, num_relevant) -> np.ndarray:
    """Harmonic mean of precision@K and recall@K (0 when both are 0).

    >>> f1_at_k([[True, False]], [1]).round(4).tolist()   # P = 0.5, R = 1
    [0.6667]
    """
    precision = precision_at_k(hits, num_relevant)
    recall = recall_at_k(hits, num_relevant)
    return _divide(2 * precision * recall, precision + recall)


def ndcg_at_k(hits, num_relevant) -> np.ndarray:
    """Normalised discounted cumulative gain with binary gains.

    ``DCG = sum_r hits[r] / log2(r + 2)`` (``r`` counted from 0); the ideal DCG puts
    ``min(num_relevant, K)`` relevant items at the top.

    >>> ndcg_at_k([[False, True]], [1]).round(4).tolist()   # (1/log2 3) / 1
    [0.6309]
    """
    hits, num_relevant = _check_hits(hits, num_relevant)
    k = hits.shape[1]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = hits @ discounts
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[np.minimum(num_relevant, k)]
    return _divide(dcg, ideal)


def mrr_at_k(hits, num_relevant) -> np.ndarray:
    """Reciprocal rank (1-based) of the first relevant item in the top K; 0 if none.

    >>> mrr_at_k([[False, False, True], [False, False, False]], [1, 1]).round(4).tolist()
    [0.3333, 0.0]
    """
    hits, _ = _check_hits(hits, num_relevant)
    first = hits.argmax(axis=1)
    return np.where(hits.any(axis=1), 1.0 / (first + 1), 0.0)


def map_at_k(hits, num_relevant) -> np.ndarray:
    """Average precision at K, RecBole's definition.

    The sum of precision@i over the ranks ``i`` that hold a relevant item, divided by
    ``min(num_relevant, K)``.

    >>> map_at_k([[True, False, True]], [2]).round(4).tolist()   # (1/1 + 2/3) / 2
    [0.8333]
    """
    hits, num_relevant = _check_hits(hits, num_relevant)
    k = hits.shape[1]
    precision_at_i = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    return _divide((precision_at_i * hits).sum(axis=1), np.minimum(num_relevant, k))


RANKING_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "hit": hit_rate_at_k,
    "precision": precision_at_k,
    "recall": recall_at_k,
    "f1": f1_at_k,
    "ndcg": ndcg_at_k,
    "mrr": mrr_at_k,
    "map": map_at_k,
}
"""Name -> function for the hit-matrix metrics; results are keyed ``"<name>@<K>"``."""


def ranking_metrics_at_k(hits, num_relevant, ks: Iterable[int],
                         names: Iterable[str]) -> dict[str, np.ndarray]:
    """Every named metric at every K, from one hit matrix of width ``max(ks)``.

    >>> out = ranking_metrics_at_k([[False, True, True]], [2], ks=(1, 3),
    ...                            names=("hit", "recall"))
    >>> {key: value.tolist() for key, value in out.items()}
    {'hit@1': [0.0], 'recall@1': [0.0], 'hit@3': [1.0], 'recall@3': [1.0]}
    """
    hits, num_relevant = _check_hits(hits, num_relevant)
    ks = check_ks(ks)
    names = tuple(names)
    unknown = [n for n in names if n not in RANKING_METRICS]
    if unknown:
        raise ValueError(f"`names` must be among {sorted(RANKING_METRICS)}. "
                         f"Received: names={names}")
    if ks[-1] > hits.shape[1]:
        raise ValueError(f"`ks` must not exceed the width of `hits` ({hits.shape[1]}). "
                         f"Received: ks={ks}")
    return {f"{name}@{k}": RANKING_METRICS[name](hits[:, :k], num_relevant)
            for k in ks for name in names}


def per_row_auc(scores, relevant, valid=None) -> np.ndarray:
    """Per-row AUC: the share of a row's (relevant, non-relevant) pairs ranked correctly.

    Positives are the ``relevant`` entries of a row, whatever their score; negatives
    are the entries that are ``valid`` and not relevant. A pair counts 1 when the
    positive scores higher, 0.5 on a tie, 0 otherwise. This is the Mann-Whitney
    statistic, i.e. the rank-based AUC: each positive's rank among the negatives,
    found by counting the negatives below it. Rows without a positive or without a
    negative are undefined and come back as NaN. With one row per user, the mean
    over rows is the group AUC (GAUC); :func:`global_auc` pools all rows instead.

    Args:
        scores: float ``[n, m]``. A positive that cannot be ranked (e.g. masked to
            ``-inf`` because it was seen in training) simply loses its pairs.
        relevant: bool ``[n, m]``.
        valid: bool ``[n, m]`` or ``None`` (all entries may be negatives).

    >>> per_row_auc([[0.9, 0.5, 0.1, 0.5]], [[False, True, False, False]]).tolist()
    [0.5]
    """
    scores = np.asarray(scores)
    if scores.dtype not in (np.float32, np.float64):
        scores = scores.astype(np.float64)
    relevant = _as_bool(relevant, "relevant")
    valid = np.ones_like(relevant) if valid is None else _as_bool(valid, "valid")
    if scores.ndim != 2:
        raise ValueError(f"`scores` must be a 2-D [n, m] array. Received: "
                         f"scores.shape={scores.shape}")
    for name, array in (("relevant", relevant), ("valid", valid)):
        if array.shape != scores.shape:
            raise ValueError(f"`{name}` must have the shape of `scores` {scores.shape}. "
                             f"Received: {name}.shape={array.shape}")
    negative_scores = np.where(valid & ~relevant, scores, np.nan)  # NaN never compares
    rows, cols = np.nonzero(relevant)
    wins = np.zeros(len(rows), np.float64)
    chunk = max(1, (1 << 22) // max(1, scores.shape[1]))  # bounds the [chunk, m] buffer
    for start in range(0, len(rows), chunk):
        r = rows[start:start + chunk]
        positive = scores[r, cols[start:start + chunk]][:, None]
        candidates = negative_scores[r]
        wins[start:start + chunk] = ((candidates < positive).sum(axis=1)
                                     + 0.5 * (candidates == positive).sum(axis=1))
    num_positive = relevant.sum(axis=1)
    num_negative = (valid & ~relevant).sum(axis=1)
    pairs = (num_positive * num_negative).astype(np.float64)
    total = np.bincount(rows, weights=wins, minlength=scores.shape[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, total / pairs, np.nan)


def global_auc(pos_scores, neg_scores) -> float:
    """Pooled AUC: the share of all (positive, negative) pairs ranked correctly.

    Every positive score is paired with every negative score, whichever user either
    belongs to; a pair counts 1 when the positive scores higher, 0.5 on a tie. Unlike
    the mean of :func:`per_row_auc` over users (GAUC), which only compares items of
    the same user, this rewards scores that are comparable across users. Exact, in
    ``O((P + N) log N)``: the negatives are sorted once and each positive's wins are
    two binary searches. NaN when either side is empty.

    Args:
        pos_scores: float ``[P]``, the scores of the relevant pairs.
        neg_scores: float ``[N]``, the scores of the non-relevant candidate pairs.

    >>> global_auc([0.9, 0.3], [0.1, 0.3, 0.5])   # 0.9: 3 wins; 0.3: 1 + 0.5 -> 4.5 / 6
    0.75
    """
    pos, neg = (_as_scores_1d(v, name) for v, name in ((pos_scores, "pos_scores"),
                                                        (neg_scores, "neg_scores")))
    if not pos.size or not neg.size:
        return float("nan")
    neg = np.sort(neg)
    twice_wins = (np.searchsorted(neg, pos, "left").sum()      # negatives strictly below
                  + np.searchsorted(neg, pos, "right").sum())  # ... plus the ties
    return float(twice_wins / (2 * pos.size * neg.size))


def item_coverage(top_items, num_items: int) -> float:
    """Share of the real items ``1 .. num_items - 1`` that appear in any top-K list.

    Index 0 (OOV, or "no item" in a list shorter than K) is ignored.

    >>> item_coverage([[1, 2], [2, 0]], num_items=5)   # {1, 2} of {1, 2, 3, 4}
    0.5
    """
    if num_items < 2:
        raise ValueError(f"`num_items` must be at least 2 (OOV slot + one item). "
                         f"Received: num_items={num_items}")
    top_items = np.asarray(top_items)
    if top_items.size and not np.issubdtype(top_items.dtype, np.integer):
        raise ValueError(f"`top_items` must hold integer item indices. "
                         f"Received: top_items.dtype={top_items.dtype}")
    top_items = top_items.astype(np.int64).ravel()
    bad = (top_items < 0) | (top_items >= num_items)
    if bad.any():
        raise ValueError(f"`top_items` must lie in [0, num_items={num_items}). "
                         f"Received: top_items={int(top_items[bad][0])}")
    seen = np.zeros(num_items, bool)
    seen[top_items] = True
    return float(seen[1:].sum() / (num_items - 1))


def mae(y_true, y_pred) -> float:
    """Mean absolute error.

    >>> mae([1.0, 2.0, 3.0], [1.5, 2.0, 1.0])
    0.8333333333333334
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))


def rmse(y_true, y_pred) -> float:
    """Root mean squared error.

    >>> rmse([1.0, 2.0, 3.0], [2.0, 2.0, 1.0])   # sqrt((1 + 0 + 4) / 3)
    1.2909944487358056
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(np.sqrt(np.mean(np.square(y_true - y_pred))))


def evaluate_ratings(y_true, y_pred) -> dict[str, float]:
    """MAE and RMSE of rating predictions (arrays or tensors of the same shape).

    >>> evaluate_ratings([4.0, 2.0], [3.0, 2.0])
    {'mae': 0.5, 'rmse': 0.7071067811865476}
    """
    return {"mae": mae(y_true, y_pred), "rmse": rmse(y_true, y_pred)}


def check_ks(ks: Iterable[int]) -> tuple[int, ...]:
    """Sorted, de-duplicated cut-offs; each must be a positive integer.

    >>> check_ks([20, 10, 10])
    (10, 20)
    """
    if isinstance(ks, (int, np.integer)):
        ks = (ks,)
    ks = tuple(ks)
    if not ks:
        raise ValueError("`ks` must name at least one cut-off. Received: ks=()")
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"`k` must be a positive integer. Received: k={k!r}")
    return tuple(sorted({int(k) for k in ks}))


def _check_hits(hits, num_relevant) -> tuple[np.ndarray, np.ndarray]:
    hits = _as_bool(hits, "hits")
    if hits.ndim != 2:
        raise ValueError(f"`hits` must be a 2-D [n_users, K] array. "
                         f"Received: hits.shape={hits.shape}")
    if hits.shape[1] < 1:
        raise ValueError(f"`K` must be positive (hits needs at least one column). "
                         f"Received: K={hits.shape[1]}")
    num_relevant = np.asarray(num_relevant)
    if num_relevant.shape != (hits.shape[0],):
        raise ValueError(f"`num_relevant` must have one entry per row of `hits` "
                         f"({hits.shape[0]}). Received: num_relevant.shape="
                         f"{num_relevant.shape}")
    if (num_relevant.size and not np.issubdtype(num_relevant.dtype, np.integer)
            and not np.all(num_relevant == np.round(num_relevant))):
        raise ValueError(f"`num_relevant` must hold whole counts. "
                         f"Received: num_relevant={num_relevant}")
    num_relevant = num_relevant.astype(np.int64)
    if (num_relevant < 0).any():
        row = int(np.flatnonzero(num_relevant < 0)[0])
        raise ValueError(f"`num_relevant` must be non-negative. "
                         f"Received: num_relevant={num_relevant[row]} (row {row})")
    too_many = hits.sum(axis=1) > num_relevant
    if too_many.any():
        row = int(np.flatnonzero(too_many)[0])
        raise ValueError(f"row {row} of `hits` has {int(hits[row].sum())} hits, more than "
                         f"its relevant items. Received: num_relevant={num_relevant[row]}")
    return hits, num_relevant


def _as_bool(array, name: str) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype == bool:
        return array
    if array.size and not np.isin(array, (0, 1)).all():
        raise ValueError(f"`{name}` must be boolean (or 0/1). Received: "
                         f"{name} with values {np.unique(array)[:5].tolist()}")
    return array.astype(bool)


def _as_scores_1d(scores, name: str) -> np.ndarray:
    scores = np.asarray(scores)
    if scores.dtype not in (np.float32, np.float64):
        scores = scores.astype(np.float64)
    if scores.ndim != 1:
        raise ValueError(f"`{name}` must be a 1-D array of scores. "
                         f"Received: {name}.shape={scores.shape}")
    if np.isnan(scores).any():
        raise ValueError(f"`{name}` must not hold NaN. "
                         f"Received: {name} with {int(np.isnan(scores).sum())} NaN values")
    return scores


def _check_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"`y_pred` must have the shape of `y_true` {y_true.shape}. "
                         f"Received: y_pred.shape={y_pred.shape}")
    if y_true.size == 0:
        raise ValueError("`y_true` must not be empty. Received: y_true.size=0")
    return y_true, y_pred


def _divide(numerator, denominator) -> np.ndarray:
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.zeros(np.broadcast(numerator, denominator).shape)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out
