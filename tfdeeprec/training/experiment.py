"""One training run from a config: data -> split -> pipelines -> fit -> evaluation -> files."""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import tfdeeprec
from tfdeeprec._keras import keras, tf
from tfdeeprec.data import (EncodedInteractions, InteractionFrame, Split, Vocabulary,
                            build_vocabularies, encode, load_interactions,
                            make_implicit_dataset, make_pairwise_dataset,
                            make_positive_dataset, make_rating_dataset, split_by_user_ratio,
                            split_leave_one_out, split_random, split_temporal)
from tfdeeprec.data.side_features import build_feature_tables
from tfdeeprec.evaluation import (EvaluationResult, FullRankingEvaluator, embedding_score_fn,
                                  evaluate_ratings, model_score_fn)
from tfdeeprec.models.pairwise import build_pairwise_trainer
from tfdeeprec.models.registry import MODELS, RETRIEVAL_MODELS, build_model
from tfdeeprec.models.two_tower import (TwoTower, sampling_probabilities, tower_embeddings,
                                        tower_score_fn)
from tfdeeprec.training.callbacks import RankingValidation
from tfdeeprec.training.recipe import TrainingConfig, fit

SPLITS = {"user_ratio": split_by_user_ratio, "random": split_random,
          "leave_one_out": split_leave_one_out, "temporal": split_temporal}


@dataclass
class ExperimentConfig:
    """What to train on what, and how to measure it.

    Attributes:
        model (str): a name from ``tfdeeprec.models.MODELS``.
        data (str): a source for ``load_interactions`` (``synthetic``, a TFDS name, a path).
        task (str): ``rating`` or ``implicit``. Retrieval models
            (``tfdeeprec.models.RETRIEVAL_MODELS``, e.g. ``two_tower``) are implicit only;
            they train on the positives alone with their own in-batch softmax, so
            ``num_negatives``, ``negative_distribution`` and ``training.loss`` do not
            apply (``training.loss`` must stay ``None``).
        split (str): ``user_ratio`` | ``random`` | ``leave_one_out`` | ``temporal``;
            default ``user_ratio`` for implicit and ``random`` for rating.
        ratios (tuple): split ratios; with two ratios, ``validation_fraction`` of the
            training part is held out for early stopping.
        validation_fraction (float): Default 0.1.
        batch_size (int): positives per batch (implicit) or examples (rating).
        num_negatives (int): sampled negatives per positive (implicit, BCE).
        negative_distribution (str): ``uniform`` or ``popularity``.
        ks (tuple): ranking cut-offs. Default ``(10,)``.
        model_kwargs (dict): passed to the builder (e.g. ``embedding_dim``).
        training (TrainingConfig): optimizer, epochs, callbacks.
        seed (int): split and sampling seed.
    """

    model: str = "neumf"
    data: str = "synthetic"
    task: str = "implicit"
    split: str | None = None
    ratios: tuple = (0.8, 0.1, 0.1)
    validation_fraction: float = 0.1
    batch_size: int = 1024
    num_negatives: int = 4
    negative_distribution: str = "uniform"
    ks: tuple = (10,)
    model_kwargs: dict = field(default_factory=dict)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    seed: int = 0

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"`model` must be one of {sorted(MODELS)}. "
                             f"Received: model={self.model!r}")
        if self.task not in ("rating", "implicit"):
            raise ValueError(f"`task` must be 'rating' or 'implicit'. Received: task={self.task!r}")
        if self.split is None:
            self.split = "random" if self.task == "rating" else "user_ratio"
        if self.split not in SPLITS:
            raise ValueError(f"`split` must be one of {sorted(SPLITS)}. "
                             f"Received: split={self.split!r}")
        if isinstance(self.training, dict):
            self.training = TrainingConfig(**self.training)
        if self.model in RETRIEVAL_MODELS and self.task != "implicit":
            raise ValueError(f"`task` must be 'implicit' for the retrieval model "
                             f"{self.model!r}, which trains on positives only. "
                             f"Received: model={self.model!r}, task={self.task!r}")
        if self.model in RETRIEVAL_MODELS and self.training.loss is not None:
            raise ValueError(f"the retrieval model {self.model!r} trains with its own "
                             "in-batch softmax loss, so `loss` must be None. "
                             f"Received: loss={self.training.loss!r}")
        self.ratios = tuple(self.ratios)
        self.ks = tuple(self.ks)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ExperimentConfig":
        return cls(**data)


@dataclass
class PreparedData:
    """A split, its vocabularies (from train only) and the encoded parts."""

    frame: InteractionFrame
    split: Split
    user_vocab: Vocabulary
    item_vocab: Vocabulary
    train: EncodedInteractions
    valid: EncodedInteractions
    test: EncodedInteractions


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


def prepare_data(config: ExperimentConfig, frame: InteractionFrame | None = None) -> PreparedData:
    """Loads, splits and encodes the data the way ``config`` says."""
    frame = frame if frame is not None else load_interactions(config.data)
    if config.task == "rating" and not frame.has_ratings:
        raise ValueError(f"task 'rating' needs ratings, but {frame.source} has none")
    splitter = SPLITS[config.split]
    parts = splitter(frame) if config.split == "leave_one_out" else \
        splitter(frame, config.ratios) if config.split == "temporal" else \
        splitter(frame, config.ratios, seed=config.seed)
    if len(parts.valid.interactions) == 0:
        inner = split_random(parts.train, (1 - config.validation_fraction,
                                           config.validation_fraction), seed=config.seed + 1)
        parts = Split(inner.train, inner.test, parts.test)
    user_vocab, item_vocab = build_vocabularies(parts.train)
    train, valid, test = (encode(p, user_vocab, item_vocab) for p in parts)
    return PreparedData(frame, parts, user_vocab, item_vocab, train, valid, test)


def run_experiment(config: ExperimentConfig, frame: InteractionFrame | None = None,
                   strategy: tf.distribute.Strategy | None = None) -> ExperimentResult:
    """Trains ``config.model`` and measures it on the validation and test splits.

    Retrieval models (``two_tower``) train on the positives alone
    (:func:`~tfdeeprec.data.make_positive_dataset`) with the training item frequencies as
    their ``item_probabilities`` (unless ``model_kwargs`` gives them); the others train on
    ratings, positives with sampled negatives (BCE) or BPR triples. Implicit runs stop
    early on validation NDCG@K; every model is scored by :func:`make_score_fn`.

    Example:

    >>> cfg = ExperimentConfig(model="mf", task="rating", batch_size=512,
    ...                        model_kwargs={"embedding_dim": 8},
    ...                        training=TrainingConfig(epochs=1, verbose=0))
    >>> {"rmse", "mae", "ndcg@10"} <= set(run_experiment(cfg).metrics["test"])
    True
    """
    data = prepare_data(config, frame)
    model_kwargs = dict(config.model_kwargs)
    model_kwargs.setdefault("task", config.task)
    retrieval = config.model in RETRIEVAL_MODELS
    if retrieval:  # the logQ correction needs the in-batch candidates' frequencies
        model_kwargs.setdefault("item_probabilities", sampling_probabilities(
            data.train.known().item, data.train.num_items))
    if config.task == "rating":
        model_kwargs.setdefault("global_mean", float(data.train.rating.mean()))
        model_kwargs.setdefault("rating_range", (float(data.frame.interactions.rating.min()),
                                                 float(data.frame.interactions.rating.max())))
    user_tables = build_feature_tables(data.frame.users, data.user_vocab)
    item_tables = build_feature_tables(data.frame.items, data.item_vocab)

    def build():
        return build_model(config.model, data.train.num_users, data.train.num_items,
                           user_features=user_tables, item_features=item_tables,
                           **model_kwargs)

    train_cfg = config.training
    callbacks = []
    validation = None
    scorer_box = {}
    loss = train_cfg.loss or ("mse" if config.task == "rating" else "bce")
    if config.task == "rating":
        train_ds = make_rating_dataset(data.train.known(), batch_size=config.batch_size,
                                       seed=config.seed)
        validation = make_rating_dataset(data.valid.known(), batch_size=8192, shuffle=False)
        if train_cfg.monitor == "val_loss":
            train_cfg = dataclasses.replace(train_cfg, monitor="val_rmse")
        build_fn = build
    else:
        val_eval = FullRankingEvaluator(data.train, data.valid, ks=config.ks,
                                        metrics=("ndcg", "recall"))
        if retrieval:  # positives only: the rest of the batch are the negatives
            train_ds = make_positive_dataset(data.train, batch_size=config.batch_size,
                                             seed=config.seed)
            build_fn = build
        elif loss == "bpr":
            train_ds = make_pairwise_dataset(data.train.known(), batch_size=config.batch_size,
                                             distribution=config.negative_distribution,
                                             seed=config.seed).map(
                lambda features: (features, tf.ones_like(features["user_id"], tf.float32)))

            def build_fn():
                scorer_box["scorer"] = build()
                return build_pairwise_trainer(scorer_box["scorer"])
        else:
            train_ds = make_implicit_dataset(data.train.known(),
                                             num_negatives=config.num_negatives,
                                             distribution=config.negative_distribution,
                                             batch_size=config.batch_size, seed=config.seed)
            build_fn = build
        callbacks.append(_LazyScorerValidation(val_eval, data.train.num_users,
                                               data.train.num_items, scorer_box))
        if train_cfg.monitor == "val_loss":
            train_cfg = dataclasses.replace(train_cfg, monitor=f"val_ndcg@{config.ks[0]}")

    fitted = fit(build_fn, train_ds, task=config.task, config=train_cfg,
                 validation_data=validation, callbacks=callbacks, strategy=strategy)
    model = scorer_box.get("scorer", fitted.model)
    metrics = {"valid": evaluate_model(model, data, data.valid, config).to_dict()["metrics"],
               "test": evaluate_model(model, data, data.test, config,
                                      exclude=(data.valid,)).to_dict()["metrics"]}
    return ExperimentResult(config, model, data, metrics, fitted.history,
                            fitted.epoch_seconds, fitted.seconds, model.count_params())


def evaluate_model(model: keras.Model, data: PreparedData, part: EncodedInteractions,
                   config: ExperimentConfig, exclude=()) -> EvaluationResult:
    """Full-ranking metrics on ``part`` (plus RMSE/MAE for the rating task)."""
    ranking = FullRankingEvaluator(data.train, part, exclude=exclude, ks=config.ks,
                                   metrics=("hit", "precision", "recall", "ndcg", "mrr"))
    result = ranking.evaluate(make_score_fn(model, data.train.num_users, data.train.num_items))
    metrics = dict(result.metrics)
    if config.task == "rating":
        known = part.known()
        pred = model.predict({"user_id": known.user, "item_id": known.item},
                             batch_size=8192, verbose=0)
        metrics.update(evaluate_ratings(known.rating, pred))
    return EvaluationResult(result.protocol, metrics, result.num_users)


def make_score_fn(model: keras.Model, num_users: int, num_items: int, *, live: bool = False):
    """The full-ranking score function of any registered model: ``users [b] -> [b, n]``.

    A :class:`~tfdeeprec.models.two_tower.TwoTower` scores by the dot product of its
    towers' outputs: from embedding tables of every user and item computed now, or,
    with ``live``, by calling the towers at every call so the scores follow training
    (for ``RankingValidation``, which builds its score function once). Any other model
    is called on every (user, item) pair (``model_score_fn``, always live).

    Example:

    >>> from tfdeeprec.models.registry import build_model
    >>> model = build_model("two_tower", 4, 6, embedding_dim=2)
    >>> make_score_fn(model, 4, 6)(np.array([1, 3])).shape
    (2, 6)
    """
    if isinstance(model, TwoTower):
        if live:
            return tower_score_fn(model.query_tower, model.candidate_tower, num_items)
        return embedding_score_fn(tower_embeddings(model.query_tower, num_users),
                                  tower_embeddings(model.candidate_tower, num_items))
    return model_score_fn(model, num_items)


def save_run(result: ExperimentResult, out_dir) -> Path:
    """Writes the model (reloadable with ``load_model``), vocabularies, the encoded training
    split (``train.npz``), config and metrics.

    The folder appears whole or not at all: it is written beside ``out_dir`` and renamed.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        result.model.save(tmp / "model")
        result.data.user_vocab.save(tmp / "user_vocab.json")
        result.data.item_vocab.save(tmp / "item_vocab.json")
        save_train(result.data.train, tmp / TRAIN_FILE)
        (tmp / "config.json").write_text(json.dumps(result.config.to_dict(), indent=2))
        (tmp / "metrics.json").write_text(json.dumps(run_summary(result), indent=2))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


TRAIN_FILE = "train.npz"


def save_train(train: EncodedInteractions, path) -> None:
    """The encoded training split: what an export needs for fallbacks and seen items."""
    arrays = {"user": train.user, "item": train.item,
              "sizes": np.array([train.num_users, train.num_items], np.int64)}
    if train.rating is not None:
        arrays["rating"] = train.rating
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def load_train(model_dir) -> EncodedInteractions | None:
    """The training split saved by :func:`save_run`, or ``None`` for older run folders."""
    path = Path(model_dir) / TRAIN_FILE
    if not path.exists():
        return None
    with np.load(path) as arrays:
        num_users, num_items = (int(v) for v in arrays["sizes"])
        return EncodedInteractions(arrays["user"], arrays["item"], num_users, num_items,
                                   arrays["rating"] if "rating" in arrays else None)


def run_summary(result: ExperimentResult) -> dict:
    """The JSON-ready record of a run: metrics, per-epoch history, timings, sizes."""
    history = {k: [float(v) for v in vals] for k, vals in result.history.items()}
    return {
        "model": result.config.model, "task": result.config.task,
        "data": result.config.data, "split": result.config.split,
        "metrics": result.metrics, "history": history,
        "epochs": len(result.epoch_seconds), "epoch_seconds": result.epoch_seconds,
        "seconds": result.seconds, "parameters": result.parameters,
        "num_users": len(result.data.user_vocab) - 1,
        "num_items": len(result.data.item_vocab) - 1,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "tfdeeprec_version": tfdeeprec.__version__, "tensorflow_version": tf.__version__,
    }


def load_run(model_dir):
    """Reads a ``save_run`` folder: ``(model, user_vocab, item_vocab, config)``."""
    model_dir = Path(model_dir)
    if not (model_dir / "model").is_dir():
        raise FileNotFoundError(f"no trained model in {model_dir} (expected {model_dir}/model, "
                                "written by `tfdeeprec train --out`)")
    model = keras.models.load_model(model_dir / "model", compile=False)
    config = ExperimentConfig.from_dict(json.loads((model_dir / "config.json").read_text()))
    return (model, Vocabulary.load(model_dir / "user_vocab.json"),
            Vocabulary.load(model_dir / "item_vocab.json"), config)


class _LazyScorerValidation(RankingValidation):
    """RankingValidation on the scorer, which a pairwise trainer wraps (else the model)."""

    def __init__(self, evaluator, num_users, num_items, scorer_box):
        super().__init__(evaluator, lambda m: make_score_fn(m, num_users, num_items, live=True))
        self._box = scorer_box

    def on_epoch_end(self, epoch, logs=None):
        self.scorer = self._box.get("scorer")
        super().on_epoch_end(epoch, logs)


