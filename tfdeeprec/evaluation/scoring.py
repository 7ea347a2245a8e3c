"""Score functions for the evaluators: every item for a batch of users, from a model."""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data import schema


def model_score_fn(model, num_items: int):
    """Wraps a ``{user_id, item_id} -> score`` Keras model as a full-ranking ``score_fn``.

    The returned function scores every item index ``0 .. num_items - 1`` for each
    user in one compiled call: ``users [b] -> scores [b, num_items]``.

    Example:

    >>> from tfdeeprec.models.mf import build_mf
    >>> score_fn = model_score_fn(build_mf(4, 6, embedding_dim=2), num_items=6)
    >>> score_fn(np.array([1, 3], np.int32)).shape
    (2, 6)
    """
    items = tf.range(num_items, dtype=tf.int32)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
    def _scores(users):
        b = tf.shape(users)[0]
        pair_users = tf.repeat(users, num_items)
        pair_items = tf.tile(items, [b])
        scores = model({schema.USER_ID: pair_users, schema.ITEM_ID: pair_items},
                       training=False)
        return tf.reshape(scores, [b, num_items])

    return lambda users: _scores(tf.convert_to_tensor(np.asarray(users, np.int32))).numpy()


def embedding_score_fn(user_embeddings, item_embeddings):
    """``users -> user_embeddings[users] @ item_embeddings.T`` for factorised models.

    >>> f = embedding_score_fn(np.eye(3, 2, dtype="float32"), np.eye(4, 2, dtype="float32"))
    >>> f(np.array([1])).tolist()
    [[0.0, 1.0, 0.0, 0.0]]
    """
    users_table = tf.constant(user_embeddings)
    items_table = tf.constant(item_embeddings)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
    def _scores(users):
        return tf.matmul(tf.gather(users_table, users), items_table, transpose_b=True)

    return lambda users: _scores(tf.convert_to_tensor(np.asarray(users, np.int32))).numpy()
