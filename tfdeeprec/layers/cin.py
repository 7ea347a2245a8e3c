"""CIN: xDeepFM's compressed interaction network, explicit vector-wise interactions."""

from __future__ import annotations

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register


@register
class CIN(keras.layers.Layer):
    """xDeepFM's compressed interaction network over field embeddings ``X^0``.

    Each layer crosses its input maps with the fields, one embedding dimension ``d``
    at a time, and compresses the ``H_{l-1} * F`` products into ``H_l`` maps::

        Z^l[b, h*F + m, d] = X^{l-1}[b, h, d] * X^0[b, m, d]
        X^l[b, s, d] = activation(sum_j Z^l[b, j, d] * kernel_l[j, s])

    (a 1x1 convolution over ``Z^l``; no bias, as the paper's eq. 6). Every map sent to
    the output is sum-pooled over ``d``, and the pooled maps of all layers are
    concatenated. With ``split_half=True`` (the xDeepFM implementation), each layer
    but the last feeds its first ``H_l / 2`` maps to the next layer and sends the
    other half to the output; the last layer sends all its maps. With
    ``split_half=False`` every layer feeds all its maps on and sends all to the output.

    Args:
        layer_sizes: ``H_l``, the number of feature maps of each layer; non-empty,
            positive ints. With ``split_half=True`` every size but the last must be
            even. Default ``(128, 128)``.
        split_half: halve each layer's maps between the next layer and the output
            (see above). Default ``True``.
        activation: applied to every layer's maps. Default ``None`` (identity).
        l2: L2 penalty on the kernels, ``>= 0``. Default 0.

    Call arguments:
        inputs: float field embeddings ``(batch, F, k)``.

    Input shape: ``(batch, F, k)``.
    Output shape: ``(batch, output_dim)`` with ``output_dim = sum_l H_l / 2`` over the
    layers but the last, plus the last ``H_l`` (``split_half=True``), or ``sum_l H_l``.

    The kernel of layer ``l`` is ``kernels[l]``, shape ``(H_{l-1} * F, H_l)``
    (``H_0 = F``), row ``h * F + m`` for (map ``h`` of layer ``l-1``, field ``m``).

    Example:

    >>> inputs = keras.Input((5, 4))
    >>> CIN(layer_sizes=(8, 6))(inputs).shape
    TensorShape([None, 10])

    References:
        - Lian et al., "xDeepFM: Combining Explicit and Implicit Feature Interactions
          for Recommender Systems", KDD 2018. https://arxiv.org/abs/1803.05170
    """

    def __init__(self, layer_sizes=(128, 128), split_half: bool = True, activation=None,
                 l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        sizes = tuple(int(s) for s in layer_sizes)
        if not sizes or min(sizes) <= 0:
            raise ValueError("`layer_sizes` must be a non-empty list of positive ints. "
                             f"Received: layer_sizes={sizes}")
        if split_half and any(s % 2 for s in sizes[:-1]):
            raise ValueError("`layer_sizes` must be even, except the last, when "
                             f"split_half=True. Received: layer_sizes={sizes}")
        if l2 < 0:
            raise ValueError(f"`l2` must be >= 0. Received: l2={l2}")
        self.layer_sizes = sizes
        self.split_half = bool(split_half)
        self.activation = keras.activations.get(activation)
        self.l2 = float(l2)

    @property
    def output_dim(self) -> int:
        """Number of pooled maps in the output."""
        if not self.split_half:
            return sum(self.layer_sizes)
        return sum(s // 2 for s in self.layer_sizes[:-1]) + self.layer_sizes[-1]

    def build(self, input_shape):
        shape = tf.TensorShape(input_shape)
        if shape.rank != 3 or shape[1] is None:
            raise ValueError("`CIN` expects field embeddings of shape (batch, F, k) with a "
                             f"known F. Received: input_shape={shape}")
        num_fields = int(shape[1])
        regularizer = keras.regularizers.L2(self.l2) if self.l2 else None
        self.kernels = []
        previous = num_fields
        for i, size in enumerate(self.layer_sizes):
            self.kernels.append(self.add_weight(
                name=f"kernel_{i}", shape=(previous * num_fields, size),
                initializer="glorot_uniform", regularizer=regularizer))
            previous = self._kept(i)
        super().build(input_shape)

    def call(self, inputs):
        # Work in the (batch, k, maps) layout: each layer's 1x1 convolution is then one
        # 2-D matmul of (batch * k, H * F) by (H * F, H_l), the shape GEMM kernels run
        # fastest (3x faster than a 4-D einsum on CPU, without XLA).
        x0 = tf.transpose(inputs, (0, 2, 1))
        batch, dim = tf.shape(x0)[0], tf.shape(x0)[1]
        x, pooled = x0, []
        for i, kernel in enumerate(self.kernels):
            z = tf.reshape(x[:, :, :, None] * x0[:, :, None, :], (-1, kernel.shape[0]))
            maps = self.activation(tf.reshape(tf.matmul(z, kernel),
                                              (batch, dim, self.layer_sizes[i])))
            if self.split_half and i < len(self.kernels) - 1:
                x, direct = tf.split(maps, 2, axis=2)
            else:
                x = direct = maps
            pooled.append(tf.reduce_sum(direct, axis=1))
        return tf.concat(pooled, axis=1)

    def _kept(self, i: int) -> int:
        """Maps of layer ``i`` fed to layer ``i + 1``."""
        size = self.layer_sizes[i]
        return size // 2 if self.split_half and i < len(self.layer_sizes) - 1 else size

    def compute_output_shape(self, input_shape):
        return tf.TensorShape([tf.TensorShape(input_shape)[0], self.output_dim])

    def get_config(self):
        return {**super().get_config(), "layer_sizes": list(self.layer_sizes),
                "split_half": self.split_half,
                "activation": keras.activations.serialize(self.activation), "l2": self.l2}
