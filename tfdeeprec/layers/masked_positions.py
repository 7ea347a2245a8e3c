"""MaskedPositions: the states at the positions a mask selects, flattened."""

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register


@register
class MaskedPositions(keras.layers.Layer):
    """``[states, mask] -> states[mask > 0]``: the ``[n, dim]`` states of the positions
    where ``mask`` (``[batch, length]``) is positive, in row-major order (the order of
    ``tf.boolean_mask``), ``n`` varying from batch to batch.

    Training heads use it to score only the positions that have a target: the cost of
    a softmax over every item then follows the targets, not the window.

    Example:

    >>> states = tf.reshape(tf.range(12.0), [2, 3, 2])
    >>> MaskedPositions()([states, tf.constant([[0., 1., 1.], [1., 0., 0.]])]).numpy()
    array([[2., 3.],
           [4., 5.],
           [6., 7.]], dtype=float32)
    """

    def call(self, inputs):
        states, mask = inputs
        return tf.boolean_mask(states, tf.convert_to_tensor(mask) > 0)

    def compute_output_shape(self, input_shape):
        states = tf.TensorShape(input_shape[0])
        return tf.TensorShape([None]).concatenate(states[2:])

    def get_config(self):
        return super().get_config()
