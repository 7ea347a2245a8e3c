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
from tfdeeprec.families.items import ItemsFamily


class SequenceFamily(ItemsFamily):
    """Next-item models over time-ordered histories."""

    name = "sequence"
    kind = "sequence"
    description = "a user's items in time order -> next-item scores; sessions fold in"
    score_meaning = ("the model's next-item score given the user's latest items (Markov "
                     "chain: the probability of the transition from the latest item)")

    def score_fn(self, model, train, *, live=False):
        length = self.max_length(model)
        built = build_histories(train, max_length=length, align="right")
        table = np.zeros((train.num_users, length), np.int32)
        table[built[schema.USER_ID]] = built[schema.HISTORY]
        histories = tf.constant(table)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
        def scores(users):
            return model({schema.HISTORY: tf.gather(histories, users)}, training=False)

        return lambda users: scores(tf.convert_to_tensor(np.asarray(users, np.int32))).numpy()

    def max_length(self, model) -> int:
        """The width of the model's ``history`` input."""
        shape = model.input_shape
        shape = shape[schema.HISTORY] if isinstance(shape, dict) else shape
        if len(shape) != 2 or shape[1] is None:
            raise ValueError("a sequence-family model needs a `history` input of shape "
                             f"(batch, max_length). Received: {shape}")
        return int(shape[1])
