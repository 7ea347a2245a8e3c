"""xDeepFM: a linear term, a compressed interaction network (CIN) and an MLP, summed.

Reference: Lian et al., "xDeepFM: Combining Explicit and Implicit Feature Interactions
for Recommender Systems", KDD 2018.

>>> model = build_xdeepfm(5, 6, embedding_dim=4, hidden_units=(8,), cin_layer_sizes=(4, 4))
>>> model({"user_id": tf.constant(["1"]), "item_id": tf.constant(["2"])}).shape
TensorShape([1])
"""

from __future__ import annotations

from tfdeeprec._keras import keras, tf  # noqa: F401
from tfdeeprec.layers.cin import CIN
from tfdeeprec.layers.mlp import MLP
from tfdeeprec.models._context import (check_ctr_task, context_inputs, embed_fields, flat,
                                       logit_model)


def build_xdeepfm(num_users: int = 0, num_items: int = 0, *, features=None,
                  feature_stats=None, task: str = "ctr", rating_range=None,
                  global_mean: float = 0.0, embedding_dim: int = 10,
                  hidden_units=(128, 128, 128), cin_layer_sizes=(100, 100, 100),
                  split_half: bool = True, dropout_rate: float = 0.2, l2: float = 0.0,
                  name: str = "xdeepfm") -> keras.Model:
    """Builds xDeepFM: ``linear + Dense(CIN(fields)) + Dense(MLP(flatten(fields)))``.

    Args:
        features, feature_stats: as :func:`~tfdeeprec.models.logistic_regression.build_lr`.
        cin_layer_sizes (tuple): feature maps per CIN layer. Default (100, 100, 100).
        split_half (bool): each CIN layer but the last sends half its maps to the output.
        embedding_dim, hidden_units, dropout_rate, l2: as DeepFM's (RecBole's defaults).
    """
    check_ctr_task(task)
    specs, encoder, inputs = context_inputs(num_users, num_items, features, feature_stats)
    fields, linear = embed_fields(inputs, specs, encoder, embedding_dim=embedding_dim, l2=l2)
    cin = CIN(cin_layer_sizes, split_half=split_half, name="cin")(fields)
    cin = keras.layers.Dense(1, name="cin_logit")(cin)
    deep = MLP(hidden_units, dropout_rate=dropout_rate, dropout_first=True, name="mlp")(
        flat(fields))
    deep = keras.layers.Dense(1, name="deep_logit")(deep)
    return logit_model(encoder, inputs, [linear, cin, deep], name, task=task,
                       rating_range=rating_range, global_mean=global_mean)
