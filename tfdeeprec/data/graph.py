"""The user-item graph of the training interactions, for graph models (LightGCN)."""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data.encoded import EncodedInteractions


def bipartite_adjacency(train: EncodedInteractions) -> tf.SparseTensor:
    """The user-item block ``R`` of the graph's normalised adjacency ``D^-1/2 A D^-1/2``.

    The graph's nodes are the users and the items; ``A`` links user ``u`` and item ``i``
    (both ways, no self-loops) once for each distinct pair of ``train``, and ``D`` holds
    the node degrees, so ``A``'s normalised form is ``[[0, R], [R^T, 0]]`` with ``R[u, i]
    = 1 / sqrt(deg(u) deg(i))`` for a training pair and 0 otherwise. Build it from the
    training part only: an edge of the validation or test part would leak the answer
    into every node's neighbourhood. Rows with an OOV user or item are left out, so the
    OOV user and item have no edges.

    Returns:
        float32 ``tf.SparseTensor`` ``[num_users, num_items]``, indices in row-major order.

    Example:

    >>> train = EncodedInteractions(np.array([1, 1, 2]), np.array([1, 2, 1]), 3, 3)
    >>> r = tf.sparse.to_dense(bipartite_adjacency(train)).numpy()
    >>> # user 1 - item 1: 1 / sqrt(2 * 2); user 2 - item 1: 1 / sqrt(1 * 2)
    >>> round(float(r[1, 1]), 4), round(float(r[2, 1]), 4), r.shape
    (0.5, 0.7071, (3, 3))
    """
    users, items, _ = train.distinct_pairs()  # row-major already
    user_degree = np.bincount(users, minlength=train.num_users).astype(np.float64)
    item_degree = np.bincount(items, minlength=train.num_items).astype(np.float64)
    values = 1.0 / np.sqrt(user_degree[users] * item_degree[items])
    return tf.SparseTensor(np.stack([users, items], axis=1), values.astype(np.float32),
                           [train.num_users, train.num_items])
