"""Retrieval indexes: exact brute force (stock TF ops) and ScaNN, with one search signature.

Both expose ``search(query_embeddings float32 [B, d], k int32 [], exclude [B, E]) ->
(scores float32 [B, k], ids [B, k])`` as a ``tf.function`` with a fixed input signature.
"""

from tfdeeprec.retrieval.brute_force_index import BruteForceIndex
from tfdeeprec.retrieval.scann_index import (ScannIndex, build_scann_index, scann_available,
                                             scann_parameters)

__all__ = ["BruteForceIndex", "ScannIndex", "build_scann_index", "scann_available",
           "scann_parameters"]
