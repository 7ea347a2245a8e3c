"""LightGCNPropagation: LightGCN's parameter-free propagation over the user-item graph."""

from __future__ import annotations

from tfdeeprec._keras import keras, tf  # noqa: F401  (tf: the examples)
from tfdeeprec._registration import register
from tfdeeprec.layers._graph import adjacency_times


@register
class LightGCNPropagation(keras.layers.Layer):
    """``E -> (E + A E + A^2 E + ... + A^K E) / (K + 1)`` for ``K = num_layers``.

    LightGCN's layer combination (He et al., SIGIR 2020): each round replaces every
    node's vector by the normalised sum of its neighbours' (``A``, the normalised
    adjacency of the user-item graph), with no weights, no non-linearity and no
    self-loop; the output is the mean of every round's vectors (the paper's ``alpha_k =
    1 / (K + 1)``). On a bipartite graph ``A = [[0, R], [R^T, 0]]``, so a round is
    ``users' = R items`` and ``items' = R^T users`` with ``R`` the user-item block
    (:func:`~tfdeeprec.data.graph.bipartite_adjacency`), dense or sparse. The layer has
    no weights.

    Args:
        num_layers (int): ``K`` >= 0 (0: the input itself).

    Call arguments:
        inputs: ``[users [U, d], items [I, d]]``, every node's own (round-0) vector.
        adjacency: ``R``, float ``[U, I]``: a dense tensor or a ``tf.SparseTensor``.

    Returns: ``[users [U, d], items [I, d]]``, the final vectors.

    Example (one user, two items, both linked to it with weight 1):

    >>> layer = LightGCNPropagation(1)
    >>> users, items = layer([tf.constant([[2.0]]), tf.constant([[4.0], [6.0]])],
    ...                      tf.constant([[1.0, 1.0]]))
    >>> users.numpy().tolist(), items.numpy().tolist()  # (2 + 10) / 2; (4 + 2) / 2, (6 + 2) / 2
    ([[6.0]], [[3.0], [4.0]])
    """

    def __init__(self, num_layers: int, **kwargs):
        super().__init__(**kwargs)
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 0:
            raise ValueError(f"`num_layers` must be an integer >= 0. Received: "
                             f"num_layers={num_layers!r}")
        self.num_layers = num_layers

    def call(self, inputs, adjacency):
        users, items = inputs
        user_sum, item_sum = users, items
        for _ in range(self.num_layers):
            users, items = (adjacency_times(adjacency, items),
                            adjacency_times(adjacency, users, transpose=True))
            user_sum, item_sum = user_sum + users, item_sum + items
        scale = 1.0 / float(self.num_layers + 1)
        return [user_sum * scale, item_sum * scale]

    def get_config(self):
        return {**super().get_config(), "num_layers": self.num_layers}

