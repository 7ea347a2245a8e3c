"""EASE: a linear item-to-item model solved in closed form, a strong baseline.

Reference: Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019
(RecBole's ``EASE``).

Input ``user_row``: float32 ``[batch, num_items]``, the user's training items (multi-hot;
column 0, the OOV slot, is 0). Output: ``user_row @ B``, ``[batch, num_items]``. ``B``
minimises ``||X - X B||^2 + l2 ||B||^2`` subject to ``diag(B) = 0`` over the training
matrix ``X``; with ``P = (X^T X + l2 I)^-1`` it is ``B_ij = -P_ij / P_jj`` off the diagonal
and 0 on it. Default: ``l2 = 250`` (RecBole's ``reg_weight``).

``B`` is not learned by gradient descent: :func:`solve_ease` computes it (the registry's
``solver``), in float64, from the training interactions. It is a dense ``num_items x
num_items`` table and the solve inverts one such matrix, so EASE suits catalogues up to
some tens of thousands of items.
"""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import keras
from tfdeeprec.models._common import check_implicit_args
from tfdeeprec.models._row import item_table_model, set_item_table
from tfdeeprec.models.item_knn import training_matrix


def build_ease(num_users: int, num_items: int, *, l2: float = 250.0, task: str = "implicit",
               name: str = "ease") -> keras.Model:
    """The EASE scorer with an all-zero item table (see :func:`solve_ease`).

    >>> build_ease(3, 4)(np.array([[0, 1, 0, 1]], "float32")).shape
    TensorShape([1, 4])
    """
    check_implicit_args("EASE", num_users, num_items, task)
    if isinstance(l2, bool) or not isinstance(l2, (int, float)) or not l2 > 0:
        raise ValueError(f"`l2` must be a number > 0. Received: l2={l2!r}")
    model = item_table_model(num_items, name)
    model.l2 = float(l2)
    return model


def solve_ease(model: keras.Model, train, *, l2: float | None = None) -> None:
    """Sets the model's item table ``B`` from ``train`` (``EncodedInteractions``).

    >>> from tfdeeprec.data import EncodedInteractions
    >>> train = EncodedInteractions(np.array([1, 1, 2]), np.array([1, 2, 1]), 3, 3)
    >>> model = build_ease(3, 3, l2=1.0)
    >>> solve_ease(model, train)
    >>> [round(float(v), 4) for v in model(np.array([[0, 1, 0]], "float32"))[0]]
    [0.0, 0.0, 0.3333]
    """
    l2 = getattr(model, "l2", 250.0) if l2 is None else l2
    set_item_table(model, ease_table(training_matrix(train), l2))


def ease_table(matrix: np.ndarray, l2: float) -> np.ndarray:
    """``B`` of the module docstring for the training matrix ``X`` (``[users, items]``):
    float32 ``[items, items]``, rows and columns of items no user has are 0."""
    x = np.asarray(matrix, np.float64)
    gram = x.T @ x
    gram[np.diag_indices_from(gram)] += l2
    inverse = np.linalg.inv(gram)
    table = inverse / -np.diag(inverse)[None, :]
    np.fill_diagonal(table, 0.0)
    return table.astype(np.float32)
