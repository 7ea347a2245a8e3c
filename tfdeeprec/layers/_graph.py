"""What the graph layers share: products with a user-item block that is dense or sparse."""

from __future__ import annotations

from tfdeeprec._keras import tf


def adjacency_times(adjacency, x, transpose: bool = False):
    """``R x`` (or ``R^T x``) for a dense ``R`` or a ``tf.SparseTensor``."""
    if isinstance(adjacency, tf.SparseTensor):
        return tf.sparse.sparse_dense_matmul(adjacency, x, adjoint_a=transpose)
    return tf.matmul(adjacency, x, transpose_a=transpose)
