"""FieldSelfAttention: AutoInt's interacting layer, multi-head self-attention over fields."""

from __future__ import annotations

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register


@register
class FieldSelfAttention(keras.layers.Layer):
    """AutoInt's interacting layer: every field attends to every field, per head.

    For each head ``h`` with ``Q_h = X W_Q^h``, ``K_h = X W_K^h``, ``V_h = X W_V^h``
    (each ``(F, head_dim)``)::

        outputs = ReLU(concat_h softmax(Q_h K_h^T) V_h + X W_res)

    where the softmax runs over the attended fields. As in the AutoInt paper, the
    scores are **not** divided by ``sqrt(head_dim)``; pass ``scale=True`` for the
    Transformer's scaled dot product. ``use_residual=False`` leaves out ``X W_res``.
    No projection has a bias.

    Weights: ``query_kernel``, ``key_kernel``, ``value_kernel``, each
    ``(k, num_heads * head_dim)`` with head ``h`` in columns
    ``h * head_dim : (h + 1) * head_dim``, and ``residual_kernel``
    ``(k, num_heads * head_dim)`` when ``use_residual``.

    Args:
        num_heads: number of attention heads, positive. Default 2.
        head_dim: width ``d'`` of each head's query, key and value, positive. Default 8.
        use_residual: add the projected input ``X W_res`` before the ReLU. Default ``True``.
        scale: divide the scores by ``sqrt(head_dim)``. Default ``False`` (the paper).
        l2: L2 penalty on all kernels, ``>= 0``. Default 0.

    Call arguments:
        inputs: float field embeddings ``(batch, F, k)``.

    Input shape: ``(batch, F, k)``. Output shape: ``(batch, F, num_heads * head_dim)``.
    Layers stack: the output is the next layer's input.

    Example:

    >>> inputs = keras.Input((5, 4))
    >>> FieldSelfAttention(num_heads=2, head_dim=3)(inputs).shape
    TensorShape([None, 5, 6])

    References:
        - Song et al., "AutoInt: Automatic Feature Interaction Learning via
          Self-Attentive Neural Networks", CIKM 2019. https://arxiv.org/abs/1810.11921
    """

    def __init__(self, num_heads: int = 2, head_dim: int = 8, use_residual: bool = True,
                 scale: bool = False, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("num_heads", num_heads), ("head_dim", head_dim)):
            if int(value) != value or value < 1:
                raise ValueError(f"`{name}` must be a positive integer. "
                                 f"Received: {name}={value}")
        if l2 < 0:
            raise ValueError(f"`l2` must be >= 0. Received: l2={l2}")
        self.num_heads = int(num_heads)
        self.head_dim = int(head_dim)
        self.use_residual = bool(use_residual)
        self.scale = bool(scale)
        self.l2 = float(l2)

    def build(self, input_shape):
        shape = tf.TensorShape(input_shape)
        if shape.rank != 3 or shape[-1] is None:
            raise ValueError("`FieldSelfAttention` expects field embeddings of shape "
                             f"(batch, F, k) with a known k. Received: input_shape={shape}")
        kernel_shape = (int(shape[-1]), self.num_heads * self.head_dim)
        regularizer = keras.regularizers.L2(self.l2) if self.l2 else None

        def kernel(name):
            return self.add_weight(name=name, shape=kernel_shape,
                                   initializer="glorot_uniform", regularizer=regularizer)

        self.query_kernel = kernel("query_kernel")
        self.key_kernel = kernel("key_kernel")
        self.value_kernel = kernel("value_kernel")
        self.residual_kernel = kernel("residual_kernel") if self.use_residual else None
        super().build(input_shape)

    def call(self, inputs):
        queries = self._heads(tf.tensordot(inputs, self.query_kernel, axes=1))
        keys = self._heads(tf.tensordot(inputs, self.key_kernel, axes=1))
        values = self._heads(tf.tensordot(inputs, self.value_kernel, axes=1))
        scores = tf.einsum("bhfd,bhgd->bhfg", queries, keys)
        if self.scale:
            scores = scores / tf.sqrt(tf.cast(self.head_dim, scores.dtype))
        attended = tf.einsum("bhfg,bhgd->bfhd", tf.nn.softmax(scores, axis=-1), values)
        outputs = tf.reshape(attended, tf.concat(
            [tf.shape(inputs)[:2], [self.num_heads * self.head_dim]], axis=0))
        if self.residual_kernel is not None:
            outputs = outputs + tf.tensordot(inputs, self.residual_kernel, axes=1)
        return tf.nn.relu(outputs)

    def _heads(self, projected):
        """``(batch, F, H * d')`` -> ``(batch, H, F, d')``."""
        shape = tf.concat([tf.shape(projected)[:2], [self.num_heads, self.head_dim]], axis=0)
        return tf.transpose(tf.reshape(projected, shape), (0, 2, 1, 3))

    def compute_output_shape(self, input_shape):
        shape = tf.TensorShape(input_shape)
        return tf.TensorShape([shape[0], shape[1], self.num_heads * self.head_dim])

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads,
                "head_dim": self.head_dim, "use_residual": self.use_residual,
                "scale": self.scale, "l2": self.l2}
