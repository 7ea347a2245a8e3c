"""PositionEmbedding: adds a learned vector per sequence position."""

from __future__ import annotations

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register


@register
class PositionEmbedding(keras.layers.Layer):
    """``outputs[b, t] = inputs[b, t] + p_t``, one learned ``p_t`` per position ``t``.

    Sequences are right-aligned (the latest item last), so ``p`` of the last column
    always marks the latest item, whatever the history's length (SASRec's convention).
    An input shorter than the one the layer was built for gets the last positions'
    vectors: it is the wider input less leading (padding) columns.

    Args:
        embeddings_initializer: Default ``RandomNormal(stddev=0.02)``.

    Input shape: ``(batch, length, dim)`` with a known ``length``. Output: the same.

    Example:

    >>> layer = PositionEmbedding(embeddings_initializer="ones")
    >>> layer(tf.zeros((1, 3, 2))).numpy().tolist()
    [[[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]]
    >>> layer(tf.zeros((1, 1, 2))).numpy().tolist()
    [[[1.0, 1.0]]]
    """

    def __init__(self, embeddings_initializer=None, **kwargs):
        super().__init__(**kwargs)
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer or keras.initializers.RandomNormal(stddev=0.02))

    def build(self, input_shape):
        length, dim = input_shape[-2], input_shape[-1]
        if length is None or dim is None:
            raise ValueError("PositionEmbedding needs a known length and width. "
                             f"Received: input_shape={input_shape}")
        self.positions = self.add_weight(name="positions", shape=(int(length), int(dim)),
                                         initializer=self.embeddings_initializer)
        super().build(input_shape)

    def call(self, inputs):
        positions = self.positions[-tf.shape(inputs)[-2]:]
        return inputs + tf.cast(positions, inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "embeddings_initializer":
                keras.initializers.serialize(self.embeddings_initializer)}
