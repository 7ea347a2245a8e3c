"""Logistic regression over the features: the first-order term of FM alone, a CTR baseline.

>>> model = build_lr(5, 6)
>>> model({"user_id": tf.constant(["1"]), "item_id": tf.constant(["2"])}).shape
TensorShape([1])
"""

from __future__ import annotations

from tfdeeprec._keras import keras, tf  # noqa: F401  (tf: the example)
from tfdeeprec.models._context import (check_ctr_task, context_inputs, embed_fields, logit_model)


def build_lr(num_users: int = 0, num_items: int = 0, *, features=None, feature_stats=None,
             task: str = "ctr", rating_range=None, global_mean: float = 0.0,
             l2: float = 0.0, name: str = "lr") -> keras.Model:
    """Builds LR: ``logit = b + sum_f w_f(x_f)``.

    Args:
        num_users, num_items: the ID buckets when ``features`` is ``None``.
        features, feature_stats: the feature specs and what they learned
            (``tfdeeprec.features``); ``None``: ``user_id`` and ``item_id`` alone.
        task (str): ``ctr`` (the output is a click logit) or ``rating`` (the output is
            ``global_mean`` plus the model, clipped to ``rating_range``).
        l2 (float): L2 on the weights a batch uses.
    """
    check_ctr_task(task)
    specs, encoder, inputs = context_inputs(num_users, num_items, features, feature_stats)
    linear = embed_fields(inputs, specs, encoder, embedding_dim=0, l2=l2)
    return logit_model(encoder, inputs, [linear], name, task=task, rating_range=rating_range,
                       global_mean=global_mean)
