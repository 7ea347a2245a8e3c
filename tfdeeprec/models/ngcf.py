"""NGCF: user and item vectors from learned message passing over the user-item graph,
trained with BPR.

Reference: Wang, He, Wang, Feng & Chua, "Neural Graph Collaborative Filtering", SIGIR
2019 (RecBole's ``NGCF``).

Every user and item has a vector of its own (``embedding_dim``, layer 0); a stack of
:class:`~tfdeeprec.layers.NGCFPropagation` layers, one per entry of ``hidden_units``,
passes messages over the normalised training graph
(:func:`~tfdeeprec.data.graph.bipartite_adjacency`, the builder's ``adjacency``). Each
layer's output goes through message dropout (``message_dropout``, in training only), is
L2-normalised row by row and feeds the next layer (as RecBole's does); a node's final
vector is the concatenation of its layer-0 vector and every layer's normalised output,
``embedding_dim + sum(hidden_units)`` wide. A pair's score is the dot product of its
user's and item's final vectors. Training is LightGCN's
(:class:`~tfdeeprec.models._graph.GraphModel`): the whole graph propagated at every
step, BPR on (user, positive, sampled negative) triples plus ``l2`` times the squared
norms of the triple's layer-0 vectors, averaged over the batch; :meth:`NGCF.freeze`
gives the plain two-tower model that evaluates, saves and exports.

Defaults, RecBole 1.2.1's: 64 dimensions, ``hidden_units = (64, 64, 64)``, message
dropout 0.1, ``l2 = 1e-5``. RecBole's node dropout (default 0, off) is not implemented.
"""

from __future__ import annotations

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register
from tfdeeprec.layers.ngcf_propagation import NGCFPropagation
from tfdeeprec.models._common import check_implicit_task, check_rate
from tfdeeprec.models._graph import GraphModel


def build_ngcf(num_users: int, num_items: int, *, adjacency: tf.SparseTensor | None = None,
               embedding_dim: int = 64, hidden_units=(64, 64, 64), message_dropout: float = 0.1,
               l2: float = 1e-5, dense_adjacency: bool | None = None, task: str = "implicit",
               name: str = "ngcf") -> "NGCF":
    """The NGCF trainer over ``adjacency`` (``None``: a graph with no edges).

    >>> model = build_ngcf(3, 4, embedding_dim=2, hidden_units=[3, 5])
    >>> model.query_tower(tf.constant([1, 2])).shape  # 2 + 3 + 5
    TensorShape([2, 10])
    """
    check_implicit_task("NGCF", task)
    return NGCF(num_users, num_items, adjacency, embedding_dim=embedding_dim,
                hidden_units=hidden_units, message_dropout=message_dropout, l2=l2,
                dense_adjacency=dense_adjacency, name=name)


@register
class NGCF(GraphModel):
    """Trains NGCF's node vectors and layers with BPR (see the module docstring).

    Args:
        num_users, num_items, adjacency, embedding_dim, l2, dense_adjacency: as
            :class:`~tfdeeprec.models._graph.GraphModel`'s.
        hidden_units (sequence of int): the width of each propagation layer, in order
            (default ``(64, 64, 64)``).
        message_dropout (float): dropout rate on each layer's output, in training only,
            in ``[0, 1)`` (default 0.1).

    Call arguments, training data and towers: :class:`~tfdeeprec.models._graph.GraphModel`'s;
    the final vectors are ``embedding_dim + sum(hidden_units)`` wide.
    """

    def __init__(self, num_users: int, num_items: int, adjacency=None, *,
                 embedding_dim: int = 64, hidden_units=(64, 64, 64),
                 message_dropout: float = 0.1, l2: float = 1e-5,
                 dense_adjacency: bool | None = None, **kwargs):
        if isinstance(hidden_units, (str, bytes)) or not hasattr(hidden_units, "__len__") \
                or not hidden_units or any(isinstance(u, bool) or not isinstance(u, int)
                                           or u < 1 for u in hidden_units):
            raise ValueError("`hidden_units` must be a non-empty sequence of positive "
                             f"integers. Received: hidden_units={hidden_units!r}")
        message_dropout = check_rate("message_dropout", message_dropout)
        super().__init__(num_users, num_items, adjacency, embedding_dim=embedding_dim, l2=l2,
                         dense_adjacency=dense_adjacency, **kwargs)
        self.hidden_units, self.message_dropout = tuple(hidden_units), message_dropout
        self.propagation_layers = []
        width = self.embedding_dim
        for index, units in enumerate(self.hidden_units):
            layer = NGCFPropagation(units, name=f"propagation_{index}")
            layer.build([tf.TensorShape([None, width])] * 2)
            self.propagation_layers.append(layer)
            width = units
        self.dropout = keras.layers.Dropout(message_dropout, name="message_dropout")

    def propagate(self, training=False):
        """The final vectors: ``[users float32 [num_users, embedding_dim +
        sum(hidden_units)], items [num_items, ...]]``."""
        graph = self.graph()
        vectors = self.node_vectors()
        outputs = [vectors]
        for layer in self.propagation_layers:
            vectors = [tf.math.l2_normalize(self.dropout(side, training=training), axis=1)
                       for side in layer(vectors, graph)]
            outputs.append(vectors)
        return [tf.concat([out[side] for out in outputs], axis=1) for side in (0, 1)]
