"""Implicit ALS: user and item vectors fitted to every pair, weighted by confidence.

Reference: Hu, Koren & Volinsky, "Collaborative Filtering for Implicit Feedback
Datasets", ICDM 2008 (the ``implicit`` library's ``AlternatingLeastSquares``).

A training pair ``(u, i)`` has preference ``p_ui = 1`` and confidence ``c_ui = 1 + alpha
r_ui``, ``r_ui`` the number of times it occurs in the training part; every other pair
has ``p = 0`` and ``c = 1``. ALS minimises ``sum over all pairs of c_ui (p_ui - x_u .
y_i)^2 + l2 (sum ||x_u||^2 + sum ||y_i||^2)`` by turns. With the item vectors ``Y``
fixed, each user's vector solves the ``d x d`` system

    ``(Y^T Y + sum over the user's items of alpha r_ui y_i y_i^T + l2 I) x_u
    = sum over the user's items of c_ui y_i``

(``Y^T Y`` is shared; the rest sums over the user's own items); then the items, the
same way with the users fixed. One iteration is both halves, users first, from item
vectors drawn from ``N(0, 0.01^2)`` (``seed``). The score of a pair is ``x_u . y_i``.

The solves run in TensorFlow (:func:`solve_side`): one side's rows, sorted by their
number of pairs, go in chunks padded to the chunk's longest row. By default each
system gets ``cg_steps = 3`` conjugate-gradient steps from the row's current vector
(as ``implicit`` does, after Takacs, Pilaszy & Tikk, RecSys 2011), which never forms
the ``d x d`` matrices: the work is ``O(pairs d)`` a step. With ``cg_steps = 0`` every
system is formed by one batched matmul and solved exactly by a batched Cholesky
factorisation (``O(pairs d^2 + rows d^3)``, several times slower). Users and items
without training pairs, the OOV slots among them, keep zero vectors. The fitted model
is a plain two-tower model of the two tables (:func:`~tfdeeprec.models.two_tower.
build_factor_two_tower`). Defaults: 64 dimensions, 15 iterations, and ``l2 = 50``,
``alpha = 4``, the best validation NDCG@10 on ml-100k of the few settings tried
(``implicit``'s, ``l2 = 0.01`` and ``c = 1``, reached far less there).
"""

from __future__ import annotations

import functools

import numpy as np

from tfdeeprec._keras import keras, tf
from tfdeeprec.models._common import check_implicit_args, check_non_negative
from tfdeeprec.models.two_tower import build_factor_two_tower, set_factor_tables

CHUNK_ENTRIES = 1 << 14  # padded (row, pair) slots a chunk gathers at most (4 MiB at
# d = 64: a chunk's vectors stay in cache through its conjugate-gradient steps) ...
CHUNK_SYSTEM_FLOATS = 1 << 22  # ... and floats its d x d systems hold at most (16 MiB)


def build_als(num_users: int, num_items: int, *, embedding_dim: int = 64, l2: float = 50.0,
              alpha: float = 4.0, iterations: int = 15, cg_steps: int = 3, seed: int = 0,
              task: str = "implicit", name: str = "als") -> keras.Model:
    """The ALS model with all-zero vectors (see :func:`solve_als`).

    >>> build_als(3, 4, embedding_dim=2).query_tower(np.array([1])).shape
    TensorShape([1, 2])
    """
    check_implicit_args("ALS", num_users, num_items, task, embedding_dim=embedding_dim,
                        iterations=iterations)
    check_non_negative(l2=l2, alpha=alpha)
    if isinstance(cg_steps, bool) or not isinstance(cg_steps, int) or cg_steps < 0:
        raise ValueError(f"`cg_steps` must be an integer >= 0. Received: cg_steps={cg_steps!r}")
    model = build_factor_two_tower(num_users, num_items, embedding_dim, name=name)
    model.als_settings = {"embedding_dim": int(embedding_dim), "l2": float(l2),
                          "alpha": float(alpha), "iterations": int(iterations),
                          "cg_steps": int(cg_steps), "seed": int(seed)}
    return model


def solve_als(model: keras.Model, train) -> None:
    """Fits the model's user and item vectors to ``train`` (``EncodedInteractions``).

    >>> from tfdeeprec.data import EncodedInteractions
    >>> train = EncodedInteractions(np.array([1, 1, 2]), np.array([1, 2, 2]), 3, 4)
    >>> model = build_als(3, 4, embedding_dim=2, l2=0.001, alpha=1.0, cg_steps=0)
    >>> solve_als(model, train)
    >>> scores = model.query_tower(np.array([2])) @ tf.transpose(model.candidate_tower(
    ...     np.arange(4)))
    >>> [round(float(v), 2) for v in scores[0]]  # user 2 has item 2, not 1; 0 and 3: none
    [0.0, 0.0, 1.0, 0.0]
    """
    settings = getattr(model, "als_settings", None)
    if settings is None:
        raise ValueError(f"solve_als needs a model from build_als. Received: {model.name!r}")
    users, items = als_factors(train, **settings)
    set_factor_tables(model, users, items)


def als_factors(train, *, embedding_dim: int, l2: float, alpha: float, iterations: int,
                cg_steps: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(user vectors [num_users, d], item vectors [num_items, d])``, float32, after
    ``iterations`` rounds of ALS on ``train`` (see the module docstring)."""
    by_user, by_item = confidence_rows(train, alpha)
    rng = np.random.default_rng(seed)
    item_vectors = (rng.standard_normal((train.num_items, embedding_dim)) * 0.01).astype(
        np.float32)
    item_vectors[np.diff(by_item[0]) == 0] = 0.0
    user_plan, item_plan = (chunk_plan(*rows, embedding_dim) for rows in (by_user, by_item))
    user_vectors = np.zeros((train.num_users, embedding_dim), np.float32)
    for _ in range(iterations):
        user_vectors = solve_side(item_vectors, user_plan, user_vectors, l2, cg_steps=cg_steps)
        item_vectors = solve_side(user_vectors, item_plan, item_vectors, l2, cg_steps=cg_steps)
    return user_vectors, item_vectors


def confidence_rows(train, alpha: float):
    """The training pairs' ``alpha r_ui`` as two CSR matrices, ``(row starts, column
    indices, values)`` by user and by item; OOV rows have no pairs."""
    users, items, counts = train.distinct_pairs()
    extra = (alpha * counts).astype(np.float32)

    def csr(rows, cols, size):
        order = np.argsort(rows, kind="stable")
        starts = np.zeros(size + 1, np.int64)
        np.cumsum(np.bincount(rows, minlength=size), out=starts[1:])
        return starts, cols[order].astype(np.int32), extra[order]

    return csr(users, items, train.num_users), csr(items, users, train.num_items)


def chunk_plan(starts: np.ndarray, cols: np.ndarray, extra: np.ndarray, dim: int) -> list:
    """One side's rows with pairs in padded chunks, longest rows first: a list of
    ``(rows int [B], cols int32 [B, L], extra float32 [B, L])``, padding with column 0
    and ``extra = -1`` (so ``c = 0``: no contribution)."""
    lengths = np.diff(starts)
    order = np.argsort(-lengths, kind="stable")
    order = order[lengths[order] > 0]
    max_rows = max(1, CHUNK_SYSTEM_FLOATS // (dim * dim))
    plan, begin = [], 0
    while begin < len(order):
        width = int(lengths[order[begin]])
        count = max(1, min(max_rows, CHUNK_ENTRIES // width, len(order) - begin))
        rows = order[begin:begin + count]
        slot = np.arange(width)[None, :]
        valid = slot < lengths[rows][:, None]
        where = np.where(valid, starts[rows][:, None] + slot, 0)
        plan.append((rows, np.where(valid, cols[where], 0).astype(np.int32),
                     np.where(valid, extra[where], -1.0).astype(np.float32)))
        begin += count
    return plan


_CHUNK_SIGNATURE = [tf.TensorSpec([None, None], tf.float32),  # fixed [n, d]
                    tf.TensorSpec([None, None], tf.int32),  # cols [B, L]
                    tf.TensorSpec([None, None], tf.float32),  # extra [B, L]
                    tf.TensorSpec([None, None], tf.float32),  # fixed^T fixed [d, d]
                    tf.TensorSpec([], tf.float32)]  # l2


def _chunk_terms(fixed, cols, extra):
    """The chunk's gathered vectors ``[B, L, d]``, ``alpha r`` and ``c`` (0 at padding)."""
    vectors = tf.gather(fixed, cols)
    padded = tf.cast(extra > -1.0, tf.float32)
    return vectors, extra * padded, (extra + 1.0) * padded


@tf.function(input_signature=_CHUNK_SIGNATURE)
def _cholesky_chunk(fixed, cols, extra, system, l2):
    vectors, weight, confidence = _chunk_terms(fixed, cols, extra)
    lhs = system + tf.matmul(vectors * weight[..., None], vectors, transpose_a=True)
    lhs += l2 * tf.eye(tf.shape(fixed)[1], dtype=tf.float32)  # [B, d, d]
    rhs = tf.einsum("bl,bld->bd", confidence, vectors)
    return tf.linalg.cholesky_solve(tf.linalg.cholesky(lhs), rhs[..., None])[..., 0]


@functools.lru_cache(maxsize=None)
def _cg_chunk(steps: int):
    @tf.function(input_signature=[*_CHUNK_SIGNATURE, tf.TensorSpec([None, None], tf.float32)])
    def solve(fixed, cols, extra, system, l2, start):
        vectors, weight, confidence = _chunk_terms(fixed, cols, extra)

        def times_lhs(x):  # the chunk's systems times x [B, d], without forming them
            along = tf.linalg.matvec(vectors, x) * weight  # [B, L]
            return (tf.matmul(x, system) + l2 * x +
                    tf.linalg.matvec(vectors, along, transpose_a=True))

        x = start
        residual = tf.linalg.matvec(vectors, confidence, transpose_a=True) - times_lhs(x)
        direction = residual
        norm = tf.reduce_sum(residual * residual, axis=1, keepdims=True)
        for _ in range(steps):
            product = times_lhs(direction)
            step = tf.math.divide_no_nan(norm, tf.reduce_sum(direction * product, axis=1,
                                                             keepdims=True))
            x += step * direction
            residual -= step * product
            new_norm = tf.reduce_sum(residual * residual, axis=1, keepdims=True)
            direction = residual + tf.math.divide_no_nan(new_norm, norm) * direction
            norm = new_norm
        return x

    return solve


def solve_side(fixed: np.ndarray, plan: list, previous: np.ndarray, l2: float, *,
               cg_steps: int = 0) -> np.ndarray:
    """The vectors of one side's rows given the other side's ``fixed`` vectors, float32
    ``[rows, d]``: ``cg_steps`` conjugate-gradient steps from ``previous`` (the side's
    current vectors), or with ``cg_steps = 0`` the exact solution by Cholesky
    factorisation. Rows without pairs keep their ``previous`` vectors.

    >>> fixed = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]], "float32")
    >>> plan = chunk_plan(np.array([0, 0, 1]), np.array([1], "int32"),
    ...                   np.array([3.0], "float32"), 2)
    >>> # row 1 has column 1 (c = 4): (Y^T Y + 3 e1 e1^T + 1 I) x = 4 e1 -> x1 = 4 / 5
    >>> previous = np.zeros((2, 2), "float32")
    >>> [[round(float(v), 4) for v in row] for row in solve_side(fixed, plan, previous, 1.0)]
    [[0.0, 0.0], [0.8, 0.0]]
    >>> # the system is diagonal: one conjugate-gradient step solves it too
    >>> [round(float(v), 4) for v in solve_side(fixed, plan, previous, 1.0, cg_steps=1)[1]]
    [0.8, 0.0]
    """
    fixed = tf.convert_to_tensor(fixed, tf.float32)
    system = tf.matmul(fixed, fixed, transpose_a=True)
    l2 = tf.constant(l2, tf.float32)
    out = np.array(previous, np.float32, copy=True)
    solve = _cg_chunk(cg_steps) if cg_steps else None
    for rows, cols, extra in plan:
        out[rows] = (solve(fixed, cols, extra, system, l2, out[rows]) if cg_steps else
                     _cholesky_chunk(fixed, cols, extra, system, l2))
    return out
