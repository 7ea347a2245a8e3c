"""LightGCN: user and item vectors smoothed over the user-item graph, trained with BPR.

Reference: He, Deng, Wang, Li, Zhang & Wang, "LightGCN: Simplifying and Powering Graph
Convolution Network for Recommendation", SIGIR 2020 (RecBole's ``LightGCN``).

Every user and item has a vector of its own (``embedding_dim``); ``num_layers`` rounds of
:class:`~tfdeeprec.layers.LightGCNPropagation` over the normalised training graph
(:func:`~tfdeeprec.data.graph.bipartite_adjacency`, the builder's ``adjacency``) give
the final vectors, the mean of every round's; a pair's score is the dot product of its
user's and item's final vectors. Training propagates the whole graph at every step and
minimises BPR on (user, positive, sampled negative) triples plus ``l2`` times the
squared norms of the triple's own vectors, averaged over the batch.

After training, :meth:`LightGCN.freeze` writes the final vectors into a plain
:class:`~tfdeeprec.models.two_tower.TwoTower` (one embedding table per tower), which
scores, saves and exports like two-tower retrieval: brute force, its ScaNN twin and the
query tower. Defaults, RecBole's: 64 dimensions, 2 layers, ``l2 = 1e-5``.
"""

from __future__ import annotations

from tfdeeprec._keras import tf
from tfdeeprec._registration import register
from tfdeeprec.layers.lightgcn_propagation import LightGCNPropagation
from tfdeeprec.models._common import check_implicit_task, check_positive_ints
from tfdeeprec.models._graph import GraphModel


def build_lightgcn(num_users: int, num_items: int, *, adjacency: tf.SparseTensor | None = None,
                   embedding_dim: int = 64, num_layers: int = 2, l2: float = 1e-5,
                   dense_adjacency: bool | None = None, task: str = "implicit",
                   name: str = "lightgcn") -> "LightGCN":
    """The LightGCN trainer over ``adjacency`` (``None``: a graph with no edges).

    >>> model = build_lightgcn(3, 4, embedding_dim=2)
    >>> model.query_tower(tf.constant([1, 2])).shape
    TensorShape([2, 2])
    """
    check_implicit_task("LightGCN", task)
    return LightGCN(num_users, num_items, adjacency, embedding_dim=embedding_dim,
                    num_layers=num_layers, l2=l2, dense_adjacency=dense_adjacency, name=name)


@register
class LightGCN(GraphModel):
    """Trains LightGCN's node vectors with BPR (see the module docstring).

    Args:
        num_users, num_items, adjacency, embedding_dim, l2, dense_adjacency: as
            :class:`~tfdeeprec.models._graph.GraphModel`'s.
        num_layers (int): rounds of propagation; see the module docstring.

    Call arguments, training data and towers: :class:`~tfdeeprec.models._graph.GraphModel`'s;
    the final vectors are ``embedding_dim`` wide.
    """

    def __init__(self, num_users: int, num_items: int, adjacency=None, *,
                 embedding_dim: int = 64, num_layers: int = 2, l2: float = 1e-5,
                 dense_adjacency: bool | None = None, **kwargs):
        check_positive_ints(num_layers=num_layers)
        super().__init__(num_users, num_items, adjacency, embedding_dim=embedding_dim, l2=l2,
                         dense_adjacency=dense_adjacency, **kwargs)
        self.propagation = LightGCNPropagation(num_layers, name="propagation")

    def propagate(self, training=False):
        """The final vectors: ``[users float32 [num_users, d], items [num_items, d]]``."""
        return self.propagation(self.node_vectors(), self.graph())
