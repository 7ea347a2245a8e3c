"""Mult-DAE and Mult-VAE: autoencoders of the user's item row with a multinomial likelihood.

Reference: Liang, Krishnan, Hoffman & Jebara, "Variational Autoencoders for Collaborative
Filtering", WWW 2018 (RecBole's ``MultiDAE`` and ``MultiVAE``).

Input ``user_row``: float32 ``[batch, num_items]``, the user's training items (multi-hot).
The row is scaled to unit length, dropped out in training (``dropout_rate``), and
encoded by tanh layers (``hidden_units``) to a code of ``latent_dim``; the decoder mirrors
the encoder back to one score per item. Output: ``[batch, num_items]`` logits whose
softmax is the user's distribution over items.

* Mult-DAE: the code is a linear layer (RecBole's; ``code_activation="tanh"``: the
  paper's); the loss is the multinomial log-likelihood
  (:class:`~tfdeeprec.layers.ReconstructionLoss`) plus ``l2`` on the weights.
* Mult-VAE: the encoder gives a mean and a log-variance; training samples the code and
  adds ``beta * KL`` with ``beta`` annealed from 0 to ``anneal_cap`` over
  ``anneal_steps`` training steps (:class:`~tfdeeprec.layers.GaussianLatent`); scoring
  uses the mean.

Defaults, RecBole's (the paper's but for the code, 200 there, for a catalogue of 20,000
items): one hidden layer of 600, a code of 64, input dropout 0.5, ``beta`` capped at 0.2
and annealed over 200,000 steps (Mult-VAE), no weight penalty (Mult-DAE's ``l2``: the
paper used 0.01 / 2 per weight matrix).
"""

from __future__ import annotations

from collections.abc import Sequence

from tfdeeprec._keras import keras
from tfdeeprec.layers.gaussian_latent import GaussianLatent
from tfdeeprec.layers.reconstruction_loss import ReconstructionLoss
from tfdeeprec.layers.stateless_dropout import StatelessDropout
from tfdeeprec.models._common import check_implicit_args, check_rate
from tfdeeprec.models._row import row_input

CODE_ACTIVATIONS = ("tanh", None)


def build_mult_dae(num_users: int, num_items: int, *, hidden_units: Sequence[int] = (600,),
                   latent_dim: int = 64, dropout_rate: float = 0.5, l2: float = 0.0,
                   code_activation: str | None = None, task: str = "implicit",
                   name: str = "mult_dae") -> keras.Model:
    """The Mult-DAE: ``user_row -> [b, num_items]`` logits.

    >>> import numpy as np
    >>> build_mult_dae(3, 5, hidden_units=[4], latent_dim=2)(np.ones([1, 5], "float32")).shape
    TensorShape([1, 5])
    """
    regulariser = keras.regularizers.L2(l2) if l2 else None
    rows, x = _encode(num_users, num_items, "Mult-DAE", hidden_units, latent_dim,
                      dropout_rate, task, regulariser)
    if code_activation not in CODE_ACTIVATIONS:
        raise ValueError(f"`code_activation` must be one of {CODE_ACTIVATIONS}. Received: "
                         f"code_activation={code_activation!r}")
    code = keras.layers.Dense(latent_dim, activation=code_activation,
                              kernel_regularizer=regulariser, name="code")(x)
    return _decode(rows, code, num_items, hidden_units, regulariser, name)


def build_mult_vae(num_users: int, num_items: int, *, hidden_units: Sequence[int] = (600,),
                   latent_dim: int = 64, dropout_rate: float = 0.5,
                   anneal_steps: int = 200_000, anneal_cap: float = 0.2,
                   task: str = "implicit", name: str = "mult_vae") -> keras.Model:
    """The Mult-VAE: ``user_row -> [b, num_items]`` logits (the code's mean decoded).

    >>> import numpy as np
    >>> build_mult_vae(3, 5, hidden_units=[4], latent_dim=2)(np.ones([1, 5], "float32")).shape
    TensorShape([1, 5])
    """
    rows, x = _encode(num_users, num_items, "Mult-VAE", hidden_units, latent_dim,
                      dropout_rate, task, None)
    mean = keras.layers.Dense(latent_dim, name="code_mean")(x)
    log_var = keras.layers.Dense(latent_dim, name="code_log_var")(x)
    code = GaussianLatent(int(anneal_steps), float(anneal_cap), dtype="float32",
                          name="code")([mean, log_var])
    return _decode(rows, code, num_items, hidden_units, None, name)


def _encode(num_users, num_items, model, hidden_units, latent_dim, dropout_rate, task,
            regulariser):
    """The input, scaled to unit length and dropped out in training, through the
    encoder's tanh hidden layers."""
    check_implicit_args(model, num_users, num_items, task, latent_dim=latent_dim,
                         **{f"hidden_units[{i}]": u for i, u in enumerate(hidden_units)})
    if not hidden_units:
        raise ValueError(f"`hidden_units` must name at least one layer for {model}. "
                         f"Received: hidden_units={hidden_units!r}")
    rows = row_input(num_items)
    x = keras.layers.UnitNormalization(name="row_normalised")(rows)
    x = StatelessDropout(check_rate("dropout_rate", dropout_rate), name="row_dropout")(x)
    for i, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, activation="tanh", kernel_regularizer=regulariser,
                               name=f"encoder_{i}")(x)
    return rows, x


def _decode(rows, code, num_items, hidden_units, regulariser, name):
    x = code
    for i, units in enumerate(reversed(hidden_units)):
        x = keras.layers.Dense(units, activation="tanh", kernel_regularizer=regulariser,
                               name=f"decoder_{i}")(x)
    scores = keras.layers.Dense(num_items, kernel_regularizer=regulariser, name="item_scores")(x)
    scores = ReconstructionLoss("multinomial", dtype="float32",
                                name="multinomial_likelihood")([scores, rows])
    return keras.Model(rows, scores, name=name)


