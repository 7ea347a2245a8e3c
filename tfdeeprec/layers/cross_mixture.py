"""CrossMixture: DCN-v2's cross layer as a gated mixture of low-rank experts (DCN-Mix)."""

from __future__ import annotations

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register


@register
class CrossMixture(keras.layers.Layer):
    """One DCN-Mix cross layer: ``x_{l+1} = sum_i G_i(x_l) E_i(x_l) + x_l``.

    Each expert crosses ``x_0`` with a low-rank, nonlinear projection of ``x_l``::

        E_i(x_l) = x_0 * (U_i g(C_i g(V_i^T x_l)) + b_i)
        G(x_l) = softmax(x_l W_gate)                  # over the experts

    with ``V_i``, ``U_i^T`` of shape ``(d, r)``, ``C_i`` of shape ``(r, r)``, ``g`` the
    ``activation`` and ``W_gate`` of shape ``(d, num_experts)`` (no bias). Stack several
    layers for a deeper cross network, passing the same ``x_0`` to each. With one
    expert the gate is 1.

    Weights: ``down_kernel`` ``V`` ``(K, d, r)``, ``mid_kernel`` ``C`` ``(K, r, r)``,
    ``up_kernel`` ``U^T`` ``(K, r, d)``, ``bias`` ``(K, d)`` (when ``use_bias``) and
    ``gate_kernel`` ``(d, K)``, for ``K = num_experts``.

    Args:
        num_experts: number of low-rank experts ``K``, positive. Default 4.
        low_rank: rank ``r`` of each expert's projection, positive. Default 32.
        activation: ``g``, the nonlinearity inside the projection. Default ``"tanh"``.
        use_bias: add the expert biases ``b_i``. Default ``True``.
        l2: L2 penalty on ``U``, ``C``, ``V`` and the gate kernel, ``>= 0``. Default 0.

    Call arguments:
        x0: float ``(batch, d)``, the cross network's input ``x_0``.
        x: float ``(batch, d)``, the previous cross layer's output ``x_l``; ``None``
            (the default) uses ``x0``, for the first layer. ``x0`` may also be the
            list ``[x0, x]``.

    Input shape: ``(batch, d)`` each. Output shape: ``(batch, d)``.

    Example:

    >>> x0 = keras.Input((6,))
    >>> x1 = CrossMixture(num_experts=2, low_rank=3)(x0)
    >>> CrossMixture(num_experts=2, low_rank=3)(x0, x1).shape
    TensorShape([None, 6])

    References:
        - Wang et al., "DCN V2: Improved Deep & Cross Network and Practical Lessons for
          Web-scale Learning to Rank Systems", WWW 2021 (Sec. 5).
          https://arxiv.org/abs/2008.13535
    """

    def __init__(self, num_experts: int = 4, low_rank: int = 32, activation="tanh",
                 use_bias: bool = True, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("num_experts", num_experts), ("low_rank", low_rank)):
            if int(value) != value or value < 1:
                raise ValueError(f"`{name}` must be a positive integer. "
                                 f"Received: {name}={value}")
        if l2 < 0:
            raise ValueError(f"`l2` must be >= 0. Received: l2={l2}")
        self.num_experts = int(num_experts)
        self.low_rank = int(low_rank)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.l2 = float(l2)

    def build(self, input_shape):
        shape = _x0_shape(input_shape)
        if shape.rank != 2 or shape[-1] is None:
            raise ValueError("`CrossMixture` expects inputs of shape (batch, d) with a "
                             f"known d. Received: input_shape={shape}")
        dim, experts, rank = int(shape[-1]), self.num_experts, self.low_rank
        regularizer = keras.regularizers.L2(self.l2) if self.l2 else None
        self.down_kernel = self.add_weight(name="down_kernel", shape=(experts, dim, rank),
                                           initializer="glorot_uniform",
                                           regularizer=regularizer)
        self.mid_kernel = self.add_weight(name="mid_kernel", shape=(experts, rank, rank),
                                          initializer="glorot_uniform",
                                          regularizer=regularizer)
        self.up_kernel = self.add_weight(name="up_kernel", shape=(experts, rank, dim),
                                         initializer="glorot_uniform",
                                         regularizer=regularizer)
        self.bias = (self.add_weight(name="bias", shape=(experts, dim), initializer="zeros")
                     if self.use_bias else None)
        self.gate_kernel = self.add_weight(name="gate_kernel", shape=(dim, experts),
                                           initializer="glorot_uniform",
                                           regularizer=regularizer)
        super().build(input_shape)

    def call(self, x0, x=None):
        if x is None and isinstance(x0, (list, tuple)):
            x0, x = x0
        if x is None:
            x = x0
        low = self.activation(tf.einsum("bd,edr->ber", x, self.down_kernel))
        low = self.activation(tf.einsum("ber,ers->bes", low, self.mid_kernel))
        up = tf.einsum("bes,esd->bed", low, self.up_kernel)
        if self.bias is not None:
            up = up + self.bias
        experts = x0[:, None, :] * up
        gates = tf.nn.softmax(tf.matmul(x, self.gate_kernel), axis=-1)
        return tf.einsum("be,bed->bd", gates, experts) + x

    def compute_output_shape(self, input_shape):
        return _x0_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "num_experts": self.num_experts,
                "low_rank": self.low_rank,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias, "l2": self.l2}


def _x0_shape(input_shape) -> tf.TensorShape:
    """The shape of ``x0``, from its own shape or from the shapes of ``[x0, x]``."""
    if isinstance(input_shape, (list, tuple)) and input_shape and not isinstance(
            input_shape[0], (int, type(None))):
        input_shape = input_shape[0]
    return tf.TensorShape(input_shape)
