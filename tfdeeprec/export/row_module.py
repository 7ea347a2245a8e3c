"""The serving tf.Module of a row model: a user's items in, scores over every item out.

Signatures (``B`` = batch; IDs are raw strings):

* ``recommend(user_id [B], k int32 [], exclude [B, E])`` -> ``item_ids`` string
  ``[B, k]``, ``scores`` float32 ``[B, k]``: the model reads each user's training
  items (stored in the export) and ranks every item; the OOV slot, ``exclude`` and,
  when exported with ``exclude_seen``, the user's training items are left out.
* ``recommend_from_items(item_ids [B, L], k, exclude [B, E])``: the same for an
  anonymous user or a session given by its items (padded with ``""``; unknown IDs are
  ignored): fold-in, no retraining. With ``exclude_seen`` the given items are not
  returned, so a known user's training items give exactly ``recommend(user)``.
* ``recommend_default(user_id)``: ``k = max_k``, nothing extra excluded.
* ``score(user_id, item_id)`` / ``serving_default``: the model's score of each pair.

Rows with fewer than ``k`` eligible items end with item ID ``""`` and score ``-inf``;
ties keep vocabulary order. An unknown user, or a row of items none of which is known,
gets the items ranked by popularity (:data:`ROW_OOV`).
"""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data import schema
from tfdeeprec.data.vocabulary import Vocabulary
from tfdeeprec.export.retrieval_module import RetrievalTables
from tfdeeprec.export.serving_module import PADDING_ID, index_table, lookup_pairs

ROW_OOV = {
    "unknown_user_known_item": "the item's popularity: the share of training users who "
                               "interacted with it, in (0, 1]",
    "known_user_unknown_item": "0.0",
    "unknown_user_unknown_item": "0.0",
    "recommend_unknown_user": "items ranked by popularity; scores are those shares (equal "
                              "to `score` for the same pair); the same for a "
                              "`recommend_from_items` row with no known item",
}


class RowServingModule(tf.Module):
    """Serving functions of a ``{user_row: [B, n]} -> [B, n]`` model.

    Args:
        model: the Keras row model (only called inside the tf.functions; its weights
            are tracked, not the model).
        user_vocab, item_vocab: the vocabularies it was trained with.
        tables (RetrievalTables): popularity and each user's training items.
        max_k (int): the largest ``k``; clipped to the number of known items.
        exclude_seen (bool): leave the user's (or the given) items out. Default True.
        task (str): the metadata's task. Default ``"implicit"``.
    """

    def __init__(self, model, user_vocab: Vocabulary, item_vocab: Vocabulary,
                 tables: RetrievalTables, *, max_k: int = 100, exclude_seen: bool = True,
                 task: str = "implicit"):
        super().__init__(name="tfdeeprec_row")
        num_items = len(item_vocab)
        if (tables.num_users, tables.num_items) != (len(user_vocab), num_items):
            raise ValueError("`tables` come from a split encoded with other vocabularies")
        self.task = task
        self.oov_behaviour = ROW_OOV
        self.max_k = min(int(max_k), num_items - 1)
        self.exclude_seen = bool(exclude_seen)
        self.model_variables = list(model.variables)
        self.user_table = index_table(user_vocab)
        self.item_table = index_table(item_vocab)
        self.item_tokens = tf.Variable((Vocabulary.OOV_TOKEN,) + item_vocab.tokens,
                                       trainable=False, dtype=tf.string, name="item_tokens")
        self.popularity = tf.Variable(tables.popularity, trainable=False, name="popularity")
        self.seen_row_starts = tf.Variable(tables.seen_row_starts, trainable=False,
                                           name="seen_row_starts")
        self.seen_items = tf.Variable(tables.seen_items, trainable=False, name="seen_items")
        _attach_functions(self, model, num_items)

    def signatures(self) -> dict:
        """The ``signatures=`` argument for ``tf.saved_model.save``."""
        score = self.score.get_concrete_function()
        return {"serving_default": score, "score": score,
                "recommend": self.recommend.get_concrete_function(),
                "recommend_default": self.recommend_default.get_concrete_function(),
                "recommend_from_items": self.recommend_from_items.get_concrete_function()}


def _attach_functions(module: RowServingModule, model, num_items: int):
    all_items = tf.range(num_items, dtype=tf.int32)

    def lookup(table, ids):
        return tf.cast(table.lookup(ids), tf.int32)

    def multi_hot(items):  # [B, L] indices (0 = none) -> [B, num_items], column 0 zero
        hot = tf.math.bincount(items, minlength=num_items, maxlength=num_items,
                               dtype=tf.float32, axis=-1, binary_output=True)
        return hot * tf.cast(all_items > 0, tf.float32)[None, :]

    def scores_of(rows):  # rows with no item get the popularity row
        scores = tf.reshape(tf.cast(model({schema.USER_ROW: rows}, training=False),
                                    tf.float32), [-1, num_items])
        empty = tf.reduce_sum(rows, axis=1, keepdims=True) == 0
        return tf.where(empty, module.popularity[None, :], scores)

    def user_items(users):  # [B] -> [B, L] training items (0-padded)
        seen = tf.RaggedTensor.from_row_starts(module.seen_items, module.seen_row_starts[:-1])
        return tf.gather(seen, users).to_tensor(default_value=0)

    def top_k(scores, given, k, exclude):
        b = tf.shape(scores)[0]
        check = tf.debugging.assert_equal(tf.shape(exclude)[0], b,
                                          message="`exclude` needs one row per request row")
        with tf.control_dependencies([check]):
            asked = lookup(module.item_table, tf.identity(exclude))
        mask = multi_hot(asked) > 0
        if module.exclude_seen:
            mask = mask | (multi_hot(given) > 0)
        mask = mask | (all_items == 0)[None, :]
        scores = tf.where(mask, tf.constant(-np.inf, tf.float32), scores)
        top = tf.math.top_k(scores, k=tf.clip_by_value(k, 1, module.max_k))
        ids = tf.where(top.values > -np.inf, tf.gather(module.item_tokens, top.indices),
                       PADDING_ID)
        return {"item_ids": ids, "scores": top.values}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user_id"),
                                  tf.TensorSpec([None], tf.string, name="item_id")])
    def score(user_id, item_id):
        users, items = lookup_pairs(module, user_id, item_id)
        rows = multi_hot(user_items(users))
        pair = tf.gather(scores_of(rows), items, axis=1, batch_dims=1)
        known = (users > 0) & (items > 0)
        fallback = tf.where(users > 0, 0.0, tf.gather(module.popularity, items))
        return {"score": tf.where(known, pair, fallback), "known": known}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user_id"),
                                  tf.TensorSpec([], tf.int32, name="k"),
                                  tf.TensorSpec([None, None], tf.string, name="exclude")])
    def recommend(user_id, k, exclude):
        given = user_items(lookup(module.user_table, user_id))
        return top_k(scores_of(multi_hot(given)), given, k, exclude)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string, name="item_ids"),
                                  tf.TensorSpec([], tf.int32, name="k"),
                                  tf.TensorSpec([None, None], tf.string, name="exclude")])
    def recommend_from_items(item_ids, k, exclude):
        given = lookup(module.item_table, item_ids)
        return top_k(scores_of(multi_hot(given)), given, k, exclude)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user_id")])
    def recommend_default(user_id):
        none = tf.zeros([tf.shape(user_id)[0], 0], tf.string)
        return recommend(user_id, tf.constant(module.max_k, tf.int32), none)

    module.score = score
    module.recommend = recommend
    module.recommend_from_items = recommend_from_items
    module.recommend_default = recommend_default
