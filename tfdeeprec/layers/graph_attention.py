"""GraphAttention: GAT's attention over a node's neighbours (Velickovic et al., ICLR 2018)."""

from __future__ import annotations

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register


@register
class GraphAttention(keras.layers.Layer):
    """``out_i = activation(sum over j in N(i) of alpha_ij W h_j)``, per head, heads
    concatenated, with ``alpha_ij = softmax_j(LeakyReLU(a_src . W h_i + a_dst . W h_j))``
    over the neighbours ``N(i)`` (slope 0.2, the paper's).

    The graph is the structure of ``adjacency`` (a ``tf.SparseTensor`` or a dense
    ``[nodes, nodes]`` matrix; its nonzero entries are the edges ``i -> j``, their values
    unused): give it self-loops for a node to attend to itself, as the paper does. On a
    user-item graph the nodes are the users, then the items. The work follows the edges:
    one score per edge and head, a softmax per node.

    Args:
        units (int): output width of each head.
        heads (int): attention heads, concatenated (default 1).
        activation: a Keras activation (default: none).

    Call arguments:
        inputs: float ``[nodes, d]``.
        adjacency: ``[nodes, nodes]``, sparse or dense.

    Returns: ``[nodes, heads * units]``.

    Example (node 0 attends to nodes 0 and 1; W = 1, a_src = 0, a_dst = 1, so the
    weights are softmax(h_0, h_1) = softmax(0, log 3) = (1/4, 3/4)):

    >>> layer = GraphAttention(1, kernel_initializer="ones")
    >>> layer.build([2, 1])
    >>> _ = layer.source_attention.assign([[0.0]]), layer.target_attention.assign([[1.0]])
    >>> import numpy as np
    >>> out = layer(tf.constant([[0.0], [np.log(3.0)]]), tf.constant([[1.0, 1.0], [0, 1]]))
    >>> round(float(out[0, 0]), 4), round(float(out[1, 0]), 4)  # 3/4 log 3; log 3
    (0.824, 1.0986)
    """

    SLOPE = 0.2

    def __init__(self, units: int, heads: int = 1, activation=None,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        for key, value in (("units", units), ("heads", heads)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{key}` must be a positive integer. Received: "
                                 f"{key}={value!r}")
        self.units, self.heads = units, heads
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel",
                                      shape=(int(input_shape[-1]), self.heads * self.units),
                                      initializer=self.kernel_initializer)
        self.source_attention = self.add_weight(name="source_attention",
                                                shape=(self.heads, self.units),
                                                initializer="glorot_uniform")
        self.target_attention = self.add_weight(name="target_attention",
                                                shape=(self.heads, self.units),
                                                initializer="glorot_uniform")
        super().build(input_shape)

    def call(self, inputs, adjacency):
        if not isinstance(adjacency, tf.SparseTensor):
            adjacency = tf.sparse.from_dense(adjacency)
        nodes = tf.shape(inputs)[0]
        source, target = adjacency.indices[:, 0], adjacency.indices[:, 1]
        h = tf.reshape(tf.matmul(inputs, self.kernel), [-1, self.heads, self.units])
        source_score = tf.reduce_sum(h * self.source_attention, axis=-1)  # [nodes, heads]
        target_score = tf.reduce_sum(h * self.target_attention, axis=-1)
        scores = tf.nn.leaky_relu(tf.gather(source_score, source) +
                                  tf.gather(target_score, target), alpha=self.SLOPE)
        # softmax over each source node's edges, per head (shifted by the node's maximum)
        peak = tf.math.unsorted_segment_max(scores, source, nodes)
        weights = tf.exp(scores - tf.gather(peak, source))
        weights = weights / tf.gather(tf.math.unsorted_segment_sum(weights, source, nodes),
                                      source)
        out = tf.math.unsorted_segment_sum(weights[:, :, None] * tf.gather(h, target), source,
                                           nodes)
        return self.activation(tf.reshape(out, [-1, self.heads * self.units]))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "heads": self.heads,
                "activation": keras.activations.serialize(self.activation),
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}
