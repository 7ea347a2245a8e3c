"""DeepFM: FM and an MLP over the same field embeddings, their logits summed.

Reference: Guo et al., "DeepFM: A Factorization-Machine based Neural Network for CTR
Prediction", IJCAI 2017.

>>> model = build_deepfm(5, 6, embedding_dim=4, hidden_units=(8,))
>>> model({"user_id": tf.constant(["1"]), "item_id": tf.constant(["2"])}).shape
TensorShape([1])
"""

from __future__ import annotations

from tfdeeprec._keras import keras, tf  # noqa: F401
from tfdeeprec.layers.fm_interaction import FMInteraction
from tfdeeprec.layers.mlp import MLP
from tfdeeprec.models._context import (check_ctr_task, context_inputs, embed_fields, flat,
                                       logit_model)


def build_deepfm(num_users: int = 0, num_items: int = 0, *, features=None,
                 feature_stats=None, task: str = "ctr", rating_range=None,
                 global_mean: float = 0.0, embedding_dim: int = 10,
                 hidden_units=(128, 128, 128), dropout_rate: float = 0.2, l2: float = 0.0,
                 name: str = "deepfm") -> keras.Model:
    """Builds DeepFM: ``linear + FM + Dense(MLP(flatten(fields)))``.

    Args:
        features, feature_stats: as :func:`~tfdeeprec.models.logistic_regression.build_lr`.
        embedding_dim (int): Default 10. hidden_units (tuple): Default (128, 128, 128).
        dropout_rate (float): on each MLP layer's input. Default 0.2 (RecBole's defaults).
        l2 (float): L2 on the embedding rows a batch uses.
    """
    check_ctr_task(task)
    specs, encoder, inputs = context_inputs(num_users, num_items, features, feature_stats)
    fields, linear = embed_fields(inputs, specs, encoder, embedding_dim=embedding_dim, l2=l2)
    deep = MLP(hidden_units, dropout_rate=dropout_rate, dropout_first=True, name="mlp")(
        flat(fields))
    deep = keras.layers.Dense(1, name="deep_logit")(deep)
    return logit_model(encoder, inputs, [linear, FMInteraction(name="fm")(fields), deep], name, task=task,
                       rating_range=rating_range, global_mean=global_mean)
