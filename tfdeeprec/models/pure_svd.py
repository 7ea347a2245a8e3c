"""PureSVD: the training matrix projected on its top item singular vectors.

Reference: Cremonesi, Koren & Turrin, "Performance of Recommender Algorithms on Top-N
Recommendation Tasks", RecSys 2010.

``X`` is the binary training matrix (``[num_users, num_items]``, 1 for every training
pair) and ``V`` (``[num_items, d]``) its top ``d`` right singular vectors. A user's
scores are ``x_u V V^T``: the user's row projected on the span of ``V``. As a two-tower
model, the user vector is ``x_u V`` (``U_u Sigma`` for a training user) and the item
vector is ``V``'s row. Default: 24 dimensions, the best validation NDCG@10 on ml-100k
of 8 to 64 (more dimensions fit the training matrix better and rank worse).

:func:`solve_pure_svd` computes ``V`` in TensorFlow, in float64, with a randomized
truncated SVD (Halko, Martinsson & Tropp, 2011): ``X`` stays sparse, and the work is a
few products of ``X`` with ``d + 10`` columns, so catalogues of millions of items fit.
"""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import keras, tf
from tfdeeprec.models._common import check_implicit_args
from tfdeeprec.models.two_tower import build_factor_two_tower, set_factor_tables

OVERSAMPLES = 10  # extra columns of the random range finder
POWER_ITERATIONS = 7  # rounds of X X^T before the small SVD (separate close singular values)


def build_pure_svd(num_users: int, num_items: int, *, embedding_dim: int = 24,
                   seed: int = 0, task: str = "implicit",
                   name: str = "pure_svd") -> keras.Model:
    """The PureSVD model with all-zero vectors (see :func:`solve_pure_svd`).

    >>> build_pure_svd(3, 4, embedding_dim=2).candidate_tower(np.array([1, 2])).shape
    TensorShape([2, 2])
    """
    check_implicit_args("PureSVD", num_users, num_items, task, embedding_dim=embedding_dim)
    if embedding_dim > min(num_users, num_items):
        raise ValueError(f"`embedding_dim` must be at most min(num_users, num_items) = "
                         f"{min(num_users, num_items)}. Received: embedding_dim={embedding_dim}")
    model = build_factor_two_tower(num_users, num_items, embedding_dim, name=name)
    model.svd_settings = {"embedding_dim": int(embedding_dim), "seed": int(seed)}
    return model


def solve_pure_svd(model: keras.Model, train) -> None:
    """Sets the model's vectors from ``train`` (``EncodedInteractions``).

    Two users with items {1, 2} and {3}: the top singular vector is ``(e1 + e2) /
    sqrt(2)``, so with one dimension user 1's items score 1, user 2's nothing:

    >>> from tfdeeprec.data import EncodedInteractions
    >>> train = EncodedInteractions(np.array([1, 1, 2]), np.array([1, 2, 3]), 3, 4)
    >>> model = build_pure_svd(3, 4, embedding_dim=1)
    >>> solve_pure_svd(model, train)
    >>> scores = model({"user_id": np.array([1, 1, 1, 2]), "item_id": np.array([1, 2, 3, 3])})
    >>> [round(float(v), 4) + 0.0 for v in scores]
    [1.0, 1.0, 0.0, 0.0]
    """
    settings = getattr(model, "svd_settings", None)
    if settings is None:
        raise ValueError(f"solve_pure_svd needs a model from build_pure_svd. "
                         f"Received: {model.name!r}")
    set_factor_tables(model, *pure_svd_factors(train, **settings))


def pure_svd_factors(train, *, embedding_dim: int, seed: int = 0):
    """``(x_u V [num_users, d], V [num_items, d])``, float32 (see the module docstring)."""
    users, items, _ = train.distinct_pairs()
    matrix = tf.SparseTensor(np.stack([users, items], 1), np.ones(len(users)),
                             [train.num_users, train.num_items])
    items = top_right_singular_vectors(matrix, embedding_dim, seed=seed)
    users = tf.sparse.sparse_dense_matmul(matrix, items)
    return users.numpy().astype(np.float32), items.numpy().astype(np.float32)


def top_right_singular_vectors(matrix: tf.SparseTensor, rank: int, *, seed: int = 0):
    """The top ``rank`` right singular vectors of a float64 sparse ``[m, n]`` matrix,
    ``[n, rank]``, by a randomized range finder with power iterations (exact when
    ``rank + OVERSAMPLES >= min(m, n)``).

    >>> m = tf.sparse.from_dense(np.diag([1.0, 3.0, 2.0]))
    >>> np.abs(top_right_singular_vectors(m, 1).numpy()).round(6).tolist()
    [[0.0], [1.0], [0.0]]
    """
    rows, cols = (int(v) for v in matrix.dense_shape)
    width = min(rank + OVERSAMPLES, rows, cols)
    times = tf.sparse.sparse_dense_matmul
    sketch = tf.random.stateless_normal([cols, width], seed=[seed, 0], dtype=tf.float64)
    basis = tf.linalg.qr(times(matrix, sketch))[0]  # [m, width]: spans X's top columns
    for _ in range(POWER_ITERATIONS):
        back = tf.linalg.qr(times(matrix, basis, adjoint_a=True))[0]
        basis = tf.linalg.qr(times(matrix, back))[0]
    _, vectors, _ = tf.linalg.svd(times(matrix, basis, adjoint_a=True))  # X^T Q = V S W^T
    return vectors[:, :rank]
