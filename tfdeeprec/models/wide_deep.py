"""Wide & Deep on declared features: a linear model over the features and their crosses,
plus an MLP over the field embeddings.

Reference: Cheng et al., "Wide & Deep Learning for Recommender Systems", DLRS 2016.

>>> model = build_wide_deep(5, 6, embedding_dim=4, hidden_units=(8,),
...                         crosses=[["user_id", "item_id"]])
>>> model({"user_id": tf.constant(["1"]), "item_id": tf.constant(["2"])}).shape
TensorShape([1])
"""

from __future__ import annotations

from tfdeeprec._keras import keras, tf  # noqa: F401
from tfdeeprec.layers.mlp import MLP
from tfdeeprec.models._context import (check_ctr_task, context_inputs, embed_fields, flat,
                                       logit_model)


def build_wide_deep(num_users: int = 0, num_items: int = 0, *, features=None,
                    feature_stats=None, task: str = "ctr", rating_range=None,
                    global_mean: float = 0.0, embedding_dim: int = 10,
                    hidden_units=(32, 16, 8), dropout_rate: float = 0.1, crosses=(),
                    cross_buckets: int = 10_000, l2: float = 0.0,
                    name: str = "wide_deep") -> keras.Model:
    """Builds Wide & Deep: ``linear + sum of cross weights + Dense(MLP(flatten(fields)))``.

    Args:
        features, feature_stats, task, rating_range, global_mean: as
            :func:`~tfdeeprec.models.logistic_regression.build_lr`.
        crosses (list): ``[a, b]`` pairs of categorical features; each pair of their
            (encoded) values is hashed (``HashedCrossing``) into ``cross_buckets``
            weights of the wide part. Default none (RecBole's WideDeep has none).
        cross_buckets (int): buckets per cross. Default 10000.
        embedding_dim, hidden_units, dropout_rate: the deep part. Defaults 10,
            (32, 16, 8) and 0.1 (RecBole's).
        l2 (float): L2 on the embedding rows a batch uses.
    """
    check_ctr_task(task)
    specs, encoder, inputs = context_inputs(num_users, num_items, features, feature_stats)
    fields, linear = embed_fields(inputs, specs, encoder, embedding_dim=embedding_dim, l2=l2)
    wide = [linear]
    kinds = {s.name: s.kind for s in specs}
    for pair in crosses:
        if len(pair) != 2 or any(kinds.get(f) != "categorical" for f in pair):
            raise ValueError("each cross must name two categorical features of "
                             f"{sorted(k for k, v in kinds.items() if v == 'categorical')}. "
                             f"Received: {list(pair)}")
        a, b = pair
        crossed = keras.layers.HashedCrossing(cross_buckets, name=f"cross_{a}_x_{b}")(
            (inputs[a], inputs[b]))
        wide.append(keras.layers.Embedding(cross_buckets, 1, embeddings_initializer="zeros",
                                           name=f"wide_{a}_x_{b}")(crossed))
    deep = MLP(hidden_units, dropout_rate=dropout_rate, dropout_first=True, name="mlp")(
        flat(fields))
    wide.append(keras.layers.Dense(1, name="deep_logit")(deep))
    wide = [keras.layers.Reshape((1,), name=f"term_{i}")(w) for i, w in enumerate(wide)]
    return logit_model(encoder, inputs, wide, name, task=task, rating_range=rating_range,
                       global_mean=global_mean)
