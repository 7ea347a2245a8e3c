"""ScalarBias: adds one learned scalar (e.g. the global mean rating) to its input."""

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register


@register
class ScalarBias(keras.layers.Layer):
    """``outputs = inputs + b`` with a single trainable scalar ``b``.

    Args:
        initial_value: starting value of ``b``, e.g. the training mean rating. Default 0.

    Input shape: any. Output shape: same as input.

    Example:

    >>> ScalarBias(3.5)(tf.zeros((2, 1))).numpy().ravel().tolist()
    [3.5, 3.5]
    """

    def __init__(self, initial_value: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_value = float(initial_value)

    def build(self, input_shape):
        self.bias = self.add_weight(
            name="bias", shape=(),
            initializer=keras.initializers.Constant(self.initial_value), trainable=True)
        super().build(input_shape)

    def call(self, inputs):
        return inputs + tf.cast(self.bias, inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "initial_value": self.initial_value}
