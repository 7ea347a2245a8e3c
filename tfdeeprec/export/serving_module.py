"""The serving tf.Module: raw string IDs in, vocabulary lookups and the model's graph inside.

Signatures (all batch-first; ``B`` = number of requests):

* ``serving_default`` and ``score``: ``user_id`` string ``[B]``, ``item_id`` string
  ``[B]`` -> ``score`` float32 ``[B]``, ``known`` bool ``[B]`` (both IDs in the
  vocabularies). ``score`` is the predicted rating (task ``rating``) or the probability
  ``sigmoid(logit)`` (task ``implicit``).
* ``recommend``: ``user_id`` string ``[B]``, ``k`` int32 scalar, ``exclude`` string
  ``[B, E]`` (item IDs not to return, padded with ``""``; ``E`` may be 0) -> ``item_ids``
  string ``[B, k]``, ``scores`` float32 ``[B, k]`` (same scale as ``score``), best first.
  ``k`` is clipped to ``1 .. max_k``. Every item is scored for every user; the OOV slot,
  ``exclude`` and (if exported with ``exclude_seen``) the user's training items are
  left out. When fewer than ``k`` items remain, the tail is padded with item ID ``""``
  and score ``-inf``. Ties keep vocabulary order.
* ``recommend_default``: ``user_id`` only; ``k = max_k`` and no extra exclusions.

Out-of-vocabulary IDs never crash and never reach an untrained embedding row:

* rating task: unknown user & known item -> the item's mean training rating; known user &
  unknown item -> the user's mean training rating; both unknown -> the global mean
  training rating.
* implicit task: unknown user & known item -> the item's popularity, the share of
  training users who interacted with it (in ``(0, 1]``); unknown item -> ``0.0``.
* ``recommend`` for an unknown user ranks items by the same fallback (item mean rating,
  or popularity), so its scores always equal ``score`` for the same pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data import schema
from tfdeeprec.data.encoded import EncodedInteractions
from tfdeeprec.data.prepared import RatingFallbacks
from tfdeeprec.data.vocabulary import Vocabulary

TASKS = ("rating", "implicit", "ctr")
PADDING_ID = ""
# `recommend` runs the model on blocks of whole users, one block after another, each of
# at most max(PAIRS_PER_CALL, num_items) (user, item) pairs, which bounds its memory.
PAIRS_PER_CALL = 1 << 17

OOV_BEHAVIOUR = {
    "rating": {
        "unknown_user_known_item": "the item's mean training rating",
        "known_user_unknown_item": "the user's mean training rating",
        "unknown_user_unknown_item": "the global mean training rating",
        "recommend_unknown_user": "items ranked by mean training rating; scores are those "
                                  "means (equal to `score` for the same pair)",
    },
    "implicit": {
        "unknown_user_known_item": "the item's popularity: the share of training users who "
                                   "interacted with it, in (0, 1]",
        "known_user_unknown_item": "0.0",
        "unknown_user_unknown_item": "0.0",
        "recommend_unknown_user": "items ranked by popularity; scores are those shares "
                                  "(equal to `score` for the same pair)",
    },
    "ctr": {
        "unknown_user_known_item": "the model's probability with the user's ID and features "
                                   "missing (their missing or out-of-vocabulary rows)",
        "known_user_unknown_item": "the model's probability with the item's ID and features "
                                   "missing",
        "unknown_user_unknown_item": "the model's probability with both sides missing",
        "recommend_unknown_user": "items ranked by that probability (equal to `score` for "
                                  "the same pair)",
    },
    "known": "`known` is true only when both the user and the item are in the vocabularies; "
             "the empty string is never a known ID in `exclude` (it is padding)",
}


@dataclass(frozen=True, eq=False)
class FallbackTables:
    """Per-index numbers for the OOV path, and the training pairs to exclude.

    ``user[u]`` is the score of (known user ``u``, unknown item); ``item[i]`` the score
    of (unknown user, item ``i``), with ``item[0]`` the score when both are unknown.
    ``seen_keys`` are the sorted unique ``user * num_items + item`` training pairs.
    """

    user: np.ndarray
    item: np.ndarray
    seen_keys: np.ndarray

    @classmethod
    def from_train(cls, train: EncodedInteractions, task: str) -> "FallbackTables":
        """Computes the fallbacks of :data:`OOV_BEHAVIOUR` from the training split."""
        if task not in TASKS:
            raise ValueError(f"`task` must be one of {TASKS}. Received: task={task!r}")
        keys = training_pairs(train)
        if task == "rating":
            means = RatingFallbacks.from_train(train)
            user, item = means.user, means.item
        elif task == "ctr":  # the model scores unknown IDs itself: no fallback
            user, item = np.zeros(train.num_users), np.zeros(train.num_items)
        else:
            item = item_popularity(keys, train.num_items)
            user = np.zeros(train.num_users)
        return cls(user.astype(np.float32), item.astype(np.float32), keys)


class ServingModule(tf.Module):
    """Holds the model's variables, the vocabulary tables and the serving functions.

    The Keras model is only *called* inside the ``tf.function`` s (so the SavedModel
    stores plain TF graphs); it is not tracked, so no Keras object is serialised.

    Args:
        model: a ``{"user_id", "item_id"} (int32 [B]) -> score [B]`` Keras model.
        user_vocab, item_vocab: the :class:`Vocabulary` s the model was trained with.
        task (str): ``rating``, ``implicit`` or ``ctr`` (those two: outputs go through a
            sigmoid; ``ctr`` models score unknown IDs themselves, without fallbacks).
        fallbacks (FallbackTables): from the training split.
        max_k (int): the largest ``k``; clipped to the number of known items.
        exclude_seen (bool): leave training items out of ``recommend``.
        pairs_per_call (int): the most (user, item) pairs one model call in
            ``recommend`` sees (whole users per call, at least one). Default 2**17. A
            request with fewer users is one call of its own size.
    """

    def __init__(self, model, user_vocab: Vocabulary, item_vocab: Vocabulary, *, task: str,
                 fallbacks: FallbackTables, max_k: int = 100, exclude_seen: bool = True,
                 pairs_per_call: int = PAIRS_PER_CALL):
        super().__init__(name="tfdeeprec_serving")
        if task not in TASKS:
            raise ValueError(f"`task` must be one of {TASKS}. Received: task={task!r}")
        num_items = len(item_vocab)
        if fallbacks.item.shape != (num_items,) or fallbacks.user.shape != (len(user_vocab),):
            raise ValueError("`fallbacks` do not match the vocabulary sizes")
        self.task = task
        self.oov_behaviour = OOV_BEHAVIOUR[task]
        self.max_k = min(int(max_k), num_items - 1)
        self.exclude_seen = bool(exclude_seen)
        # Tracked state: the model's weights (not the model), tables, per-index vectors.
        self.model_variables = list(model.variables)
        attach_id_tables(self, user_vocab, item_vocab)
        self.user_fallback = tf.Variable(fallbacks.user, trainable=False, name="user_fallback")
        self.item_fallback = tf.Variable(fallbacks.item, trainable=False, name="item_fallback")
        sentinel = np.array([np.iinfo(np.int64).max], np.int64)  # keeps searchsorted in range
        self.seen_keys = tf.Variable(np.concatenate([fallbacks.seen_keys, sentinel]),
                                     trainable=False, dtype=tf.int64, name="seen_keys")
        _attach_functions(self, model, num_items, max(1, pairs_per_call // num_items))

    def signatures(self) -> dict:
        """The ``signatures=`` argument for ``tf.saved_model.save``."""
        score = self.score.get_concrete_function()
        return {"serving_default": score, "score": score,
                "recommend": self.recommend.get_concrete_function(),
                "recommend_default": self.recommend_default.get_concrete_function()}


def _attach_functions(module: ServingModule, model, num_items: int, users_per_call: int):
    """Builds the serving tf.functions as closures over ``model`` and attaches them."""
    implicit = module.task in ("implicit", "ctr")
    own_oov = module.task == "ctr"  # the model has rows for missing and unknown features
    all_items = tf.range(num_items, dtype=tf.int32)

    def lookup(table, ids):
        return tf.cast(table.lookup(ids), tf.int32)

    def model_scores(users, items):
        out = model({schema.USER_ID: users, schema.ITEM_ID: items}, training=False)
        out = tf.reshape(tf.cast(out, tf.float32), [-1])
        return tf.sigmoid(out) if implicit else out

    def score_block(users):  # [n] user indices -> [n, num_items] scores
        n = tf.shape(users)[0]
        scores = model_scores(tf.repeat(users, num_items), tf.tile(all_items, [n]))
        scores = tf.reshape(scores, [n, num_items])
        if own_oov:
            return scores
        return tf.where(users[:, None] > 0, scores, module.item_fallback[None, :])

    def all_scores(users):  # model calls over at most `users_per_call` users each
        b = tf.shape(users)[0]
        # A small request is one block of its own size: 1 user costs 1 user, not a block.
        block = tf.maximum(tf.minimum(b, users_per_call), 1)
        calls = tf.maximum((b + block - 1) // block, 1)  # >= 1: an empty stack has no shape
        padded = tf.pad(users, [[0, calls * block - b]])
        blocks = tf.map_fn(score_block, tf.reshape(padded, [calls, block]),
                           fn_output_signature=tf.TensorSpec([None, num_items], tf.float32),
                           parallel_iterations=1)
        return tf.reshape(blocks, [-1, num_items])[:b]

    def excluded(users, exclude):  # [B, num_items] bool
        b = tf.shape(users)[0]
        check = tf.debugging.assert_equal(tf.shape(exclude)[0], b,
                                          message="`exclude` needs one row per `user_id`")
        with tf.control_dependencies([check]):
            items = lookup(module.item_table, tf.identity(exclude))
        rows = tf.broadcast_to(tf.range(b)[:, None], tf.shape(items))
        indices = tf.reshape(tf.stack([rows, items], axis=-1), [-1, 2])
        marks = tf.scatter_nd(indices, tf.ones(tf.shape(indices)[:1]), [b, num_items])
        mask = (marks > 0) | (all_items == 0)[None, :]
        if module.exclude_seen:
            keys = (tf.cast(users, tf.int64)[:, None] * num_items
                    + tf.cast(all_items, tf.int64)[None, :])
            flat = tf.reshape(keys, [1, -1])
            at = tf.searchsorted(module.seen_keys[None, :], flat, out_type=tf.int64)
            seen = tf.reshape(tf.gather(module.seen_keys, at[0]), [b, num_items])
            mask = mask | tf.equal(seen, keys)
        return mask

    def top_k(user_id, k, exclude):
        users = lookup(module.user_table, user_id)
        scores = tf.where(excluded(users, exclude), tf.constant(-np.inf, tf.float32),
                          all_scores(users))
        top = tf.math.top_k(scores, k=tf.clip_by_value(k, 1, module.max_k))
        ids = tf.gather(module.item_tokens, top.indices)
        ids = tf.where(top.values > -np.inf, ids, PADDING_ID)
        return {"item_ids": ids, "scores": top.values}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user_id"),
                                  tf.TensorSpec([None], tf.string, name="item_id")])
    def score(user_id, item_id):
        users, items = lookup_pairs(module, user_id, item_id)
        user_known, item_known = users > 0, items > 0
        fallback = tf.where(user_known, tf.gather(module.user_fallback, users),
                            tf.gather(module.item_fallback, items))
        known = user_known & item_known
        scores = model_scores(users, items)
        return {"score": scores if own_oov else tf.where(known, scores, fallback),
                "known": known}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user_id"),
                                  tf.TensorSpec([], tf.int32, name="k"),
                                  tf.TensorSpec([None, None], tf.string, name="exclude")])
    def recommend(user_id, k, exclude):
        return top_k(user_id, k, exclude)

    module.score = score
    module.recommend = recommend
    module.recommend_default = default_recommend(module, recommend)


def attach_id_tables(module: tf.Module, user_vocab: Vocabulary, item_vocab: Vocabulary) -> None:
    """Gives a serving module ``user_table`` and ``item_table`` (raw ID -> index, 0 for
    unknown) and ``item_tokens`` (index -> raw ID, ``[OOV]`` at 0)."""
    module.user_table = index_table(user_vocab)
    module.item_table = index_table(item_vocab)
    module.item_tokens = tf.Variable((Vocabulary.OOV_TOKEN,) + item_vocab.tokens,
                                     trainable=False, dtype=tf.string, name="item_tokens")


def default_recommend(module: tf.Module, recommend):
    """``recommend_default(user_id)``: the traced ``recommend`` with ``k = module.max_k``
    and nothing extra excluded (it calls ``recommend``; no second trace)."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user_id")])
    def recommend_default(user_id):
        none = tf.zeros([tf.shape(user_id)[0], 0], tf.string)
        return recommend(user_id, tf.constant(module.max_k, tf.int32), none)

    return recommend_default


def lookup_pairs(module, user_id, item_id):
    """``(user indices, item indices)`` int32 of a score request; equal lengths asserted."""
    check = tf.debugging.assert_equal(tf.shape(user_id), tf.shape(item_id), message=(
        "`user_id` and `item_id` need the same length"))
    with tf.control_dependencies([check]):
        return (tf.cast(module.user_table.lookup(tf.identity(user_id)), tf.int32),
                tf.cast(module.item_table.lookup(tf.identity(item_id)), tf.int32))


def index_table(vocab: Vocabulary) -> tf.lookup.StaticHashTable:
    """Raw ID -> index ``1..n``; anything else -> 0 (the Vocabulary's mapping)."""
    keys = tf.constant(vocab.tokens, tf.string)
    values = tf.range(1, len(vocab), dtype=tf.int64)
    return tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, values),
                                     default_value=Vocabulary.OOV_INDEX)


def training_pairs(train: EncodedInteractions) -> np.ndarray:
    """The sorted distinct ``user * num_items + item`` keys of the known training pairs.

    >>> training_pairs(EncodedInteractions(np.array([2, 1, 2]), np.array([1, 3, 1]), 3, 4))
    array([7, 9])
    """
    known = train.known()
    if len(known) == 0:
        raise ValueError("the training interactions hold no known (user, item) pair")
    return np.unique(known.user.astype(np.int64) * train.num_items + known.item)


def item_popularity(keys: np.ndarray, num_items: int) -> np.ndarray:
    """Share of training users who interacted with each item (index 0: 0), float32 ``[n]``.

    ``keys`` are :func:`training_pairs`.

    >>> train = EncodedInteractions(np.array([1, 2, 2]), np.array([1, 1, 2]), 3, 4)
    >>> item_popularity(training_pairs(train), 4).tolist()
    [0.0, 1.0, 0.5, 0.0]
    """
    users_per_item = np.bincount(keys % num_items, minlength=num_items)
    popularity = users_per_item / len(np.unique(keys // num_items))
    popularity[0] = 0.0
    return popularity.astype(np.float32)
