"""The Family interface: everything that differs between kinds of model, behind one class.

A family owns, for its kind of model: which tasks and losses make sense, the arguments
its builders take from the data, the tf.data pipeline and the model ``fit`` trains,
the full-ranking score function, and the export (its serving modules, signatures and
metadata). The orchestration (``run_experiment``, ``export_run``, the CLI, R) asks a
model's :class:`~tfdeeprec.models.registry.ModelSpec` for its family and calls these
methods; it never tests a model's name or class.

The five kinds (``tfdeeprec.families.FAMILY_KINDS``), and what each one's models map:

========== ================================== ============================================
family     the model maps                     every export serves, beside ``recommend``
========== ================================== ============================================
pair       (user, item [, features]) -> score ``score(user_id, item_id)``
embedding  user -> vector; item -> vector     ``score``; a ScaNN twin; the query tower
row        a user's item set -> all scores    ``recommend_from_items(item_ids, k, exclude)``,
                                              ``score``
sequence   an item history -> next scores     ``recommend_from_items`` (a session)
context    named feature row -> probability   ``score_features``, ``score``
========== ================================== ============================================

Every export has ``recommend(user_id, k, exclude) -> {item_ids, scores}``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tfdeeprec._keras import keras, tf
from tfdeeprec.data.encoded import EncodedInteractions
from tfdeeprec.data.graph import bipartite_adjacency
from tfdeeprec.data.load import load_interactions
from tfdeeprec.data.prepared import PreparedData, prepare_data
from tfdeeprec.data.side_features import build_feature_tables
from tfdeeprec.evaluation import FullRankingEvaluator
from tfdeeprec.models.autorec import rating_matrix
from tfdeeprec.models.two_tower import sampling_probabilities


@dataclass
class TrainingPlan:
    """What the fit recipe needs to train one model of a family.

    Attributes:
        build: returns the Keras model ``fit`` trains (called inside the strategy scope).
        train_data: the training ``tf.data.Dataset``.
        loss (str | None): the loss name for ``compile`` (``None``: the model's own).
        validation_data: a dataset for Keras's own validation (``val_loss``, ...).
        ranking_evaluator: a full-ranking evaluator for per-epoch validation (early
            stopping on ``val_ndcg@K``), or ``None``.
        monitor (str): the metric early stopping watches unless the user chose one.
        scorer: ``fitted model -> the model to evaluate and export`` (a pairwise trainer
            wraps the scorer it trains). Default: the fitted model itself.
        solve: for closed-form models (ItemKNN, EASE; SVD, ALS next): ``model -> None``
            sets the built model's weights from the training data, in place of ``fit``
            (``train_data`` is then ``None``).
        validation_score: ``fitted model -> what ranking_evaluator.evaluate takes``;
            default: the family's full-ranking ``score_fn`` (a CTR evaluator takes the
            model itself).
    """

    build: Callable[[], keras.Model]
    train_data: tf.data.Dataset | None
    loss: str | None
    validation_data: tf.data.Dataset | None = None
    ranking_evaluator: object | None = None
    monitor: str = "val_loss"
    scorer: Callable[[keras.Model], keras.Model] = field(default=lambda model: model)
    solve: Callable[[keras.Model], None] | None = None
    validation_score: Callable | None = None


class Family(abc.ABC):
    """One kind of model. Subclasses set :attr:`name`, :attr:`tasks` and :attr:`losses`."""

    name: str = ""
    description: str = ""
    tasks: tuple = ()
    losses: dict = {}  # task -> the losses it allows, the default first (empty: its own)
    # The signatures of its (main) export; every family has recommend and recommend_default.
    serves: tuple = ("recommend", "recommend_default")
    default_batch_size: int = 1024  # ExperimentConfig.batch_size when the user sets none
    ranks_seen_items: bool = True  # whether ExperimentConfig.exclude_seen=False is allowed

    def check_config(self, spec, config) -> None:
        """Refuses, by name, a task or loss this family cannot train."""
        if config.task not in self.tasks:
            raise ValueError(f"`task` must be one of {self.tasks} for {self.name}-family "
                             f"models such as {spec.name!r}. Received: task={config.task!r}")
        if not config.exclude_seen and not self.ranks_seen_items:
            raise ValueError(f"`exclude_seen=False` is not available for {spec.name!r}: "
                             f"{self.name}-family rankings always leave out the user's "
                             "items")
        allowed = self.losses.get(config.task, ())
        loss = config.training.loss
        if loss is not None and loss not in allowed:
            detail = (f"one of {allowed}" if allowed else
                      "None: the model trains with its own loss")
            raise ValueError(f"`loss` must be {detail} for {spec.name!r} on task "
                             f"{config.task!r}. Received: loss={loss!r}")

    def loss(self, config) -> str | None:
        """The loss a run compiles with: the user's, else the task's default."""
        allowed = self.losses.get(config.task, ())
        return config.training.loss or (allowed[0] if allowed else None)

    def prepare(self, config, frame=None):
        """Loads (unless ``frame`` is given), splits and encodes the data as ``config``
        says: a :class:`~tfdeeprec.data.PreparedData` (the context family: labelled rows)."""
        frame = frame if frame is not None else load_interactions(config.data)
        if config.task == "rating" and not frame.has_ratings:
            raise ValueError(f"task 'rating' needs ratings, but {frame.source} has none")
        return prepare_data(frame, split=config.split, ratios=config.ratios, seed=config.seed,
                            validation_fraction=config.validation_fraction)

    @staticmethod
    def validation_evaluator(data: PreparedData, config):
        """The per-epoch full-ranking validation every ranking family stops early on:
        NDCG and recall at ``config.ks`` on the validation part."""
        return FullRankingEvaluator(data.train, data.valid, ks=config.ks,
                                    metrics=("ndcg", "recall"),
                                    exclude_train=config.exclude_seen)

    def evaluate(self, model, data, part: str, config) -> dict | None:
        """Metrics of ``model`` on ``data``'s ``part`` (``"valid"`` or ``"test"``), or
        ``None`` for the standard ones (full ranking, and rating metrics for ratings)."""
        return None

    def model_arguments(self, spec, config, data: PreparedData) -> dict:
        """The builder arguments that come from the data, for the builders that take them:
        ``task``, side-feature tables, training item frequencies, the normalised user-item
        graph (``adjacency``), the training ratings as a dense matrix (``ratings``; 1 per
        training pair for task ``implicit``), and for ratings the global mean and the
        rating range (training part only)."""
        accepted = spec.builder_arguments()
        args = {"task": config.task}
        if "user_features" in accepted:
            args["user_features"] = build_feature_tables(data.frame.users, data.user_vocab)
        if "item_features" in accepted:
            args["item_features"] = build_feature_tables(data.frame.items, data.item_vocab)
        if "adjacency" in accepted:
            args["adjacency"] = bipartite_adjacency(data.train)
        if "item_probabilities" in accepted and config.task == "implicit":
            args["item_probabilities"] = sampling_probabilities(data.train.known().item,
                                                                data.train.num_items)
        if "ratings" in accepted:  # AutoRec's table: the training pairs alone
            known = data.train.known()
            args["ratings"] = rating_matrix(
                known.user, known.item, known.rating if config.task == "rating" else None,
                data.train.num_users, data.train.num_items)
        if config.task == "rating":
            ratings = data.train.known().rating
            if "global_mean" in accepted:
                args["global_mean"] = float(ratings.mean())
            if "rating_range" in accepted:
                args["rating_range"] = (float(ratings.min()), float(ratings.max()))
        return args

    def builder(self, spec, config, data: PreparedData) -> Callable[[], keras.Model]:
        """``() -> model``: the spec's builder with its defaults, the data's arguments and
        the user's ``model_kwargs`` (which win)."""
        kwargs = self.model_arguments(spec, config, data) | dict(config.model_kwargs)
        return lambda: spec.build(data.train.num_users, data.train.num_items, **kwargs)

    @abc.abstractmethod
    def training_plan(self, spec, config, data: PreparedData) -> TrainingPlan:
        """The pipeline, loss and model to fit."""

    @abc.abstractmethod
    def score_fn(self, model, train: EncodedInteractions, *, live: bool = False):
        """``users int [b] -> scores float [b, num_items]`` for full ranking.

        ``train`` is the training split (its sizes; row models read each user's items
        from it). ``live``: the function follows the model's weights as they train (for
        per-epoch validation); otherwise it may precompute from the weights now.
        """

    def serving_score(self, scores: np.ndarray, config) -> np.ndarray:
        """Full-ranking scores on the scale the export's ``recommend`` returns."""
        return scores

    def predict_ratings(self, model, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predicted ratings of known (user, item) index pairs (task ``rating``)."""
        raise NotImplementedError(f"{self.name}-family models do not predict ratings")

    def rating_predictions(self, model, data, part: str) -> tuple[np.ndarray, np.ndarray]:
        """``(actual, predicted)`` ratings of ``data``'s ``part`` (its known pairs)."""
        rows = getattr(data, part).known()
        return rows.rating, np.asarray(self.predict_ratings(model, rows.user, rows.item))

    @abc.abstractmethod
    def export(self, model, user_vocab, item_vocab, *, config, base, name: str, train,
               version: int | None, metadata: dict, max_k: int, exclude_seen: bool,
               options: dict) -> dict[str, Path]:
        """Writes the serving SavedModel(s); returns ``{kind: version folder}`` with the
        main export (the one named ``name``) under ``"main"``."""
