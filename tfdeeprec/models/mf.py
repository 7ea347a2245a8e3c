"""Biased matrix factorisation, the baseline: r(u, i) = mu + b_u + b_i + p_u . q_i.

Reference: Koren, Bell, Volinsky, "Matrix Factorization Techniques for Recommender
Systems", IEEE Computer 2009.

Inputs: ``user_id``, ``item_id`` (int32 indices, 0 = OOV). Output ``score``: a rating
(task ``"rating"``) or a logit (task ``"implicit"``). Defaults: 64-d factors, no L2.
"""

from __future__ import annotations

from tfdeeprec._keras import keras
from tfdeeprec.data import schema
from tfdeeprec.models._common import (check_sizes, check_task, finish_score, id_embedding,
                                      id_inputs)


def build_mf(num_users: int, num_items: int, *, task: str = "rating",
             embedding_dim: int = 64, l2: float = 0.0, rating_range=None,
             global_mean: float = 0.0, name: str = "mf") -> keras.Model:
    """Builds biased MF.

    Example:

    >>> model = build_mf(10, 20, embedding_dim=4, global_mean=3.5)
    >>> import numpy as np
    >>> model({"user_id": np.array([1]), "item_id": np.array([2])}).shape
    TensorShape([1])
    """
    check_task(task)
    check_sizes(num_users, num_items)
    inputs = id_inputs()
    user = id_embedding(num_users, embedding_dim, "user_embedding", l2)(inputs[schema.USER_ID])
    item = id_embedding(num_items, embedding_dim, "item_embedding", l2)(inputs[schema.ITEM_ID])
    user_bias = id_embedding(num_users, 1, "user_bias", l2, stddev=0.0)(inputs[schema.USER_ID])
    item_bias = id_embedding(num_items, 1, "item_bias", l2, stddev=0.0)(inputs[schema.ITEM_ID])
    dot = keras.layers.Dot(axes=1, name="dot")([user, item])
    x = keras.layers.Add(name="score")([dot, user_bias, item_bias])
    out = finish_score(x, task=task, rating_range=rating_range, global_mean=global_mean)
    return keras.Model(inputs, out, name=name)
