"""Deep & Cross Network (v1): a cross network and an MLP side by side on the flat fields.

Reference: Wang et al., "Deep & Cross Network for Ad Click Predictions", ADKDD 2017.

>>> model = build_dcn(5, 6, embedding_dim=4, hidden_units=(8,), cross_layers=2)
>>> model({"user_id": tf.constant(["1"]), "item_id": tf.constant(["2"])}).shape
TensorShape([1])
"""

from __future__ import annotations

from tfdeeprec._keras import keras, tf  # noqa: F401
from tfdeeprec.layers.cross_v1 import CrossV1
from tfdeeprec.layers.mlp import MLP
from tfdeeprec.models._context import (check_ctr_task, context_inputs, embed_fields, flat,
                                       logit_model)


def build_dcn(num_users: int = 0, num_items: int = 0, *, features=None, feature_stats=None,
              task: str = "ctr", rating_range=None,
              global_mean: float = 0.0, embedding_dim: int = 10, cross_layers: int = 6,
              hidden_units=(256, 256, 256), dropout_rate: float = 0.2, l2: float = 0.0,
              name: str = "dcn") -> keras.Model:
    """Builds DCN: ``Dense(concat(Cross(x0), MLP(x0)))`` with ``x0`` the flat fields.

    Args:
        features, feature_stats: as :func:`~tfdeeprec.models.logistic_regression.build_lr`.
        cross_layers (int): Default 6. hidden_units (tuple): Default (256, 256, 256).
        embedding_dim, dropout_rate, l2: as DeepFM's (RecBole's defaults).
    """
    check_ctr_task(task)
    specs, encoder, inputs = context_inputs(num_users, num_items, features, feature_stats)
    fields = embed_fields(inputs, specs, encoder, embedding_dim=embedding_dim, linear=False,
                          l2=l2)
    x0 = flat(fields)
    cross = CrossV1(cross_layers, name="cross")(x0)
    deep = MLP(hidden_units, dropout_rate=dropout_rate, dropout_first=True, name="mlp")(x0)
    both = keras.layers.Concatenate(name="cross_and_deep")([cross, deep])
    return logit_model(encoder, inputs, [keras.layers.Dense(1, name="output")(both)], name, task=task,
                       rating_range=rating_range, global_mean=global_mean)
