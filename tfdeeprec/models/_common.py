"""Pieces every ID-based model shares: inputs, embeddings and the task's output head."""

from __future__ import annotations

from tfdeeprec._keras import keras
from tfdeeprec.data import schema
from tfdeeprec.layers.rating_clip import RatingClip
from tfdeeprec.layers.scalar_bias import ScalarBias

TASKS = ("rating", "implicit")


def check_task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"`task` must be one of {TASKS}. Received: task={task!r}")
    return task


def check_sizes(num_users: int, num_items: int) -> None:
    for name, value in (("num_users", num_users), ("num_items", num_items)):
        if int(value) < 2:
            raise ValueError(f"`{name}` must be >= 2 (the OOV slot plus one ID). "
                             f"Received: {name}={value}")


def check_implicit_args(model: str, num_users: int, num_items: int, task: str,
                        **positive) -> None:
    """Refuses, by name, a task other than ``implicit`` (for ``model``), a size below 2 or
    a value of ``positive`` that is not a positive integer."""
    check_implicit_task(model, task)
    check_sizes(num_users, num_items)
    check_positive_ints(**positive)


def check_implicit_task(model: str, task: str) -> None:
    """Refuses, by name, a task other than ``implicit`` for ``model``."""
    if task != "implicit":
        raise ValueError(f"`task` must be 'implicit' for {model}. Received: task={task!r}")


def check_positive_ints(**values) -> None:
    """Refuses, by name, a value that is not a positive integer."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer. Received: "
                             f"{name}={value!r}")


def check_non_negative(**values) -> None:
    """Refuses, by name, a value that is not a number >= 0 (a weight penalty, ...)."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"`{name}` must be a number >= 0. Received: {name}={value!r}")


def check_rate(name: str, value) -> float:
    """A dropout, masking or corruption rate in ``[0, 1)``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"`{name}` must be a number in [0, 1). Received: {name}={value!r}")
    return float(value)


def id_inputs() -> dict:
    """``user_id`` and ``item_id`` index inputs, one scalar per example."""
    return {name: keras.Input(shape=(), dtype="int32", name=name)
            for name in (schema.USER_ID, schema.ITEM_ID)}


def id_embedding(size: int, dim: int, name: str, l2: float = 0.0,
                 stddev: float = 0.01) -> keras.layers.Embedding:
    """An embedding table whose L2 penalty applies to the rows a batch reads.

    Penalising the looked-up rows (not the whole table) keeps gradients sparse, so
    only touched rows change each step, as in RecBole's ``reg_weight``.
    """
    return keras.layers.Embedding(
        size, dim, name=name,
        embeddings_initializer=keras.initializers.RandomNormal(stddev=stddev),
        activity_regularizer=keras.regularizers.L2(l2) if l2 else None)


def score_head(x, *, task: str, rating_range=None, global_mean: float = 0.0,
               use_bias: bool = True, name: str = "prediction"):
    """Dense(1) to a per-example score: a rating (``task="rating"``) or a logit."""
    x = keras.layers.Dense(1, use_bias=use_bias, name=name)(x)
    return finish_score(x, task=task, rating_range=rating_range, global_mean=global_mean)


def finish_score(x, *, task: str, rating_range=None, global_mean: float = 0.0):
    """``(batch, 1)`` -> ``(batch,)``; ratings get the global mean and the clip."""
    x = keras.layers.Reshape((), name="score_flat")(x)
    if task == "rating":
        if global_mean:
            x = ScalarBias(global_mean, name="global_bias")(x)
        if rating_range is not None:
            x = RatingClip(*rating_range, name="rating_clip")(x)
    return x
