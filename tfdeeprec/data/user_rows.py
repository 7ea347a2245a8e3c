"""User-row tf.data pipeline for autoencoders: each user's interactions as one dense item vector."""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data import schema
from tfdeeprec.data._batching import index_batches
from tfdeeprec.data.encoded import EncodedInteractions
from tfdeeprec.data.errors import DataError


def make_user_row_dataset(encoded: EncodedInteractions, *, batch_size: int = 256,
                          use_ratings: bool = False, shuffle: bool = True, seed: int = 0,
                          drop_remainder: bool = False) -> tf.data.Dataset:
    """Batches of ``{user_id: int32 [b], user_row: float32 [b, num_items]}``.

    One row per user with at least one known interaction. ``user_row[i]`` is 1 where
    the user interacted with item ``i`` (multi-hot), or, with ``use_ratings``, that
    rating (the latest by ``timestamp``, else by row order, when a pair repeats); 0
    elsewhere. Column 0 (OOV) is always 0: rows with an OOV user or item are dropped.
    The interactions are kept as sparse row splits and each batch is scattered into
    its dense rows inside the graph, so memory stays ``O(interactions + batch_size *
    num_items)``, never ``num_users * num_items``.

    Args:
        encoded: the interactions (ratings needed when ``use_ratings``).
        batch_size: int, users per batch (default 256).
        use_ratings: bool, rating values instead of 1s (default False).
        shuffle, seed, drop_remainder: reshuffle users every epoch under ``seed``;
            drop the last, smaller batch.

    Example:

    >>> enc = EncodedInteractions(np.array([2, 1, 2], np.int32),
    ...                           np.array([1, 3, 3], np.int32), 3, 4,
    ...                           rating=np.array([4.0, 5.0, 2.0], np.float32))
    >>> batch = next(iter(make_user_row_dataset(enc, use_ratings=True, shuffle=False)))
    >>> batch["user_id"].numpy().tolist(), batch["user_row"].numpy().tolist()
    ([1, 2], [[0.0, 0.0, 0.0, 5.0], [0.0, 4.0, 0.0, 2.0]])
    """
    if use_ratings and encoded.rating is None:
        raise DataError("use_ratings=True needs ratings, but the interactions have none",
                        column=schema.RATING)
    users, splits, items, values = _sparse_rows(encoded, use_ratings)
    batches = index_batches(len(users), batch_size=batch_size, shuffle=shuffle, seed=seed,
                            drop_remainder=drop_remainder)
    users, splits = tf.constant(users), tf.constant(splits)
    items, values = tf.constant(items), tf.constant(values)
    num_items = encoded.num_items

    def rows_of(rows, _):
        entries = tf.ragged.range(tf.gather(splits, rows), tf.gather(splits, rows + 1))
        where = tf.stack([tf.cast(entries.value_rowids(), tf.int32),
                          tf.gather(items, entries.flat_values)], axis=1)
        dense = tf.scatter_nd(where, tf.gather(values, entries.flat_values),
                              tf.stack([tf.size(rows), num_items]))
        return {schema.USER_ID: tf.gather(users, rows), schema.USER_ROW: dense}

    return batches.map(rows_of, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _sparse_rows(encoded: EncodedInteractions, use_ratings: bool):
    """Distinct (user, item) pairs as CSR: users, row splits, items, values."""
    keep = (encoded.user != 0) & (encoded.item != 0)
    user, item = encoded.user[keep].astype(np.int64), encoded.item[keep].astype(np.int64)
    rows = np.arange(len(user))
    when = (rows,) if encoded.timestamp is None else (rows, encoded.timestamp[keep])
    order = np.lexsort(when + (item, user))
    user, item = user[order], item[order]
    last = np.ones(len(user), dtype=bool)
    last[:-1] = (user[1:] != user[:-1]) | (item[1:] != item[:-1])
    values = (encoded.rating[keep][order][last] if use_ratings
              else np.ones(int(last.sum()), dtype=np.float32))
    user, item = user[last], item[last]
    users, counts = np.unique(user, return_counts=True)
    splits = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return users.astype(np.int32), splits, item.astype(np.int32), values.astype(np.float32)
