"""Train/valid/test splits of interactions: random, per-user ratio, leave-one-out, temporal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from tfdeeprec.data import schema
from tfdeeprec.data.errors import DataError
from tfdeeprec.data.interaction_frame import InteractionFrame
from tfdeeprec.data.vocabulary import Vocabulary


class Split(NamedTuple):
    """Three disjoint InteractionFrames; ``valid`` may hold no rows.

    A ``Split`` unpacks like a tuple: ``train, valid, test = split_random(frame)``.
    Build vocabularies from ``train`` only (:meth:`vocabularies`), so an ID first seen
    in ``valid`` or ``test`` maps to the OOV index 0 instead of leaking a trained row.

    Example:

    >>> import pandas as pd
    >>> frame = InteractionFrame.from_pandas(pd.DataFrame({
    ...     "user_id": ["a"] * 5, "item_id": ["1", "2", "3", "4", "5"]}))
    >>> split = split_by_user_ratio(frame, (0.8, 0.1, 0.1), seed=0)
    >>> [part.num_interactions for part in split]
    [3, 1, 1]
    """

    train: InteractionFrame
    valid: InteractionFrame
    test: InteractionFrame

    def vocabularies(self) -> tuple[Vocabulary, Vocabulary]:
        """``(user_vocab, item_vocab)`` built from ``train`` only."""
        return build_vocabularies(self.train)


def build_vocabularies(train: InteractionFrame) -> tuple[Vocabulary, Vocabulary]:
    """User and item vocabularies from the training frame only (no valid/test leak).

    >>> import pandas as pd
    >>> train = InteractionFrame.from_pandas(pd.DataFrame({"user_id": ["b", "a"],
    ...                                                    "item_id": ["x", "x"]}))
    >>> users, items = build_vocabularies(train)
    >>> users.tokens, len(items), users.lookup(["new"]).tolist()
    (('a', 'b'), 2, [0])
    """
    df = train.interactions
    return (Vocabulary.from_ids(df[schema.USER_ID], name=schema.USER_ID),
            Vocabulary.from_ids(df[schema.ITEM_ID], name=schema.ITEM_ID))


def split_random(frame: InteractionFrame, ratios: Sequence[float] = (0.8, 0.1, 0.1),
                 seed: int = 0) -> Split:
    """Shuffles all interactions with ``seed`` and cuts them by ``ratios``.

    Part sizes follow :func:`split_by_user_ratio`'s rounding rule applied to the whole
    frame. Two ratios give ``(train, test)`` with an empty ``valid``.

    >>> import pandas as pd
    >>> frame = InteractionFrame.from_pandas(pd.DataFrame({
    ...     "user_id": list("abcdefghij"), "item_id": ["x"] * 10}))
    >>> [part.num_interactions for part in split_random(frame, (0.8, 0.2))]
    [8, 0, 2]
    """
    ratios = _check_ratios(ratios)
    n = frame.num_interactions
    order = np.random.default_rng(seed).permutation(n)
    part = np.empty(n, dtype=np.int8)
    part[order] = np.repeat(np.arange(len(ratios), dtype=np.int8),
                            _part_sizes(np.array([n]), ratios)[0])
    return _assemble(frame, part, len(ratios))


def split_by_user_ratio(frame: InteractionFrame, ratios: Sequence[float] = (0.8, 0.1, 0.1),
                        seed: int = 0) -> Split:
    """Per user: shuffles the user's interactions with ``seed`` and cuts them by ``ratios``.

    This is RecBole's ``split: {RS: [0.8, 0.1, 0.1]}`` with ``group_by: user``. For a
    user with ``n`` interactions, every part but the first gets ``int(ratio * n)`` rows
    and train gets the rest; then, from the last part to the second, while train holds
    more than one row, a part whose ``ratio * n`` lies strictly between 0 and 1 takes one
    row from train. With ``(0.8, 0.1, 0.1)``: n=1 -> 1/0/0, n=2 -> 1/0/1, n=3 -> 1/1/1,
    n=5 -> 3/1/1, n=10 -> 8/1/1. Two ratios give an empty ``valid``. Rows keep the
    frame's order inside each part.
    """
    ratios = _check_ratios(ratios)
    df = frame.interactions
    codes = pd.factorize(df[schema.USER_ID])[0]
    noise = np.random.default_rng(seed).random(len(df))
    order = np.lexsort((noise, codes))
    counts = np.bincount(codes)
    rank = np.empty(len(df), dtype=np.int64)
    rank[order] = np.arange(len(df)) - np.repeat(np.cumsum(counts) - counts, counts)
    bounds = np.cumsum(_part_sizes(counts, ratios), axis=1)[codes]
    part = (rank[:, None] >= bounds[:, :-1]).sum(axis=1).astype(np.int8)
    return _assemble(frame, part, len(ratios))


def split_leave_one_out(frame: InteractionFrame, seed: int | None = 0) -> Split:
    """Per user, by time: the latest interaction is test, the one before it valid.

    Users with fewer than 3 interactions keep all of them in train (they could not
    contribute to both valid and test). Ties in ``timestamp`` are broken by a seeded
    random order, so runs repeat; ``seed=None`` breaks them by row order instead (the
    later row counts as later).

    >>> import pandas as pd
    >>> frame = InteractionFrame.from_pandas(pd.DataFrame({
    ...     "user_id": ["a"] * 4, "item_id": ["1", "2", "3", "4"],
    ...     "timestamp": [40, 10, 30, 20]}))
    >>> [p.interactions.item_id.tolist() for p in split_leave_one_out(frame)]
    [['2', '4'], ['3'], ['1']]
    """
    df = _require_timestamps(frame, "split_leave_one_out")
    codes = pd.factorize(df[schema.USER_ID])[0]
    ties = (np.arange(len(df)) if seed is None
            else np.random.default_rng(seed).permutation(len(df)))
    order = np.lexsort((ties, df[schema.TIMESTAMP].to_numpy(), codes))
    counts = np.bincount(codes)
    ends = np.cumsum(counts)
    from_end = np.empty(len(df), dtype=np.int64)
    from_end[order] = np.repeat(ends, counts) - 1 - np.arange(len(df))
    part = np.where(from_end == 0, 2, np.where(from_end == 1, 1, 0)).astype(np.int8)
    part[counts[codes] < 3] = 0
    return _assemble(frame, part, 3)


def split_temporal(frame: InteractionFrame, ratios: Sequence[float] = (0.8, 0.1, 0.1),
                   cut: Sequence[int] | None = None) -> Split:
    """One global time cut: train before ``t1``, valid in ``[t1, t2)``, test from ``t2``.

    Without ``cut``, ``t1``/``t2`` are the timestamps found at the ratio positions of
    the time-sorted frame (the sizes of :func:`split_random`). Interactions sharing a
    cut timestamp all go to the later part, so every train interaction happened before
    every valid and test one; with ties the sizes can differ from ``ratios``. Pass
    ``cut=(t1, t2)`` for explicit timestamps; ``cut=(t,)`` (or two ``ratios``) gives an
    empty ``valid``.

    >>> import pandas as pd
    >>> frame = InteractionFrame.from_pandas(pd.DataFrame({
    ...     "user_id": ["a"] * 5, "item_id": list("vwxyz"), "timestamp": [5, 1, 4, 2, 3]}))
    >>> [p.interactions.timestamp.tolist() for p in split_temporal(frame, cut=(3, 5))]
    [[1, 2], [4, 3], [5]]
    """
    df = _require_timestamps(frame, "split_temporal")
    ts = df[schema.TIMESTAMP].to_numpy()
    if cut is None:
        ratios = _check_ratios(ratios)
        ordered = np.sort(ts, kind="stable")
        positions = np.cumsum(_part_sizes(np.array([len(ts)]), ratios)[0])[:-1]
        cuts = [ordered[p] if p < len(ts) else np.iinfo(np.int64).max for p in positions]
    else:
        cuts = [int(c) for c in np.atleast_1d(np.asarray(cut))]
        if len(cuts) not in (1, 2) or (len(cuts) == 2 and cuts[0] > cuts[1]):
            raise DataError(f"`cut` must be 1 or 2 increasing timestamps. Received: cut={cut!r}")
    part = np.searchsorted(np.asarray(cuts), ts, side="right").astype(np.int8)
    return _assemble(frame, part, len(cuts) + 1)


def _check_ratios(ratios) -> np.ndarray:
    try:
        values = np.asarray(ratios, dtype=np.float64)
    except (TypeError, ValueError):
        values = np.array([np.nan])
    if (values.ndim != 1 or len(values) not in (2, 3) or not np.all(np.isfinite(values))
            or np.any(values <= 0) or abs(values.sum() - 1.0) > 1e-6):
        raise DataError("`ratios` must be 2 or 3 positive numbers that sum to 1. "
                        f"Received: ratios={ratios!r}")
    total = sum(float(v) for v in values)  # RecBole normalises with Python's sum.
    return np.array([float(v) / total for v in values])


def _part_sizes(counts: np.ndarray, ratios: np.ndarray) -> np.ndarray:
    """RecBole's per-group part sizes, vectorised over groups: int array [groups, parts]."""
    n = counts.astype(np.float64)[:, None]
    exact = ratios[None, :] * n
    sizes = np.floor(exact).astype(np.int64)
    sizes[:, 0] = counts - sizes[:, 1:].sum(axis=1)
    for part in range(len(ratios) - 1, 0, -1):
        move = (sizes[:, 0] > 1) & (exact[:, part] > 0) & (exact[:, part] < 1)
        sizes[move, part] += 1
        sizes[move, 0] -= 1
    return sizes


def _assemble(frame: InteractionFrame, part: np.ndarray, num_parts: int) -> Split:
    df = frame.interactions
    if num_parts == 2:
        part = np.where(part == 1, 2, part)
    return Split(*(frame.with_interactions(df[part == p]) for p in range(3)))


def _require_timestamps(frame: InteractionFrame, what: str) -> pd.DataFrame:
    if not frame.has_timestamps:
        raise DataError(f"{what} needs timestamps, but the frame has none", source=frame.source,
                        column=schema.TIMESTAMP)
    return frame.interactions
