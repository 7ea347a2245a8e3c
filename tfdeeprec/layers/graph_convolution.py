"""GraphConvolution: Kipf & Welling's graph convolution, ``act(A_hat H W + b)``."""

from __future__ import annotations

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register
from tfdeeprec.layers._graph import adjacency_times


@register
class GraphConvolution(keras.layers.Layer):
    """``H -> activation(A_hat @ H @ W + b)``: every node's new vector is a weighted sum of
    its neighbours' (and, with self-loops in ``A_hat``, its own), projected by ``W``.

    Kipf & Welling (ICLR 2017) use ``A_hat = D~^-1/2 (A + I) D~^-1/2`` with ``D~`` the
    degrees of ``A + I``; the layer takes whatever normalised adjacency it is given (a
    dense matrix or a ``tf.SparseTensor``, ``[nodes, nodes]``), so the same layer serves
    a user-item graph with users and items as nodes (users first).

    Args:
        units (int): output width.
        activation: a Keras activation (default: none).
        use_bias (bool): add ``b`` (default True).

    Call arguments:
        inputs: float ``[nodes, d]``.
        adjacency: float ``[nodes, nodes]``, dense or sparse.

    Example (two nodes linked to each other and themselves, weights 1/2):

    >>> layer = GraphConvolution(1, kernel_initializer="ones", use_bias=False)
    >>> a = tf.constant([[0.5, 0.5], [0.5, 0.5]])
    >>> layer(tf.constant([[2.0, 0.0], [4.0, 2.0]]), a).numpy().tolist()
    [[4.0], [4.0]]
    """

    def __init__(self, units: int, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"`units` must be a positive integer. Received: units={units!r}")
        self.units, self.use_bias = units, bool(use_bias)
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(int(input_shape[-1]), self.units),
                                      initializer=self.kernel_initializer)
        self.bias = (self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
                     if self.use_bias else None)
        super().build(input_shape)

    def call(self, inputs, adjacency):
        projected = tf.matmul(inputs, self.kernel)
        mixed = adjacency_times(adjacency, projected)
        if self.bias is not None:
            mixed = mixed + self.bias
        return self.activation(mixed)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "use_bias": self.use_bias,
                "activation": keras.activations.serialize(self.activation),
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}
