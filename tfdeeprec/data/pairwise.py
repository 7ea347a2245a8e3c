"""Pairwise (BPR) tf.data pipeline: user, a positive item and an in-graph sampled negative."""

from __future__ import annotations

from tfdeeprec._keras import tf
from tfdeeprec.data import schema
from tfdeeprec.data._batching import index_batches
from tfdeeprec.data.encoded import EncodedInteractions
from tfdeeprec.data.negative_sampler import NegativeSampler, resolve_sampler


def make_pairwise_dataset(encoded: EncodedInteractions, *,
                          sampler: NegativeSampler | None = None,
                          distribution: str = "uniform", alpha: float = 0.75,
                          batch_size: int = 1024, shuffle: bool = True, seed: int = 0,
                          drop_remainder: bool = False) -> tf.data.Dataset:
    """Batches of BPR triples ``{user_id, positive_item_id, negative_item_id}`` (int32 [b]).

    One triple per positive of ``encoded``; the negative is drawn for the whole batch
    in one vectorised map by a :class:`NegativeSampler` (fresh every epoch, repeatable
    under ``seed``). There is no label: the loss compares the two scores.

    Args:
        encoded: the training positives.
        sampler: a :class:`NegativeSampler`; default: one built from ``encoded`` with
            ``distribution``, ``alpha`` and ``seed``.
        distribution, alpha: see :class:`NegativeSampler` (ignored with ``sampler``).
        batch_size: int, triples per batch (default 1024).
        shuffle: bool, reshuffle the positives each epoch (default True).
        seed: int (default 0).
        drop_remainder: bool, drop the last, smaller batch (default False).

    Example:

    >>> import numpy as np
    >>> enc = EncodedInteractions(np.array([1, 1], np.int32), np.array([1, 2], np.int32), 2, 4)
    >>> batch = next(iter(make_pairwise_dataset(enc, shuffle=False)))
    >>> batch["positive_item_id"].numpy().tolist(), batch["negative_item_id"].numpy().tolist()
    ([1, 2], [3, 3])
    """
    batches = index_batches(len(encoded), batch_size=batch_size, shuffle=shuffle, seed=seed,
                            drop_remainder=drop_remainder)
    sampler = resolve_sampler(encoded, sampler, distribution=distribution, alpha=alpha,
                              seed=seed)
    users, items = tf.constant(encoded.user), tf.constant(encoded.item)

    def triples(rows, batch_seed):
        user = tf.gather(users, rows)
        return {
            schema.USER_ID: user,
            schema.POSITIVE_ITEM_ID: tf.gather(items, rows),
            schema.NEGATIVE_ITEM_ID: sampler.sample(user, 1, seed=batch_seed)[:, 0],
        }

    return batches.map(triples, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
