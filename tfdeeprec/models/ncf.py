"""Neural collaborative filtering: GMF, MLP-NCF and NeuMF (with pre-training).

Reference: He et al., "Neural Collaborative Filtering", WWW 2017.

Inputs: ``user_id``, ``item_id`` (int32 indices, 0 = OOV). Output: a rating (task
``"rating"``) or a logit (task ``"implicit"``; apply a sigmoid for a probability).
Defaults follow RecBole's NeuMF: 64-d GMF and MLP embeddings, MLP ``(128, 64)``.
"""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import keras
from tfdeeprec.data import schema
from tfdeeprec.layers.mlp import MLP, check_hidden_units
from tfdeeprec.layers.pair_dense import PairDense
from tfdeeprec.models._common import (check_sizes, check_task, id_embedding, id_inputs,
                                      score_head)


def build_gmf(num_users: int, num_items: int, *, task: str = "implicit",
              embedding_dim: int = 64, l2: float = 0.0, rating_range=None,
              global_mean: float = 0.0, name: str = "gmf") -> keras.Model:
    """GMF: ``h . (p_u * q_i)``.

    >>> build_gmf(5, 7, embedding_dim=4).count_params()
    53
    """
    check_task(task)
    check_sizes(num_users, num_items)
    inputs = id_inputs()
    x = _gmf_vector(inputs, num_users, num_items, embedding_dim, l2)
    out = score_head(x, task=task, rating_range=rating_range, global_mean=global_mean)
    return keras.Model(inputs, out, name=name)


def build_mlp_ncf(num_users: int, num_items: int, *, task: str = "implicit",
                  embedding_dim: int = 64, hidden_units=(128, 64), dropout_rate: float = 0.0,
                  l2: float = 0.0, rating_range=None, global_mean: float = 0.0,
                  name: str = "mlp_ncf") -> keras.Model:
    """MLP-NCF: an MLP over ``[p_u, q_i]``.

    >>> build_mlp_ncf(5, 7, embedding_dim=4, hidden_units=(8,)).count_params()
    129
    """
    check_task(task)
    check_sizes(num_users, num_items)
    inputs = id_inputs()
    x = _mlp_vector(inputs, num_users, num_items, embedding_dim, hidden_units,
                    dropout_rate, l2)
    out = score_head(x, task=task, rating_range=rating_range, global_mean=global_mean)
    return keras.Model(inputs, out, name=name)


def build_neumf(num_users: int, num_items: int, *, task: str = "implicit",
                gmf_dim: int = 64, mlp_dim: int = 64, hidden_units=(128, 64),
                dropout_rate: float = 0.0, l2: float = 0.0, rating_range=None,
                global_mean: float = 0.0, name: str = "neumf") -> keras.Model:
    """NeuMF: GMF and MLP-NCF side by side, fused by one output layer.

    >>> build_neumf(5, 7, gmf_dim=4, mlp_dim=4, hidden_units=(8,)).count_params()
    181
    """
    check_task(task)
    check_sizes(num_users, num_items)
    inputs = id_inputs()
    gmf = _gmf_vector(inputs, num_users, num_items, gmf_dim, l2, prefix="gmf_")
    mlp = _mlp_vector(inputs, num_users, num_items, mlp_dim, hidden_units, dropout_rate, l2)
    x = keras.layers.Concatenate(name="neumf_concat")([gmf, mlp])
    out = score_head(x, task=task, rating_range=rating_range, global_mean=global_mean)
    return keras.Model(inputs, out, name=name)


def load_pretrained_neumf(neumf: keras.Model, gmf: keras.Model, mlp: keras.Model,
                          alpha: float = 0.5) -> keras.Model:
    """Initialises ``neumf`` from trained GMF and MLP-NCF models (the paper's pre-training).

    Embeddings and MLP weights are copied; the output layer becomes
    ``[alpha * h_gmf, (1 - alpha) * h_mlp]`` with bias ``alpha * b_gmf + (1 - alpha) * b_mlp``.
    The three models must have matching sizes. Returns ``neumf``, changed in place.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"`alpha` must be in [0, 1]. Received: alpha={alpha}")
    for table in ("user_embedding", "item_embedding"):
        _copy(gmf.get_layer(table), neumf.get_layer(f"gmf_{table}"))
    for layer in ("pair_dense", "mlp"):  # "mlp" only with more than one hidden layer
        if any(lay.name == layer for lay in mlp.layers):
            _copy(mlp.get_layer(layer), neumf.get_layer(layer))
    (h_gmf, b_gmf), (h_mlp, b_mlp) = (gmf.get_layer("prediction").get_weights(),
                                      mlp.get_layer("prediction").get_weights())
    neumf.get_layer("prediction").set_weights([
        np.concatenate([alpha * h_gmf, (1.0 - alpha) * h_mlp], axis=0),
        alpha * b_gmf + (1.0 - alpha) * b_mlp,
    ])
    return neumf


def _gmf_vector(inputs, num_users, num_items, dim, l2, prefix=""):
    user = id_embedding(num_users, dim, f"{prefix}user_embedding", l2)(inputs[schema.USER_ID])
    item = id_embedding(num_items, dim, f"{prefix}item_embedding", l2)(inputs[schema.ITEM_ID])
    return keras.layers.Multiply(name="gmf_product")([user, item])


def _mlp_vector(inputs, num_users, num_items, dim, hidden_units, dropout_rate, l2):
    """The MLP over ``[p_u, q_i]``: its first layer a :class:`PairDense` (``pair_dense``,
    which owns the MLP's embedding tables), the rest an :class:`MLP` (``mlp``). Dropout
    comes before each layer, on its input (the embeddings for the first), as in
    RecBole's NeuMF."""
    hidden_units = check_hidden_units(hidden_units)
    x = PairDense(num_users, num_items, embedding_dim=dim, units=hidden_units[0], l2=l2,
                  dropout_rate=dropout_rate, name="pair_dense")(
                      [inputs[schema.USER_ID], inputs[schema.ITEM_ID]])
    if len(hidden_units) > 1:
        x = MLP(hidden_units[1:], dropout_rate=dropout_rate, dropout_first=True,
                name="mlp")(x)
    return x


def _copy(source, target):
    target.set_weights(source.get_weights())
