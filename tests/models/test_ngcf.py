"""NGCF: the final vectors' blocks (layer 0, then each layer normalised), one layer by hand
on 3 users and 4 items (OOV slots included), message dropout in training only, and
training."""

import numpy as np
import pytest

from tfdeeprec._keras import keras, tf
from tfdeeprec.data import EncodedInteractions
from tfdeeprec.data.graph import bipartite_adjacency
from tfdeeprec.data.pairwise import make_pairwise_dataset
from tfdeeprec.models.ngcf import build_ngcf

# Users 1, 2 (index 0 is the OOV slot); items 1, 2, 3. Edges: u1-i1, u1-i2, u2-i2, u2-i3.
TRAIN = EncodedInteractions(np.array([1, 1, 2, 2]), np.array([1, 2, 2, 3]), 3, 4)


def _model(**kwargs):
    return build_ngcf(3, 4, adjacency=bipartite_adjacency(TRAIN),
                      **{"embedding_dim": 4, "hidden_units": [3, 5]} | kwargs)


@pytest.mark.parametrize("dense", [True, False])
def test_final_vectors_are_layer_0_then_each_normalised_layer(dense):
    model = _model(dense_adjacency=dense)
    users, items = (side.numpy() for side in model.propagate())
    assert users.shape == (3, 4 + 3 + 5) and items.shape == (4, 4 + 3 + 5)
    nodes = model.nodes.numpy()
    np.testing.assert_array_equal(users[:, :4], nodes[:3])
    np.testing.assert_array_equal(items[:, :4], nodes[3:])
    for block in (slice(4, 7), slice(7, 12)):  # unit rows
        np.testing.assert_allclose(np.linalg.norm(users[:, block], axis=1), 1, rtol=1e-5)
        np.testing.assert_allclose(np.linalg.norm(items[:, block], axis=1), 1, rtol=1e-5)


def test_one_layer_by_hand():
    model = _model(embedding_dim=2, hidden_units=[2], message_dropout=0.5)
    users = np.array([[0.0, 0.0], [1.0, 2.0], [-1.0, 3.0]], "float32")
    items = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [2.0, -2.0]], "float32")
    model.nodes.assign(np.concatenate([users, items]))
    layer = model.propagation_layers[0]
    layer.set_weights([np.eye(2), np.zeros(2), np.eye(2), np.zeros(2)])  # W1 = W2 = I
    r = tf.sparse.to_dense(bipartite_adjacency(TRAIN)).numpy()  # u1: i1, i2; u2: i2, i3

    def by_hand(own, side):  # LeakyReLU(own + side + side * own), then unit rows
        out = own + side + side * own
        out = np.where(out > 0, out, 0.2 * out)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)

    got_users, got_items = (side.numpy() for side in model.propagate())
    np.testing.assert_allclose(got_users[:, 2:], by_hand(users, r @ items), rtol=1e-5)
    np.testing.assert_allclose(got_items[:, 2:], by_hand(items, r.T @ users), rtol=1e-5)


def test_message_dropout_applies_in_training_only():
    model = _model(message_dropout=0.5)
    first, second = model.propagate(), model.propagate()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    trained = model.propagate(training=True)
    np.testing.assert_array_equal(trained[0].numpy()[:, :4], first[0].numpy()[:, :4])
    assert not np.allclose(trained[0].numpy()[:, 4:], first[0].numpy()[:, 4:])


def test_dense_and_sparse_graphs_give_the_same_model():
    dense, sparse = _model(dense_adjacency=True), _model(dense_adjacency=False)
    for mine, theirs in zip(sparse.trainable_variables, dense.trainable_variables):
        mine.assign(theirs)
    for a, b in zip(dense.propagate(), sparse.propagate()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_training_lowers_bpr_and_freeze_keeps_the_scores():
    model = _model()
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    triples = make_pairwise_dataset(TRAIN.known(), batch_size=4, seed=0)
    losses = model.fit(triples, epochs=10, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
    pairs = {"user_id": np.array([1, 1, 2, 2]), "item_id": np.array([1, 3, 2, 1])}
    frozen = model.freeze()
    assert frozen.query_tower(pairs["user_id"]).shape == (4, 12)
    scores = np.sum(frozen.query_tower(pairs["user_id"]).numpy() *
                    frozen.candidate_tower(pairs["item_id"]).numpy(), axis=1)
    np.testing.assert_allclose(scores, model(pairs).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs,match", [
    ({"hidden_units": [4, 0]}, r"hidden_units=\[4, 0\]"),
    ({"hidden_units": []}, r"hidden_units=\[\]"),
    ({"message_dropout": 1.0}, "message_dropout=1.0"),
    ({"embedding_dim": 0}, "embedding_dim=0"),
    ({"l2": -1.0}, "l2=-1.0"),
    ({"task": "rating"}, "task='rating'"),
])
def test_ngcf_refuses_bad_arguments_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _model(**kwargs)


def test_ngcf_refuses_a_graph_of_other_sizes_by_name():
    with pytest.raises(ValueError, match="num_users=5"):
        build_ngcf(5, 4, adjacency=bipartite_adjacency(TRAIN))
