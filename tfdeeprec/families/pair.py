"""The pair family: models that score a (user, item) pair (MF, NCF, NeuMF, Wide & Deep).

Trains on ratings (MSE), on positives with sampled negatives (BCE) or on BPR triples
(the model wrapped by :func:`~tfdeeprec.models.pairwise.build_pairwise_trainer`); ranks
every item for a user with the model's ranker (``tfdeeprec.models.rankers``), or by
scoring every (user, item) pair; exports ``score`` and ``recommend`` through
:func:`~tfdeeprec.export.export_model`.
"""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data import schema
from tfdeeprec.data.pairwise import make_pairwise_dataset
from tfdeeprec.data.pointwise import make_implicit_dataset, make_rating_dataset
from tfdeeprec.evaluation import model_score_fn
from tfdeeprec.export.exporter import export_model
from tfdeeprec.families.base import Family, TrainingPlan
from tfdeeprec.models.pairwise import build_pairwise_trainer

SCORES = {
    "rating": "predicted rating",
    "bce": "probability of interaction, sigmoid(logit)",
    "bpr": "uncalibrated ranking score: sigmoid of an output trained with BPR, which "
           "fixes only the order of a user's items; higher is better, but it is not a "
           "probability and is not comparable across users",
}


class PairFamily(Family):
    """(user, item) -> score models."""

    name = "pair"
    description = "(user, item) -> score; ranks by scoring every pair"
    tasks = ("rating", "implicit")
    losses = {"rating": ("mse",), "implicit": ("bce", "bpr")}
    serves = ("serving_default", "score", "recommend", "recommend_default")

    def training_plan(self, spec, config, data) -> TrainingPlan:
        build = self.builder(spec, config, data)
        loss = self.loss(config)
        if config.task == "rating":
            return TrainingPlan(
                build, make_rating_dataset(data.train.known(), batch_size=config.batch_size,
                                           seed=config.seed), loss,
                validation_data=make_rating_dataset(data.valid.known(), batch_size=8192,
                                                    shuffle=False),
                monitor="val_rmse")
        evaluator = self.validation_evaluator(data, config)
        monitor = f"val_ndcg@{config.ks[0]}"
        if loss == "bpr":  # fit a pairwise trainer; evaluate and export the scorer in it
            box = {}

            def build_trainer():
                box["scorer"] = build()
                return build_pairwise_trainer(box["scorer"])

            triples = make_pairwise_dataset(
                data.train.known(), batch_size=config.batch_size,
                distribution=config.negative_distribution, seed=config.seed).map(
                lambda features: (features, tf.ones_like(features[schema.USER_ID], tf.float32)))
            return TrainingPlan(build_trainer, triples, loss, ranking_evaluator=evaluator,
                                monitor=monitor, scorer=lambda fitted: box["scorer"])
        return TrainingPlan(
            build, make_implicit_dataset(data.train.known(), num_negatives=config.num_negatives,
                                         distribution=config.negative_distribution,
                                         batch_size=config.batch_size, seed=config.seed),
            loss, ranking_evaluator=evaluator, monitor=monitor)

    def score_fn(self, model, train, *, live=False):
        """The model's ranker (each user's and item's work once) where its spec has one
        and its layers are the builder's, else every pair through the model; both read
        the live weights."""
        from tfdeeprec.models.registry import MODELS

        spec = MODELS.get(model.name)
        if spec is not None and spec.ranker is not None:
            try:
                return spec.ranker(model, train.num_items)
            except ValueError:  # get_layer: not the layers the builder makes
                pass
        return model_score_fn(model, train.num_items)

    def serving_score(self, scores, config):
        return scores if config.task == "rating" else 1.0 / (1.0 + np.exp(-scores))

    def predict_ratings(self, model, users, items):
        return np.reshape(model.predict({schema.USER_ID: users, schema.ITEM_ID: items},
                                        batch_size=8192, verbose=0), [-1])

    def export(self, model, user_vocab, item_vocab, *, config, base, name, train, version,
               metadata, max_k, exclude_seen, options):
        if options:
            raise ValueError(f"pair-family exports take no options. Received: {options}")
        score = SCORES["rating" if config.task == "rating" else self.loss(config)]
        path = export_model(model, user_vocab, item_vocab, task=config.task, base=base,
                            name=name, train=train, version=version, metadata=metadata,
                            max_k=max_k, exclude_seen=exclude_seen, family=self.name,
                            score_meaning=score)
        return {"main": path}
