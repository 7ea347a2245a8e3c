"""SampledEvaluator: each test positive ranked against N fixed, seeded sampled negatives."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from tfdeeprec.data.encoded import EncodedInteractions
from tfdeeprec.evaluation import metrics as _metrics
from tfdeeprec.evaluation.full_ranking import (
    DEFAULT_METRICS,
    EvaluationResult,
    _check_metric_names,
    check_splits,
    known_pair_keys,
)

PairScoreFn = Callable[[np.ndarray, np.ndarray], "np.ndarray"]


class SampledEvaluator:
    """The NCF / SASRec protocol, for comparison with papers; results say "sampled-N".

    Every distinct test (user, item) pair with a known user and item becomes one row of
    ``1 + num_negatives`` candidates: the positive in column 0, then ``num_negatives``
    distinct items the user never interacted with in ``train``, ``exclude`` or
    ``test``. The negatives are drawn once, here, from a seeded
    ``numpy.random.Generator`` and reused by every :meth:`evaluate` call, so two
    models (or two epochs) are compared on the same candidates. Ties between the
    positive and a negative count against the positive (a constant model scores 0,
    not 1); the AUCs count them one half. Metrics are averaged over a user's rows,
    then over users, so with one test item per user (leave-one-out) they are the
    usual per-interaction averages; ``gauc`` is the per-row AUC so averaged. ``auc``
    pools instead: every row's positive against every row's negatives, whichever
    user they belong to (a negative drawn for two rows of a user counts twice).

    Sampled metrics are optimistic compared with full ranking and can even order
    models differently (Krichene & Rendle, KDD 2020); report
    :class:`FullRankingEvaluator` figures as the main result.

    Args:
        train: training interactions.
        test: the positives; same ``num_users`` / ``num_items``.
        num_negatives: negatives per positive (default 100).
        exclude: further splits (e.g. validation) whose items are never negatives.
        seed: seed of the negative sampler (default 0).
        ks: cut-offs, each in ``1 .. num_negatives + 1`` (default ``(10,)``).
        metrics: names among ``hit, precision, recall, f1, ndcg, mrr, map, gauc, auc``
            (default: all).
        batch_size: rows per ``score_fn`` call (default 1024).

    ``score_fn(user_indices, item_indices)`` takes numpy ``int32`` users ``[b]`` and
    candidates ``[b, 1 + num_negatives]`` and returns scores of the candidates'
    shape. A model that only scores all items can be wrapped with
    :func:`full_scores_to_pair_scorer`.

    Example:

    >>> train = EncodedInteractions(np.array([1], np.int32), np.array([1], np.int32),
    ...                             num_users=2, num_items=6)
    >>> test = EncodedInteractions(np.array([1], np.int32), np.array([2], np.int32),
    ...                            num_users=2, num_items=6)
    >>> evaluator = SampledEvaluator(train, test, num_negatives=3, ks=(1,),
    ...                              metrics=("hit", "gauc", "auc"))
    >>> evaluator.protocol, sorted(evaluator.candidates[0, 1:].tolist())
    ('sampled-3', [3, 4, 5])
    >>> result = evaluator.evaluate(lambda users, items: -items.astype(float))
    >>> result.metrics
    {'hit@1': 1.0, 'gauc': 1.0, 'auc': 1.0}
    """

    def __init__(self, train: EncodedInteractions, test: EncodedInteractions, *,
                 num_negatives: int = 100, exclude: Iterable[EncodedInteractions] = (),
                 seed: int = 0, ks: Iterable[int] = (10,),
                 metrics: Sequence[str] = DEFAULT_METRICS, batch_size: int = 1024):
        exclude = check_splits(train, test, exclude)
        for name, value in (("num_negatives", num_negatives), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or value < 1:
                raise ValueError(f"`{name}` must be a positive integer. "
                                 f"Received: {name}={value!r}")
        self.num_negatives = int(num_negatives)
        self.batch_size = int(batch_size)
        self.seed = seed
        self.ks = _metrics.check_ks(ks)
        if self.ks[-1] > self.num_negatives + 1:
            raise ValueError(f"`ks` must not exceed the candidates per row "
                             f"({self.num_negatives + 1}). Received: ks={self.ks}")
        self.metrics = _check_metric_names(metrics, extra=("gauc", "auc"))
        self.protocol = f"sampled-{self.num_negatives}"

        m = int(test.num_items)
        test_keys = known_pair_keys(test)
        if test_keys.size == 0:
            raise ValueError(f"`test` must hold at least one interaction with a known user "
                             f"and item. Received: {len(test)} rows, none known")
        row_users = (test_keys // m).astype(np.int32)
        seen = np.unique(np.concatenate([known_pair_keys(s) for s in (train, *exclude, test)]))
        available = (m - 1) - np.bincount(seen // m, minlength=test.num_users)[row_users]
        if (available < self.num_negatives).any():
            row = int(np.flatnonzero(available < self.num_negatives)[0])
            raise ValueError(
                f"`num_negatives` must not exceed the items user {row_users[row]} never "
                f"interacted with ({available[row]}). Received: "
                f"num_negatives={self.num_negatives}")
        negatives = _sample_negatives(np.random.default_rng(seed), row_users, seen, m,
                                      self.num_negatives)
        self.row_users = row_users
        self.candidates = np.concatenate(
            [(test_keys % m).astype(np.int32)[:, None], negatives], axis=1)
        self.row_users.setflags(write=False)
        self.candidates.setflags(write=False)
        self.users, self._user_of_row = np.unique(row_users, return_inverse=True)

    @property
    def num_users(self) -> int:
        """How many users have at least one evaluated row."""
        return len(self.users)

    @property
    def negatives(self) -> np.ndarray:
        """The fixed negatives ``[rows, num_negatives]`` (read-only)."""
        return self.candidates[:, 1:]

    def evaluate(self, score_fn: PairScoreFn) -> EvaluationResult:
        """Scores every row's candidates and returns metrics labelled ``sampled-N``."""
        k_max = self.ks[-1]
        top_metrics = [n for n in self.metrics if n in _metrics.RANKING_METRICS]
        width = self.num_negatives + 1
        per_row: dict[str, list[np.ndarray]] = {}
        positives, negatives = [], []
        for start in range(0, len(self.row_users), self.batch_size):
            users = self.row_users[start:start + self.batch_size]
            items = self.candidates[start:start + self.batch_size]
            scores = np.asarray(score_fn(users, items))
            if scores.shape != items.shape:
                raise ValueError(f"`score_fn` must return scores of shape {items.shape} "
                                 f"(batch, 1 + num_negatives). Received: shape={scores.shape}")
            if np.isnan(scores).any():
                raise ValueError(f"`score_fn` must return finite scores. Received: "
                                 f"{int(np.isnan(scores).sum())} NaN values in a batch")
            rank = (scores[:, 1:] >= scores[:, :1]).sum(axis=1)  # ties rank below
            hits = np.zeros((len(users), k_max), bool)
            inside = rank < k_max
            hits[np.flatnonzero(inside), rank[inside]] = True
            values = _metrics.ranking_metrics_at_k(hits, np.ones(len(users), np.int64),
                                                   self.ks, top_metrics)
            if "gauc" in self.metrics:
                relevant = np.zeros((len(users), width), bool)
                relevant[:, 0] = True
                values["gauc"] = _metrics.per_row_auc(scores, relevant)
            if "auc" in self.metrics:
                positives.append(scores[:, 0])
                negatives.append(scores[:, 1:].ravel())
            for name, value in values.items():
                per_row.setdefault(name, []).append(value)
        rows_per_user = np.bincount(self._user_of_row)
        averaged = {}
        for name, chunks in per_row.items():
            user_sum = np.bincount(self._user_of_row, weights=np.concatenate(chunks))
            averaged[name] = float(np.mean(user_sum / rows_per_user))
        if "auc" in self.metrics:
            averaged["auc"] = _metrics.global_auc(np.concatenate(positives),
                                                  np.concatenate(negatives))
        return EvaluationResult(self.protocol, averaged, self.num_users)


def full_scores_to_pair_scorer(score_fn: Callable) -> PairScoreFn:
    """Turns a full scorer ``users -> [b, num_items]`` into a candidate scorer.

    The wrapped function scores all items, then gathers each row's candidates, which
    is simple and fine for MovieLens-sized catalogues; score only the candidates
    when items are many.

    >>> full = lambda users: np.tile(np.arange(5.0), (len(users), 1)) + users[:, None]
    >>> pair = full_scores_to_pair_scorer(full)
    >>> pair(np.array([0, 10]), np.array([[4, 1], [2, 3]])).tolist()
    [[4.0, 1.0], [12.0, 13.0]]
    """
    def pair_score_fn(users, items):
        items = np.asarray(items)
        scores = np.asarray(score_fn(users))
        return np.take_along_axis(scores, items.astype(np.int64), axis=1)

    return pair_score_fn


def _sample_negatives(rng: np.random.Generator, users: np.ndarray, seen: np.ndarray,
                      num_items: int, n: int) -> np.ndarray:
    """``n`` distinct unseen items per row, uniformly, by vectorised rejection."""
    out = np.empty((len(users), n), np.int32)
    pending = np.arange(len(users))
    drawn = np.empty((len(users), 0), np.int64)
    while pending.size:
        fresh = rng.integers(1, num_items, size=(pending.size, max(2 * n, drawn.shape[1])))
        drawn = np.concatenate([drawn, fresh], axis=1)
        keys = users[pending, None].astype(np.int64) * num_items + drawn
        where = np.minimum(np.searchsorted(seen, keys), len(seen) - 1)
        ok = (seen[where] != keys) & _first_occurrence(drawn)
        done = ok.sum(axis=1) >= n
        # A stable sort of ~ok keeps accepted draws in draw order: the first n of them.
        pick = np.argsort(~ok[done], axis=1, kind="stable")[:, :n]
        out[pending[done]] = np.take_along_axis(drawn[done], pick, axis=1)
        pending, drawn = pending[~done], drawn[~done]
    return out


def _first_occurrence(values: np.ndarray) -> np.ndarray:
    """True where an entry is the first of its value in its row."""
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    first_sorted = np.ones_like(ordered, dtype=bool)
    first_sorted[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    first = np.empty_like(first_sorted)
    np.put_along_axis(first, order, first_sorted, axis=1)
    return first
