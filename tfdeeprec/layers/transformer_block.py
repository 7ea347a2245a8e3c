"""TransformerBlock: self-attention over a sequence's positions, then a feed-forward net."""

from __future__ import annotations

import zlib

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register
from tfdeeprec.layers.stateless_dropout import StatelessDropout


@register
class TransformerBlock(keras.layers.Layer):
    """One post-norm Transformer encoder block over ``[batch, length, dim]`` states.

    ``x = LayerNorm(x + Dropout(MultiHeadAttention(x, x)))`` and then
    ``x = LayerNorm(x + Dropout(W2 act(W1 x)))`` (BERT's block, as SASRec and BERT4Rec
    use it). Keys at padding positions (item index 0) are masked out, except that
    every position sees itself; with ``causal`` a position attends only to itself and
    earlier ones (SASRec), otherwise to every position (BERT4Rec). Padding positions'
    own outputs are meaningless and unused.

    Args:
        num_heads: attention heads; ``dim`` must divide by it.
        inner_dim: the feed-forward width. Default ``4 * dim``.
        dropout_rate: on the attention and feed-forward outputs. Default 0.
        attention_dropout: on the attention weights. Default 0.
        activation: the feed-forward activation. Default ``"gelu"``.
        causal: mask future positions. Default ``True``.
        epsilon: the layer norms' epsilon. Default 1e-6. BERT's 1e-12 lets a
            vector that dropout zeroed whole (likely at small widths) scale its
            gradient by 1e6 per norm, which overflowed to infinity in training.

    Call arguments:
        inputs: ``[states float [b, length, dim], items int [b, length]]``; ``items``
            marks padding (0).
        training: dropout only when true.

    Example:

    >>> block = TransformerBlock(num_heads=2, inner_dim=8)
    >>> block([tf.random.normal((2, 3, 4)), tf.constant([[0, 1, 2], [3, 4, 5]])]).shape
    TensorShape([2, 3, 4])

    With ``causal``, changing a later item leaves earlier outputs alone:

    >>> x = tf.random.normal((1, 3, 4))
    >>> y = tf.concat([x[:, :2], tf.random.normal((1, 1, 4))], axis=1)
    >>> items = tf.constant([[1, 2, 3]])
    >>> bool(tf.reduce_all(tf.abs(block([x, items])[:, :2] - block([y, items])[:, :2]) < 1e-6))
    True
    """

    def __init__(self, num_heads: int = 2, inner_dim: int | None = None,
                 dropout_rate: float = 0.0, attention_dropout: float = 0.0,
                 activation="gelu", causal: bool = True, epsilon: float = 1e-6,
                 kernel_initializer=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads < 1:
            raise ValueError(f"`num_heads` must be a positive integer. Received: "
                             f"num_heads={num_heads!r}")
        self.num_heads = num_heads
        self.inner_dim = inner_dim
        self.dropout_rate = float(dropout_rate)
        self.attention_dropout = float(attention_dropout)
        self.activation = keras.activations.get(activation)
        self.causal = bool(causal)
        self.epsilon = float(epsilon)
        self.kernel_initializer = keras.initializers.get(
            kernel_initializer or keras.initializers.RandomNormal(stddev=0.02))

    def build(self, input_shape):
        states_shape = tf.TensorShape(input_shape[0])
        dim = int(states_shape[-1])
        if dim % self.num_heads:
            raise ValueError(f"the states' width {dim} must divide by `num_heads` "
                             f"({self.num_heads})")
        inner = self.inner_dim or 4 * dim
        init = lambda: keras.initializers.get(  # noqa: E731  (a fresh one per layer)
            keras.initializers.serialize(self.kernel_initializer))
        self.attention = keras.layers.MultiHeadAttention(
            self.num_heads, dim // self.num_heads, dropout=self.attention_dropout,
            kernel_initializer=init(), name="attention")
        self.attention._build_from_signature(states_shape, states_shape)
        self.inner = keras.layers.Dense(inner, activation=self.activation,
                                        kernel_initializer=init(), name="inner")
        self.inner.build(states_shape)
        self.outer = keras.layers.Dense(dim, kernel_initializer=init(), name="outer")
        self.outer.build(states_shape[:-1].concatenate([inner]))
        self.norm_attention = keras.layers.LayerNormalization(epsilon=self.epsilon,
                                                              name="norm_attention")
        self.norm_attention.build(states_shape)
        self.norm_output = keras.layers.LayerNormalization(epsilon=self.epsilon,
                                                           name="norm_output")
        self.norm_output.build(states_shape)
        self.drop_attention = StatelessDropout(  # a salt per block: masks differ between
            self.dropout_rate, salt=zlib.crc32(f"{self.name}/attention".encode()),  # blocks
            name="drop_attention")
        self.drop_output = StatelessDropout(
            self.dropout_rate, salt=zlib.crc32(f"{self.name}/output".encode()),
            name="drop_output")
        super().build(input_shape)

    def call(self, inputs, training=None):
        states, items = inputs
        length = tf.shape(items)[1]
        allowed = tf.ones([length, length], tf.bool)
        if self.causal:
            allowed = tf.linalg.band_part(allowed, -1, 0)
        # Every position may attend to itself, so no row is wholly masked (a padding
        # query in front of a causal history would be): such rows made NaN gradients.
        itself = tf.cast(tf.eye(length), tf.bool)[None]
        mask = (((items > 0)[:, None, :] & allowed[None]) | itself)
        attended = self.attention(states, states, attention_mask=mask, training=training)
        states = self.norm_attention(states + self.drop_attention(attended, training=training))
        inner = self.outer(self.inner(states))
        return self.norm_output(states + self.drop_output(inner, training=training))

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads,
                "inner_dim": self.inner_dim, "dropout_rate": self.dropout_rate,
                "attention_dropout": self.attention_dropout,
                "activation": keras.activations.serialize(self.activation),
                "causal": self.causal, "epsilon": self.epsilon,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}
