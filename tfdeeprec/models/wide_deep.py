"""Wide & Deep: a linear model over IDs and crossed features plus an MLP over embeddings.

Reference: Cheng et al., "Wide & Deep Learning for Recommender Systems", DLRS 2016.

Inputs: ``user_id``, ``item_id`` (int32 indices, 0 = OOV). User and item side features
live inside the model as constant tables (``FeatureLookup``) built from the training
data with ``tfdeeprec.data.side_features.build_feature_tables``, so serving needs only
the two IDs; an unknown ID gets the "unknown" feature row. Output: a rating (task
``"rating"``) or a logit (task ``"implicit"``).

Wide part: one weight per user, per item, per category of each side feature, per genre,
and per cell of each cross (default: user x genre and occupation x genre, where those
features exist). Deep part: 32-d ID embeddings, 8-d side-feature embeddings, MLP
``(128, 64)``.
"""

from __future__ import annotations

from tfdeeprec._keras import keras
from tfdeeprec.data import schema
from tfdeeprec.data.side_features import FeatureTables
from tfdeeprec.layers.crossed_linear import CrossedLinear
from tfdeeprec.layers.feature_lookup import FeatureLookup
from tfdeeprec.layers.mlp import MLP
from tfdeeprec.models._common import (check_sizes, check_task, finish_score, id_embedding,
                                      id_inputs)

DEFAULT_CROSSES = ((schema.USER_ID, schema.GENRES), (schema.OCCUPATION, schema.GENRES))


def build_wide_deep(num_users: int, num_items: int, *,
                    user_features: FeatureTables | None = None,
                    item_features: FeatureTables | None = None, crosses=None,
                    task: str = "implicit", embedding_dim: int = 32,
                    feature_embedding_dim: int = 8, hidden_units=(128, 64),
                    dropout_rate: float = 0.0, l2: float = 0.0, rating_range=None,
                    global_mean: float = 0.0, name: str = "wide_deep") -> keras.Model:
    """Builds Wide & Deep.

    Args:
        user_features, item_features: side-feature tables aligned with the user and
            item vocabularies (``None``: IDs only).
        crosses: ``(a, b)`` pairs: ``a`` a categorical feature or ``user_id`` /
            ``item_id``, ``b`` a multi-hot or categorical feature. Default: those of
            :data:`DEFAULT_CROSSES` whose features exist.

    Example:

    >>> import numpy as np
    >>> from tfdeeprec.data.side_features import FeatureTables
    >>> items = FeatureTables(multi_hot={"genres": np.eye(4, 2, dtype="float32")},
    ...                       values={"genres": ["Action", "Drama"]})
    >>> model = build_wide_deep(3, 4, item_features=items, hidden_units=(8,))
    >>> model({"user_id": np.array([1]), "item_id": np.array([2])}).shape
    TensorShape([1])
    """
    check_task(task)
    check_sizes(num_users, num_items)
    inputs = id_inputs()
    user, item = inputs[schema.USER_ID], inputs[schema.ITEM_ID]
    categorical, multi_hot = {}, {}
    sizes = {schema.USER_ID: num_users, schema.ITEM_ID: num_items}
    for tables, index, owner in ((user_features, user, "user"), (item_features, item, "item")):
        if tables is None:
            continue
        for feature, table in tables.categorical.items():
            _check_new(feature, sizes)
            categorical[feature] = FeatureLookup(table=table, name=f"{feature}_lookup")(index)
            sizes[feature] = tables.cardinalities[feature]
        for feature, table in tables.multi_hot.items():
            _check_new(feature, sizes)
            multi_hot[feature] = FeatureLookup(table=table, name=f"{feature}_lookup")(index)
            sizes[feature] = tables.widths[feature]

    # Wide: a linear model over one-hot IDs, side features and crosses.
    wide = [id_embedding(num_users, 1, "wide_user", l2, stddev=0.0)(user),
            id_embedding(num_items, 1, "wide_item", l2, stddev=0.0)(item)]
    wide += [id_embedding(sizes[f], 1, f"wide_{f}", stddev=0.0)(x) for f, x in categorical.items()]
    wide += [keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros",
                                name=f"wide_{f}")(x) for f, x in multi_hot.items()]
    ids = {schema.USER_ID: user, schema.ITEM_ID: item, **categorical}
    for a, b in _resolve_crosses(crosses, ids, categorical, multi_hot):
        if b in multi_hot:
            slots = multi_hot[b]
        else:
            slots = keras.layers.CategoryEncoding(sizes[b], output_mode="one_hot",
                                                  name=f"{b}_one_hot_for_{a}")(categorical[b])
        wide.append(CrossedLinear(sizes[a], sizes[b], name=f"cross_{a}_x_{b}")([ids[a], slots]))
    wide_logit = keras.layers.Add(name="wide")(
        [keras.layers.Reshape((1,), name=f"wide_term_{i}")(w) for i, w in enumerate(wide)])

    # Deep: embeddings of IDs and side features through an MLP.
    deep = [id_embedding(num_users, embedding_dim, "user_embedding", l2)(user),
            id_embedding(num_items, embedding_dim, "item_embedding", l2)(item)]
    deep += [id_embedding(sizes[f], feature_embedding_dim, f"{f}_embedding")(x)
             for f, x in categorical.items()]
    deep += [keras.layers.Dense(feature_embedding_dim, use_bias=False,
                                name=f"{f}_embedding")(x) for f, x in multi_hot.items()]
    x = keras.layers.Concatenate(name="deep_concat")(deep) if len(deep) > 1 else deep[0]
    x = MLP(hidden_units, dropout_rate=dropout_rate, name="mlp")(x)
    deep_logit = keras.layers.Dense(1, name="deep_output")(x)

    score = keras.layers.Add(name="wide_plus_deep")([wide_logit, deep_logit])
    out = finish_score(score, task=task, rating_range=rating_range, global_mean=global_mean)
    return keras.Model(inputs, out, name=name)


def _check_new(feature, sizes):
    if feature in sizes:
        raise ValueError(f"side feature names must be unique across users and items. "
                         f"Received a second feature named {feature!r}")


def _resolve_crosses(crosses, ids, categorical, multi_hot):
    if crosses is None:
        return [(a, b) for a, b in DEFAULT_CROSSES
                if a in ids and (b in multi_hot or b in categorical)]
    for a, b in crosses:
        if a not in ids or (b not in multi_hot and b not in categorical):
            raise ValueError(f"cross ({a!r}, {b!r}) names a feature the model does not have. "
                             f"Categorical: {sorted(ids)}; multi-hot: {sorted(multi_hot)}")
    return [tuple(c) for c in crosses]
