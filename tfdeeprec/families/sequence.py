"""The sequence family: a user's items in time order -> next-item scores over every item
(a first-order Markov chain; GRU4Rec, SASRec and BERT4Rec next).

Its models take ``history`` (int32 ``[b, max_length]``, the latest items in time order,
right-aligned, 0-padded in front; ``max_length`` is the model's input width) and return
``[b, num_items]`` scores. Closed-form models are solved by their spec's ``solver``.
Full ranking reads each user's latest training items; exports serve ``recommend`` (the
stored history), ``recommend_from_items`` (a session, in time order) and ``score``
(:func:`~tfdeeprec.export.items_exporter.export_items_model`).
"""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data import schema
from tfdeeprec.data.sequences import build_histories
from tfdeeprec.export.items_exporter import export_items_model
from tfdeeprec.families.base import Family, TrainingPlan


class SequenceFamily(Family):
    """Next-item models over time-ordered histories."""

    name = "sequence"
    description = "a user's items in time order -> next-item scores; sessions fold in"
    tasks = ("implicit",)
    losses = {"implicit": ()}
    serves = ("serving_default", "score", "recommend", "recommend_default",
              "recommend_from_items")

    def training_plan(self, spec, config, data) -> TrainingPlan:
        if spec.solver is None:
            raise ValueError(f"the sequence-family model {spec.name!r} has no `solver`: "
                             "sequence models are solved in closed form here; gradient-"
                             "trained ones need shifted-target or masked-item pipelines "
                             "(not built yet)")
        train = data.train
        return TrainingPlan(self.builder(spec, config, data), None, None,
                            solve=lambda model: spec.solver(model, train))

    def score_fn(self, model, train, *, live=False):
        length = history_length(model)
        built = build_histories(train, max_length=length, align="right")
        table = np.zeros((train.num_users, length), np.int32)
        table[built[schema.USER_ID]] = built[schema.HISTORY]
        histories = tf.constant(table)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
        def scores(users):
            return model({schema.HISTORY: tf.gather(histories, users)}, training=False)

        return lambda users: scores(tf.convert_to_tensor(np.asarray(users, np.int32))).numpy()

    def export(self, model, user_vocab, item_vocab, *, config, base, name, train, version,
               metadata, max_k, exclude_seen, options):
        if options:
            raise ValueError(f"sequence-family exports take no options. Received: {options}")
        path = export_items_model(model, user_vocab, item_vocab, base=base, name=name,
                                  train=train, kind="sequence",
                                  max_length=history_length(model), version=version,
                                  metadata=metadata, max_k=max_k, exclude_seen=exclude_seen,
                                  family=self.name,
                                  score_meaning="the model's next-item score given the "
                                  "user's latest items (Markov chain: the probability of "
                                  "the transition from the latest item)")
        return {"main": path}


def history_length(model) -> int:
    """The width of the model's ``history`` input."""
    shape = model.input_shape
    shape = shape[schema.HISTORY] if isinstance(shape, dict) else shape
    if len(shape) != 2 or shape[1] is None:
        raise ValueError(f"a sequence-family model needs a `history` input of shape "
                         f"(batch, max_length). Received: {shape}")
    return int(shape[1])
