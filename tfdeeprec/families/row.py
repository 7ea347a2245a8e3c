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
from tfdeeprec.export.items_exporter import export_items_model
from tfdeeprec.export.retrieval_module import RetrievalTables
from tfdeeprec.families.base import Family, TrainingPlan


class RowFamily(Family):
    """User-row models: the user's items in, scores over all items out."""

    name = "row"
    description = "a user's items -> scores over all items; recommend_from_items folds in"
    tasks = ("implicit",)
    losses = {"implicit": ()}
    serves = ("serving_default", "score", "recommend", "recommend_default",
              "recommend_from_items")

    def training_plan(self, spec, config, data) -> TrainingPlan:
        if spec.solver is None:
            raise ValueError(f"the row-family model {spec.name!r} has no `solver`: row "
                             "models are solved in closed form here; gradient-trained row "
                             "models need a training pipeline of their own (not built yet)")
        train = data.train
        return TrainingPlan(self.builder(spec, config, data), None, None,
                            solve=lambda model: spec.solver(model, train))

    def score_fn(self, model, train, *, live=False):
        tables = RetrievalTables.from_train(train)
        seen = tf.RaggedTensor.from_row_starts(tables.seen_items, tables.seen_row_starts[:-1])
        num_items = train.num_items
        real = tf.cast(tf.range(num_items) > 0, tf.float32)[None, :]

        @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
        def scores(users):
            items = tf.gather(seen, users).to_tensor(default_value=0)
            rows = tf.math.bincount(items, minlength=num_items, maxlength=num_items,
                                    dtype=tf.float32, axis=-1, binary_output=True) * real
            return model({schema.USER_ROW: rows}, training=False)

        return lambda users: scores(tf.convert_to_tensor(np.asarray(users, np.int32))).numpy()

    def export(self, model, user_vocab, item_vocab, *, config, base, name, train, version,
               metadata, max_k, exclude_seen, options):
        if options:
            raise ValueError(f"row-family exports take no options. Received: {options}")
        path = export_items_model(model, user_vocab, item_vocab, base=base, name=name,
                                  train=train, kind="row", version=version,
                                  metadata=metadata, max_k=max_k, exclude_seen=exclude_seen,
                                  family=self.name,
                                  score_meaning="the model's score of the item given the "
                                  "user's items (ItemKNN: a sum of cosine similarities); "
                                  "ranks items, not a probability")
        return {"main": path}
