"""The one fit recipe every model uses: strategy scope, compile, callbacks, fit."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tfdeeprec._keras import keras, tf
from tfdeeprec.config import LOSSES, TrainingConfig  # noqa: F401  (TrainingConfig is public here too)
from tfdeeprec.losses.bpr_loss import BPRLoss
from tfdeeprec.training.callbacks import EpochTimer
from tfdeeprec.training.optimizers import make_optimizer


@dataclass
class FitResult:
    model: keras.Model
    history: dict
    epoch_seconds: list[float]
    seconds: float
    extra: dict = field(default_factory=dict)
    initial_epoch: int = 0  # > 0 when BackupAndRestore resumed an interrupted run


def default_loss(task: str) -> str:
    return {"rating": "mse", "implicit": "bce", "ctr": "bce"}[task]


def compile_model(model: keras.Model, task: str, config: TrainingConfig) -> keras.Model:
    """Compiles with the config's optimizer and the task's loss and metrics (none for a
    model whose ``adds_own_loss`` is true: it adds its loss with ``add_loss``).

    ``config.steps_per_execution`` becomes 1 when ``model`` belongs to a strategy with
    more than one replica (see :class:`TrainingConfig`). Calling ``model.fit`` yourself
    with more than one step per execution needs data of known length (or
    ``steps_per_epoch``); :func:`fit` checks that for you.
    """
    loss = config.loss or default_loss(task)
    if getattr(model, "adds_own_loss", False):  # e.g. a sequence trainer's sampled loss
        loss_obj, metrics = None, []
    elif loss == "mse":
        loss_obj = keras.losses.MeanSquaredError()
        metrics = [keras.metrics.RootMeanSquaredError(name="rmse"),
                   keras.metrics.MeanAbsoluteError(name="mae")]
    elif loss == "bce":
        loss_obj = keras.losses.BinaryCrossentropy(from_logits=True)
        metrics = []
    elif loss == "softmax":
        loss_obj = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metrics = []
    else:
        loss_obj = BPRLoss()
        metrics = []
    steps_per_execution = config.steps_per_execution
    if model.distribute_strategy.num_replicas_in_sync > 1:
        steps_per_execution = 1
    model.compile(optimizer=make_optimizer(config.optimizer, config.learning_rate),
                  loss=loss_obj, metrics=metrics, steps_per_execution=steps_per_execution,
                  jit_compile=config.jit_compile)
    return model


def standard_callbacks(config: TrainingConfig, has_validation: bool) -> list:
    """EarlyStopping (restore best), ReduceLROnPlateau, TerminateOnNaN, optional
    TensorBoard and BackupAndRestore."""
    callbacks = [keras.callbacks.TerminateOnNaN()]
    if has_validation:
        mode = "min" if config.monitor.endswith("loss") or "mse" in config.monitor \
            or "mae" in config.monitor else "max"
        if config.early_stopping_patience:
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor=config.monitor, mode=mode, patience=config.early_stopping_patience,
                restore_best_weights=True))
        if config.reduce_lr_patience:
            callbacks.append(keras.callbacks.ReduceLROnPlateau(
                monitor=config.monitor, mode=mode, patience=config.reduce_lr_patience,
                factor=config.reduce_lr_factor))
    if config.tensorboard_dir:
        callbacks.append(keras.callbacks.TensorBoard(config.tensorboard_dir))
    if config.backup_dir:
        callbacks.append(keras.callbacks.BackupAndRestore(config.backup_dir))
    return callbacks


def fit(build_model: Callable[[], keras.Model], train_data, *, task: str,
        config: TrainingConfig | None = None, validation_data=None, callbacks=(),
        strategy: tf.distribute.Strategy | None = None) -> FitResult:
    """Builds the model inside ``strategy``'s scope, compiles it and fits it.

    A ``train_data`` dataset of known length is repeated and fitted with
    ``steps_per_epoch`` set to that length, so its iterator (and the functions of its
    pipeline) is built once per run instead of once per epoch; every epoch still sees
    each batch once, and a pipeline that reshuffles or resamples per pass (as
    tfdeeprec's do) still does so every epoch.

    Args:
        build_model: returns the (uncompiled) model to train; called inside the scope.
        train_data: a ``tf.data.Dataset`` of ``(features, labels)``.
        task: ``"rating"`` or ``"implicit"`` (chooses the default loss).
        validation_data: optional dataset for ``val_loss``.
        callbacks: extra callbacks, run before the standard ones (put
            ``RankingValidation`` here so early stopping can monitor its metrics).
        strategy: defaults to the active ``tf.distribute`` strategy.

    Example:

    >>> import numpy as np
    >>> from tfdeeprec.models.mf import build_mf
    >>> ds = tf.data.Dataset.from_tensor_slices(
    ...     ({"user_id": np.array([1, 2]), "item_id": np.array([1, 1])},
    ...      np.array([4.0, 2.0], "float32"))).batch(2)
    >>> result = fit(lambda: build_mf(3, 2, embedding_dim=2), ds, task="rating",
    ...              config=TrainingConfig(epochs=2, verbose=0))
    >>> len(result.history["loss"])
    2
    """
    config = config or TrainingConfig()
    if not (_length_known(train_data) and _length_known(validation_data)):
        config = dataclasses.replace(config, steps_per_execution=1)
    keras.utils.set_random_seed(config.seed)
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = compile_model(build_model(), task, config)
    timer = EpochTimer()
    all_callbacks = [*callbacks, timer,
                     *standard_callbacks(config, has_validation=validation_data is not None
                                         or any(hasattr(c, "evaluator") for c in callbacks))]
    steps_per_epoch = None
    if isinstance(train_data, tf.data.Dataset) and int(train_data.cardinality()) > 0:
        # One iterator for the whole run: Keras would otherwise build a new one at the
        # start of every epoch, instantiating the pipeline's functions again each time.
        steps_per_epoch = int(train_data.cardinality())
        train_data = train_data.repeat()
    start = time.perf_counter()
    history = model.fit(train_data, validation_data=validation_data, epochs=config.epochs,
                        steps_per_epoch=steps_per_epoch, callbacks=all_callbacks,
                        verbose=config.verbose)
    return FitResult(model=model, history=history.history, epoch_seconds=timer.seconds,
                     seconds=time.perf_counter() - start,
                     initial_epoch=timer.epochs[0] if timer.epochs else 0)


def _length_known(data) -> bool:
    """False for a ``tf.data.Dataset`` whose number of batches is unknown or infinite."""
    if isinstance(data, tf.data.Dataset):
        return int(data.cardinality()) >= 0
    return True
