"""FMInteraction: the factorization machine's second-order term over field embeddings."""

from __future__ import annotations

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register


@register
class FMInteraction(keras.layers.Layer):
    """The sum of ``<v_i, v_j>`` over all field pairs ``i < j``, in ``O(F * k)``.

    ``outputs = 0.5 * sum_k((sum_f v_fk)^2 - sum_f v_fk^2)``, Rendle's rewriting of the
    pairwise sum ``sum_{i<j} <v_i, v_j>`` (the FM part of DeepFM). With
    ``reduce_sum=False`` the sum over ``k`` is left out: the ``k``-vector
    ``0.5 * ((sum_f v_f)^2 - sum_f v_f^2)`` is NFM's bi-interaction pooling.

    The layer has no weights.

    Args:
        reduce_sum: sum over the embedding dimension (the FM term, ``(batch, 1)``) or
            keep it (the bi-interaction vector, ``(batch, k)``). Default ``True``.

    Call arguments:
        inputs: float field embeddings ``(batch, F, k)``, one row per field.

    Input shape: ``(batch, F, k)``.
    Output shape: ``(batch, 1)``, or ``(batch, k)`` when ``reduce_sum=False``.

    Example:

    >>> inputs = keras.Input((3, 4))
    >>> FMInteraction()(inputs).shape
    TensorShape([None, 1])
    >>> FMInteraction()(tf.constant([[[1., 2.], [3., 4.]]])).numpy().tolist()
    [[11.0]]

    References:
        - Rendle, "Factorization Machines", ICDM 2010.
          https://doi.org/10.1109/ICDM.2010.127
        - He & Chua, "Neural Factorization Machines for Sparse Predictive Analytics",
          SIGIR 2017. https://arxiv.org/abs/1708.05027
    """

    def __init__(self, reduce_sum: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.reduce_sum = bool(reduce_sum)

    def build(self, input_shape):
        _check_rank_3(input_shape)
        super().build(input_shape)

    def call(self, inputs):
        square_of_sum = tf.square(tf.reduce_sum(inputs, axis=1))
        sum_of_squares = tf.reduce_sum(tf.square(inputs), axis=1)
        pairs = 0.5 * (square_of_sum - sum_of_squares)
        if self.reduce_sum:
            return tf.reduce_sum(pairs, axis=-1, keepdims=True)
        return pairs

    def compute_output_shape(self, input_shape):
        shape = tf.TensorShape(input_shape)
        return tf.TensorShape([shape[0], 1 if self.reduce_sum else shape[-1]])

    def get_config(self):
        return {**super().get_config(), "reduce_sum": self.reduce_sum}


def _check_rank_3(input_shape):
    shape = tf.TensorShape(input_shape)
    if shape.rank != 3:
        raise ValueError("`FMInteraction` expects field embeddings of shape "
                         f"(batch, F, k). Received: input_shape={shape}")
