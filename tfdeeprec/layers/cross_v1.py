"""CrossV1: the cross network of Deep & Cross Network (DCN, v1)."""

from __future__ import annotations

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register


@register
class CrossV1(keras.layers.Layer):
    """``num_layers`` DCN cross layers, ``x_{l+1} = x_0 * (x_l . w_l) + b_l + x_l``.

    ``x_l . w_l`` is a scalar per example, so each layer adds one rank-one crossing of
    ``x_0`` with ``x_l`` and costs ``2d`` parameters: a kernel ``w_l`` and a bias ``b_l``,
    both vectors of size ``d`` (``kernels[l]``, ``biases[l]``). For DCN-v2's full-rank
    and low-rank cross layer use ``tensorflow_recommenders.layers.dcn.Cross``; for its
    mixture of low-rank experts, ``CrossMixture``.

    Args:
        num_layers: number of cross layers, positive. Default 3.
        l2: L2 penalty on the kernels ``w_l``, ``>= 0``. Default 0.

    Call arguments:
        inputs: float ``(batch, d)``, the stacked embeddings and dense features ``x_0``.

    Input shape: ``(batch, d)``. Output shape: ``(batch, d)``.

    Example:

    >>> inputs = keras.Input((6,))
    >>> CrossV1(num_layers=2)(inputs).shape
    TensorShape([None, 6])

    References:
        - Wang et al., "Deep & Cross Network for Ad Click Predictions", ADKDD 2017.
          https://arxiv.org/abs/1708.05123
    """

    def __init__(self, num_layers: int = 3, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if int(num_layers) != num_layers or num_layers < 1:
            raise ValueError(f"`num_layers` must be a positive integer. "
                             f"Received: num_layers={num_layers}")
        if l2 < 0:
            raise ValueError(f"`l2` must be >= 0. Received: l2={l2}")
        self.num_layers = int(num_layers)
        self.l2 = float(l2)

    def build(self, input_shape):
        shape = tf.TensorShape(input_shape)
        if shape.rank != 2 or shape[-1] is None:
            raise ValueError("`CrossV1` expects inputs of shape (batch, d) with a known d. "
                             f"Received: input_shape={shape}")
        dim = int(shape[-1])
        regularizer = keras.regularizers.L2(self.l2) if self.l2 else None
        self.kernels, self.biases = [], []
        for i in range(self.num_layers):
            self.kernels.append(self.add_weight(
                name=f"kernel_{i}", shape=(dim,), initializer="glorot_uniform",
                regularizer=regularizer))
            self.biases.append(self.add_weight(name=f"bias_{i}", shape=(dim,),
                                               initializer="zeros"))
        super().build(input_shape)

    def call(self, inputs):
        x0 = x = inputs
        for kernel, bias in zip(self.kernels, self.biases):
            projection = tf.reduce_sum(x * kernel, axis=-1, keepdims=True)
            x = x0 * projection + bias + x
        return x

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)

    def get_config(self):
        return {**super().get_config(), "num_layers": self.num_layers, "l2": self.l2}
