"""Graph layers (NGCF, GCN, GAT) on a 3-user, 4-item graph (index 0 of each is the OOV
slot), by hand.

Edges: user 1 - items 1, 2; user 2 - items 2, 3. Degrees: users 2, 2; items 1, 2, 1. The
normalised user-item block ``R[u, i] = 1 / sqrt(deg u deg i)``: ``R[1, 1] = R[2, 3] =
1 / sqrt(2)``, ``R[1, 2] = R[2, 2] = 1 / 2``.
"""

import numpy as np
import pytest

from tfdeeprec._keras import keras, tf
from tfdeeprec.data import EncodedInteractions
from tfdeeprec.data.graph import bipartite_adjacency
from tfdeeprec.layers.graph_attention import GraphAttention
from tfdeeprec.layers.graph_convolution import GraphConvolution
from tfdeeprec.layers.ngcf_propagation import NGCFPropagation

TRAIN = EncodedInteractions(np.array([1, 1, 2, 2]), np.array([1, 2, 2, 3]), 3, 4)
S = 1 / np.sqrt(2)


def test_ngcf_layer_by_hand(adjacency_form):
    r = bipartite_adjacency(TRAIN)
    layer = NGCFPropagation(1)
    users = np.array([[0.0], [1.0], [-20.0]], "float32")
    items = np.array([[0.0], [10.0], [20.0], [30.0]], "float32")
    layer.build([users.shape, items.shape])
    w1, w2 = 0.5, 0.1
    layer.sum_kernel.assign([[w1]])
    layer.product_kernel.assign([[w2]])
    got_users, got_items = layer([users, items], adjacency_form(r))

    def node(own, side):  # LeakyReLU(w1 (own + side) + w2 (side * own)), slope 0.2
        x = w1 * (own + side) + w2 * side * own
        return x if x > 0 else 0.2 * x

    want_users = [node(0, 0), node(1, S * 10 + 0.5 * 20), node(-20, 0.5 * 20 + S * 30)]
    want_items = [node(0, 0), node(10, S * 1), node(20, 0.5 * 1 + 0.5 * -20),
                  node(30, S * -20)]
    assert want_users[2] < 0 and want_items[2] < 0  # both branches of the LeakyReLU
    np.testing.assert_allclose(got_users.numpy()[:, 0], want_users, rtol=1e-5)
    np.testing.assert_allclose(got_items.numpy()[:, 0], want_items, rtol=1e-5)


@pytest.mark.parametrize("sparse", [True, False])
def test_graph_convolution_by_hand_with_self_loops(sparse):
    # Kipf & Welling's A_hat = D~^-1/2 (A + I) D~^-1/2 over the 7 nodes (users, then items);
    # degrees with self-loops: user 0: 1, users 1, 2: 3; item 0: 1, items 1, 3: 2, item 2: 3.
    degree = np.array([1, 3, 3, 1, 2, 3, 2], float)
    edges = [(1, 4), (1, 5), (2, 5), (2, 6)] + [(n, n) for n in range(7)]
    a_hat = np.zeros((7, 7), "float32")
    for u, v in edges:
        a_hat[u, v] = a_hat[v, u] = 1 / np.sqrt(degree[u] * degree[v])
    features = np.arange(14, dtype="float32").reshape(7, 2)
    layer = GraphConvolution(1, activation="relu", kernel_initializer="ones")
    adjacency = tf.sparse.from_dense(a_hat) if sparse else a_hat
    got = layer(features, adjacency).numpy()[:, 0]
    rows = features.sum(axis=1)  # H W with W = [[1], [1]]
    # user 1: its own row / 3 and items 1 (row 4), 2 (row 5) over sqrt(3 * 2), sqrt(3 * 3)
    assert got[1] == pytest.approx(rows[1] / 3 + rows[4] / np.sqrt(6) + rows[5] / 3, rel=1e-6)
    # item 2 (row 5): users 1, 2 over 3, and itself over 3
    assert got[5] == pytest.approx((rows[1] + rows[2] + rows[5]) / 3, rel=1e-6)
    np.testing.assert_allclose(got, np.maximum(a_hat @ rows, 0.0), rtol=1e-6)


@pytest.mark.parametrize("sparse", [True, False])
def test_graph_attention_by_hand_with_two_heads(sparse):
    # The 7 nodes (users 0-2, then items 0-3 as nodes 3-6) with self-loops.
    edges = [(1, 4), (1, 5), (2, 5), (2, 6)]
    a = np.eye(7, dtype="float32")
    for u, v in edges:
        a[u, v] = a[v, u] = 1.0
    features = np.array([[0.0], [1.0], [2.0], [0.0], [0.5], [-1.0], [3.0]], "float32")
    layer = GraphAttention(1, heads=2, activation="linear")
    layer.build(features.shape)
    layer.kernel.assign([[1.0, 2.0]])            # head 0: h, head 1: 2h
    layer.source_attention.assign([[1.0], [0.0]])
    layer.target_attention.assign([[1.0], [1.0]])
    got = layer(features, tf.sparse.from_dense(a) if sparse else a).numpy()

    def leaky(x):
        return x if x > 0 else 0.2 * x

    def node(i, head):  # softmax over i's neighbours j of leaky(src * h_i + dst * h_j)
        scale, src = (1.0, 1.0) if head == 0 else (2.0, 0.0)
        h = scale * features[:, 0]
        neighbours = np.nonzero(a[i])[0]
        e = np.exp([leaky(src * h[i] + h[j]) for j in neighbours])
        return float(np.sum(e / e.sum() * h[neighbours]))

    want = [[node(i, 0), node(i, 1)] for i in range(7)]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # user 1 (node 1) attends to itself and items 1, 2 (nodes 4, 5); head 0 by hand:
    e = np.exp([leaky(1 + 1), leaky(1 + 0.5), leaky(1 - 1)])
    assert got[1, 0] == pytest.approx(float(e @ [1.0, 0.5, -1.0] / e.sum()), rel=1e-5)


def test_ngcfs_two_kernels_start_from_different_values():
    layer = NGCFPropagation(4)
    layer.build([(3, 4), (5, 4)])
    assert not np.allclose(layer.sum_kernel.numpy(), layer.product_kernel.numpy())


def test_graph_layers_refuse_bad_units_and_reload_from_config():
    for layer_class in (GraphConvolution, NGCFPropagation, GraphAttention):
        with pytest.raises(ValueError, match="units=0"):
            layer_class(0)
        layer = layer_class(3)
        again = keras.layers.deserialize(keras.layers.serialize(layer))
        assert type(again) is layer_class and again.units == 3
