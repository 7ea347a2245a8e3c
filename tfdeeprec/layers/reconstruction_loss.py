"""ReconstructionLoss: an autoencoder's training loss of its scores against the user's row."""

from __future__ import annotations

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register

KINDS = ("multinomial", "bce")


@register
class ReconstructionLoss(keras.layers.Layer):
    """``[scores, user_row]`` (each ``[b, num_items]``) -> ``scores``, unchanged.

    In training it adds, as a loss, the batch mean of each user's

    * ``"multinomial"``: ``-sum_i row_i * log_softmax(scores)_i``, the multinomial
      log-likelihood of the user's items (Mult-DAE, Mult-VAE);
    * ``"bce"``: ``sum_i BCE(row_i, sigmoid(scores_i))`` over every item (CDAE).

    A model that ends in this layer is fitted on its inputs alone (no labels), compiled
    without a loss.

    Args:
        kind (str): ``"multinomial"`` or ``"bce"``.

    Example:

    >>> layer = ReconstructionLoss("multinomial")
    >>> scores, row = tf.math.log([[0.5, 0.25, 0.25]]), tf.constant([[0.0, 1.0, 1.0]])
    >>> _ = layer([scores, row], training=True)
    >>> round(float(layer.losses[0]), 4)  # -2 log 0.25
    2.7726
    """

    def __init__(self, kind: str, **kwargs):
        super().__init__(**kwargs)
        if kind not in KINDS:
            raise ValueError(f"`kind` must be one of {KINDS}. Received: kind={kind!r}")
        self.kind = kind

    def call(self, inputs, training=None):
        scores, row = inputs
        if training:
            if self.kind == "multinomial":
                per_user = -tf.reduce_sum(row * tf.nn.log_softmax(scores), axis=-1)
            else:
                per_user = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(
                    labels=row, logits=scores), axis=-1)
            self.add_loss(tf.reduce_mean(per_user))
        return scores

    def get_config(self):
        return {**super().get_config(), "kind": self.kind}
