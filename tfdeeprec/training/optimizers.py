"""Optimizer choice by name: Adam, the sparse-aware Adam, Adagrad, SGD."""

from __future__ import annotations

from tfdeeprec._keras import keras

OPTIMIZERS = ("adam", "sparse_adam", "adagrad", "sgd")


def make_optimizer(name: str = "sparse_adam", learning_rate: float = 1e-3):
    """Returns a fresh optimizer; ``sparse_adam`` updates only the embedding rows a
    batch touched (see ``tfdeeprec.training.sparse_adam.SparseAdam``).

    >>> type(make_optimizer("adagrad", 0.1)).__name__
    'Adagrad'
    """
    if learning_rate <= 0:
        raise ValueError(f"`learning_rate` must be positive. Received: learning_rate={learning_rate}")
    if name == "sparse_adam":
        from tfdeeprec.training.sparse_adam import SparseAdam
        return SparseAdam(learning_rate=learning_rate)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=learning_rate)
    if name == "adagrad":
        return keras.optimizers.Adagrad(learning_rate=learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate)
    raise ValueError(f"`optimizer` must be one of {OPTIMIZERS}. Received: optimizer={name!r}")
