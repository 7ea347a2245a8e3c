"""Full-ranking scorers that do each user's and each item's work once.

Scoring every (user, item) pair through a pair model repeats work: NeuMF's first MLP
layer on ``[p_u, q_i]`` equals ``p_u W_u + q_i W_i``, so its user half can be computed
once per user and its item half once per item, GMF's and MF's scores are one matmul
against the item table, and I-AutoRec encodes each item's rating row once per ranking
instead of once per pair. A ranker reads the trained layers (by the names the builders
give them, so a reloaded model works too) and returns a ``score_fn``:
``users [b] -> scores [b, num_items]``, equal to scoring each pair through the model.

A model without a ranker, or whose layers are not the builder's, is scored pair by pair
(:func:`tfdeeprec.evaluation.model_score_fn`).

Example:

>>> import numpy as np
>>> from tfdeeprec.models.ncf import build_neumf
>>> model = build_neumf(5, 7, gmf_dim=4, mlp_dim=4, hidden_units=(8, 4))
>>> neumf_ranker(model, 7)(np.array([1, 2], np.int32)).shape
(2, 7)
"""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import tf

# Pairs scored per compiled call: of 2**14, 2**15 and 2**16, the fastest for NeuMF's
# ml-100k validation at one thread (big enough to amortise the call, small enough to keep
# the [pairs, width] activations from spilling far out of cache).
PAIRS_PER_CALL = 1 << 15


def mf_ranker(model, num_items: int):
    """Biased MF: ``p_u . q_i + b_u + b_i`` for all items in one matmul."""
    user, item = _table(model, "user_embedding"), _table(model, "item_embedding")
    user_bias, item_bias = _table(model, "user_bias"), _table(model, "item_bias")

    def scores(users):
        x = tf.matmul(tf.gather(user, users), item[:num_items], transpose_b=True)
        return x + tf.gather(user_bias, users) + tf.transpose(item_bias[:num_items])

    return _score_fn(model, scores, num_items)


def gmf_ranker(model, num_items: int):
    """GMF: ``(p_u * h) . q_i + b`` for all items in one matmul."""
    head = model.get_layer("prediction")
    user, item = _table(model, "user_embedding"), _table(model, "item_embedding")

    def scores(users):
        weighted = tf.gather(user, users) * tf.transpose(head.kernel)
        return tf.matmul(weighted, item[:num_items], transpose_b=True) + head.bias

    return _score_fn(model, scores, num_items)


def mlp_ncf_ranker(model, num_items: int):
    """MLP-NCF: the first layer split into a user part and an item part."""
    head = model.get_layer("prediction")
    mlp = _MlpHalves(model, num_items)

    def scores(users, item_part):
        return mlp(users, item_part, head.kernel) + head.bias

    return _score_fn(model, scores, num_items, item_part=mlp.item_part)


def neumf_ranker(model, num_items: int):
    """NeuMF: GMF as a matmul plus the split MLP, fused by the output layer's halves."""
    head = model.get_layer("prediction")
    user, item = _table(model, "gmf_user_embedding"), _table(model, "gmf_item_embedding")
    gmf_dim = int(user.shape[-1])
    mlp = _MlpHalves(model, num_items)

    def scores(users, item_part):
        weighted = tf.gather(user, users) * tf.transpose(head.kernel[:gmf_dim])
        gmf = tf.matmul(weighted, item[:num_items], transpose_b=True)
        return gmf + mlp(users, item_part, head.kernel[gmf_dim:]) + head.bias

    return _score_fn(model, scores, num_items, item_part=mlp.item_part)


def pop_ranker(model, num_items: int):
    """Popularity: the item scores, the same row for every user."""
    item = _table(model, "item_score")

    def scores(users):
        return tf.tile(tf.transpose(item[:num_items]), [tf.shape(users)[0], 1])

    return _score_fn(model, scores, num_items)


def autorec_ranker(model, num_items: int):
    """AutoRec: U-AutoRec reconstructs the batch's user rows; I-AutoRec encodes every
    item's row once per call and scores it against the users' decoder columns (the
    reconstructions, transposed)."""
    encoder = model.get_layer("encoder")
    decoder, decoder_bias = _table(model, "decoder"), _table(model, "decoder_bias")
    if _has_layer(model, "user_ratings"):  # U-AutoRec
        rows = _table(model, "user_ratings")

        def scores(users):
            code = encoder(tf.gather(rows, users))
            x = tf.matmul(code, decoder[:num_items], transpose_b=True)
            return x + tf.transpose(decoder_bias[:num_items])

        return _score_fn(model, scores, num_items)
    rows = _table(model, "item_ratings")

    def item_codes():
        """Every item's code: ``[num_items, hidden_units]``."""
        return encoder(rows[:num_items])

    def scores(users, codes):
        x = tf.matmul(tf.gather(decoder, users), codes, transpose_b=True)
        return x + tf.gather(decoder_bias, users)

    return _score_fn(model, scores, num_items, item_part=item_codes)


class _MlpHalves:
    """``head . MLP([p_u, q_i])`` for a batch of users against every item: the first
    layer (a ``PairDense``) done once per user and once per item (``item_part``, computed
    once per ranking), the rest per pair."""

    def __init__(self, model, num_items):
        self.first = model.get_layer("pair_dense")
        self.dense = model.get_layer("mlp").dense_layers if _has_layer(model, "mlp") else []
        self.num_items = num_items

    def item_part(self):
        """``q_i W_i + b`` for every item: ``[num_items, units]``."""
        return self.first.project_items(self.num_items)

    def __call__(self, users, item_part, head_kernel):
        user_part = self.first.project_users(users)
        x = self.first.activation(user_part[:, None, :] + item_part[None, :, :])
        b = tf.shape(users)[0]
        x = tf.reshape(x, [b * self.num_items, -1])
        for layer in self.dense:
            x = layer.activation(tf.nn.bias_add(tf.matmul(x, layer.kernel), layer.bias))
        return tf.reshape(tf.matmul(x, head_kernel), [b, self.num_items])


def _table(model, name):
    return model.get_layer(name).embeddings


def _has_layer(model, name) -> bool:
    return any(layer.name == name for layer in model.layers)


def _score_fn(model, scores, num_items, item_part=None):
    """Compiles ``scores`` (raw ``[b, num_items]``), adds the rating head's finishing
    layers where the model has them, and feeds it users.

    Per-pair models pass ``item_part`` (the items' share of the work, computed once per
    call of the returned ``score_fn`` and handed to ``scores(users, item_part)``); they
    get users in chunks of one fixed size (the last padded), compiled once with XLA,
    which fuses the per-pair broadcast, activations and output into the matmuls
    (measured faster than TensorFlow's kernels at one thread)."""
    finish = [model.get_layer(name) for name in ("global_bias", "rating_clip")
              if _has_layer(model, name)]

    def finished(users, *item_part):
        x = scores(users, *item_part)
        for layer in finish:
            x = layer(x, training=False) if layer.name == "rating_clip" else layer(x)
        return x

    users_spec = tf.TensorSpec([None], tf.int32)
    if item_part is None:
        compiled = tf.function(finished, input_signature=[users_spec])
        return lambda users: compiled(tf.convert_to_tensor(np.asarray(users, np.int32))).numpy()
    items = tf.function(item_part)
    compiled = tf.function(finished, jit_compile=True, input_signature=[
        users_spec, tf.TensorSpec([num_items, None], tf.float32)])
    chunk = max(1, PAIRS_PER_CALL // num_items)

    def score_fn(users):
        users = np.asarray(users, np.int32)
        padded = np.zeros(-(-len(users) // chunk) * chunk, np.int32)
        padded[:len(users)] = users
        part = items()  # the live weights, read once for every chunk
        out = [compiled(tf.convert_to_tensor(padded[i:i + chunk]), part).numpy()
               for i in range(0, len(padded), chunk)]
        return np.concatenate(out)[:len(users)] if out else np.zeros((0, num_items), np.float32)

    return score_fn
