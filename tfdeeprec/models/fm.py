"""Factorization Machine: a linear term plus every pair of fields' embedding dot product.

Reference: Rendle, "Factorization Machines", ICDM 2010.

>>> model = build_fm(5, 6, embedding_dim=4)
>>> model({"user_id": tf.constant(["1"]), "item_id": tf.constant(["2"])}).shape
TensorShape([1])
"""

from __future__ import annotations

from tfdeeprec._keras import keras, tf  # noqa: F401
from tfdeeprec.layers.fm_interaction import FMInteraction
from tfdeeprec.models._context import (check_ctr_task, context_inputs, embed_fields, logit_model)


def build_fm(num_users: int = 0, num_items: int = 0, *, features=None, feature_stats=None,
             task: str = "ctr", rating_range=None,
             global_mean: float = 0.0, embedding_dim: int = 10, l2: float = 0.0,
             name: str = "fm") -> keras.Model:
    """Builds FM: ``b + sum_f w_f(x_f) + sum_{f<g} <v_f, v_g>`` in O(F k).

    Args:
        features, feature_stats: as :func:`~tfdeeprec.models.logistic_regression.build_lr`.
        embedding_dim (int): ``k``. Default 10 (RecBole's).
        l2 (float): L2 on the embedding rows a batch uses.
    """
    check_ctr_task(task)
    specs, encoder, inputs = context_inputs(num_users, num_items, features, feature_stats)
    fields, linear = embed_fields(inputs, specs, encoder, embedding_dim=embedding_dim, l2=l2)
    return logit_model(encoder, inputs, [linear, FMInteraction(name="fm")(fields)], name, task=task,
                       rating_range=rating_range, global_mean=global_mean)
