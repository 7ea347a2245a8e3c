"""NGCFPropagation: one layer of NGCF's message passing over the user-item graph."""

from __future__ import annotations

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register
from tfdeeprec.layers._graph import adjacency_times


@register
class NGCFPropagation(keras.layers.Layer):
    """One NGCF layer (Wang et al., Neural Graph Collaborative Filtering, SIGIR 2019):

    ``E' = LeakyReLU((E + L E) W1 + b1 + ((L E) * E) W2 + b2)``

    with ``L`` the normalised adjacency without self-loops: a node's own vector and its
    neighbours' sum pass through ``W1``; their element-wise product (the affinity between
    a node and its neighbourhood) through ``W2``. On a bipartite graph ``L E`` is ``R
    items`` for the users and ``R^T users`` for the items, with ``R`` the user-item block
    (:func:`~tfdeeprec.data.graph.bipartite_adjacency`), dense or sparse. The slope of
    the LeakyReLU is the paper's 0.2.

    Args:
        units (int): output width.

    Call arguments:
        inputs: ``[users [U, d], items [I, d]]``.
        adjacency: ``R``, float ``[U, I]``, dense or a ``tf.SparseTensor``.

    Returns: ``[users [U, units], items [I, units]]``.

    Example (one user, one item, linked with weight 1; W1 = 1, W2 = 1, no bias):

    >>> layer = NGCFPropagation(1, kernel_initializer="ones")
    >>> users, items = layer([tf.constant([[2.0]]), tf.constant([[3.0]])],
    ...                      tf.constant([[1.0]]))
    >>> users.numpy().tolist(), items.numpy().tolist()  # (2 + 3) + 3 * 2; (3 + 2) + 2 * 3
    ([[11.0]], [[11.0]])
    """

    SLOPE = 0.2

    def __init__(self, units: int, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"`units` must be a positive integer. Received: units={units!r}")
        self.units = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        width = int(input_shape[0][-1])
        self.sum_kernel = self.add_weight(name="sum_kernel", shape=(width, self.units),
                                          initializer=self.kernel_initializer)
        self.sum_bias = self.add_weight(name="sum_bias", shape=(self.units,),
                                        initializer="zeros")
        self.product_kernel = self.add_weight(  # a fresh initializer: different values
            name="product_kernel", shape=(width, self.units),
            initializer=self.kernel_initializer.__class__.from_config(
                self.kernel_initializer.get_config()))
        self.product_bias = self.add_weight(name="product_bias", shape=(self.units,),
                                            initializer="zeros")
        super().build(input_shape)

    def call(self, inputs, adjacency):
        users, items = inputs
        user_side = adjacency_times(adjacency, items)
        item_side = adjacency_times(adjacency, users, transpose=True)
        return [self._combine(users, user_side), self._combine(items, item_side)]

    def _combine(self, own, side):
        out = (tf.matmul(own + side, self.sum_kernel) + self.sum_bias
               + tf.matmul(side * own, self.product_kernel) + self.product_bias)
        return tf.nn.leaky_relu(out, alpha=self.SLOPE)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}
