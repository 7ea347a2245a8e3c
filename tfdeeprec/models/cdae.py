"""CDAE: a denoising autoencoder of the user's item row with a vector of its own per user.

Reference: Wu, DuBois, Zheng & Ester, "Collaborative Denoising Auto-Encoders for Top-N
Recommender Systems", WSDM 2016 (RecBole's ``CDAE``).

Inputs: ``user_row`` (float32 ``[batch, num_items]``, the user's training items,
multi-hot) and ``user_id`` (int32 ``[batch]``). In training the row is corrupted by
dropout (``corruption_rate``); the hidden layer is ``activation(row @ W + b + V_user)``
with ``embedding_dim`` units, and the output ``h @ W' + b'`` scores every item (logits).
The loss is the binary cross-entropy of every item's score against the row, summed over
the items (:class:`~tfdeeprec.layers.ReconstructionLoss`), plus ``l2`` on ``W``, ``W'``
and the user vectors.

The OOV user (index 0) has the zero vector, kept at zero (no training row reads it): an
anonymous user folded in from its items (``recommend_from_items``) is scored with no
user vector. Defaults, RecBole's: 64 units, ReLU, corruption 0.5; ``l2 = 1e-4``
(RecBole penalises the weights' L2 norms, not their squares, with 0.01).
"""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import keras
from tfdeeprec.data import schema
from tfdeeprec.layers.reconstruction_loss import ReconstructionLoss
from tfdeeprec.layers.stateless_dropout import StatelessDropout
from tfdeeprec.models._common import check_implicit_args, check_non_negative, check_rate
from tfdeeprec.models._row import row_input

ACTIVATIONS = ("relu", "tanh", "sigmoid")


def build_cdae(num_users: int, num_items: int, *, embedding_dim: int = 64,
               corruption_rate: float = 0.5, activation: str = "relu", l2: float = 1e-4,
               task: str = "implicit", name: str = "cdae") -> keras.Model:
    """The CDAE: ``{user_row, user_id} -> [b, num_items]`` logits.

    >>> model = build_cdae(3, 5, embedding_dim=2)
    >>> model({"user_row": np.ones([1, 5], "float32"), "user_id": np.array([1])}).shape
    TensorShape([1, 5])
    """
    check_implicit_args("CDAE", num_users, num_items, task, embedding_dim=embedding_dim)
    if activation not in ACTIVATIONS:
        raise ValueError(f"`activation` must be one of {ACTIVATIONS}. Received: "
                         f"activation={activation!r}")
    check_non_negative(l2=l2)
    regulariser = keras.regularizers.L2(l2) if l2 else None
    rows = row_input(num_items)
    users = keras.Input(shape=(), dtype="int32", name=schema.USER_ID)
    corrupted = StatelessDropout(check_rate("corruption_rate", corruption_rate),
                                 name="row_corruption")(rows)
    from_items = keras.layers.Dense(embedding_dim, kernel_regularizer=regulariser,
                                    name="item_weights")(corrupted)
    user_vectors = keras.layers.Embedding(
        num_users, embedding_dim, embeddings_initializer="glorot_normal",
        embeddings_regularizer=regulariser, name="user_embedding")
    hidden = keras.layers.Activation(activation, name="hidden")(
        keras.layers.Add(name="with_user")([from_items, user_vectors(users)]))
    scores = keras.layers.Dense(num_items, kernel_regularizer=regulariser,
                                name="item_scores")(hidden)
    scores = ReconstructionLoss("bce", dtype="float32", name="bce_likelihood")([scores, rows])
    model = keras.Model({schema.USER_ROW: rows, schema.USER_ID: users}, scores, name=name)
    table = user_vectors.embeddings
    table.assign(np.concatenate([np.zeros((1, embedding_dim), np.float32),
                                 table.numpy()[1:]]))  # the OOV user: no vector
    return model
