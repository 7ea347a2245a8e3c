"""Callbacks of the fit recipe: ranking validation each epoch and per-epoch wall time."""

from __future__ import annotations

import time

from tfdeeprec._keras import keras


class RankingValidation(keras.callbacks.Callback):
    """Adds full-ranking validation metrics (e.g. ``val_ndcg@10``) to the epoch logs.

    Place it before EarlyStopping / ReduceLROnPlateau so they can monitor it.

    Args:
        evaluator: an object with ``evaluate(score_fn)`` returning a result with a
            ``metrics`` dict (``FullRankingEvaluator`` or ``SampledEvaluator``).
        make_score_fn: ``model -> score_fn`` (e.g. ``tfdeeprec.evaluation.model_score_fn``).
        scorer: the model to score with, when it differs from the model being fitted
            (a pairwise trainer fits a wrapper around it). Default: the fitted model.
        every: evaluate every N epochs. Default 1.
    """

    def __init__(self, evaluator, make_score_fn, scorer=None, every: int = 1, prefix="val_"):
        super().__init__()
        if every < 1:
            raise ValueError(f"`every` must be >= 1. Received: every={every}")
        self.evaluator = evaluator
        self.make_score_fn = make_score_fn
        self.scorer = scorer
        self.every = every
        self.prefix = prefix
        self.history: list[dict] = []
        self.seconds: list[float] = []  # wall time of each evaluation
        self._score_fn = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        start = time.perf_counter()
        if self._score_fn is None:  # built once: it wraps the live model, not a copy
            self._score_fn = self.make_score_fn(self.scorer or self.model)
        result = self.evaluator.evaluate(self._score_fn)
        self.seconds.append(time.perf_counter() - start)
        metrics = {f"{self.prefix}{k}": float(v) for k, v in result.metrics.items()}
        self.history.append({"epoch": epoch + 1, **metrics})
        if logs is not None:
            logs.update(metrics)


class EpochTimer(keras.callbacks.Callback):
    """Records the wall time of every epoch in ``seconds`` (and the logs' ``epoch_seconds``),
    and the epochs run in ``epochs`` (0-based; a resumed run starts above 0)."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self.epochs: list[int] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(int(epoch))
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        if logs is not None:
            logs["epoch_seconds"] = self.seconds[-1]
