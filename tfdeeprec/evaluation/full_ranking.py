"""FullRankingEvaluator: ranks every item for every test user, seen items excluded."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data.encoded import EncodedInteractions
from tfdeeprec.evaluation import metrics as _metrics

DEFAULT_METRICS = ("hit", "precision", "recall", "f1", "ndcg", "mrr", "map", "gauc", "auc")
"""Metrics computed when none are named; ``"coverage"`` may be asked for too."""

ScoreFn = Callable[[np.ndarray], "np.ndarray | tf.Tensor"]


@dataclass(frozen=True)
class EvaluationResult:
    """Averaged metrics of one evaluation run, labelled with its protocol.

    Args:
        protocol: ``"full"`` (all items ranked) or ``"sampled-N"`` (each positive
            ranked against N fixed sampled negatives).
        metrics: ``{"ndcg@10": 0.31, ..., "gauc": 0.9, "auc": 0.85}``, each averaged
            over users except ``auc``, which pools the pairs of all users.
        num_users: how many users the averages are over.

    Example:

    >>> result = EvaluationResult("full", {"ndcg@10": 0.25}, num_users=3)
    >>> result["ndcg@10"], result.to_dict()["protocol"]
    (0.25, 'full')
    >>> print(result.as_table())
    metric   full (3 users)
    ndcg@10  0.2500
    """

    protocol: str
    metrics: dict[str, float] = field(default_factory=dict)
    num_users: int = 0

    def __getitem__(self, name: str) -> float:
        return self.metrics[name]

    def as_table(self, digits: int = 4) -> str:
        """Two aligned text columns: metric name, value; the header names the protocol."""
        header = ("metric", f"{self.protocol} ({self.num_users} users)")
        rows = [header] + [(name, f"{value:.{digits}f}") for name, value in self.metrics.items()]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)

    def to_dict(self) -> dict:
        """JSON-ready: ``{"protocol", "num_users", "metrics"}``."""
        return {"protocol": self.protocol, "num_users": self.num_users,
                "metrics": dict(self.metrics)}


class FullRankingEvaluator:
    """Top-K metrics and AUCs over all items, the protocol tfdeeprec reports by default.

    Every known user with at least one test interaction is evaluated; test rows with an
    OOV user are ignored. A test row whose item is OOV (an item never seen in training,
    when vocabularies come from the training split) stays relevant: it counts in
    ``num_relevant`` and can never be a hit, so unseen items lower recall and NDCG as
    they would for any model, rather than vanishing from the protocol. For each such user the
    model scores all ``num_items`` items; the OOV index 0, the user's training items
    and the items in any ``exclude`` split (e.g. validation) are set to ``-inf`` and
    can neither be recommended nor count as hits. As in RecBole, the relevant set is
    the user's distinct test items, so a test item that is also a training item still
    counts in ``num_relevant`` (recall's denominator) although it can never be ranked.
    Ties in the top K go to the lower item index (``tf.math.top_k``).

    Both AUCs pair relevant items with candidate (not excluded, not relevant) items,
    ties counting one half. ``gauc`` (group AUC) pairs each user's relevant items with
    that user's candidates and averages over the users that have a pair; ``auc`` pools
    the pairs: every relevant (user, item) with every candidate (user', item') of
    every evaluated user, so it also asks that scores compare across users. A relevant
    item that is excluded (also a training item) is a positive that loses all its
    pairs; OOV test items have no score and are left out of both, so a user whose
    test items are all OOV adds candidates to ``auc`` only. Users are scored
    ``batch_size`` at a time, so memory stays at ``batch_size x num_items`` scores,
    plus, for ``auc``, every user's candidate scores (``num_users x num_items`` at
    most), kept until the exact pooled AUC is computed at the end.

    Args:
        train: training interactions; their items are excluded per user.
        test: the interactions to retrieve; same ``num_users`` / ``num_items``.
        exclude: further splits whose items are excluded too (default ``()``).
        ks: cut-offs, each in ``1 .. num_items - 1`` (default ``(10,)``).
        metrics: names among ``hit, precision, recall, f1, ndcg, mrr, map, gauc, auc,
            coverage`` (default: all but coverage).
        batch_size: users per ``score_fn`` call (default 256).
        exclude_train: exclude each user's training items (default ``True``); with
            ``False`` only ``exclude``'s items are (RecBole's sequential protocol ranks
            the history too).

    ``score_fn(user_indices)`` takes a numpy ``int32`` array ``[b]`` and returns scores
    ``[b, num_items]`` (numpy or a tensor), higher is better; for a factorised model,
    ``user_embeddings[u] @ item_embeddings.T``.

    Example:

    >>> train = EncodedInteractions(np.array([1, 2], np.int32), np.array([1, 2], np.int32),
    ...                             num_users=3, num_items=6)
    >>> test = EncodedInteractions(np.array([1, 2], np.int32), np.array([2, 3], np.int32),
    ...                            num_users=3, num_items=6)
    >>> evaluator = FullRankingEvaluator(train, test, ks=(1, 2),
    ...                                  metrics=("hit", "gauc", "auc"))
    >>> prefer_low_indices = lambda users: -np.tile(np.arange(6.0), (len(users), 1))
    >>> result = evaluator.evaluate(prefer_low_indices)
    >>> {name: round(value, 4) for name, value in result.metrics.items()}
    {'hit@1': 0.5, 'hit@2': 1.0, 'gauc': 0.8333, 'auc': 0.7917}

    ``gauc`` = (3/3 + 2/3) / 2: user 1's item 2 beats its candidates 3, 4, 5; user 2's
    item 3 beats 4 and 5 but not 1. ``auc`` = 9.5 / 12: item 2 of user 1 (score -2)
    beats five of the six candidate pairs, item 3 of user 2 (score -3) beats four
    and ties user 1's item 3.
    """

    def __init__(self, train: EncodedInteractions, test: EncodedInteractions, *,
                 exclude: Iterable[EncodedInteractions] = (),
                 ks: Iterable[int] = (10,), metrics: Sequence[str] = DEFAULT_METRICS,
                 batch_size: int = 256, exclude_train: bool = True):
        exclude = check_splits(train, test, exclude)
        self.num_items = int(test.num_items)
        self.ks = _metrics.check_ks(ks)
        if self.ks[-1] > self.num_items - 1:
            raise ValueError(f"`ks` must not exceed the number of real items "
                             f"({self.num_items - 1}). Received: ks={self.ks}")
        self.metrics = _check_metric_names(metrics, extra=("gauc", "auc", "coverage"))
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive integer. "
                             f"Received: batch_size={batch_size!r}")
        self.batch_size = int(batch_size)

        m = self.num_items
        test_keys = known_pair_keys(test)
        if test_keys.size == 0:
            raise ValueError(f"`test` must hold at least one interaction with a known user "
                             f"and item. Received: {len(test)} rows, none known")
        counts = np.bincount(test_keys // m, minlength=int(test.num_users))
        counts += unknown_item_counts(test)
        self.users = np.flatnonzero(counts).astype(np.int32)
        self.num_relevant = counts[self.users]
        position = np.full(int(test.num_users), -1, np.int64)
        position[self.users] = np.arange(len(self.users))
        self._relevant = _Rows(position[test_keys // m], test_keys % m, len(self.users))
        seen = (train, *exclude) if exclude_train else (*exclude, _no_rows(train))
        seen_users = np.concatenate([s.user for s in seen]).astype(np.int64)
        seen_items = np.concatenate([s.item for s in seen]).astype(np.int64)
        keep = ((seen_users > 0) & (seen_users < len(position))
                & (seen_items >= 0) & (seen_items < m))
        rows = position[seen_users[keep]]
        evaluated = rows >= 0
        self._excluded = _Rows(rows[evaluated], seen_items[keep][evaluated], len(self.users))

    @property
    def num_users(self) -> int:
        """How many users are evaluated."""
        return len(self.users)

    def evaluate(self, score_fn: ScoreFn) -> EvaluationResult:
        """Scores all items for every test user and returns the averaged metrics."""
        top_metrics = [n for n in self.metrics if n in _metrics.RANKING_METRICS]
        totals: dict[str, float] = {}
        gauc_sum, gauc_count = 0.0, 0
        positives, negatives, top_lists = [], [], []
        for rows, scores, excluded, relevant, top in self._ranked_batches(score_fn):
            hits = np.take_along_axis(relevant & ~excluded, top, axis=1)
            per_user = _metrics.ranking_metrics_at_k(hits, self.num_relevant[rows],
                                                     self.ks, top_metrics)
            for name, values in per_user.items():
                totals[name] = totals.get(name, 0.0) + float(values.sum())
            if "gauc" in self.metrics:
                user_auc = _metrics.per_row_auc(scores, relevant, valid=~excluded)
                gauc_sum += float(np.nansum(user_auc))
                gauc_count += int(np.isfinite(user_auc).sum())
            if "auc" in self.metrics:
                positives.append(scores[relevant])  # excluded ones at -inf lose every pair
                negatives.append(scores[~excluded & ~relevant])
            if "coverage" in self.metrics:
                top_lists.append(np.where(np.take_along_axis(excluded, top, axis=1), 0, top))
        values = {}
        for k in self.ks:
            for name in self.metrics:
                if name == "coverage":
                    values[f"coverage@{k}"] = _metrics.item_coverage(
                        np.concatenate(top_lists)[:, :k], self.num_items)
                elif name in _metrics.RANKING_METRICS:
                    values[f"{name}@{k}"] = totals[f"{name}@{k}"] / self.num_users
        if "gauc" in self.metrics:
            values["gauc"] = gauc_sum / gauc_count if gauc_count else float("nan")
        if "auc" in self.metrics:
            values["auc"] = _metrics.global_auc(np.concatenate(positives),
                                                np.concatenate(negatives))
        return EvaluationResult("full", values, self.num_users)

    def top_items(self, score_fn: ScoreFn, k: int | None = None) -> np.ndarray:
        """The top-``k`` item indices ``[num_users, k]`` for ``self.users``, in order.

        Excluded items never appear; a user with fewer than ``k`` candidates gets
        0 ("no item") in the remaining slots. ``k`` defaults to ``max(ks)``.
        """
        k = self.ks[-1] if k is None else _metrics.check_ks((k,))[0]
        if k > self.num_items - 1:
            raise ValueError(f"`k` must not exceed the number of real items "
                             f"({self.num_items - 1}). Received: k={k}")
        out = []
        for _, _, excluded, _, top in self._ranked_batches(score_fn, k):
            out.append(np.where(np.take_along_axis(excluded, top, axis=1), 0, top))
        return np.concatenate(out).astype(np.int32)

    def _ranked_batches(self, score_fn: ScoreFn, k: int | None = None):
        """Yields (row slice, masked scores, excluded, relevant, top-k indices) per batch."""
        k = self.ks[-1] if k is None else k
        for start in range(0, self.num_users, self.batch_size):
            rows = slice(start, min(start + self.batch_size, self.num_users))
            users = self.users[rows]
            scores = _as_scores(score_fn(users), (len(users), self.num_items))
            excluded = self._excluded.dense(rows, self.num_items)
            excluded[:, 0] = True
            relevant = self._relevant.dense(rows, self.num_items)
            scores = np.where(excluded, -np.inf, scores).astype(scores.dtype, copy=False)
            top = tf.math.top_k(scores, k=k, sorted=True).indices.numpy()
            yield rows, scores, excluded, relevant, top


def _no_rows(split: EncodedInteractions) -> EncodedInteractions:
    empty = np.zeros(0, np.int32)
    return EncodedInteractions(empty, empty, split.num_users, split.num_items)


class _Rows:
    """Per-row item sets as sorted unique (row, item) pairs, sliced by row ranges."""

    def __init__(self, rows: np.ndarray, items: np.ndarray, num_rows: int):
        width = int(items.max()) + 1 if items.size else 1
        keys = np.unique(rows.astype(np.int64) * width + items.astype(np.int64))
        self.rows, self.items = keys // width, keys % width
        self.indptr = np.searchsorted(self.rows, np.arange(num_rows + 1))

    def dense(self, rows: slice, num_items: int) -> np.ndarray:
        lo, hi = self.indptr[rows.start], self.indptr[rows.stop]
        out = np.zeros((rows.stop - rows.start, num_items), bool)
        out[self.rows[lo:hi] - rows.start, self.items[lo:hi]] = True
        return out


def check_splits(train: EncodedInteractions, test: EncodedInteractions,
                 exclude: Iterable[EncodedInteractions]) -> tuple[EncodedInteractions, ...]:
    """Checks that all splits are EncodedInteractions over the same index spaces."""
    exclude = (exclude,) if isinstance(exclude, EncodedInteractions) else tuple(exclude)
    named = [("train", train), ("test", test)] + [(f"exclude[{i}]", s)
                                                 for i, s in enumerate(exclude)]
    for name, split in named:
        if not isinstance(split, EncodedInteractions):
            raise TypeError(f"`{name}` must be EncodedInteractions. "
                            f"Received: {name}={type(split).__name__}")
        if (split.num_users, split.num_items) != (test.num_users, test.num_items):
            raise ValueError(
                f"`{name}` must share test's vocabularies (num_users={test.num_users}, "
                f"num_items={test.num_items}). Received: num_users={split.num_users}, "
                f"num_items={split.num_items}")
    if test.num_items < 2:
        raise ValueError(f"`num_items` must be at least 2 (OOV slot + one item). "
                         f"Received: num_items={test.num_items}")
    return exclude


def unknown_item_counts(split: EncodedInteractions) -> np.ndarray:
    """Per user index, how many rows of a known user have the OOV item 0."""
    user = split.user.astype(np.int64)
    rows = (user > 0) & (user < split.num_users) & (split.item == 0)
    return np.bincount(user[rows], minlength=int(split.num_users))


def known_pair_keys(split: EncodedInteractions) -> np.ndarray:
    """Sorted unique ``user * num_items + item`` keys of rows with known user and item."""
    user = split.user.astype(np.int64)
    item = split.item.astype(np.int64)
    keep = (user > 0) & (user < split.num_users) & (item > 0) & (item < split.num_items)
    return np.unique(user[keep] * split.num_items + item[keep])


def _check_metric_names(names: Sequence[str], extra: tuple[str, ...]) -> tuple[str, ...]:
    names = (names,) if isinstance(names, str) else tuple(names)
    allowed = tuple(_metrics.RANKING_METRICS) + extra
    bad = [n for n in names if n not in allowed]
    if bad or not names:
        raise ValueError(f"`metrics` must be a non-empty selection of {allowed}. "
                         f"Received: metrics={names}")
    return tuple(dict.fromkeys(names))


def _as_scores(scores, shape: tuple[int, int]) -> np.ndarray:
    scores = np.asarray(scores)
    if scores.shape != shape:
        raise ValueError(f"`score_fn` must return scores of shape {shape} "
                         f"(batch, num_items). Received: shape={scores.shape}")
    if scores.dtype not in (np.float32, np.float64):
        scores = scores.astype(np.float32)
    if np.isnan(scores).any():
        raise ValueError(f"`score_fn` must return finite scores. Received: "
                         f"{int(np.isnan(scores).sum())} NaN values in a batch")
    return scores
