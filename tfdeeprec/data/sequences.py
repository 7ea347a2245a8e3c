"""Per-user item histories as padded, time-ordered sequences, and their tf.data pipeline."""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data import schema
from tfdeeprec.data._batching import index_batches
from tfdeeprec.data.encoded import EncodedInteractions

_ALIGNS = ("left", "right")


def build_histories(encoded: EncodedInteractions, *, max_length: int = 50,
                    align: str = "right", next_item: bool = False) -> dict[str, np.ndarray]:
    """Each user's items in time order, truncated to the latest ``max_length``, 0-padded.

    Items are ordered by ``timestamp`` (ties and data without timestamps keep row
    order). Interactions with an OOV user or item (index 0) are dropped, since 0 is
    the padding index. ``align="right"`` puts the latest item in the last column
    (padding in front); ``"left"`` starts at column 0 (padding at the end). With
    ``next_item=True`` each user's latest item becomes ``target_item_id`` and the
    history is the items before it; users with a single interaction are left out.

    Returns:
        ``{user_id: int32 [u], history: int32 [u, max_length], history_length: int32
        [u]}`` plus ``target_item_id: int32 [u]`` for ``next_item``, users ascending.

    Example:

    >>> enc = EncodedInteractions(np.array([1, 1, 1, 2], np.int32),
    ...                           np.array([4, 5, 6, 7], np.int32), 3, 8)
    >>> build_histories(enc, max_length=2, align="right")["history"].tolist()
    [[5, 6], [0, 7]]
    >>> build_histories(enc, max_length=3, align="left", next_item=True)["history"].tolist()
    [[4, 5, 0]]
    """
    _check_sequence_args(max_length, align)
    keep = (encoded.user != 0) & (encoded.item != 0)
    user, item = encoded.user[keep], encoded.item[keep]
    rows = np.arange(len(user))
    keys = (rows, user) if encoded.timestamp is None else (rows, encoded.timestamp[keep], user)
    order = np.lexsort(keys)
    user, item = user[order], item[order]
    users, starts, counts = np.unique(user, return_index=True, return_counts=True)
    ends = starts + counts
    out = {}
    if next_item:
        enough = counts >= 2
        users, starts, ends = users[enough], starts[enough], ends[enough] - 1
        out[schema.TARGET_ITEM_ID] = item[ends].astype(np.int32)
    lengths = np.minimum(ends - starts, max_length)
    first = ends - lengths
    owner = np.repeat(np.arange(len(users)), lengths)
    column = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    source = np.repeat(first, lengths) + column
    if align == "right":
        column += np.repeat(max_length - lengths, lengths)
    history = np.zeros((len(users), max_length), dtype=np.int32)
    history[owner, column] = item[source]
    out.update({schema.USER_ID: users.astype(np.int32), schema.HISTORY: history,
                schema.HISTORY_LENGTH: lengths.astype(np.int32)})
    return out


def make_sequence_dataset(encoded: EncodedInteractions, *, max_length: int = 50,
                          align: str = "right", next_item: bool = False,
                          batch_size: int = 256, shuffle: bool = True, seed: int = 0,
                          drop_remainder: bool = False) -> tf.data.Dataset:
    """Batches of per-user histories (see :func:`build_histories`), one row per user.

    Yields ``{user_id: int32 [b], history: int32 [b, max_length], history_length:
    int32 [b]}``, plus ``target_item_id: int32 [b]`` with ``next_item=True`` (history =
    all but the latest item, target = the latest). Users are reshuffled every epoch
    (``shuffle``, ``seed``).

    Example:

    >>> enc = EncodedInteractions(np.array([1, 1, 2], np.int32),
    ...                           np.array([4, 5, 7], np.int32), 3, 8)
    >>> ds = make_sequence_dataset(enc, max_length=3, align="left", shuffle=False)
    >>> next(iter(ds))["history"].numpy().tolist()
    [[4, 5, 0], [7, 0, 0]]
    """
    histories = build_histories(encoded, max_length=max_length, align=align,
                                next_item=next_item)
    batches = index_batches(len(histories[schema.USER_ID]), batch_size=batch_size,
                            shuffle=shuffle, seed=seed, drop_remainder=drop_remainder)
    columns = {name: tf.constant(values) for name, values in histories.items()}

    def rows_of(rows, _):
        return {name: tf.gather(values, rows) for name, values in columns.items()}

    return batches.map(rows_of, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _check_sequence_args(max_length, align) -> None:
    if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1:
        raise ValueError("`max_length` must be an integer >= 1. "
                         f"Received: max_length={max_length!r}")
    if align not in _ALIGNS:
        raise ValueError(f"`align` must be one of {_ALIGNS}. Received: align={align!r}")
