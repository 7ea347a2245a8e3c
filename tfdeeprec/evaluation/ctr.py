"""Click-through-rate metrics in numpy: ROC AUC, log loss and group AUC (GAUC)."""

from __future__ import annotations

import numpy as np

_CHUNK = 1 << 16


def auc(labels, scores) -> float:
    """ROC AUC: the share of (positive, negative) pairs whose positive scores higher.

    Ties count half. Exact, in ``O(n log n)``: the positives' and the negatives' scores
    are sorted apart, and each positive counts the negatives below it and half those equal
    to it by binary search, in chunks; so memory is one copy of the scores (float32 or
    float64, 4 or 8 bytes a row; 10^6 held-out rows: 4 MB). NaN when the labels hold one
    class.

    Args:
        labels: 0/1 or bool ``[n]`` (a ``[n, 1]`` column is flattened).
        scores: float ``[n]``: logits or probabilities, any monotone score.

    >>> auc([1, 0, 1, 0], [0.8, 0.4, 0.4, 0.1])   # pairs: 1 + 1 + 0.5 + 1 -> 3.5 / 4
    0.875
    """
    labels, scores = _check(labels, scores, "scores")
    positives, negatives = scores[labels], scores[~labels]
    positives.sort()
    negatives.sort()
    if len(positives) == 0 or len(negatives) == 0:
        return float("nan")
    wins = 0  # twice the pairs won: 2 per negative below, 1 per negative equal
    for low in range(0, len(positives), _CHUNK):
        chunk = positives[low:low + _CHUNK]
        wins += int(np.searchsorted(negatives, chunk, "left").sum()
                    + np.searchsorted(negatives, chunk, "right").sum())
    return wins / (2.0 * len(positives) * len(negatives))


def log_loss(labels, probabilities, eps: float = 1e-7, *, from_logits: bool = False
             ) -> float:
    """Mean binary cross-entropy ``-(y log p + (1 - y) log(1 - p))``.

    Probabilities are clipped to ``[eps, 1 - eps]`` so that a confident mistake costs
    ``-log(eps)`` instead of infinity.

    Args:
        labels: 0/1 or bool ``[n]``.
        probabilities: floats in ``[0, 1]``, ``[n]``; logits with ``from_logits``.
        eps: the clipping margin (float in (0, 0.5), default 1e-7).
        from_logits: ``probabilities`` are logits ``z``: ``p = 1 / (1 + exp(-z))``, taken
            in float64 a chunk at a time (float32 logits of 10^6 rows stay 4 MB).

    >>> round(log_loss([1, 0], [0.8, 0.4]), 6)   # -(log 0.8 + log 0.6) / 2
    0.366985
    >>> round(log_loss([1, 0], [np.log(4.0), np.log(2 / 3)], from_logits=True), 6)
    0.366985
    """
    if not 0.0 < eps < 0.5:
        raise ValueError(f"`eps` must lie in (0, 0.5). Received: eps={eps!r}")
    labels, probabilities = _check(labels, probabilities, "probabilities")
    if not from_logits:
        outside = (probabilities < 0) | (probabilities > 1)
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            raise ValueError(f"`probabilities` must lie in [0, 1]. Received: "
                             f"probabilities[{row}]={probabilities[row].item()!r}")
    total = 0.0
    for low in range(0, len(labels), _CHUNK):  # in chunks: no n-sized temporaries
        p = probabilities[low:low + _CHUNK].astype(np.float64)
        if from_logits:
            p = 1.0 / (1.0 + np.exp(-p))
        p = np.clip(p, eps, 1.0 - eps)
        total += float(np.where(labels[low:low + _CHUNK], np.log(p), np.log1p(-p)).sum())
    return -total / len(labels)


def gauc(groups, labels, scores) -> float:
    """Group AUC (RecBole's GAUC): per-group AUC averaged with weights = group size.

    Each group (e.g. a user) gets :func:`auc` over its own rows; groups that lack a
    positive or a negative are skipped, and the rest are averaged weighted by their
    number of rows. NaN when no group has both classes. ``O(n log n)``.

    Args:
        groups: ``[n]`` group keys of any sortable type (ints, strings).
        labels: 0/1 or bool ``[n]``.
        scores: float ``[n]``.

    >>> # group a: (0.9 > 0.1) -> 1; group b: 0.2 vs 0.7 loses -> 0; c has no negative.
    >>> gauc(["a", "a", "b", "b", "b", "c"], [1, 0, 1, 0, 0, 1],
    ...      [0.9, 0.1, 0.2, 0.7, 0.7, 0.5])   # (2 * 1 + 3 * 0) / (2 + 3)
    0.4
    """
    labels, scores = _check(labels, scores, "scores")
    groups = _column(groups, "groups")
    if groups.shape != labels.shape:
        raise ValueError(f"`groups` must have one entry per label ({len(labels)}). "
                         f"Received: groups.shape={groups.shape}")
    keys, codes = np.unique(groups, return_inverse=True)
    per_group, sizes = _grouped_auc(codes.reshape(-1), labels, scores, len(keys))
    defined = ~np.isnan(per_group)
    if not defined.any():
        return float("nan")
    return float(np.average(per_group[defined], weights=sizes[defined]))


def ctr_metrics(labels, probabilities, groups=None, *, from_logits: bool = False
                ) -> dict[str, float]:
    """``{"auc", "logloss"}``, plus ``"gauc"`` when ``groups`` is given; ``from_logits``:
    ``probabilities`` are logits (AUC ranks them as they are).

    >>> ctr_metrics([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.6], groups=[1, 1, 2, 2])
    {'auc': 0.875, 'logloss': 0.4389..., 'gauc': 0.75}
    """
    out = {"auc": auc(labels, probabilities),
           "logloss": log_loss(labels, probabilities, from_logits=from_logits)}
    if groups is not None:
        out["gauc"] = gauc(groups, labels, probabilities)
    return out


def _grouped_auc(codes, labels, scores, num_groups):
    """AUC of each group ``0 .. num_groups - 1`` (NaN without both classes) and sizes,
    from ranks (the Mann-Whitney statistic) on runs of equal (group, score)."""
    order = np.lexsort((scores, codes))
    codes, sorted_scores = codes[order], scores[order]
    new_run = np.r_[True, (codes[1:] != codes[:-1])
                    | (sorted_scores[1:] != sorted_scores[:-1])]
    del sorted_scores
    starts = np.flatnonzero(new_run)
    del new_run
    lengths = np.diff(np.r_[starts, len(order)])
    run_positives = np.add.reduceat(labels[order], starts, dtype=np.int64)
    del order
    run_groups = codes[starts]
    sizes = np.bincount(run_groups, weights=lengths, minlength=num_groups).astype(np.int64)
    positives = np.bincount(run_groups, weights=run_positives, minlength=num_groups)
    negatives = sizes - positives
    # A run at 1-based positions starts+1 .. starts+length averages starts + (length+1)/2;
    # less the positions before its group, it is the run's rank within the group.
    group_start = np.r_[0, np.cumsum(sizes)[:-1]]
    run_rank = starts + (lengths + 1) / 2.0
    rank_sum = np.bincount(run_groups, weights=run_positives * run_rank,
                           minlength=num_groups) - positives * group_start
    pairs = positives * negatives
    with np.errstate(invalid="ignore", divide="ignore"):
        per_group = (rank_sum - positives * (positives + 1) / 2) / pairs
    return np.where(pairs > 0, per_group, np.nan), sizes


def _column(values, name: str) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D (or one column). "
                         f"Received: {name}.shape={values.shape}")
    return values


def _check(labels, scores, name: str) -> tuple[np.ndarray, np.ndarray]:
    labels = _column(labels, "labels")
    scores = _column(scores, name)
    if labels.shape != scores.shape:
        raise ValueError(f"`{name}` must have one entry per label ({len(labels)}). "
                         f"Received: {name}.shape={scores.shape}")
    if labels.size == 0:
        raise ValueError("`labels` must not be empty. Received: labels.size=0")
    if labels.dtype != bool:
        numeric = np.issubdtype(labels.dtype, np.number)
        bad = ~np.isin(labels, (0, 1)) if numeric else np.ones(len(labels), bool)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(f"`labels` must be 0 or 1. Received: labels[{row}]="
                             f"{labels[row].item()!r}")
    if not np.issubdtype(scores.dtype, np.number) or scores.dtype == bool:
        raise ValueError(f"`{name}` must be numbers. Received: {name}.dtype={scores.dtype}")
    if scores.dtype.kind != "f":
        scores = scores.astype(np.float64)  # float32 stays: half the memory, same order
    if np.isnan(scores).any():
        row = int(np.flatnonzero(np.isnan(scores))[0])
        raise ValueError(f"`{name}` must not hold NaN. Received: {name}[{row}]=nan")
    return labels if labels.dtype == bool else labels == 1, scores
