"""The serving tf.Module of a model that reads a user's items: row and sequence models.

A row model takes ``user_row`` (float32 ``[B, num_items]``, the items as a multi-hot
row); a sequence model takes ``history`` (int32 ``[B, max_length]``, the items in time
order, right-aligned, 0-padded in front). Both return scores over every item.

Signatures (``B`` = batch; IDs are raw strings):

* ``recommend(user_id [B], k int32 [], exclude [B, E])`` -> ``item_ids`` string
  ``[B, k]``, ``scores`` float32 ``[B, k]``: the model reads each user's training
  items as stored in the export (a sequence model: the latest ``max_length``, in time
  order) and ranks every item; the OOV slot, ``exclude`` and, when exported with
  ``exclude_seen``, the user's training items are left out.
* ``recommend_from_items(item_ids [B, L], k, exclude [B, E])``: the same for an
  anonymous user or a session given by its items (in time order for a sequence model;
  padded with ``""``; unknown IDs are skipped): fold-in, no retraining. With
  ``exclude_seen`` the given items are not returned, so a known user's training items
  (in time order) give exactly ``recommend(user)``, except for a row model that also
  reads the user (CDAE): a folded-in row is an anonymous user, scored with the OOV
  user's (zero) vector.
* ``recommend_default(user_id)``: ``k = max_k``, nothing extra excluded.
* ``score(user_id, item_id)`` / ``serving_default``: the model's score of each pair.

Rows with fewer than ``k`` eligible items end with item ID ``""`` and score ``-inf``;
ties keep vocabulary order. An unknown user, or a request row none of whose items is
known, gets the items ranked by popularity (:data:`ITEMS_OOV`).
"""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data import schema
from tfdeeprec.data.vocabulary import Vocabulary
from tfdeeprec.export.retrieval_module import RetrievalTables
from tfdeeprec.export.serving_module import (PADDING_ID, attach_id_tables, default_recommend,
                                              lookup_pairs)
from tfdeeprec.models._row import row_model_inputs

KINDS = ("row", "sequence")
ITEMS_OOV = {
    "unknown_user_known_item": "the item's popularity: the share of training users who "
                               "interacted with it, in (0, 1]",
    "known_user_unknown_item": "0.0",
    "unknown_user_unknown_item": "0.0",
    "recommend_unknown_user": "items ranked by popularity; scores are those shares (equal "
                              "to `score` for the same pair); the same for a "
                              "`recommend_from_items` row with no known item",
    "recommend_from_items_unknown_item": "skipped: a row is its known items, in the order "
                                         "given (for sequence models the latest last)",
}


class ItemsServingModule(tf.Module):
    """Serving functions of a row or sequence model.

    Args:
        model: the Keras model (only called inside the tf.functions; its weights are
            tracked, not the model).
        user_vocab, item_vocab: the vocabularies it was trained with.
        tables (RetrievalTables): popularity and each user's distinct training items.
        histories: for ``kind="sequence"``, each user's model input as CSR: ``(row
            starts int64 [num_users + 1], items int32)``, the latest ``max_length``
            training items in time order; for ``"row"``, ``None`` (the distinct items).
        kind (str): ``"row"`` or ``"sequence"``.
        max_length (int | None): the sequence model's history length.
        max_k (int): the largest ``k``; clipped to the number of known items.
        exclude_seen (bool): leave the user's (or the given) items out. Default True.
    """

    def __init__(self, model, user_vocab: Vocabulary, item_vocab: Vocabulary,
                 tables: RetrievalTables, *, kind: str = "row", histories=None,
                 max_length: int | None = None, max_k: int = 100, exclude_seen: bool = True):
        super().__init__(name=f"tfdeeprec_{kind}")
        if kind not in KINDS:
            raise ValueError(f"`kind` must be one of {KINDS}. Received: kind={kind!r}")
        num_items = len(item_vocab)
        if (tables.num_users, tables.num_items) != (len(user_vocab), num_items):
            raise ValueError("`tables` come from a split encoded with other vocabularies")
        if kind == "sequence" and (histories is None or not max_length):
            raise ValueError("a sequence model needs `histories` and `max_length`")
        self.task = "implicit"
        self.kind = kind
        self.oov_behaviour = ITEMS_OOV
        self.max_k = min(int(max_k), num_items - 1)
        self.exclude_seen = bool(exclude_seen)
        self.model_variables = list(model.variables)
        attach_id_tables(self, user_vocab, item_vocab)
        self.popularity = tf.Variable(tables.popularity, trainable=False, name="popularity")
        self.seen_row_starts = tf.Variable(tables.seen_row_starts, trainable=False,
                                           name="seen_row_starts")
        self.seen_items = tf.Variable(tables.seen_items, trainable=False, name="seen_items")
        starts, items = histories if kind == "sequence" else (tables.seen_row_starts,
                                                              tables.seen_items)
        self.input_row_starts = tf.Variable(np.asarray(starts, np.int64), trainable=False,
                                            name="input_row_starts")
        self.input_items = tf.Variable(np.asarray(items, np.int32), trainable=False,
                                       name="input_items")
        _attach_functions(self, model, num_items, max_length)

    def signatures(self) -> dict:
        """The ``signatures=`` argument for ``tf.saved_model.save``."""
        score = self.score.get_concrete_function()
        return {"serving_default": score, "score": score,
                "recommend": self.recommend.get_concrete_function(),
                "recommend_default": self.recommend_default.get_concrete_function(),
                "recommend_from_items": self.recommend_from_items.get_concrete_function()}


def right_aligned(items, max_length: int):
    """``[B, L]`` item indices (0 = none, anywhere) -> the latest ``max_length`` known
    ones per row, in order, right-aligned and 0-padded in front: ``[B, max_length]``.

    >>> right_aligned(tf.constant([[4, 0, 5, 6], [0, 7, 0, 0]]), 2).numpy().tolist()
    [[5, 6], [0, 7]]
    """
    compact = tf.ragged.boolean_mask(items, items > 0)
    lengths = compact.row_lengths()
    dense = compact.to_tensor(default_value=0)
    dense = tf.pad(dense, [[0, 0], [0, tf.maximum(max_length - tf.shape(dense)[1], 0)]])
    latest_first = tf.reverse_sequence(dense, lengths, seq_axis=1, batch_axis=0)
    return tf.reverse(latest_first[:, :max_length], axis=[1])


def multi_hot(items, num_items: int):
    """``[B, L]`` item indices (0 = none) -> float32 ``[B, num_items]``, column 0 zero.

    >>> multi_hot(tf.constant([[2, 0, 2], [0, 0, 0]]), 3).numpy().tolist()
    [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    """
    hot = tf.math.bincount(items, minlength=num_items, maxlength=num_items,
                           dtype=tf.float32, axis=-1, binary_output=True)
    return hot * tf.cast(tf.range(num_items) > 0, tf.float32)[None, :]


def _attach_functions(module: ItemsServingModule, model, num_items: int, max_length):
    all_items = tf.range(num_items, dtype=tf.int32)

    def lookup(table, ids):
        return tf.cast(table.lookup(ids), tf.int32)

    def model_input(items, users):
        if module.kind == "row":
            return row_model_inputs(model, multi_hot(items, num_items), users)
        return {schema.HISTORY: right_aligned(items, max_length)}

    def scores_of(items, users=None):  # rows with no known item get the popularity row
        users = tf.zeros(tf.shape(items)[:1], tf.int32) if users is None else users
        scores = tf.reshape(tf.cast(model(model_input(items, users), training=False),
                                    tf.float32), [-1, num_items])
        empty = tf.reduce_all(items <= 0, axis=1, keepdims=True)
        return tf.where(empty, module.popularity[None, :], scores)

    def rows_of(starts, items, users):  # [B] -> [B, L] (0-padded)
        table = tf.RaggedTensor.from_row_starts(items, starts[:-1])
        return tf.gather(table, users).to_tensor(default_value=0)

    def user_inputs(users):
        return rows_of(module.input_row_starts, module.input_items, users)

    def user_seen(users):
        return rows_of(module.seen_row_starts, module.seen_items, users)

    def top_k(scores, given, k, exclude):
        b = tf.shape(scores)[0]
        check = tf.debugging.assert_equal(tf.shape(exclude)[0], b,
                                          message="`exclude` needs one row per request row")
        with tf.control_dependencies([check]):
            asked = lookup(module.item_table, tf.identity(exclude))
        mask = multi_hot(asked, num_items) > 0
        if module.exclude_seen:
            mask = mask | (multi_hot(given, num_items) > 0)
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
        pair = tf.gather(scores_of(user_inputs(users), users), items, axis=1, batch_dims=1)
        known = (users > 0) & (items > 0)
        fallback = tf.where(users > 0, 0.0, tf.gather(module.popularity, items))
        return {"score": tf.where(known, pair, fallback), "known": known}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user_id"),
                                  tf.TensorSpec([], tf.int32, name="k"),
                                  tf.TensorSpec([None, None], tf.string, name="exclude")])
    def recommend(user_id, k, exclude):
        users = lookup(module.user_table, user_id)
        return top_k(scores_of(user_inputs(users), users), user_seen(users), k, exclude)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string, name="item_ids"),
                                  tf.TensorSpec([], tf.int32, name="k"),
                                  tf.TensorSpec([None, None], tf.string, name="exclude")])
    def recommend_from_items(item_ids, k, exclude):
        given = lookup(module.item_table, item_ids)
        return top_k(scores_of(given), given, k, exclude)

    module.score = score
    module.recommend = recommend
    module.recommend_from_items = recommend_from_items
    module.recommend_default = default_recommend(module, recommend)
