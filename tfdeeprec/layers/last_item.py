"""LastItem: the latest item of right-aligned, 0-padded histories."""

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register


@register
class LastItem(keras.layers.Layer):
    """``outputs[b] = inputs[b, -1]``: the latest item of each history (or the state at
    the latest position of ``[batch, length, dim]`` states).

    Histories are right-aligned (the latest item in the last column, 0-padding in
    front), so an empty history gives 0, the padding / OOV index.

    Input shape: ``(batch, length, ...)``. Output shape: ``(batch, ...)``.

    Example:

    >>> LastItem()(tf.constant([[0, 3, 5], [0, 0, 0]])).numpy().tolist()
    [5, 0]
    """

    def call(self, inputs):
        return inputs[:, -1]

    def compute_output_shape(self, input_shape):
        shape = tf.TensorShape(input_shape)
        return shape[:1].concatenate(shape[2:])

    def get_config(self):
        return super().get_config()
