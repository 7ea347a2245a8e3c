"""Row-index batches, reshuffled every epoch, each with its own stateless random seed."""

from __future__ import annotations

from tfdeeprec._keras import tf


def index_batches(num_rows: int, *, batch_size: int, shuffle: bool, seed: int,
                  drop_remainder: bool = False) -> tf.data.Dataset:
    """A dataset of ``(rows int32 [b], batch_seed int64 [2])`` covering ``0..num_rows-1``.

    Each pass over the dataset (each epoch, or each ``repeat``) draws a fresh epoch
    seed from ``tf.data.Dataset.random(seed)``; it permutes the rows in one op (when
    ``shuffle``) and is folded with the batch offset into ``batch_seed``, so the
    pipelines' in-graph sampling is stateless, repeatable under ``seed`` and different
    from one epoch to the next. Batching slices a permutation instead of shuffling
    single elements, which keeps the per-example cost of tf.data out of the way.

    >>> ds = index_batches(5, batch_size=2, shuffle=False, seed=0)
    >>> [rows.numpy().tolist() for rows, _ in ds]
    [[0, 1], [2, 3], [4]]
    """
    _check_batching(batch_size, seed)
    stop = num_rows - num_rows % batch_size if drop_remainder else num_rows
    salt = tf.constant(seed, tf.int64)

    def epoch_batches(epoch_seed):
        key = tf.stack([epoch_seed, salt])
        rows = tf.range(num_rows, dtype=tf.int32)
        if shuffle:
            rows = tf.random.experimental.stateless_shuffle(rows, seed=key)
        starts = tf.data.Dataset.range(0, stop, batch_size)
        return starts.map(lambda start: (
            rows[start:start + batch_size],
            tf.random.experimental.stateless_fold_in(key, start)))

    return _every_epoch(epoch_batches, seed, num_batches=-(-stop // batch_size))


def length_grouped_batches(lengths, *, batch_size: int, seed: int, shuffle: bool = True,
                           pool_batches: int = 32) -> tf.data.Dataset:
    """:func:`index_batches` whose batches hold rows of similar ``lengths``.

    Every epoch the rows are shuffled, cut into pools of ``pool_batches`` batches,
    sorted by length within each pool and batched; the batches are then shuffled
    (without ``shuffle``, rows and batches keep their order; only pools are sorted).
    Padding to a batch's longest row then wastes little, while the rows still mix
    from one epoch to the next (bucketing by length, as ``tf.data``'s
    ``bucket_by_sequence_length`` does element by element).

    >>> ds = length_grouped_batches([3, 1, 2, 1], batch_size=2, seed=0)
    >>> sorted(sorted(rows.numpy().tolist()) for rows, _ in ds)
    [[0, 2], [1, 3]]
    """
    _check_batching(batch_size, seed)
    if not isinstance(pool_batches, int) or isinstance(pool_batches, bool) or pool_batches < 1:
        raise ValueError("`pool_batches` must be a positive integer. "
                         f"Received: pool_batches={pool_batches!r}")
    lengths = tf.constant(lengths, tf.int64)
    num_rows = int(lengths.shape[0])
    pool = batch_size * pool_batches
    span = tf.reduce_max(lengths) + 1 if num_rows else tf.constant(1, tf.int64)
    num_batches = -(-num_rows // batch_size)
    salt = tf.constant(seed, tf.int64)

    def epoch_batches(epoch_seed):
        key = tf.stack([epoch_seed, salt])
        rows = tf.range(num_rows)
        order = tf.range(num_batches, dtype=tf.int64)
        if shuffle:
            rows = tf.random.experimental.stateless_shuffle(rows, seed=key)
            order = tf.random.experimental.stateless_shuffle(
                order, seed=tf.random.experimental.stateless_fold_in(key, -1))
        pools = tf.range(num_rows, dtype=tf.int64) // pool
        rows = tf.gather(rows, tf.argsort(pools * span + tf.gather(lengths, rows),
                                          stable=True))
        return tf.data.Dataset.from_tensor_slices(order).map(lambda batch: (
            rows[batch * batch_size:(batch + 1) * batch_size],
            tf.random.experimental.stateless_fold_in(key, batch * batch_size)))

    return _every_epoch(epoch_batches, seed, num_batches)


def _every_epoch(epoch_batches, seed: int, num_batches: int) -> tf.data.Dataset:
    """``epoch_batches(epoch_seed)`` for a fresh epoch seed each pass over the dataset."""
    epochs = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    # flat_map hides the length; stating it lets Keras run several steps per call
    # (``steps_per_execution``) and show progress without being given ``steps``.
    return epochs.flat_map(epoch_batches).apply(
        tf.data.experimental.assert_cardinality(num_batches))


def _check_batching(batch_size, seed) -> None:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError("`batch_size` must be a positive integer. "
                         f"Received: batch_size={batch_size!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"`seed` must be an integer. Received: seed={seed!r}")
