"""A pairwise trainer: wraps any (user_id, item_id) -> score model for BPR training."""

from __future__ import annotations

from tfdeeprec._keras import keras
from tfdeeprec.data import schema


def build_pairwise_trainer(scorer: keras.Model, name: str | None = None) -> keras.Model:
    """Returns a model over ``{user_id, positive_item_id, negative_item_id}`` whose
    output is ``scorer(u, i+) - scorer(u, i-)``, to be trained with ``BPRLoss``.

    The two calls share ``scorer``'s weights, so after training ``scorer`` itself is
    the model to evaluate and export.

    Example:

    >>> from tfdeeprec.models.mf import build_mf
    >>> trainer = build_pairwise_trainer(build_mf(4, 6, task="implicit", embedding_dim=2))
    >>> sorted(trainer.input_names)
    ['negative_item_id', 'positive_item_id', 'user_id']
    """
    inputs = {name_: keras.Input(shape=(), dtype="int32", name=name_)
              for name_ in (schema.USER_ID, schema.POSITIVE_ITEM_ID, schema.NEGATIVE_ITEM_ID)}
    user = inputs[schema.USER_ID]
    positive = scorer({schema.USER_ID: user, schema.ITEM_ID: inputs[schema.POSITIVE_ITEM_ID]})
    negative = scorer({schema.USER_ID: user, schema.ITEM_ID: inputs[schema.NEGATIVE_ITEM_ID]})
    diff = keras.layers.Subtract(name="score_difference")([positive, negative])
    return keras.Model(inputs, diff, name=name or f"{scorer.name}_pairwise")
