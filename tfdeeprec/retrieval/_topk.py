"""What both indexes share: the search signature and the exclusion of item IDs after search."""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import tf


def as_candidates(candidate_embeddings, candidate_ids):
    """Checks and converts ``(embeddings float32 [n, d], ids [n])``; ids default to ``0..n-1``."""
    embeddings = np.asarray(candidate_embeddings, np.float32)
    if embeddings.ndim != 2 or embeddings.shape[0] < 1 or embeddings.shape[1] < 1:
        raise ValueError("`candidate_embeddings` must be a non-empty [num_candidates, dim] "
                         f"matrix. Received: shape={embeddings.shape}")
    if candidate_ids is None:
        candidate_ids = np.arange(len(embeddings), dtype=np.int32)
    ids = tf.convert_to_tensor(candidate_ids)
    if ids.shape.rank != 1 or ids.shape[0] != len(embeddings):
        raise ValueError(f"`candidate_ids` must be a vector with one ID per candidate "
                         f"({len(embeddings)}). Received: shape={ids.shape}")
    if ids.dtype not in (tf.int32, tf.int64, tf.string):
        raise ValueError(f"`candidate_ids` must be int32, int64 or string. "
                         f"Received: dtype={ids.dtype.name}")
    return embeddings, ids


def default_padding(dtype: tf.DType):
    """The "no item" ID: ``""`` for string IDs, ``-1`` for integer IDs."""
    return "" if dtype == tf.string else -1


def check_k_max(k_max, num_candidates: int) -> int:
    if isinstance(k_max, bool) or not isinstance(k_max, (int, np.integer)) or k_max < 1:
        raise ValueError(f"`k_max` must be a positive integer. Received: k_max={k_max!r}")
    return int(min(k_max, num_candidates))


def search_signature(dim: int, ids_dtype: tf.DType) -> list:
    """``(query_embeddings float32 [B, dim], k int32 [], exclude ids [B, E])``."""
    return [tf.TensorSpec([None, dim], tf.float32, name="query_embeddings"),
            tf.TensorSpec([], tf.int32, name="k"),
            tf.TensorSpec([None, None], ids_dtype, name="exclude")]


def search_with_defaults(index, query_embeddings, k=None, exclude=None):
    """``index.search`` with ``k`` defaulting to ``index.k_max`` and no exclusions."""
    query_embeddings = tf.convert_to_tensor(query_embeddings, tf.float32)
    if exclude is None:
        exclude = tf.fill([tf.shape(query_embeddings)[0], 0],
                          tf.constant(index.padding_id, index.candidate_ids.dtype))
    return index.search(query_embeddings, index.k_max if k is None else k, exclude)


def exclude_and_truncate(scores, ids, exclude, k, padding_id):
    """Drops excluded IDs from a best-first ``[B, W]`` list and keeps the best ``k``.

    ``scores`` / ``ids`` are the ``W`` best candidates per query; ``exclude`` ``[B, E]``
    lists IDs to leave out (unknown IDs and padding match nothing). When fewer than
    ``k`` candidates remain, the tail has score ``-inf`` and ID ``padding_id``.
    """
    hit = tf.reduce_any(tf.equal(ids[:, :, None], exclude[:, None, :]), axis=-1)
    scores = tf.where(hit, tf.constant(-np.inf, scores.dtype), scores)
    short = tf.maximum(k - tf.shape(scores)[1], 0)
    scores = tf.pad(scores, [[0, 0], [0, short]], constant_values=-np.inf)
    ids = tf.pad(ids, [[0, 0], [0, short]], constant_values=padding_id)
    top = tf.math.top_k(scores, k=k, sorted=True)
    best = tf.gather(ids, top.indices, batch_dims=1)
    return top.values, tf.where(top.values > -np.inf, best, padding_id)
