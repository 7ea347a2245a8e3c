"""Popularity, the baseline every recommender must beat: one score per item, for every user.

Reference: none; RecBole's ``Pop``. Scores: ``s(u, i) = b_i`` (plus the global mean for
ratings), so every user gets the same ranking. For task ``"implicit"`` the item scores
start at the log-odds of each item's training frequency (``item_probabilities``, when
given) and training with BCE refines them; for task ``"rating"`` ``b_i`` learns each
item's offset from the global mean rating.

Inputs: ``user_id`` (read, unused), ``item_id`` (int32 indices, 0 = OOV). Output: a
logit (implicit) or a rating. Defaults: no arguments to tune.
"""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import keras
from tfdeeprec.data import schema
from tfdeeprec.models._common import check_sizes, check_task, finish_score, id_inputs


def build_pop(num_users: int, num_items: int, *, task: str = "implicit",
              item_probabilities=None, rating_range=None, global_mean: float = 0.0,
              name: str = "pop") -> keras.Model:
    """Builds the popularity model.

    >>> model = build_pop(3, 4, item_probabilities=np.array([0.0, 0.5, 0.25, 0.25]))
    >>> model({"user_id": np.array([1, 2]), "item_id": np.array([1, 1])}).numpy().round(3).tolist()
    [0.0, 0.0]
    """
    check_task(task)
    check_sizes(num_users, num_items)
    initial = np.zeros((num_items, 1), np.float32)
    if item_probabilities is not None and task == "implicit":
        p = np.clip(np.asarray(item_probabilities, np.float64), 1e-6, 1 - 1e-6)
        initial[:, 0] = np.log(p / (1 - p))
    inputs = id_inputs()
    score = keras.layers.Embedding(
        num_items, 1, embeddings_initializer=keras.initializers.Constant(initial),
        name="item_score")(inputs[schema.ITEM_ID])
    return keras.Model(inputs, finish_score(score, task=task, rating_range=rating_range,
                                            global_mean=global_mean), name=name)
