"""MLP: a stack of Dense layers with dropout, the deep tower of NCF and Wide & Deep."""

from __future__ import annotations

from tfdeeprec._keras import keras
from tfdeeprec._registration import register
from tfdeeprec.layers.stateless_dropout import StatelessDropout


@register
class MLP(keras.layers.Layer):
    """Dense -> activation -> dropout, once per entry of ``hidden_units``.

    Args:
        hidden_units: widths of the hidden layers, e.g. ``(128, 64)``; non-empty.
        activation: activation of every hidden layer. Default ``"relu"``.
        dropout_rate: dropout after each hidden layer, in ``[0, 1)``. Default 0.
        dropout_first: put the dropout before each Dense layer (on its input, as
            RecBole's ``MLPLayers`` does) instead of after it. Default ``False``.
        kernel_initializer: Default ``"glorot_uniform"``.
        kernel_regularizer: Default ``None``.

    Call arguments:
        inputs: ``(batch, features)`` tensor.
        training: whether dropout is active.

    Input shape: ``(batch, d)``. Output shape: ``(batch, hidden_units[-1])``.

    Example:

    >>> import numpy as np
    >>> MLP((8, 4))(np.zeros((2, 3), "float32")).shape
    TensorShape([2, 4])
    """

    def __init__(self, hidden_units=(128, 64), activation="relu", dropout_rate: float = 0.0,
                 kernel_initializer="glorot_uniform", kernel_regularizer=None,
                 dropout_first: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = check_hidden_units(hidden_units)
        self.activation = keras.activations.get(activation)
        self.dropout_rate = check_dropout_rate(dropout_rate)
        self.dropout_first = bool(dropout_first)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.dense_layers = [
            keras.layers.Dense(units, activation=self.activation,
                               kernel_initializer=_fresh(self.kernel_initializer),
                               kernel_regularizer=self.kernel_regularizer,
                               name=f"dense_{i}")
            for i, units in enumerate(hidden_units)
        ]
        self.dropout = (StatelessDropout(self.dropout_rate, name="dropout")
                        if self.dropout_rate else None)

    def build(self, input_shape):
        shape = input_shape
        for layer in self.dense_layers:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        if self.dropout is not None:
            self.dropout.build(input_shape)
        super().build(input_shape)

    def call(self, inputs, training=None):
        x = inputs
        for layer in self.dense_layers:
            if self.dropout is not None and self.dropout_first:
                x = self.dropout(x, training=training)
            x = layer(x)
            if self.dropout is not None and not self.dropout_first:
                x = self.dropout(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.hidden_units[-1],)

    def get_config(self):
        return {
            **super().get_config(),
            "hidden_units": list(self.hidden_units),
            "activation": keras.activations.serialize(self.activation),
            "dropout_rate": self.dropout_rate,
            "dropout_first": self.dropout_first,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }


def check_hidden_units(hidden_units) -> tuple:
    """``hidden_units`` as a tuple of ints; a clear error unless non-empty and positive."""
    units = tuple(int(u) for u in hidden_units)
    if not units or min(units) <= 0:
        raise ValueError("`hidden_units` must be a non-empty list of positive ints. "
                         f"Received: hidden_units={units}")
    return units


def check_dropout_rate(dropout_rate) -> float:
    """``dropout_rate`` as a float; a clear error unless in ``[0, 1)``."""
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"`dropout_rate` must be in [0, 1). Received: dropout_rate={dropout_rate}")
    return float(dropout_rate)


def _fresh(initializer):
    """A separate initializer per layer, so layers don't share one seed."""
    return initializer.__class__.from_config(initializer.get_config())
