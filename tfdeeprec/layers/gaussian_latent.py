"""GaussianLatent: a VAE's latent code, sampled in training, its mean otherwise, with the
annealed KL penalty added as a loss."""

from __future__ import annotations

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register


@register
class GaussianLatent(keras.layers.Layer):
    """``[mean, log_var]`` (each ``[b, d]``) -> ``z`` ``[b, d]``.

    In training, ``z = mean + exp(log_var / 2) * eps`` with ``eps ~ N(0, I)`` (the
    reparameterisation trick), and the layer adds ``beta * KL`` as a loss, where ``KL``
    is the batch mean of ``-1/2 sum(1 + log_var - mean^2 - exp(log_var))`` (the KL
    divergence of ``N(mean, exp(log_var))`` from ``N(0, I)``) and ``beta = min(cap, step
    / anneal_steps)`` grows with the training steps taken (Liang et al.'s KL annealing,
    Mult-VAE, WWW 2018). Otherwise ``z = mean``: scores are deterministic.

    Args:
        anneal_steps (int): the steps over which ``beta`` grows from 0 towards 1.
        anneal_cap (float): the largest ``beta``, in ``[0, 1]``.

    Example:

    >>> layer = GaussianLatent(anneal_steps=10, anneal_cap=0.2)
    >>> mean, log_var = tf.ones([2, 3]), tf.zeros([2, 3])
    >>> layer([mean, log_var]).numpy().tolist()
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    def __init__(self, anneal_steps: int, anneal_cap: float, **kwargs):
        super().__init__(**kwargs)
        if isinstance(anneal_steps, bool) or not isinstance(anneal_steps, int) \
                or anneal_steps < 1:
            raise ValueError(f"`anneal_steps` must be a positive integer. Received: "
                             f"anneal_steps={anneal_steps!r}")
        if not 0.0 <= anneal_cap <= 1.0:
            raise ValueError(f"`anneal_cap` must be in [0, 1]. Received: "
                             f"anneal_cap={anneal_cap!r}")
        self.anneal_steps, self.anneal_cap = int(anneal_steps), float(anneal_cap)

    def build(self, input_shape):
        self.step = self.add_weight(name="step", shape=(), dtype=tf.int64,
                                    initializer="zeros", trainable=False,
                                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        super().build(input_shape)

    def beta(self):
        """The KL weight of the next training step."""
        return tf.minimum(self.anneal_cap,
                          tf.cast(self.step, tf.float32) / float(self.anneal_steps))

    def call(self, inputs, training=None):
        mean, log_var = inputs
        if not training:
            return mean
        kl = -0.5 * tf.reduce_mean(tf.reduce_sum(
            1.0 + log_var - tf.square(mean) - tf.exp(log_var), axis=-1))
        self.add_loss(self.beta() * kl)
        self.step.assign_add(1)
        return mean + tf.exp(0.5 * log_var) * tf.random.normal(tf.shape(mean))

    def get_config(self):
        return {**super().get_config(), "anneal_steps": self.anneal_steps,
                "anneal_cap": self.anneal_cap}
