"""DCN-v2: full-rank, low-rank or mixture-of-low-rank cross layers with an MLP, stacked or
in parallel.

Reference: Wang et al., "DCN V2: Improved Deep & Cross Network and Practical Lessons for
Web-scale Learning to Rank Systems", WWW 2021.

>>> model = build_dcn_v2(5, 6, embedding_dim=4, hidden_units=(8,), low_rank=2)
>>> model({"user_id": tf.constant(["1"]), "item_id": tf.constant(["2"])}).shape
TensorShape([1])
"""

from __future__ import annotations

import tensorflow_recommenders as tfrs

from tfdeeprec._keras import keras, tf  # noqa: F401
from tfdeeprec.layers.cross_mixture import CrossMixture
from tfdeeprec.layers.mlp import MLP
from tfdeeprec.models._context import (check_ctr_task, context_inputs, embed_fields, flat,
                                       logit_model)

STRUCTURES = ("stacked", "parallel")


def build_dcn_v2(num_users: int = 0, num_items: int = 0, *, features=None,
                 feature_stats=None, task: str = "ctr", rating_range=None,
                 global_mean: float = 0.0, embedding_dim: int = 10,
                 cross_layers: int = 2, structure: str = "stacked", low_rank: int | None = None,
                 mixture_experts: int = 0, hidden_units=(256, 256),
                 dropout_rate: float = 0.2, l2: float = 0.0,
                 name: str = "dcn_v2") -> keras.Model:
    """Builds DCN-v2.

    Args:
        features, feature_stats: as :func:`~tfdeeprec.models.logistic_regression.build_lr`.
        cross_layers (int): Default 2.
        structure (str): ``stacked`` (cross, then MLP) or ``parallel`` (both on ``x0``,
            concatenated). Default ``stacked``.
        low_rank (int | None): ``None``: full-rank cross layers (``tfrs`` ``Cross``);
            ``r``: low-rank ``U V^T`` with rank ``r``.
        mixture_experts (int): above 0, each cross layer is a mixture of that many
            low-rank experts (DCN-Mix; rank ``low_rank`` or 32).
        hidden_units, embedding_dim, dropout_rate, l2: as DeepFM's.
    """
    check_ctr_task(task)
    if structure not in STRUCTURES:
        raise ValueError(f"`structure` must be one of {STRUCTURES}. "
                         f"Received: structure={structure!r}")
    specs, encoder, inputs = context_inputs(num_users, num_items, features, feature_stats)
    fields = embed_fields(inputs, specs, encoder, embedding_dim=embedding_dim, linear=False,
                          l2=l2)
    x0 = flat(fields)
    x = x0
    for i in range(cross_layers):
        if mixture_experts:
            x = CrossMixture(num_experts=mixture_experts, low_rank=low_rank or 32,
                             name=f"cross_{i}")(x0, x)
        else:
            x = tfrs.layers.dcn.Cross(projection_dim=low_rank, name=f"cross_{i}")(x0, x)
    mlp = MLP(hidden_units, dropout_rate=dropout_rate, dropout_first=True, name="mlp")
    if structure == "stacked":
        out = mlp(x)
    else:
        out = keras.layers.Concatenate(name="cross_and_deep")([x, mlp(x0)])
    return logit_model(encoder, inputs, [keras.layers.Dense(1, name="output")(out)], name, task=task,
                       rating_range=rating_range, global_mean=global_mean)
