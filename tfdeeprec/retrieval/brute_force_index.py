"""BruteForceIndex: exact top-k retrieval by one matmul, stock TensorFlow ops only."""

from __future__ import annotations

from tfdeeprec._keras import tf
from tfdeeprec.retrieval._topk import (as_candidates, check_k_max, default_padding,
                                       exclude_and_truncate, search_signature,
                                       search_with_defaults)


class BruteForceIndex(tf.Module):
    """Scores every candidate by a dot product and returns the exact top ``k``.

    ``search(query_embeddings, k, exclude) -> (scores, ids)`` is a ``tf.function`` with a
    fixed input signature, built from stock TF ops only (``MatMul``, ``TopKV2``,
    ``GatherV2``), so a SavedModel that calls it loads in stock TF Serving, Java or R:

    * ``query_embeddings`` float32 ``[B, d]`` (e.g. the query tower's output);
    * ``k`` int32 scalar, the number of results, clipped to ``1 .. k_max``, chosen per
      request (not frozen at export);
    * ``exclude`` ``[B, E]`` IDs (dtype of ``candidate_ids``) to leave out per query,
      e.g. the user's seen items, padded with ``padding_id`` (``E`` may be 0);
    * returns ``scores`` float32 ``[B, k]`` (dot products, best first) and ``ids``
      ``[B, k]``. When fewer than ``k`` candidates remain after exclusion, the tail has
      score ``-inf`` and ID ``padding_id``. Ties go to the lower candidate position.

    Exclusion: the index takes the top ``min(k + E, n)`` candidates, drops the excluded
    ones and keeps the best ``k``. At most ``E`` of those can be excluded, so this is
    exactly the top ``k`` among the non-excluded candidates.

    Memory: one ``[B, n]`` float32 score matrix per call (B = 256, n = 1M: 1 GiB), so
    split very large query batches.

    Args:
        candidate_embeddings: float32 ``[n, d]`` (e.g. the candidate tower's output).
        candidate_ids: ``[n]`` int32, int64 or string IDs. Default: positions ``0..n-1``.
        k_max: (int) the largest ``k`` served; clipped to ``n``. Default 100.
        padding_id: the "no item" ID: ``""`` for string IDs, ``-1`` for integers by
            default. It must not be a real ID.

    Saved with ``tf.saved_model.save``: the embeddings and IDs are variables.

    Example:

    >>> import numpy as np
    >>> index = BruteForceIndex(np.eye(4, 2, dtype="float32"),
    ...                         np.array([b"a", b"b", b"c", b"d"]), k_max=3)
    >>> scores, ids = index.search(np.array([[1.0, 0.5]], "float32"), 2, [[b"a"]])
    >>> scores.numpy().tolist(), ids.numpy().tolist()
    ([[0.5, 0.0]], [[b'b', b'c']])
    """

    def __init__(self, candidate_embeddings, candidate_ids=None, *, k_max: int = 100,
                 padding_id=None, name: str = "brute_force_index"):
        super().__init__(name=name)
        embeddings, ids = as_candidates(candidate_embeddings, candidate_ids)
        self.num_candidates, self.dim = embeddings.shape
        self.k_max = check_k_max(k_max, self.num_candidates)
        self.padding_id = default_padding(ids.dtype) if padding_id is None else padding_id
        self.candidate_embeddings = tf.Variable(embeddings, trainable=False,
                                                name="candidate_embeddings")
        self.candidate_ids = tf.Variable(ids, trainable=False, name="candidate_ids")
        self.search = tf.function(self._search,
                                  input_signature=search_signature(self.dim, ids.dtype))

    def __call__(self, query_embeddings, k=None, exclude=None):
        """``search`` with ``k`` defaulting to ``k_max`` and no exclusions."""
        return search_with_defaults(self, query_embeddings, k, exclude)

    def _search(self, query_embeddings, k, exclude):
        k = tf.clip_by_value(k, 1, self.k_max)
        width = tf.minimum(k + tf.shape(exclude)[1], self.num_candidates)
        scores = tf.matmul(query_embeddings, self.candidate_embeddings, transpose_b=True)
        top = tf.math.top_k(scores, k=width, sorted=True)
        ids = tf.gather(self.candidate_ids, top.indices)
        return exclude_and_truncate(top.values, ids, exclude, k, self.padding_id)
