"""AutoRec: an autoencoder of an item's (I-AutoRec) or a user's (U-AutoRec) rating row.

Reference: Sedhain, Menon, Sanner & Xie, "AutoRec: Autoencoders Meet Collaborative
Filtering", WWW 2015.

Inputs: ``user_id``, ``item_id`` (int32 indices, 0 = OOV). Output ``score``: a rating
(task ``"rating"``) or a logit (task ``"implicit"``).

The pair ``(u, i)`` looks up a row of the training matrix ``ratings``, held as a
constant, non-trainable table (the layer ``item_ratings`` or ``user_ratings``):
``side="item"``, I-AutoRec, item ``i``'s ratings by every user; ``side="user"``,
U-AutoRec, user ``u``'s ratings of every item. It encodes the row as
``h = sigmoid(r V + b)`` and scores the reconstruction's entry at the other index ``j``
of the pair: ``h . W_j + b'_j`` (``W_j``, ``b'_j``: the decoder's column ``j``, held as
rows of the embeddings ``decoder`` and ``decoder_bias``, so only that entry is
computed), plus the global mean and clipped to the rating range for ratings. Trained on
(user, item, rating) pairs with MSE this is the paper's objective, the error on observed
entries only, with an L2 penalty ``l2`` on ``V`` and ``W`` (the paper's ``lambda / 2``,
here added to each batch's mean squared error). The OOV row and the OOV decoder column
are zero: an unknown index on the encoded side is encoded from an empty row, one on the
decoder side scores the global mean. The table is dense: ``num_users * num_items``
floats (6 MB for ml-100k).

Defaults, the paper's: 500 hidden units, sigmoid encoder, identity decoder; I-AutoRec
(better than U-AutoRec for ratings, in the paper and on ml-100k). ``l2 = 1e-3``: the
best validation RMSE on ml-100k (8:1:1 per user) at 1024 ratings a batch, of those tried.
"""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import keras
from tfdeeprec.data import schema
from tfdeeprec.models._common import (check_non_negative, check_positive_ints, check_sizes,
                                      check_task, finish_score, id_inputs)

SIDES = ("item", "user")
# The table's layer: the encoded side's rows (rankers read which side from its name).
TABLES = {"item": "item_ratings", "user": "user_ratings"}


def build_autorec(num_users: int, num_items: int, *, ratings=None, side: str = "item",
                  hidden_units: int = 500, l2: float = 1e-3, task: str = "rating",
                  rating_range=None, global_mean: float = 0.0,
                  name: str = "autorec") -> keras.Model:
    """Builds I-AutoRec (``side="item"``) or U-AutoRec (``side="user"``).

    Args:
        ratings: float ``[num_users, num_items]``, the training ratings (task
            ``"implicit"``: 1 for every training pair), 0 where unknown and in the OOV
            row and column (:func:`rating_matrix`); ``None``: an empty matrix.
        side (str): whose rows are encoded, ``"item"`` or ``"user"``. Default ``"item"``.
        hidden_units (int): the code's width. Default 500.
        l2 (float): the L2 penalty on the encoder's and decoder's weights, added to
            each batch's loss. Default 1e-3.

    The table holds ``ratings`` exactly (the pair's row, with the OOV user's and item's
    zeros):

    >>> r = np.zeros([3, 4], "float32"); r[1, 2], r[2, 2] = 4.0, 2.0
    >>> model = build_autorec(3, 4, ratings=r, hidden_units=2)
    >>> model.get_layer("item_ratings").embeddings.numpy()[2].tolist()
    [0.0, 4.0, 2.0]
    >>> model({"user_id": np.array([1, 0]), "item_id": np.array([2, 3])}).shape
    TensorShape([2])
    """
    check_task(task)
    check_sizes(num_users, num_items)
    if side not in SIDES:
        raise ValueError(f"`side` must be one of {SIDES}. Received: side={side!r}")
    check_positive_ints(hidden_units=hidden_units)
    check_non_negative(l2=l2)
    table = _check_ratings(ratings, num_users, num_items)
    if side == "item":
        table = table.T
    rows, width = table.shape
    inputs = id_inputs()
    row_id, other_id = ((inputs[schema.ITEM_ID], inputs[schema.USER_ID]) if side == "item"
                        else (inputs[schema.USER_ID], inputs[schema.ITEM_ID]))
    regulariser = keras.regularizers.L2(l2) if l2 else None
    lookup = keras.layers.Embedding(rows, width, embeddings_initializer="zeros",
                                    trainable=False, name=TABLES[side])
    code = keras.layers.Dense(hidden_units, activation="sigmoid", kernel_regularizer=regulariser,
                              name="encoder")(lookup(row_id))
    decoder = keras.layers.Embedding(width, hidden_units, name="decoder",
                                     embeddings_initializer="glorot_uniform",
                                     embeddings_regularizer=regulariser)
    decoder_bias = keras.layers.Embedding(width, 1, embeddings_initializer="zeros",
                                          name="decoder_bias")
    x = keras.layers.Dot(axes=1, name="reconstruction")([code, decoder(other_id)])
    x = keras.layers.Add(name="score")([x, decoder_bias(other_id)])
    out = finish_score(x, task=task, rating_range=rating_range, global_mean=global_mean)
    model = keras.Model(inputs, out, name=name)
    lookup.embeddings.assign(table)
    kernel = decoder.embeddings
    kernel.assign(np.concatenate([np.zeros((1, hidden_units), np.float32),
                                  kernel.numpy()[1:]]))  # the OOV column: no decoder weights
    return model


def rating_matrix(users, items, ratings, num_users: int, num_items: int) -> np.ndarray:
    """The dense float32 ``[num_users, num_items]`` matrix of the pairs' ratings (``None``:
    1 for every pair), 0 elsewhere; of a pair listed twice, the last rating.

    >>> rating_matrix(np.array([1, 2]), np.array([2, 1]), np.array([5.0, 3.0]), 3, 3)
    array([[0., 0., 0.],
           [0., 0., 5.],
           [0., 3., 0.]], dtype=float32)
    """
    matrix = np.zeros((num_users, num_items), np.float32)
    matrix[np.asarray(users), np.asarray(items)] = 1.0 if ratings is None else ratings
    return matrix


def _check_ratings(ratings, num_users: int, num_items: int) -> np.ndarray:
    if ratings is None:
        return np.zeros((num_users, num_items), np.float32)
    table = np.asarray(ratings, np.float32)
    if table.shape != (num_users, num_items):
        raise ValueError(f"`ratings` must be [num_users={num_users}, num_items={num_items}]. "
                         f"Received: ratings of shape {list(table.shape)}")
    if not np.isfinite(table).all():
        raise ValueError("`ratings` must be finite. Received: ratings with "
                         f"{int(np.count_nonzero(~np.isfinite(table)))} non-finite entries")
    oov = int(np.count_nonzero(table[0]) + np.count_nonzero(table[1:, 0]))
    if oov:
        raise ValueError("`ratings` must be 0 in row 0 and column 0 (the OOV user and "
                         f"item). Received: ratings with {oov} nonzero OOV entries")
    return table
