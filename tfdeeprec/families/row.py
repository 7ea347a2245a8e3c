"""The row family: a user's set of items -> scores over every item (ItemKNN, EASE,
Mult-DAE, Mult-VAE, CDAE).

Its models take ``user_row`` (float32 ``[b, num_items]``, the user's training items as a
multi-hot row; CDAE also ``user_id``) and return ``[b, num_items]`` scores. Closed-form
models (ItemKNN, EASE) are solved by their spec's ``solver`` instead of a gradient loop;
the others end in a :class:`~tfdeeprec.layers.ReconstructionLoss` and are fitted on the
training users' rows (:func:`~tfdeeprec.data.user_rows.make_user_row_dataset`) with
their own loss, stopping early on validation NDCG. Full ranking reads each user's
training row; exports serve ``recommend``, ``recommend_from_items`` (fold-in of an
anonymous user's or a session's items) and ``score``
(:func:`~tfdeeprec.export.items_exporter.export_items_model`).
"""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data.user_rows import make_user_row_dataset
from tfdeeprec.export.items_module import multi_hot
from tfdeeprec.export.retrieval_module import RetrievalTables
from tfdeeprec.families.base import TrainingPlan
from tfdeeprec.families.items import ItemsFamily
from tfdeeprec.models._row import row_model_inputs, row_trainer


class RowFamily(ItemsFamily):
    """User-row models: the user's items in, scores over all items out."""

    name = "row"
    kind = "row"
    description = "a user's items -> scores over all items; recommend_from_items folds in"
    score_meaning = ("the model's score of the item given the user's items (ItemKNN: a sum "
                     "of cosine similarities; EASE: of its item weights; autoencoders: the "
                     "logit of their output); ranks items, not a probability")
    default_batch_size = 1024  # users a step (gradient-trained models)

    def training_plan(self, spec, config, data) -> TrainingPlan:
        if spec.solver is not None:
            return super().training_plan(spec, config, data)
        rows = make_user_row_dataset(data.train, batch_size=config.batch_size,
                                     seed=config.seed)
        evaluator = self.validation_evaluator(data, config)
        build, box = self.builder(spec, config, data), {}

        def build_trainer():
            box["model"] = build()
            return row_trainer(box["model"])

        return TrainingPlan(build_trainer, rows, None, ranking_evaluator=evaluator,
                            monitor=f"val_ndcg@{config.ks[0]}",
                            scorer=lambda fitted: box["model"])

    def score_fn(self, model, train, *, live=False):
        tables = RetrievalTables.from_train(train)
        seen = tf.RaggedTensor.from_row_starts(tables.seen_items, tables.seen_row_starts[:-1])
        num_items = train.num_items

        @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
        def scores(users):
            rows = multi_hot(tf.gather(seen, users).to_tensor(default_value=0), num_items)
            return model(row_model_inputs(model, rows, users), training=False)

        return lambda users: scores(tf.convert_to_tensor(np.asarray(users, np.int32))).numpy()
