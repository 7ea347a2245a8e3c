"""The serving tf.Modules of a two-tower model: index-backed ``recommend``, and the query tower.

:class:`RetrievalServingModule` has the signatures of
:class:`~tfdeeprec.export.ServingModule` (``serving_default`` / ``score``,
``recommend``, ``recommend_default``; raw string IDs in and out), answered by a
retrieval index instead of scoring every item with the model:

* ``score(user_id, item_id)`` -> ``score`` float32 ``[B]``: the dot product of the
  query and candidate embeddings (the cosine when the towers L2-normalise, the
  default), and ``known``.
* ``recommend(user_id, k, exclude)`` -> ``item_ids`` string ``[B, k]``, ``scores``
  float32 ``[B, k]``: the query tower embeds each user, the index (ScaNN, or the exact
  brute-force twin built from stock ops) returns the best ``k`` (clipped to
  ``1 .. max_k``) among the known items, leaving out ``exclude`` and, when exported
  with ``exclude_seen``, the user's training items. Scores equal ``score`` for the
  same pair (to float rounding). Rows with fewer than ``k`` eligible items end with
  item ID ``""`` and score ``-inf``.

Exclusions travel through the index's ``exclude`` argument, so the index searches
``k + E`` neighbours for ``E`` excluded items per row (training items included):
exact for the brute-force twin, ScaNN's approximate top ``k + E`` minus the excluded
items for ScaNN.

:class:`QueryTowerModule` is the query tower alone, for users who run their own ANN
service: ``serving_default(user_id)`` -> ``embedding`` float32 ``[B, d]``, ``known``;
``item_embedding(item_id)`` -> the candidate embeddings from the same training run.

Out-of-vocabulary IDs (see :data:`RETRIEVAL_OOV`) never reach an untrained row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data.encoded import EncodedInteractions
from tfdeeprec.data.vocabulary import Vocabulary
from tfdeeprec.export.serving_module import (PADDING_ID, attach_id_tables, default_recommend,
                                              index_table, item_popularity, lookup_pairs,
                                              training_pairs)
from tfdeeprec.retrieval._topk import exclude_and_truncate

RETRIEVAL_OOV = {
    "unknown_user_known_item": "the item's popularity: the share of training users who "
                               "interacted with it, in (0, 1]",
    "known_user_unknown_item": "0.0",
    "unknown_user_unknown_item": "0.0",
    "recommend_unknown_user": "items ranked by popularity (not by the index); scores are "
                              "those shares (equal to `score` for the same pair)",
}
QUERY_TOWER_OOV = {"unknown_user": "a zero embedding with `known` false",
                   "unknown_item": "a zero embedding with `known` false"}
_NO_ITEM = -1  # the indexes' padding ID: candidate IDs are the item indices 1 .. n - 1


@dataclass(frozen=True, eq=False)
class RetrievalTables:
    """What a retrieval export needs from the training split, computed once per export.

    ``popularity[i]``: the share of training users who interacted with item ``i`` (the
    unknown-user fallback; index 0: 0); ``popular_items``: item indices ``1 .. n - 1``
    by popularity, best first (ties by index); each user's distinct training items as
    CSR: ``seen_items[seen_row_starts[u]:seen_row_starts[u + 1]]``.

    >>> train = EncodedInteractions(np.array([2, 1, 2, 2]), np.array([3, 1, 1, 3]), 3, 4)
    >>> tables = RetrievalTables.from_train(train)
    >>> tables.popularity.tolist(), tables.popular_items.tolist()
    ([0.0, 1.0, 0.0, 0.5], [1, 3, 2])
    >>> tables.seen_row_starts.tolist(), tables.seen_items.tolist()
    ([0, 0, 1, 3], [1, 1, 3])
    """

    popularity: np.ndarray
    popular_items: np.ndarray
    seen_row_starts: np.ndarray
    seen_items: np.ndarray

    @property
    def num_users(self) -> int:
        return len(self.seen_row_starts) - 1

    @property
    def num_items(self) -> int:
        return len(self.popularity)

    @classmethod
    def from_train(cls, train: EncodedInteractions) -> "RetrievalTables":
        keys = training_pairs(train)
        popularity = item_popularity(keys, train.num_items)
        order = np.argsort(-popularity[1:], kind="stable") + 1
        starts = np.zeros(train.num_users + 1, np.int64)
        np.cumsum(np.bincount(keys // train.num_items, minlength=train.num_users),
                  out=starts[1:])
        return cls(popularity, order.astype(np.int32), starts,
                   (keys % train.num_items).astype(np.int32))


class RetrievalServingModule(tf.Module):
    """``score`` and index-backed ``recommend`` for a two-tower model, IDs as raw strings.

    The query tower is called inside the ``tf.function`` s (its weights are tracked,
    not the Keras model); the index is tracked, so ``tf.saved_model.save`` writes it
    (a ScaNN index needs ``SaveOptions(namespace_whitelist=["Scann"])``).

    Args:
        query_tower: ``user_id`` int32 ``[B]`` -> ``[B, d]`` Keras model.
        item_embeddings: float32 ``[num_items, d]``, the candidate tower's output per
            item index (row 0, the OOV slot, is never returned).
        index: a :class:`~tfdeeprec.retrieval.BruteForceIndex` or
            :class:`~tfdeeprec.retrieval.ScannIndex` over ``item_embeddings[1:]`` with
            candidate IDs ``1 .. num_items - 1`` (int32) and padding ID ``-1``
            (:func:`retrieval_candidates` gives both).
        user_vocab, item_vocab: the :class:`Vocabulary` s the towers were trained with.
        tables (RetrievalTables): popularity and seen items, from the training split.
        exclude_seen (bool): leave each user's training items out of ``recommend``.
            Default True.
        index_kind (str): ``"scann"`` or ``"brute_force"``, for the metadata.

    Example:

    >>> from tfdeeprec.models.two_tower import build_query_tower
    >>> from tfdeeprec.retrieval import BruteForceIndex
    >>> users, items = Vocabulary(["u1", "u2"]), Vocabulary(["a", "b", "c"])
    >>> train = EncodedInteractions(np.array([1, 2]), np.array([1, 1]), 3, 4)
    >>> table = np.eye(4, 2, dtype="float32")
    >>> index = BruteForceIndex(*retrieval_candidates(table), k_max=2, padding_id=-1)
    >>> module = RetrievalServingModule(build_query_tower(3, embedding_dim=2), table,
    ...                                 index, users, items, RetrievalTables.from_train(train))
    >>> out = module.recommend(tf.constant(["nobody"]), 2, tf.zeros([1, 0], tf.string))
    >>> out["item_ids"].numpy().tolist(), out["scores"].numpy().tolist()
    ([[b'a', b'b']], [[1.0, 0.0]])
    """

    def __init__(self, query_tower, item_embeddings, index, user_vocab: Vocabulary,
                 item_vocab: Vocabulary, tables: "RetrievalTables", *,
                 exclude_seen: bool = True, index_kind: str = "brute_force"):
        super().__init__(name="tfdeeprec_retrieval")
        item_embeddings = np.asarray(item_embeddings, np.float32)
        num_items = len(item_vocab)
        if item_embeddings.ndim != 2 or len(item_embeddings) != num_items:
            raise ValueError(f"`item_embeddings` must have one row per item index "
                             f"({num_items}). Received: shape={item_embeddings.shape}")
        if (tables.num_users, tables.num_items) != (len(user_vocab), num_items):
            raise ValueError("`tables` come from a split encoded with other vocabularies: "
                             f"{tables.num_users} x {tables.num_items} indices for "
                             f"vocabularies of {len(user_vocab)} x {num_items}")
        if index.num_candidates != num_items - 1:
            raise ValueError(f"`index` must hold the {num_items - 1} known items. "
                             f"Received: {index.num_candidates} candidates")
        self.task = "retrieval"
        self.index_kind = index_kind
        self.oov_behaviour = RETRIEVAL_OOV
        self.max_k = index.k_max
        self.exclude_seen = bool(exclude_seen)
        self.index = index
        self.query_variables = list(query_tower.variables)
        attach_id_tables(self, user_vocab, item_vocab)
        self.item_embeddings = tf.Variable(item_embeddings, trainable=False,
                                           name="item_embeddings")
        self.popularity = tf.Variable(tables.popularity, trainable=False, name="popularity")
        self.popular_items = tf.Variable(tables.popular_items, trainable=False,
                                         name="popular_items")
        self.seen_row_starts = tf.Variable(tables.seen_row_starts, trainable=False,
                                           name="seen_row_starts")
        self.seen_items = tf.Variable(tables.seen_items, trainable=False, name="seen_items")
        _attach_functions(self, query_tower, num_items)

    def signatures(self) -> dict:
        """The ``signatures=`` argument for ``tf.saved_model.save``."""
        score = self.score.get_concrete_function()
        return {"serving_default": score, "score": score,
                "recommend": self.recommend.get_concrete_function(),
                "recommend_default": self.recommend_default.get_concrete_function()}


class QueryTowerModule(tf.Module):
    """The query tower alone: raw user IDs -> embeddings, for an external ANN service.

    Signatures: ``serving_default`` (``user_id`` string ``[B]`` -> ``embedding``
    float32 ``[B, d]``, ``known`` bool ``[B]``; unknown users get zeros) and
    ``item_embedding`` (``item_id`` string ``[B]`` -> the candidate tower's
    ``embedding`` of each item, zeros for unknown items, and ``known``). The score of
    a pair is the dot product of the two embeddings.

    >>> from tfdeeprec.models.two_tower import build_query_tower
    >>> module = QueryTowerModule(build_query_tower(3, embedding_dim=2),
    ...                           np.eye(4, 2, dtype="float32"),
    ...                           Vocabulary(["u1", "u2"]), Vocabulary(["a", "b", "c"]))
    >>> out = module.embed(tf.constant(["u1", "nobody"]))
    >>> out["embedding"].shape, out["known"].numpy().tolist()
    (TensorShape([2, 2]), [True, False])
    """

    def __init__(self, query_tower, item_embeddings, user_vocab: Vocabulary,
                 item_vocab: Vocabulary):
        super().__init__(name="tfdeeprec_query_tower")
        self.task = "query_tower"
        self.oov_behaviour = QUERY_TOWER_OOV
        self.query_variables = list(query_tower.variables)
        self.user_table = index_table(user_vocab)
        self.item_table = index_table(item_vocab)
        self.item_embeddings = tf.Variable(np.asarray(item_embeddings, np.float32),
                                           trainable=False, name="item_embeddings")
        self.dim = int(self.item_embeddings.shape[1])

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user_id")])
        def embed(user_id):
            users = tf.cast(self.user_table.lookup(user_id), tf.int32)
            known = users > 0
            vectors = tf.cast(query_tower(users, training=False), tf.float32)
            return {"embedding": tf.where(known[:, None], vectors, 0.0), "known": known}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="item_id")])
        def item_embedding(item_id):
            items = tf.cast(self.item_table.lookup(item_id), tf.int32)
            known = items > 0
            vectors = tf.gather(self.item_embeddings, items)
            return {"embedding": tf.where(known[:, None], vectors, 0.0), "known": known}

        self.embed = embed
        self.item_embedding = item_embedding

    def signatures(self) -> dict:
        embed = self.embed.get_concrete_function()
        return {"serving_default": embed, "embed": embed,
                "item_embedding": self.item_embedding.get_concrete_function()}


def retrieval_candidates(item_embeddings) -> tuple[np.ndarray, np.ndarray]:
    """``(embeddings [n - 1, d], IDs 1 .. n - 1)``: what an index over the known items holds.

    >>> embeddings, ids = retrieval_candidates(np.zeros((4, 2), "float32"))
    >>> embeddings.shape, ids.tolist()
    ((3, 2), [1, 2, 3])
    """
    item_embeddings = np.asarray(item_embeddings, np.float32)
    return item_embeddings[1:], np.arange(1, len(item_embeddings), dtype=np.int32)


def _attach_functions(module: RetrievalServingModule, query_tower, num_items: int):
    """Builds the serving tf.functions as closures over the query tower and attaches them."""

    def lookup(table, ids):
        return tf.cast(table.lookup(ids), tf.int32)

    def queries(users):
        return tf.cast(query_tower(users, training=False), tf.float32)

    def excluded_items(users, exclude):  # [B, E'] item indices, padded with -1
        b = tf.shape(users)[0]
        check = tf.debugging.assert_equal(tf.shape(exclude)[0], b,
                                          message="`exclude` needs one row per `user_id`")
        with tf.control_dependencies([check]):
            asked = lookup(module.item_table, tf.identity(exclude))
        asked = tf.where(asked > 0, asked, _NO_ITEM)
        if not module.exclude_seen:
            return asked
        seen = tf.RaggedTensor.from_row_starts(module.seen_items,
                                               module.seen_row_starts[:-1])
        rows = tf.gather(seen, users).to_tensor(default_value=_NO_ITEM)
        return tf.concat([rows, asked], axis=1)

    def popular(k, exclude):  # the unknown users' answer: popularity order
        width = tf.minimum(k + tf.shape(exclude)[1], num_items - 1)
        ids = tf.tile(module.popular_items[None, :width], [tf.shape(exclude)[0], 1])
        return exclude_and_truncate(tf.gather(module.popularity, ids), ids, exclude, k,
                                    _NO_ITEM)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user_id"),
                                  tf.TensorSpec([None], tf.string, name="item_id")])
    def score(user_id, item_id):
        users, items = lookup_pairs(module, user_id, item_id)
        user_known, item_known = users > 0, items > 0
        known = user_known & item_known
        dots = tf.reduce_sum(queries(users) * tf.gather(module.item_embeddings, items), -1)
        fallback = tf.where(user_known, 0.0, tf.gather(module.popularity, items))
        return {"score": tf.where(known, dots, fallback), "known": known}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user_id"),
                                  tf.TensorSpec([], tf.int32, name="k"),
                                  tf.TensorSpec([None, None], tf.string, name="exclude")])
    def recommend(user_id, k, exclude):
        k = tf.clip_by_value(k, 1, module.max_k)
        users = lookup(module.user_table, user_id)
        skip = excluded_items(users, exclude)
        scores, ids = module.index.search(queries(users), k, skip)
        fallback_scores, fallback_ids = popular(k, skip)
        known = (users > 0)[:, None]
        scores = tf.where(known, scores, fallback_scores)
        ids = tf.where(known, tf.cast(ids, tf.int32), fallback_ids)
        tokens = tf.gather(module.item_tokens, tf.maximum(ids, 0))
        return {"item_ids": tf.where(ids > 0, tokens, PADDING_ID), "scores": scores}

    module.score = score
    module.recommend = recommend
    module.recommend_default = default_recommend(module, recommend)
