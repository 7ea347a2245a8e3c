"""Per-user item histories as padded, time-ordered sequences, and their tf.data pipeline."""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data import schema
from tfdeeprec.data._batching import index_batches, length_grouped_batches
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
    users, item, starts, counts = _time_ordered(encoded)
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


def _time_ordered(encoded: EncodedInteractions):
    """The known interactions grouped by user, each user's in time order (timestamps,
    then row order): ``(users, items, starts, counts)``, user ``users[u]``'s items
    being ``items[starts[u]:starts[u] + counts[u]]``, users ascending. Rows with an
    OOV user or item (index 0, the padding index) are dropped."""
    keep = (encoded.user != 0) & (encoded.item != 0)
    user, item = encoded.user[keep], encoded.item[keep]
    rows = np.arange(len(user))
    keys = (rows, user) if encoded.timestamp is None else (rows, encoded.timestamp[keep], user)
    order = np.lexsort(keys)
    user, item = user[order], item[order]
    users, starts, counts = np.unique(user, return_index=True, return_counts=True)
    return users, item, starts, counts


def _check_sequence_args(max_length, align) -> None:
    if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 1:
        raise ValueError("`max_length` must be an integer >= 1. "
                         f"Received: max_length={max_length!r}")
    if align not in _ALIGNS:
        raise ValueError(f"`align` must be one of {_ALIGNS}. Received: align={align!r}")


OBJECTIVES = ("next_item", "cloze")


def next_item_windows(encoded: EncodedInteractions, *, max_length: int = 50,
                      stride: int | None = None) -> np.ndarray:
    """Every user's training items cut into windows of ``max_length + 1``, right-aligned.

    A window's first ``max_length`` items are a model input and its last ``max_length``
    the targets, one position later (the next item at every position). Windows are cut
    from the latest item backwards, each ending ``stride`` items (default
    ``max_length``) before the next one, so every item after a user's first is among
    the last ``stride`` targets of exactly one window; the oldest window of a user is
    0-padded in front. With ``stride < max_length`` windows overlap and those targets
    keep at least ``max_length - stride`` items of context. Users with a single item
    make no window. Items are ordered as in :func:`build_histories` (timestamps, then
    row order).

    Returns:
        int32 ``[windows, max_length + 1]``, users ascending, each user's latest last.

    Example:

    >>> enc = EncodedInteractions(np.array([1] * 5 + [2], np.int32),
    ...                           np.array([1, 2, 3, 4, 5, 6], np.int32), 3, 7)
    >>> next_item_windows(enc, max_length=2).tolist()
    [[1, 2, 3], [3, 4, 5]]
    >>> next_item_windows(enc, max_length=3).tolist()
    [[0, 0, 1, 2], [2, 3, 4, 5]]
    >>> next_item_windows(enc, max_length=3, stride=2).tolist()
    [[0, 1, 2, 3], [2, 3, 4, 5]]
    """
    _check_sequence_args(max_length, "right")
    stride = max_length if stride is None else stride
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) \
            or not 1 <= stride <= max_length:
        raise ValueError(f"`stride` must be an integer in [1, max_length={max_length}]. "
                         f"Received: stride={stride!r}")
    _, item, starts, counts = _time_ordered(encoded)
    targets = np.maximum(counts - 1, 0)  # items that follow another of the same user
    per_user = -(-targets // stride)
    window_user = np.repeat(np.arange(len(counts)), per_user)
    # the k-th window from the end of a user ends at position count - 1 - k * stride
    back = np.arange(per_user.sum()) - np.repeat(np.cumsum(per_user) - per_user, per_user)
    back = per_user[window_user] - 1 - back  # oldest window first
    ends = starts[window_user] + counts[window_user] - 1 - back * stride
    offsets = np.arange(-max_length, 1)
    positions = ends[:, None] + offsets[None, :]
    valid = positions >= starts[window_user][:, None]
    windows = np.where(valid, item[np.maximum(positions, 0)], 0)
    return windows.astype(np.int32)


def make_next_item_dataset(encoded: EncodedInteractions, *, max_length: int = 50,
                           objective: str = "next_item", mask_token: int | None = None,
                           mask_ratio: float = 0.2, stride: int | None = None,
                           batch_size: int = 128, shuffle: bool = True,
                           seed: int = 0, targets_only: bool = False,
                           bucket_width: int | None = None) -> tf.data.Dataset:
    """Batches of ``(features, targets, weights)`` for a sequence model's training head.

    Rows are the :func:`next_item_windows` ``w`` (int32 ``[b, max_length + 1]``, cut
    every ``stride`` items), the windows reshuffled every epoch. ``features =
    {"history": w[:, :-1]}`` and ``weights`` (float32) are 1 where a target follows an
    item (not padding, and not a user's first item, which follows nothing).

    * ``"next_item"`` (SASRec, GRU4Rec): ``targets = w[:, 1:]``, the next item at every
      position; with ``stride < max_length``, only a window's last ``stride`` targets
      weigh (the others are another window's, with less context).
    * ``"cloze"`` (BERT4Rec): each item of ``history`` but the first is replaced by
      ``mask_token`` with probability ``mask_ratio`` (drawn again every epoch). The
      model reads ``history[:, 1:]`` followed by one ``mask_token`` (as it does when it
      recommends), so ``targets[:, j]`` is the item masked at ``history[:, j + 1]``
      (0 where none is) and ``targets[:, -1] = w[:, -1]``: the last position is always
      masked and always predicts the next item.

    With ``targets_only``, batches are ``(features, targets)`` with ``features`` also
    holding ``target_mask`` (the weights) and ``targets`` only the weighted ones,
    flattened row-major (``[n]``), for the trainer of
    :func:`~tfdeeprec.models._sequence.sequence_trainer` with ``targets_only=True``.

    With ``bucket_width``, windows of similar length share batches
    (:func:`~tfdeeprec.data._batching.length_grouped_batches`) and each batch drops the
    leading padding columns all its windows have, in steps of ``bucket_width``
    (keeping one padding column where there is one, so BERT4Rec, which drops its
    first column, sees every item). Batches are then ``[b, l]`` with ``l <=
    max_length`` (at most ``max_length / bucket_width + 1`` distinct widths). For
    right-aligned models that mask padding (every trained model here) the scores are
    those of the full window; the work an epoch falls with the padding.

    Example:

    >>> enc = EncodedInteractions(np.array([1, 1, 1], np.int32),
    ...                           np.array([4, 5, 6], np.int32), 2, 7)
    >>> features, targets, weights = next(iter(make_next_item_dataset(
    ...     enc, max_length=3, shuffle=False)))
    >>> features["history"].numpy().tolist(), targets.numpy().tolist()
    ([[0, 4, 5]], [[4, 5, 6]])
    >>> features, targets, weights = next(iter(make_next_item_dataset(
    ...     enc, max_length=3, objective="cloze", mask_token=7, mask_ratio=1.0,
    ...     shuffle=False)))
    >>> features["history"].numpy().tolist(), targets.numpy().tolist()
    ([[0, 7, 7]], [[4, 5, 6]])
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"`objective` must be one of {OBJECTIVES}. "
                         f"Received: objective={objective!r}")
    if objective == "cloze":
        if isinstance(mask_token, bool) or not isinstance(mask_token, (int, np.integer)) \
                or mask_token < encoded.num_items:
            raise ValueError("the cloze objective needs an integer `mask_token` >= the "
                             f"number of items ({encoded.num_items}). "
                             f"Received: mask_token={mask_token!r}")
        if not 0.0 <= float(mask_ratio) <= 1.0:
            raise ValueError("`mask_ratio` must lie in [0, 1]. "
                             f"Received: mask_ratio={mask_ratio!r}")
    if bucket_width is not None and (isinstance(bucket_width, bool) or not isinstance(
            bucket_width, (int, np.integer)) or not 1 <= bucket_width <= max_length):
        raise ValueError(f"`bucket_width` must be an integer in [1, max_length={max_length}]"
                         f" or None. Received: bucket_width={bucket_width!r}")
    windows = next_item_windows(encoded, max_length=max_length, stride=stride)
    fresh = tf.constant(np.arange(max_length) >= max_length - (stride or max_length))
    if len(windows) == 0:
        raise ValueError("no user has two or more known items: there is no next item "
                         "to train on")
    if bucket_width is None:
        batches = index_batches(len(windows), batch_size=batch_size, shuffle=shuffle,
                                seed=seed)
    else:
        padding = np.argmax(windows > 0, axis=1)  # leading zeros: the last column is an item
        batches = length_grouped_batches(max_length + 1 - padding, batch_size=batch_size,
                                         shuffle=shuffle, seed=seed)
        leading = tf.constant(padding.astype(np.int32))
    table = tf.constant(windows)

    def window(rows):
        """The batch's windows, less the leading padding columns they share (bucketing),
        and the ``fresh`` flags of their target columns."""
        if bucket_width is None:
            return tf.gather(table, rows), fresh
        start = tf.maximum(tf.reduce_min(tf.gather(leading, rows)) - 1, 0)
        start = start // bucket_width * bucket_width
        return tf.gather(table, rows)[:, start:], fresh[start:]

    def next_item(rows, _):
        w, recent = window(rows)
        targets = w[:, 1:]
        weights = (targets > 0) & (w[:, :-1] > 0) & recent[None, :]
        return {schema.HISTORY: w[:, :-1]}, targets, tf.cast(weights, tf.float32)

    def cloze(rows, batch_seed):
        w, _ = window(rows)
        history = w[:, :-1]
        draw = tf.random.stateless_uniform(tf.shape(history[:, 1:]), seed=batch_seed)
        masked = (draw < mask_ratio) & (history[:, 1:] > 0)
        targets = tf.concat([tf.where(masked, history[:, 1:], 0), w[:, -1:]], axis=1)
        history = tf.concat([history[:, :1], tf.where(masked, int(mask_token),
                                                       history[:, 1:])], axis=1)
        return {schema.HISTORY: history}, targets, tf.cast(targets > 0, tf.float32)

    def select(features, targets, weights):
        return {**features, schema.TARGET_MASK: weights}, tf.boolean_mask(targets, weights > 0)

    step = next_item if objective == "next_item" else cloze
    dataset = batches.map(step, num_parallel_calls=tf.data.AUTOTUNE)
    if targets_only:
        dataset = dataset.map(select, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)
