"""PairDense: a Dense layer over ``[p_u, q_i]`` kept in its user half and its item half."""

from __future__ import annotations

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register
from tfdeeprec.layers.mlp import check_dropout_rate


@register
class PairDense(keras.layers.Layer):
    """``activation(p_u W_u + q_i W_i + b)``: the first layer of an MLP over a user's and
    an item's embeddings, equal to ``Dense`` on their concatenation.

    The layer owns both embedding tables and keeps the kernel in its user half ``W_u``
    and its item half ``W_i``, so full ranking computes ``p_u W_u`` once per user and
    ``q_i W_i + b`` once per item (``project_users``, ``project_items``;
    ``tfdeeprec.models.rankers``) instead of once per (user, item) pair. Training costs
    what ``Dense`` on the concatenation costs. (Projecting only a batch's distinct IDs
    measured no faster on CPU: the gradient's segment sums cost what the matmul saves.)

    Args:
        num_users, num_items: table sizes (index 0 is the OOV slot).
        embedding_dim: width of each table.
        units: output width.
        activation: Default ``"relu"``.
        l2: penalty on the looked-up rows, ``l2 * mean_over_batch(|p_u|^2)`` and the same
            for items (as ``Embedding(activity_regularizer=L2(l2))`` would add).
        dropout_rate: dropout on the looked-up rows in training (dropout on the
            concatenated input of Dense), in ``[0, 1)``. Default 0.
        stddev: the tables' normal initialiser. Default 0.01.

    Call arguments:
        inputs: a list ``[user_ids, item_ids]`` of int32 ``(batch,)`` tensors.

    Output shape: ``(batch, units)``.

    Example:

    >>> import numpy as np
    >>> layer = PairDense(4, 5, embedding_dim=3, units=2)
    >>> layer([np.array([1, 1, 2]), np.array([4, 0, 4])]).shape
    TensorShape([3, 2])
    """

    def __init__(self, num_users: int, num_items: int, *, embedding_dim: int, units: int,
                 activation="relu", l2: float = 0.0, stddev: float = 0.01,
                 dropout_rate: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_users, self.num_items = int(num_users), int(num_items)
        self.embedding_dim, self.units = int(embedding_dim), int(units)
        for name, value in (("embedding_dim", self.embedding_dim), ("units", self.units)):
            if value < 1:
                raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value}")
        if l2 < 0:
            raise ValueError(f"`l2` must be >= 0. Received: l2={l2}")
        self.dropout_rate = check_dropout_rate(dropout_rate)
        self.dropout = keras.layers.Dropout(dropout_rate) if dropout_rate else None
        self.activation = keras.activations.get(activation)
        self.l2, self.stddev = float(l2), float(stddev)

    def build(self, input_shape):
        self.user_embeddings = self.add_weight(
            name="user_embeddings", shape=(self.num_users, self.embedding_dim),
            initializer=keras.initializers.RandomNormal(stddev=self.stddev))
        self.item_embeddings = self.add_weight(
            name="item_embeddings", shape=(self.num_items, self.embedding_dim),
            initializer=keras.initializers.RandomNormal(stddev=self.stddev))
        # One glorot kernel over the concatenation, split in two: the same initial
        # distribution as Dense on [p_u, q_i].
        self.user_kernel = self.add_weight(
            name="user_kernel", shape=(self.embedding_dim, self.units),
            initializer=_half_of_glorot(2 * self.embedding_dim, self.units))
        self.item_kernel = self.add_weight(
            name="item_kernel", shape=(self.embedding_dim, self.units),
            initializer=_half_of_glorot(2 * self.embedding_dim, self.units))
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        super().build(input_shape)

    def call(self, inputs, training=None):
        users, items = inputs
        user_part, user_penalty = self._project(self.user_embeddings, self.user_kernel, users,
                                                training)
        item_part, item_penalty = self._project(self.item_embeddings, self.item_kernel, items,
                                                training)
        if self.l2:
            batch = tf.cast(tf.shape(users)[0], self.compute_dtype)
            self.add_loss(self.l2 * (user_penalty + item_penalty) / batch)
        return self.activation(tf.nn.bias_add(user_part + item_part, self.bias))

    def project_users(self, users):
        """``p_u W_u`` for ``users`` ``(b,)`` -> ``(b, units)`` (no bias, no activation)."""
        return tf.matmul(tf.gather(self.user_embeddings, users), self.user_kernel)

    def project_items(self, num_items: int):
        """``q_i W_i + b`` for items ``0 .. num_items - 1`` -> ``(num_items, units)``."""
        return tf.nn.bias_add(tf.matmul(self.item_embeddings[:num_items], self.item_kernel),
                              self.bias)

    def _project(self, table, kernel, ids, training):
        rows = tf.gather(table, tf.cast(tf.reshape(ids, [-1]), tf.int32))
        penalty = tf.reduce_sum(rows * rows) if self.l2 else None
        if self.dropout is not None:
            rows = self.dropout(rows, training=training)
        return tf.matmul(rows, kernel), penalty

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.units)

    def get_config(self):
        return {**super().get_config(), "num_users": self.num_users,
                "num_items": self.num_items, "embedding_dim": self.embedding_dim,
                "units": self.units, "activation": keras.activations.serialize(self.activation),
                "l2": self.l2, "stddev": self.stddev, "dropout_rate": self.dropout_rate}


def _half_of_glorot(fan_in: int, fan_out: int):
    limit = (6.0 / (fan_in + fan_out)) ** 0.5
    return keras.initializers.RandomUniform(-limit, limit)
