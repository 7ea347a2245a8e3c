"""BPRLoss: Bayesian personalised ranking on score differences."""

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register


@register
class BPRLoss(keras.losses.Loss):
    """``-log sigmoid(s_pos - s_neg)``, averaged over the batch.

    ``y_pred`` is the difference ``s(u, i+) - s(u, i-)`` (see
    ``tfdeeprec.models.build_pairwise_trainer``); ``y_true`` is ignored, so a dataset
    may pass any label (the pairwise pipeline passes ones).

    Reference: Rendle et al., "BPR: Bayesian Personalized Ranking from Implicit
    Feedback", UAI 2009.

    Example:

    >>> round(float(BPRLoss()(tf.ones(2), tf.constant([0.0, 0.0]))), 6)
    0.693147
    """

    def __init__(self, name: str = "bpr_loss", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return tf.math.softplus(-tf.cast(y_pred, tf.float32))
