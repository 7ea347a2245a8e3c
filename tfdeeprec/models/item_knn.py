"""Item-based k-nearest neighbours: a user's items vote for their most similar items.

Reference: Sarwar et al., "Item-Based Collaborative Filtering Recommendation
Algorithms", WWW 2001 (cosine similarity; RecBole's ``ItemKNN``).

Input ``user_row``: float32 ``[batch, num_items]``, the user's training items as a
multi-hot row (column 0, the OOV slot, is 0). Output: ``[batch, num_items]`` scores,
``score(u, j) = sum over the user's items i of W[i, j]``, where ``W[:, j]`` holds the
cosine similarities ``|U_i & U_j| / (sqrt(|U_i| |U_j|) + shrink)`` of item ``j``'s
``neighbours`` most similar items and 0 elsewhere (``W[j, j] = 0``). Defaults: 100
neighbours, no shrinkage.

``W`` is not learned by gradient descent: :func:`solve_item_knn` computes it from the
training interactions (the registry's ``solver``). It is a dense ``num_items x
num_items`` table, so this model suits catalogues up to some tens of thousands of items.
"""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import keras
from tfdeeprec.models._common import check_implicit_args
from tfdeeprec.models._row import item_table_model, set_item_table


def build_item_knn(num_users: int, num_items: int, *, neighbours: int = 100,
                   shrink: float = 0.0, task: str = "implicit",
                   name: str = "item_knn") -> keras.Model:
    """The ItemKNN scorer with an all-zero similarity table (see :func:`solve_item_knn`).

    >>> model = build_item_knn(3, 4)
    >>> model(np.array([[0, 1, 0, 1]], "float32")).shape
    TensorShape([1, 4])
    """
    check_implicit_args("ItemKNN", num_users, num_items, task, neighbours=neighbours)
    if shrink < 0:
        raise ValueError(f"`shrink` must be >= 0. Received: shrink={shrink!r}")
    model = item_table_model(num_items, name)
    model.neighbours, model.shrink = neighbours, float(shrink)
    return model


def solve_item_knn(model: keras.Model, train, *, neighbours: int | None = None,
                   shrink: float | None = None) -> None:
    """Sets the model's similarity table from ``train`` (``EncodedInteractions``).

    >>> from tfdeeprec.data import EncodedInteractions
    >>> train = EncodedInteractions(np.array([1, 1, 2, 2]), np.array([1, 2, 1, 3]), 3, 4)
    >>> model = build_item_knn(3, 4, neighbours=1)
    >>> solve_item_knn(model, train)
    >>> [round(float(v), 4) for v in model(np.array([[0, 1, 0, 0]], "float32"))[0]]
    [0.0, 0.0, 0.7071, 0.7071]
    """
    neighbours = neighbours or getattr(model, "neighbours", 100)
    shrink = getattr(model, "shrink", 0.0) if shrink is None else shrink
    set_item_table(model, item_knn_table(train, train.num_items, neighbours, shrink))


def training_matrix(train) -> np.ndarray:
    """The training interactions as a float32 ``[num_users, num_items]`` 0/1 matrix
    (repeated pairs count once; the OOV row and column stay 0)."""
    known = train.known()
    matrix = np.zeros((train.num_users, train.num_items), np.float32)
    matrix[known.user, known.item] = 1.0
    return matrix


def item_knn_table(train, num_items: int, neighbours: int, shrink: float) -> np.ndarray:
    """``W`` of the module docstring: float32 ``[num_items, num_items]``."""
    matrix = training_matrix(train)
    co = matrix.T @ matrix                       # |U_i & U_j|
    norms = np.sqrt(np.diag(co))
    similarity = co / (norms[:, None] * norms[None, :] + shrink + 1e-12)
    np.fill_diagonal(similarity, 0.0)
    similarity[0, :] = similarity[:, 0] = 0.0
    if neighbours < num_items:  # keep each item's (column's) best `neighbours`
        cut = np.argpartition(-similarity, neighbours - 1, axis=0)[neighbours:]
        np.put_along_axis(similarity, cut, 0.0, axis=0)
    return similarity.astype(np.float32)
