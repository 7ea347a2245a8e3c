"""What the graph layers share: products with a user-item block that is dense or sparse."""

from __future__ import annotations

from tfdeeprec._keras import tf

# TensorFlow's CSR matrices (kernels and gradients since TF 2.3) have no public module yet.
from tensorflow.python.ops.linalg.sparse import sparse_csr_matrix_ops as csr_ops  # noqa: E402


def csr_adjacency(adjacency: tf.SparseTensor):
    """``R`` (indices in row-major order) as a CSR matrix for :func:`adjacency_times`.

    Its product with a dense matrix, forward and backward, was the fastest of the three
    forms on ml-100k's graph (5% nonzero: three LightGCN rounds took 6.6 ms CSR, 12.6
    ms dense, and a single product 5.7 ms as a ``tf.SparseTensor`` against 0.6 ms
    CSR); from about 10% nonzero the dense matmul wins.
    """
    return csr_ops.CSRSparseMatrix(adjacency)


def adjacency_times(adjacency, x, transpose: bool = False):
    """``R x`` (or ``R^T x``) for a dense ``R``, a ``tf.SparseTensor`` or a CSR matrix
    (:func:`csr_adjacency`)."""
    if isinstance(adjacency, csr_ops.CSRSparseMatrix):
        return csr_ops.matmul(adjacency, x, adjoint_a=transpose)
    if isinstance(adjacency, tf.SparseTensor):
        return tf.sparse.sparse_dense_matmul(adjacency, x, adjoint_a=transpose)
    return tf.matmul(adjacency, x, transpose_a=transpose)
