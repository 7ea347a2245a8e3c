"""RatingClip: clips predicted ratings to the rating range at inference only."""

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register


@register
class RatingClip(keras.layers.Layer):
    """Identity while training (so gradients flow), ``clip(x, low, high)`` otherwise.

    Args:
        low, high: the rating range, ``low < high``; e.g. ``1.0`` and ``5.0``.

    Input shape: any. Output shape: same as input.

    Example:

    >>> RatingClip(1.0, 5.0)(tf.constant([0.2, 3.0, 7.0])).numpy().tolist()
    [1.0, 3.0, 5.0]
    """

    def __init__(self, low: float = 1.0, high: float = 5.0, **kwargs):
        super().__init__(**kwargs)
        if not low < high:
            raise ValueError(f"`low` must be below `high`. Received: low={low}, high={high}")
        self.low = float(low)
        self.high = float(high)

    def call(self, inputs, training=None):
        if training:
            return inputs
        return tf.clip_by_value(inputs, self.low, self.high)

    def get_config(self):
        return {**super().get_config(), "low": self.low, "high": self.high}
