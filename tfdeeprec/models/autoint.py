"""AutoInt+: stacked multi-head self-attention over the fields, with an MLP and a linear term.

Reference: Song et al., "AutoInt: Automatic Feature Interaction Learning via
Self-Attentive Neural Networks", CIKM 2019.

>>> model = build_autoint(5, 6, embedding_dim=4, hidden_units=(8,), attention_layers=1)
>>> model({"user_id": tf.constant(["1"]), "item_id": tf.constant(["2"])}).shape
TensorShape([1])
"""

from __future__ import annotations

from tfdeeprec._keras import keras, tf  # noqa: F401
from tfdeeprec.layers.field_self_attention import FieldSelfAttention
from tfdeeprec.layers.mlp import MLP
from tfdeeprec.models._context import (check_ctr_task, context_inputs, embed_fields, flat,
                                       logit_model)


def build_autoint(num_users: int = 0, num_items: int = 0, *, features=None,
                  feature_stats=None, task: str = "ctr", rating_range=None,
                  global_mean: float = 0.0, embedding_dim: int = 10,
                  attention_layers: int = 3, num_heads: int = 2, head_dim: int = 8,
                  hidden_units=(64, 64, 64), dropout_rate: float = 0.2, l2: float = 0.0,
                  name: str = "autoint") -> keras.Model:
    """Builds AutoInt+: ``linear + Dense(flatten(attention^L(fields))) + Dense(MLP)``;
    ``hidden_units=()`` gives AutoInt without the MLP.

    Args:
        features, feature_stats: as :func:`~tfdeeprec.models.logistic_regression.build_lr`.
        attention_layers (int): interacting layers. Default 3.
        num_heads, head_dim (int): per layer. Default 2 heads of 8 (RecBole's 16 wide).
        hidden_units, embedding_dim, dropout_rate, l2: as DeepFM's.
    """
    check_ctr_task(task)
    specs, encoder, inputs = context_inputs(num_users, num_items, features, feature_stats)
    fields, linear = embed_fields(inputs, specs, encoder, embedding_dim=embedding_dim, l2=l2)
    x = fields
    for i in range(attention_layers):
        x = FieldSelfAttention(num_heads=num_heads, head_dim=head_dim,
                               name=f"attention_{i}")(x)
    logits = [linear, keras.layers.Dense(1, name="attention_logit")(flat(x, "flatten_attention"))]
    if hidden_units:
        deep = MLP(hidden_units, dropout_rate=dropout_rate, dropout_first=True, name="mlp")(
            flat(fields))
        logits.append(keras.layers.Dense(1, name="deep_logit")(deep))
    return logit_model(encoder, inputs, logits, name, task=task,
                       rating_range=rating_range, global_mean=global_mean)
