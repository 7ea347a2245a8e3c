"""The row family: a user's set of items -> scores over every item (ItemKNN; AutoRec, CDAE,
Mult-DAE/VAE and EASE next).

Its models take ``user_row`` (float32 ``[b, num_items]``, the user's training items as a
multi-hot row) and return ``[b, num_items]`` scores. Closed-form models are solved by
their spec's ``solver`` instead of a gradient loop. Full ranking reads each user's
training row; exports serve ``recommend``, ``recommend_from_items`` (fold-in of an
anonymous user's or a session's items) and ``score``
(:func:`~tfdeeprec.export.items_exporter.export_items_model`).
"""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data import schema
from tfdeeprec.export.items_module import multi_hot
from tfdeeprec.export.retrieval_module import RetrievalTables
from tfdeeprec.families.items import ItemsFamily


class RowFamily(ItemsFamily):
    """User-row models: the user's items in, scores over all items out."""

    name = "row"
    kind = "row"
    description = "a user's items -> scores over all items; recommend_from_items folds in"
    score_meaning = ("the model's score of the item given the user's items (ItemKNN: a sum "
                     "of cosine similarities); ranks items, not a probability")

    def score_fn(self, model, train, *, live=False):
        tables = RetrievalTables.from_train(train)
        seen = tf.RaggedTensor.from_row_starts(tables.seen_items, tables.seen_row_starts[:-1])
        num_items = train.num_items

        @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
        def scores(users):
            items = tf.gather(seen, users).to_tensor(default_value=0)
            return model({schema.USER_ROW: multi_hot(items, num_items)}, training=False)

        return lambda users: scores(tf.convert_to_tensor(np.asarray(users, np.int32))).numpy()
