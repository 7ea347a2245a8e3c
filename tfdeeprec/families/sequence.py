"""The sequence family: a user's items in time order -> next-item scores over every item
(the Markov chain, GRU4Rec, SASRec, BERT4Rec).

Its models take ``history`` (int32 ``[b, max_length]``, the latest items in time order,
right-aligned, 0-padded in front; ``max_length`` is the model's input width) and return
``[b, num_items]`` scores. Closed-form models are solved by their spec's ``solver``;
the others are fitted through :func:`~tfdeeprec.models._sequence.sequence_trainer`
(the positions of a window that have a target scored, full softmax cross-entropy,
averaged over the targets) on the windows of
:func:`~tfdeeprec.data.sequences.make_next_item_dataset`, with their spec's
``objective``, and stop early on validation NDCG. Full ranking reads each user's
latest items: the training items for validation, the training and validation items
for test (the test history includes the validation item), and excludes them from
the candidates. Exports serve ``recommend`` (the stored history),
``recommend_from_items`` (a session, in time order) and ``score``
(:func:`~tfdeeprec.export.items_exporter.export_items_model`).
"""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data import schema
from tfdeeprec.data.encoded import concatenate
from tfdeeprec.data.sequences import build_histories, make_next_item_dataset
from tfdeeprec.evaluation import (FullRankingEvaluator, SampledEvaluator,
                                  full_scores_to_pair_scorer)
from tfdeeprec.families.base import TrainingPlan
from tfdeeprec.families.items import ItemsFamily

RANKING_METRICS = ("hit", "precision", "recall", "ndcg", "mrr")
SAMPLED_NEGATIVES = 100  # the sampled protocol of the SASRec and BERT4Rec papers


class SequenceFamily(ItemsFamily):
    """Next-item models over time-ordered histories."""

    name = "sequence"
    kind = "sequence"
    description = "a user's items in time order -> next-item scores; sessions fold in"
    score_meaning = ("the model's next-item score given the user's latest items (Markov "
                     "chain: the probability of the transition from the latest item; "
                     "trained models: the logit of their softmax over every item)")
    default_batch_size = 128
    losses = {"implicit": ("softmax", "sampled_softmax", "bce", "gbce")}

    def training_plan(self, spec, config, data) -> TrainingPlan:
        if spec.solver is not None or spec.objective is None:
            return super().training_plan(spec, config, data)
        from tfdeeprec.models._sequence import sequence_trainer

        build = self.builder(spec, config, data)
        box = {}
        loss = config.training.loss or "softmax"
        sampled = None if loss == "softmax" else self.sampled_loss(loss, config, data)

        def build_trainer():
            box["model"] = build()
            return sequence_trainer(box["model"], targets_only=True, sampled_loss=sampled)

        arguments = spec.defaults() | dict(config.model_kwargs)
        windows = make_next_item_dataset(
            data.train, max_length=int(arguments["max_length"]), objective=spec.objective,
            mask_token=data.train.num_items, mask_ratio=float(arguments.get("mask_ratio", 0)),
            stride=config.window_stride, batch_size=config.batch_size, seed=config.seed,
            targets_only=True, bucket_width=config.bucket_width)
        if sampled is not None:  # the trainer adds its own loss: the targets are an input
            windows = windows.map(lambda features, targets:
                                  {**features, schema.TARGET_ITEM_ID: targets})
        evaluator = self.validation_evaluator(data, config)
        cache = {}

        def validation_score(fitted):  # built once: it reads the live weights
            if "score" not in cache:
                cache["score"] = self.score_fn(box["model"], data.train, live=True)
            return cache["score"]

        return TrainingPlan(build_trainer, windows, loss,
                            ranking_evaluator=evaluator,
                            monitor=f"val_ndcg@{config.ks[0]}",
                            scorer=lambda fitted: box["model"],
                            validation_score=validation_score)

    def check_config(self, spec, config) -> None:
        super().check_config(spec, config)
        if config.training.loss is not None and spec.objective is None:
            raise ValueError(f"{spec.name!r} is solved in closed form: it takes no loss. "
                             f"Received: loss={config.training.loss!r}")

    @staticmethod
    def sampled_loss(loss: str, config, data) -> dict:
        """The :class:`~tfdeeprec.losses.sampled_next_item.SampledNextItemLoss` arguments
        of a sampled ``loss``: ``config.num_negatives`` items a batch, uniform or, with
        ``negative_distribution="popularity"``, by training count to the power 0.75;
        uniform draws only items seen in training."""
        counts = np.bincount(data.train.known().item, minlength=data.train.num_items)
        counts[0] = 0
        popular = config.negative_distribution == "popularity"
        return {"kind": loss, "num_negatives": config.num_negatives,
                "item_counts": counts if popular else (counts > 0).astype(float),
                "distortion": 0.75 if popular else 0.0, "seed": config.seed}

    def evaluate(self, model, data, part, config):
        """Full ranking from each user's history: the training items for validation,
        the training and validation items for test; those items are not ranked unless
        ``config.exclude_seen`` is ``False``.

        The test part also reports the sampled protocol of the SASRec and BERT4Rec
        papers, labelled ``sampled100_<metric>``: the test item against 100 seeded
        items the user never had (when every user has 100 such items). Sampled figures
        are optimistic and can order models differently from full ranking (Krichene &
        Rendle, KDD 2020); they are for comparison with papers only.
        """
        history = data.train if part == "valid" else concatenate(data.train, data.valid)
        seen = (data.valid,) if part == "test" and config.exclude_seen else ()
        evaluator = FullRankingEvaluator(data.train, getattr(data, part), exclude=seen,
                                         ks=config.ks, metrics=RANKING_METRICS,
                                         exclude_train=config.exclude_seen)
        score = self.score_fn(model, history)
        metrics = dict(evaluator.evaluate(score).metrics)
        if part == "test" and _has_unseen_items(data, SAMPLED_NEGATIVES):
            sampled = SampledEvaluator(data.train, data.test, exclude=(data.valid,),
                                       num_negatives=SAMPLED_NEGATIVES, seed=config.seed,
                                       ks=[k for k in config.ks if k <= SAMPLED_NEGATIVES],
                                       metrics=("hit", "ndcg", "mrr"))
            metrics.update({f"sampled{SAMPLED_NEGATIVES}_{name}": value for name, value in
                            sampled.evaluate(full_scores_to_pair_scorer(score)).metrics.items()})
        return metrics

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


def _has_unseen_items(data, count: int) -> bool:
    """Whether every user has ``count`` items they never had in any part."""
    parts = concatenate(data.train, data.valid, data.test).known()
    if not len(parts):
        return False
    pairs = np.unique(parts.user.astype(np.int64) * parts.num_items + parts.item)
    return int(np.bincount(pairs // parts.num_items).max()) + count <= parts.num_items - 1
