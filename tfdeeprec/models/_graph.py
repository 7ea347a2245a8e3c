"""What the graph models (LightGCN, NGCF) share: node vectors for the users and items, the
user-item block ``R`` held dense or sparse, BPR training with the whole graph propagated
at every step, the towers and the frozen two-tower form.

A graph model subclasses :class:`GraphModel` and implements
:meth:`GraphModel.propagate`, ``[users [num_users, d'], items [num_items, d']]`` from the
node table (:attr:`GraphModel.nodes`, ``[num_users + num_items, embedding_dim]``, users
first) and :meth:`GraphModel.graph`; everything else is here.
"""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import keras, tf
from tfdeeprec.data import schema
from tfdeeprec.layers._graph import csr_adjacency
from tfdeeprec.models._common import check_non_negative, check_positive_ints, check_sizes
from tfdeeprec.models.two_tower import TwoTower, build_factor_two_tower, set_factor_tables

DENSE_BELOW = 10  # dense R when at least 1 entry in 10 is an edge ...
DENSE_MAX_ENTRIES = 1 << 26  # ... and it holds at most 2^26 floats (256 MiB)


class GraphModel(keras.Model):
    """Node vectors propagated over the user-item graph, trained with BPR.

    Args:
        num_users, num_items: vocabulary sizes, OOV slots included.
        adjacency: the normalised user-item block ``R``, float ``tf.SparseTensor``
            ``[num_users, num_items]`` (``None``: no edges).
        embedding_dim (int): width of a node's own vector.
        l2 (float): weight of the squared norms of a training triple's own (layer-0)
            vectors, averaged over the batch.
        dense_adjacency (bool | None): hold ``R`` as a dense matrix (a product with it is
            a matmul at the machine's matmul rate) or sparse, multiplied in CSR form
            (work in proportion to the edges; :func:`~tfdeeprec.layers._graph.
            csr_adjacency`). ``None`` (default): dense when ``R`` has at least one entry
            in :data:`DENSE_BELOW` nonzero and at most :data:`DENSE_MAX_ENTRIES`
            entries (on ml-100k's graph, 5% nonzero, three LightGCN rounds forward and
            backward took 6.6 ms in CSR form against 12.6 ms dense; at 15% nonzero
            17.6 ms against 12.6).

    Call arguments: ``{"user_id": int [b], "item_id": int [b]}`` -> scores ``[b]``, the
    dot products of the final vectors. Training data: ``{user_id, positive_item_id,
    negative_item_id}`` batches (:func:`~tfdeeprec.data.pairwise.make_pairwise_dataset`);
    compile it with an optimizer only. ``query_tower`` and ``candidate_tower`` map
    indices to the final vectors (propagating the graph at each call).
    """

    def __init__(self, num_users: int, num_items: int, adjacency=None, *,
                 embedding_dim: int = 64, l2: float = 1e-5,
                 dense_adjacency: bool | None = None, **kwargs):
        super().__init__(**kwargs)
        check_sizes(num_users, num_items)
        check_positive_ints(embedding_dim=embedding_dim)
        check_non_negative(l2=l2)
        if adjacency is None:
            adjacency = tf.SparseTensor(np.zeros((0, 2), np.int64), np.zeros(0, np.float32),
                                        [num_users, num_items])
        if tuple(adjacency.dense_shape.numpy()) != (num_users, num_items):
            raise ValueError(f"`adjacency` must be [num_users={num_users}, "
                             f"num_items={num_items}]. Received: "
                             f"{adjacency.dense_shape.numpy().tolist()}")
        self.num_users, self.num_items = int(num_users), int(num_items)
        self.embedding_dim, self.l2 = int(embedding_dim), float(l2)
        self.nodes = self.add_weight(name="node_embeddings",
                                     shape=(num_users + num_items, embedding_dim),
                                     initializer="glorot_uniform")
        entries = num_users * num_items
        if dense_adjacency is None:
            dense_adjacency = (entries <= DENSE_MAX_ENTRIES and
                               int(adjacency.indices.shape[0]) * DENSE_BELOW >= entries)
        self.dense_adjacency = bool(dense_adjacency)
        if self.dense_adjacency:
            self.adjacency = tf.Variable(tf.sparse.to_dense(adjacency), trainable=False,
                                         name="adjacency")
        else:
            self.edge_indices = tf.Variable(adjacency.indices, trainable=False,
                                            name="edge_indices")
            self.edge_weights = tf.Variable(adjacency.values, trainable=False,
                                            name="edge_weights")
        self.query_tower = _PropagatedTower(self, 0)
        self.candidate_tower = _PropagatedTower(self, 1)
        self.adds_own_loss = True

    def graph(self):
        """``R``: a dense ``[num_users, num_items]`` variable or a CSR matrix."""
        if self.dense_adjacency:
            return self.adjacency
        return csr_adjacency(tf.SparseTensor(self.edge_indices, self.edge_weights,
                                             [self.num_users, self.num_items]))

    def node_vectors(self):
        """The layer-0 vectors: ``[users [num_users, embedding_dim], items [...]]``."""
        return [self.nodes[:self.num_users], self.nodes[self.num_users:]]

    def propagate(self, training=False):
        """The final vectors: ``[users float32 [num_users, d'], items [num_items, d']]``
        (``training``: whether training-only randomness, such as dropout, applies)."""
        raise NotImplementedError(f"{type(self).__name__} must implement propagate()")

    def call(self, inputs, training=None):
        users, items = self.propagate(training=training)
        return tf.reduce_sum(tf.gather(users, inputs[schema.USER_ID]) *
                             tf.gather(items, inputs[schema.ITEM_ID]), axis=-1)

    def train_step(self, data):
        users = tf.cast(data[schema.USER_ID], tf.int32)
        items = [tf.cast(data[key], tf.int32) for key in
                 (schema.POSITIVE_ITEM_ID, schema.NEGATIVE_ITEM_ID)]
        ids = (users, items[0] + self.num_users, items[1] + self.num_users)
        with tf.GradientTape() as tape:
            final_users, final_items = self.propagate(training=True)
            user = tf.gather(final_users, users)
            positive, negative = (tf.gather(final_items, i) for i in items)
            margin = tf.reduce_sum(user * (positive - negative), axis=-1)
            loss = -tf.reduce_mean(tf.math.log_sigmoid(margin))
            own = [tf.gather(self.nodes, i) for i in ids]
            penalty = self.l2 * tf.add_n([tf.reduce_sum(tf.square(v)) for v in own]) \
                / tf.cast(tf.shape(ids[0])[0], tf.float32)
            total = loss + penalty
            scaled = total / self.distribute_strategy.num_replicas_in_sync
        gradients = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return {"loss": total}

    def freeze(self) -> TwoTower:
        """A :class:`~tfdeeprec.models.two_tower.TwoTower` whose towers are the final
        vectors as plain embedding tables (the same scores, no graph)."""
        users, items = (side.numpy() for side in self.propagate())
        frozen = build_factor_two_tower(self.num_users, self.num_items, users.shape[1],
                                        name=self.name)
        set_factor_tables(frozen, users, items)
        return frozen


class _PropagatedTower:
    """``ids int [b] -> [b, d']``: one side (0: users, 1: items) of the final vectors."""

    def __init__(self, model: GraphModel, side: int):
        self.model, self.side = model, side

    def __call__(self, ids, training=False):
        return tf.gather(self.model.propagate()[self.side], ids)
