"""ItemEmbedding: one item table for a sequence model's inputs and its output scores."""

from __future__ import annotations

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register


@register
class ItemEmbedding(keras.layers.Layer):
    """Looks items up, or scores states against every item: the same (tied) table.

    The table has ``num_items + extra_tokens`` rows: the items (row 0 is the padding /
    OOV index) and, after them, special tokens such as BERT4Rec's mask. Called on item
    indices it returns their rows; called with ``reverse=True`` on states ``[..., dim]``
    it returns ``states @ table[:num_items].T``, a score for every item (never for the
    special tokens), as SASRec, BERT4Rec and GRU4Rec tie their input and output.

    Args:
        num_items: items, the OOV / padding index 0 included.
        dim: the vector width.
        extra_tokens: rows after the items. Default 0.
        output_bias: add a learned bias per item to the scores. Default ``False``.
        mask_zero: a lookup also returns a Keras mask, ``inputs != 0``, so that layers
            such as ``GRU`` skip the padding. Default ``False``.
        embeddings_initializer: Default ``RandomNormal(stddev=0.02)`` (BERT's).

    Call arguments:
        inputs: int indices ``[...]``, or float states ``[..., dim]`` with ``reverse``.
        reverse: score against the items instead of looking up. Default ``False``.

    Example:

    >>> layer = ItemEmbedding(3, 2, extra_tokens=1)
    >>> layer(tf.constant([[1, 3]])).shape
    TensorShape([1, 2, 2])
    >>> _ = layer.embeddings.assign([[0., 0.], [1., 0.], [0., 2.], [9., 9.]])
    >>> layer(tf.constant([[1.0, 1.0]]), reverse=True).numpy().tolist()
    [[0.0, 1.0, 2.0]]
    """

    def __init__(self, num_items: int, dim: int, extra_tokens: int = 0,
                 output_bias: bool = False, mask_zero: bool = False,
                 embeddings_initializer=None, **kwargs):
        super().__init__(**kwargs)
        for name, value, least in (("num_items", num_items, 1), ("dim", dim, 1),
                                   ("extra_tokens", extra_tokens, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"`{name}` must be an integer >= {least}. "
                                 f"Received: {name}={value!r}")
        self.num_items = num_items
        self.dim = dim
        self.extra_tokens = extra_tokens
        self.output_bias = bool(output_bias)
        self.mask_zero = bool(mask_zero)
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer or keras.initializers.RandomNormal(stddev=0.02))

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            name="embeddings", shape=(self.num_items + self.extra_tokens, self.dim),
            initializer=self.embeddings_initializer)
        self.bias = (self.add_weight(name="bias", shape=(self.num_items,), initializer="zeros")
                     if self.output_bias else None)
        super().build(input_shape)

    def call(self, inputs, reverse: bool = False):
        if reverse:
            items = self.embeddings[:self.num_items]
            scores = tf.tensordot(inputs, tf.cast(items, inputs.dtype), [[-1], [1]])
            return scores if self.bias is None else scores + tf.cast(self.bias, scores.dtype)
        return tf.gather(self.embeddings, tf.cast(inputs, tf.int32))

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero or not inputs.dtype.is_integer:  # scores carry no mask
            return None
        return tf.not_equal(inputs, 0)

    def get_config(self):
        return {**super().get_config(), "num_items": self.num_items, "dim": self.dim,
                "extra_tokens": self.extra_tokens, "output_bias": self.output_bias,
                "mask_zero": self.mask_zero,
                "embeddings_initializer": keras.initializers.serialize(
                    self.embeddings_initializer)}
