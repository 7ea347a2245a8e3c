"""Pointwise tf.data pipelines: (user, item) -> rating, -> 1/0 with sampled negatives, or
positives alone (for retrieval models with in-batch negatives)."""

from __future__ import annotations

from tfdeeprec._keras import tf
from tfdeeprec.data import schema
from tfdeeprec.data._batching import index_batches
from tfdeeprec.data.encoded import EncodedInteractions
from tfdeeprec.data.errors import DataError
from tfdeeprec.data.negative_sampler import NegativeSampler, resolve_sampler


def make_rating_dataset(encoded: EncodedInteractions, *, batch_size: int = 256,
                        shuffle: bool = True, seed: int = 0,
                        drop_remainder: bool = False) -> tf.data.Dataset:
    """Batches of ``({user_id, item_id}: int32 [b], rating: float32 [b])``.

    Args:
        encoded: interactions with ratings.
        batch_size: int, examples per batch (default 256).
        shuffle: bool, reshuffle all rows each epoch with ``seed`` (default True).
        seed: int, makes the order repeatable (default 0).
        drop_remainder: bool, drop the last, smaller batch (default False).

    Example:

    >>> import numpy as np
    >>> enc = EncodedInteractions(np.array([1, 2], np.int32), np.array([3, 1], np.int32),
    ...                           3, 4, rating=np.array([5.0, 2.0], np.float32))
    >>> features, rating = next(iter(make_rating_dataset(enc, batch_size=2, shuffle=False)))
    >>> features["item_id"].numpy().tolist(), rating.numpy().tolist()
    ([3, 1], [5.0, 2.0])
    """
    if encoded.rating is None:
        raise DataError("make_rating_dataset needs ratings, but the interactions have none",
                        column=schema.RATING)
    users, items = tf.constant(encoded.user), tf.constant(encoded.item)
    ratings = tf.constant(encoded.rating)

    def examples(rows, _):
        return ({schema.USER_ID: tf.gather(users, rows), schema.ITEM_ID: tf.gather(items, rows)},
                tf.gather(ratings, rows))

    batches = index_batches(len(encoded), batch_size=batch_size, shuffle=shuffle, seed=seed,
                            drop_remainder=drop_remainder)
    return batches.map(examples, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def make_positive_dataset(interactions: EncodedInteractions, *, batch_size: int,
                          seed: int = 0, shuffle: bool = True,
                          drop_remainder: bool = False) -> tf.data.Dataset:
    """Batches of training positives alone: ``{user_id, item_id}: int32 [b]``, no labels.

    For retrieval models trained with an in-batch softmax (``TwoTower``), where the other
    rows of the batch are the negatives. Rows whose user or item is OOV (index 0) are
    left out. Every known pair appears once per epoch, in a fresh order each epoch
    (repeatable under ``seed``); the number of batches is known.

    Args:
        interactions: the training positives.
        batch_size: int, positives per batch.
        seed: int, makes the order repeatable (default 0).
        shuffle: bool, reshuffle every epoch (default True).
        drop_remainder: bool, drop the last, smaller batch (default False).

    Example:

    >>> import numpy as np
    >>> enc = EncodedInteractions(np.array([1, 0, 2], np.int32),
    ...                           np.array([3, 1, 1], np.int32), 3, 4)
    >>> [batch["item_id"].numpy().tolist() for batch in
    ...  make_positive_dataset(enc, batch_size=1, shuffle=False)]
    [[3], [1]]
    """
    known = interactions.known()
    users, items = tf.constant(known.user), tf.constant(known.item)

    def examples(rows, _):
        return {schema.USER_ID: tf.gather(users, rows), schema.ITEM_ID: tf.gather(items, rows)}

    batches = index_batches(len(known), batch_size=batch_size, shuffle=shuffle, seed=seed,
                            drop_remainder=drop_remainder)
    return batches.map(examples, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def make_implicit_dataset(encoded: EncodedInteractions, *, num_negatives: int = 4,
                          sampler: NegativeSampler | None = None,
                          distribution: str = "uniform", alpha: float = 0.75,
                          batch_size: int = 1024, shuffle: bool = True, seed: int = 0,
                          drop_remainder: bool = False) -> tf.data.Dataset:
    """Positives with in-graph sampled negatives: ``({user_id, item_id}, label float32)``.

    The positives are shuffled and batched first; one vectorised map then samples
    ``num_negatives`` negatives for the whole batch (see :class:`NegativeSampler`). So
    a batch of ``batch_size`` positives becomes ``batch_size * (1 + num_negatives)``
    examples, laid out per positive: example ``j * (1 + num_negatives)`` is positive
    ``j`` (label 1) and the next ``num_negatives`` are its negatives for the same user
    (label 0). Fresh negatives are drawn every epoch; the run repeats under ``seed``.

    Args:
        encoded: the training positives.
        num_negatives: int ``>= 1``, negatives per positive (default 4).
        sampler: a :class:`NegativeSampler`; default: one built from ``encoded`` with
            ``distribution``, ``alpha`` and ``seed`` (pass your own to exclude more
            positives than ``encoded`` holds).
        distribution, alpha: see :class:`NegativeSampler` (ignored with ``sampler``).
        batch_size: int, positives per batch (default 1024).
        shuffle, seed, drop_remainder: as in :func:`make_rating_dataset`.

    Example:

    >>> import numpy as np
    >>> enc = EncodedInteractions(np.array([1, 1], np.int32), np.array([1, 2], np.int32), 2, 6)
    >>> features, label = next(iter(make_implicit_dataset(enc, num_negatives=2, shuffle=False)))
    >>> label.numpy().tolist(), features["item_id"].numpy()[[0, 3]].tolist()
    ([1.0, 0.0, 0.0, 1.0, 0.0, 0.0], [1, 2])
    """
    _check_num_negatives(num_negatives)
    batches = index_batches(len(encoded), batch_size=batch_size, shuffle=shuffle, seed=seed,
                            drop_remainder=drop_remainder)
    sampler = resolve_sampler(encoded, sampler, distribution=distribution, alpha=alpha,
                              seed=seed)
    users, items = tf.constant(encoded.user), tf.constant(encoded.item)
    width = 1 + num_negatives
    pattern = tf.constant([1.0] + [0.0] * num_negatives, tf.float32)

    def examples(rows, batch_seed):
        user = tf.gather(users, rows)
        negatives = sampler.sample(user, num_negatives, seed=batch_seed)
        item = tf.reshape(tf.concat([tf.gather(items, rows)[:, None], negatives], axis=1), [-1])
        label = tf.tile(pattern, tf.shape(rows))
        return {schema.USER_ID: tf.repeat(user, width), schema.ITEM_ID: item}, label

    return batches.map(examples, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _check_num_negatives(num_negatives) -> None:
    if not isinstance(num_negatives, int) or isinstance(num_negatives, bool) or num_negatives < 1:
        raise ValueError("`num_negatives` must be an integer >= 1. "
                         f"Received: num_negatives={num_negatives!r}")
