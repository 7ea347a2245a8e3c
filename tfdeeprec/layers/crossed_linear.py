"""CrossedLinear: the wide part's weights for a crossed feature (category x category/genres)."""

from __future__ import annotations

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register


@register
class CrossedLinear(keras.layers.Layer):
    """A linear term over the cross of a categorical feature and a multi-hot feature.

    ``outputs = sum_j W[a, j] * b_j`` with one weight per (category of ``a``, slot of
    ``b``): the one-hot cross ``a x b`` of Wide & Deep's wide part (e.g.
    occupation x genre, user x genre), without hashing or materialising the cross.
    A categorical ``b`` can be passed as a one-hot vector.

    Args:
        num_categories: cardinality of ``a``.
        width: number of slots of ``b``.
        kernel_regularizer: Default ``None``.

    Call arguments: ``inputs = [a, b]`` with ``a`` int ``(batch,)`` and ``b`` float
    ``(batch, width)``.

    Output shape: ``(batch, 1)``.

    Example:

    >>> layer = CrossedLinear(2, 3)
    >>> layer.build(None)
    >>> _ = layer.kernel.assign([[1., 2., 3.], [4., 5., 6.]])
    >>> layer([tf.constant([1]), tf.constant([[1., 0., 1.]])]).numpy().tolist()
    [[10.0]]
    """

    def __init__(self, num_categories: int, width: int, kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if num_categories < 1 or width < 1:
            raise ValueError("`num_categories` and `width` must be positive. Received: "
                             f"num_categories={num_categories}, width={width}")
        self.num_categories = int(num_categories)
        self.width = int(width)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(self.num_categories, self.width),
                                      initializer="zeros", regularizer=self.kernel_regularizer)
        super().build(input_shape)

    def call(self, inputs):
        categories, slots = inputs
        rows = tf.gather(self.kernel, tf.cast(categories, tf.int32))
        return tf.reduce_sum(rows * tf.cast(slots, rows.dtype), axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 1)

    def get_config(self):
        return {**super().get_config(), "num_categories": self.num_categories,
                "width": self.width,
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer)}
