"""Planted sequences: users walk a random Markov chain over the items, so the next item
depends on the latest one (tests and benchmarks of sequence models)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tfdeeprec.data import schema
from tfdeeprec.data.interaction_frame import InteractionFrame

_START_TIME = 1_577_836_800  # 2020-01-01T00:00:00Z


@dataclass(frozen=True, eq=False)
class MarkovSequences:
    """A generated frame and the chain behind it.

    ``transitions[i, j]`` is the planted probability that item ``item_ids[j]`` follows
    item ``item_ids[i]``: ``1 - noise`` spread over ``i``'s successors (halving from
    one successor to the next), plus ``noise / num_items`` to every item. A user never
    repeats an item: a draw that would is replaced by an item the user has not had,
    uniformly, so the best possible next-item ranking (:meth:`oracle_scores`) is the
    latest item's row with the user's items left out.
    """

    frame: InteractionFrame
    item_ids: np.ndarray
    transitions: np.ndarray

    def oracle_scores(self, latest_item_ids) -> np.ndarray:
        """``transitions`` rows of the given raw item IDs, ``[n, num_items]`` in
        ``item_ids`` order."""
        return self.transitions[self._positions(latest_item_ids)]

    def _positions(self, item_ids) -> list[int]:
        """Where raw item IDs sit in :attr:`item_ids` (the transition matrix's order)."""
        position = {item: i for i, item in enumerate(self.item_ids)}
        return [position[str(item)] for item in item_ids]

    def oracle_metrics(self, data, metrics=("hit", "ndcg"), ks=(10,)) -> dict:
        """The chain's own ranking on a leave-one-out split of :attr:`frame`, evaluated
        as a model's: each user's test item ranked by the latest (validation) item's
        row, the training and validation items left out.

        Args:
            data: the split, prepared as for a model (``train``, ``valid``, ``test``,
                ``item_vocab``; e.g. :func:`~tfdeeprec.training.experiment.prepare_data`
                with ``split="leave_one_out"``).
        """
        from tfdeeprec.data.encoded import concatenate
        from tfdeeprec.data.sequences import build_histories
        from tfdeeprec.evaluation import FullRankingEvaluator

        latest = build_histories(concatenate(data.train, data.valid), max_length=1)
        planted = self.oracle_scores(data.item_vocab.ids_of(latest[schema.HISTORY][:, -1]))
        columns = self._positions(data.item_vocab.ids_of(np.arange(1, data.train.num_items)))
        rows = np.zeros((data.train.num_users, data.train.num_items))
        rows[latest[schema.USER_ID], 1:] = planted[:, columns]
        evaluator = FullRankingEvaluator(data.train, data.test, exclude=(data.valid,),
                                         metrics=metrics, ks=ks)
        return dict(evaluator.evaluate(lambda users: rows[users]).metrics)


def make_markov_sequences(num_users: int = 300, num_items: int = 100, length: int = 20, *,
                          successors: int = 2, noise: float = 0.1,
                          seed: int = 0) -> MarkovSequences:
    """``num_users`` walks of ``length`` distinct items each over a random chain.

    Each item gets ``successors`` distinct random other items; a walk starts at a
    random item, and each step follows the chain (see :class:`MarkovSequences`).
    Timestamps are one day apart, so time order is walk order. IDs are strings:
    users ``u0..``, items ``i0..``.

    Example:

    >>> data = make_markov_sequences(num_users=3, num_items=10, length=4, seed=1)
    >>> data.frame.num_interactions, data.transitions.shape
    (12, (10, 10))
    >>> bool(np.allclose(data.transitions.sum(axis=1), 1.0))
    True
    """
    for name, value, least in (("num_users", num_users, 1), ("num_items", num_items, 2),
                               ("length", length, 2), ("successors", successors, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"`{name}` must be an integer >= {least}. "
                             f"Received: {name}={value!r}")
    if length > num_items or successors >= num_items:
        raise ValueError(f"`length` ({length}) must not exceed `num_items` ({num_items}), "
                         f"and `successors` ({successors}) must be below it")
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"`noise` must lie in [0, 1]. Received: noise={noise!r}")
    rng = np.random.default_rng(seed)
    # Successors: a random permutation of the other items, the first `successors` kept.
    others = np.argsort(rng.random((num_items, num_items)) + np.eye(num_items), axis=1)
    follow = others[:, :successors]
    weights = 0.5 ** np.arange(successors)
    weights = (1.0 - noise) * weights / weights.sum()
    transitions = np.full((num_items, num_items), noise / num_items)
    np.add.at(transitions, (np.repeat(np.arange(num_items), successors), follow.ravel()),
              np.tile(weights, num_items))
    cumulative = np.cumsum(transitions, axis=1)
    walks = np.empty((num_users, length), np.int64)
    seen = np.zeros((num_users, num_items), bool)
    users = np.arange(num_users)
    current = rng.integers(num_items, size=num_users)
    for step in range(length):
        if step:
            draw = rng.random(num_users)[:, None]
            current = np.minimum((cumulative[current] < draw).sum(axis=1), num_items - 1)
            repeat = seen[users, current]
            if repeat.any():  # a uniform item the user has not had yet
                fresh = rng.random((int(repeat.sum()), num_items)) + seen[repeat]
                current[repeat] = np.argmin(fresh, axis=1)
        walks[:, step] = current
        seen[users, current] = True
    item_ids = np.array([f"i{i}" for i in range(num_items)])
    frame = InteractionFrame.from_pandas(pd.DataFrame({
        schema.USER_ID: np.repeat([f"u{u}" for u in range(num_users)], length),
        schema.ITEM_ID: item_ids[walks.ravel()],
        schema.TIMESTAMP: _START_TIME + 86_400 * np.tile(np.arange(length), num_users),
    }), source="markov_sequences")
    return MarkovSequences(frame, item_ids, transitions)
