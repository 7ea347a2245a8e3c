"""One training run from a config: data -> split -> the family's plan -> fit -> evaluation.

The model's family (from its registry spec) supplies the pipeline, the loss, the model
``fit`` trains and the score function; nothing here depends on which model it is.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from tfdeeprec._keras import keras, tf
from tfdeeprec._memory import release_free_memory
from tfdeeprec.config import ExperimentConfig, TrainingConfig
from tfdeeprec.data import InteractionFrame
from tfdeeprec.data.encoded import EncodedInteractions
from tfdeeprec.data.prepared import PreparedData, RatingFallbacks
from tfdeeprec.evaluation import EvaluationResult, FullRankingEvaluator, evaluate_ratings
from tfdeeprec.families import get_family
from tfdeeprec.models.registry import get_spec
from tfdeeprec.runs import (load_run, load_train, prepare_config_data, run_summary,  # noqa: F401
                            save_run, save_train)
from tfdeeprec.training.callbacks import RankingValidation
from tfdeeprec.training.recipe import FitResult, fit

__all__ = ["ExperimentConfig", "ExperimentResult", "PreparedData", "TrainingConfig",
           "evaluate_model", "evaluate_part", "load_run", "prepare_data", "rating_metrics", "run_experiment",
           "save_run", "score_fn_for", "solve"]

RANKING_METRICS = ("hit", "precision", "recall", "ndcg", "mrr")


@dataclass
class ExperimentResult:
    config: ExperimentConfig
    model: keras.Model
    data: PreparedData
    metrics: dict
    history: dict
    epoch_seconds: list
    seconds: float
    parameters: int
    initial_epoch: int = 0
    validation_seconds: list = dataclasses.field(default_factory=list)


def prepare_data(config: ExperimentConfig, frame: InteractionFrame | None = None) -> PreparedData:
    """Loads, splits and encodes the data the way ``config`` says
    (:func:`tfdeeprec.runs.prepare_config_data`)."""
    return prepare_config_data(config, frame)


def run_experiment(config: ExperimentConfig, frame: InteractionFrame | None = None,
                   strategy: tf.distribute.Strategy | None = None) -> ExperimentResult:
    """Trains ``config.model`` and measures it on the validation and test splits.

    The model's family chooses the pipeline (ratings; positives with sampled negatives;
    BPR triples; positives alone for embedding models), the loss and the score
    function. Implicit runs stop early on validation NDCG@K (the first of ``ks``),
    rating runs on validation RMSE, unless ``training.monitor`` says otherwise.

    Example:

    >>> cfg = ExperimentConfig(model="mf", task="rating", batch_size=512,
    ...                        model_kwargs={"embedding_dim": 8},
    ...                        training=TrainingConfig(epochs=1, verbose=0))
    >>> {"rmse", "mae", "rmse_known", "ndcg@10"} <= set(run_experiment(cfg).metrics["test"])
    True
    """
    spec = get_spec(config.model)
    family = get_family(spec.family)
    data = prepare_data(config, frame)
    plan = family.training_plan(spec, config, data)
    train_cfg = dataclasses.replace(config.training, loss=plan.loss)
    if train_cfg.monitor == "val_loss":
        train_cfg = dataclasses.replace(train_cfg, monitor=plan.monitor)
    validation_seconds = []
    if plan.solve is not None:
        fitted = solve(plan, config, strategy)
    else:
        callbacks = []
        if plan.ranking_evaluator is not None:
            callbacks.append(RankingValidation(
                plan.ranking_evaluator, plan.validation_score or (
                    lambda fitted: family.score_fn(plan.scorer(fitted), data.train, live=True))))
            validation_seconds = callbacks[-1].seconds
        fitted = fit(plan.build, plan.train_data, task=config.task, config=train_cfg,
                     validation_data=plan.validation_data, callbacks=callbacks,
                     strategy=strategy)
    model = plan.scorer(fitted.model)
    if config.features is None and getattr(data, "specs", None) is not None:
        config = dataclasses.replace(config, features=[s.to_dict() for s in data.specs])
    metrics = {}
    for part in ("valid", "test"):
        release_free_memory()  # what the fit (or the last part) left: not in the peak
        metrics[part] = evaluate_part(model, data, part, config)
    release_free_memory()
    return ExperimentResult(config, model, data, metrics, fitted.history,
                            fitted.epoch_seconds, fitted.seconds, model.count_params(),
                            fitted.initial_epoch, list(validation_seconds))


def solve(plan, config: ExperimentConfig, strategy=None) -> FitResult:
    """A closed-form model: built (in ``strategy``'s scope) and solved, no gradient loop."""
    keras.utils.set_random_seed(config.training.seed)
    start = time.perf_counter()
    with (strategy or tf.distribute.get_strategy()).scope():
        model = plan.build()
    plan.solve(model)
    seconds = time.perf_counter() - start
    return FitResult(model=model, history={}, epoch_seconds=[], seconds=seconds)


def score_fn_for(model, config: ExperimentConfig, train: EncodedInteractions, *,
                 live: bool = False):
    """The full-ranking ``users [b] -> scores [b, num_items]`` of ``config.model``'s family."""
    family = get_family(get_spec(config.model).family)
    return family.score_fn(model, train, live=live)


def evaluate_part(model, data, part: str, config: ExperimentConfig) -> dict:
    """The metrics of ``model`` on ``data``'s ``"valid"`` or ``"test"`` part: the family's
    own (CTR), else :func:`evaluate_model` (the test part excludes validation items)."""
    family = get_family(get_spec(config.model).family)
    metrics = family.evaluate(model, data, part, config)
    if metrics is not None:
        return metrics
    exclude = (data.valid,) if part == "test" and config.exclude_seen else ()
    return evaluate_model(model, data, getattr(data, part), config, exclude=exclude).metrics


def evaluate_model(model: keras.Model, data: PreparedData, part: EncodedInteractions,
                   config: ExperimentConfig, exclude=()) -> EvaluationResult:
    """Full-ranking metrics on ``part`` (plus :func:`rating_metrics` for the rating task)."""
    family = get_family(get_spec(config.model).family)
    ranking = FullRankingEvaluator(data.train, part, exclude=exclude, ks=config.ks,
                                   metrics=RANKING_METRICS, exclude_train=config.exclude_seen)
    result = ranking.evaluate(family.score_fn(model, data.train))
    metrics = dict(result.metrics)
    if config.task == "rating":
        metrics.update(rating_metrics(family, model, data.train, part))
    return EvaluationResult(result.protocol, metrics, result.num_users)


def rating_metrics(family, model, train: EncodedInteractions,
                   part: EncodedInteractions) -> dict:
    """RMSE and MAE over every row of ``part``, as an export would answer them.

    Rows whose user or item is unknown to training (cold start) get the documented
    fallback (:class:`~tfdeeprec.data.RatingFallbacks`: the item's, the user's or the
    global mean training rating), as the export's ``score`` does. Also reported: the
    same over known rows only (``rmse_known``, ``mae_known``) and over cold rows only
    (``rmse_cold``, ``mae_cold``, when there are any), and the row counts.
    """
    if part.rating is None:
        raise ValueError("rating metrics need ratings in the evaluated part")
    predicted = RatingFallbacks.from_train(train).predict(part.user, part.item).astype(np.float64)
    known = (part.user > 0) & (part.item > 0)
    if known.any():
        predicted[known] = family.predict_ratings(model, part.user[known], part.item[known])
    metrics = evaluate_ratings(part.rating, predicted)
    metrics.update({f"{k}_known": v for k, v in evaluate_ratings(
        part.rating[known], predicted[known]).items()} if known.any() else {})
    if (~known).any():
        metrics.update({f"{k}_cold": v for k, v in evaluate_ratings(
            part.rating[~known], predicted[~known]).items()})
    metrics.update(rows=int(len(part)), cold_rows=int((~known).sum()))
    return metrics
