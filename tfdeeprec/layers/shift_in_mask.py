"""ShiftInMask: drops a history's oldest column and appends a mask token (BERT4Rec)."""

from __future__ import annotations

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register


@register
class ShiftInMask(keras.layers.Layer):
    """``outputs = concat(inputs[:, 1:], mask_token)``: the latest ``length - 1`` items
    followed by the mask whose prediction is the next item (BERT4Rec's query).

    Args:
        mask_token: the index of the mask token.

    Example:

    >>> ShiftInMask(9)(tf.constant([[0, 4, 5]])).numpy().tolist()
    [[4, 5, 9]]
    """

    def __init__(self, mask_token: int, **kwargs):
        super().__init__(**kwargs)
        self.mask_token = int(mask_token)

    def call(self, inputs):
        mask = tf.fill(tf.shape(inputs[:, :1]), tf.cast(self.mask_token, inputs.dtype))
        return tf.concat([inputs[:, 1:], mask], axis=1)

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)

    def get_config(self):
        return {**super().get_config(), "mask_token": self.mask_token}
