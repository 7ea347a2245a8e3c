"""LightGCN: the graph (3 users and 4 items, OOV slots included, by hand), propagation by
hand, the graph built without held-out edges, and training."""

import numpy as np
import pytest

from tfdeeprec._keras import keras, tf
from tfdeeprec.data import EncodedInteractions, make_synthetic_ratings
from tfdeeprec.data.graph import bipartite_adjacency
from tfdeeprec.data.pairwise import make_pairwise_dataset
from tfdeeprec.data.prepared import prepare_data
from tfdeeprec.families import get_family
from tfdeeprec.layers.lightgcn_propagation import LightGCNPropagation
from tfdeeprec.models.lightgcn import build_lightgcn
from tfdeeprec.models.registry import get_spec
from tfdeeprec.training import TrainingConfig
from tfdeeprec.training.experiment import ExperimentConfig, run_experiment

# Users 1, 2 (index 0 is the OOV slot); items 1, 2, 3. Edges: u1-i1, u1-i2, u2-i2, u2-i3,
# u1-i1 again (a repeat counts once), and a row with the OOV item (left out).
TRAIN = EncodedInteractions(np.array([1, 1, 2, 2, 1, 2]), np.array([1, 2, 2, 3, 1, 0]), 3, 4)


def test_adjacency_by_hand():
    r = tf.sparse.to_dense(bipartite_adjacency(TRAIN)).numpy()
    # degrees: u1 2, u2 2; i1 1, i2 2, i3 1
    want = np.zeros((3, 4))
    want[1, 1], want[1, 2] = 1 / np.sqrt(2 * 1), 1 / np.sqrt(2 * 2)
    want[2, 2], want[2, 3] = 1 / np.sqrt(2 * 2), 1 / np.sqrt(2 * 1)
    np.testing.assert_allclose(r, want, rtol=1e-6)


def test_two_rounds_of_propagation_by_hand(adjacency_form):
    r = bipartite_adjacency(TRAIN)
    users = np.array([[0.0], [1.0], [2.0]], "float32")
    items = np.array([[0.0], [10.0], [20.0], [30.0]], "float32")
    layer = LightGCNPropagation(2)
    got_users, got_items = layer([users, items], adjacency_form(r))
    a, b = 1 / np.sqrt(2), 0.5
    # round 1: users = R items, items = R^T users
    u1 = [0.0, a * 10 + b * 20, b * 20 + a * 30]
    i1 = [0.0, a * 1, b * 1 + b * 2, a * 2]
    # round 2 from round 1
    u2 = [0.0, a * i1[1] + b * i1[2], b * i1[2] + a * i1[3]]
    i2 = [0.0, a * u1[1], b * u1[1] + b * u1[2], a * u1[2]]
    np.testing.assert_allclose(got_users.numpy()[:, 0],
                               (users[:, 0] + np.array(u1) + np.array(u2)) / 3, rtol=1e-5)
    np.testing.assert_allclose(got_items.numpy()[:, 0],
                               (items[:, 0] + np.array(i1) + np.array(i2)) / 3, rtol=1e-5)


def test_propagation_refuses_a_negative_layer_count():
    with pytest.raises(ValueError, match="num_layers=-1"):
        LightGCNPropagation(-1)


def test_the_family_builds_the_graph_from_the_training_part_only():
    frame = make_synthetic_ratings(60, 40, seed=2).frame
    data = prepare_data(frame, split="user_ratio", ratios=(0.8, 0.1, 0.1), seed=0)
    config = ExperimentConfig(model="lightgcn")
    args = get_family("embedding").model_arguments(get_spec("lightgcn"), config, data)
    edges = {tuple(e) for e in args["adjacency"].indices.numpy().tolist()}
    train = {(int(u), int(i)) for u, i in zip(data.train.known().user, data.train.known().item)}
    held_out = {(int(u), int(i)) for part in (data.valid, data.test)
                for u, i in zip(part.known().user, part.known().item)} - train
    assert edges == train and held_out and not edges & held_out


@pytest.mark.parametrize("dense", [True, False])
def test_training_lowers_bpr_and_freeze_keeps_the_scores(dense):
    model = build_lightgcn(3, 4, adjacency=bipartite_adjacency(TRAIN), embedding_dim=4,
                           dense_adjacency=dense)
    assert model.dense_adjacency is dense
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    triples = make_pairwise_dataset(TRAIN.known(), batch_size=4, seed=0)
    losses = model.fit(triples, epochs=20, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
    pairs = {"user_id": np.array([1, 1, 2, 2]), "item_id": np.array([1, 3, 2, 1])}
    frozen = model.freeze()
    scores = np.sum(frozen.query_tower(pairs["user_id"]).numpy() *
                    frozen.candidate_tower(pairs["item_id"]).numpy(), axis=1)
    np.testing.assert_allclose(scores, model(pairs).numpy(), rtol=1e-5, atol=1e-6)


def test_dense_and_sparse_graphs_give_the_same_model():
    dense = build_lightgcn(3, 4, adjacency=bipartite_adjacency(TRAIN), embedding_dim=4,
                           dense_adjacency=True)
    sparse = build_lightgcn(3, 4, adjacency=bipartite_adjacency(TRAIN), embedding_dim=4,
                            dense_adjacency=False)
    sparse.nodes.assign(dense.nodes)
    for a, b in zip(dense.propagate(), sparse.propagate()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_lightgcn_refuses_a_graph_of_other_sizes_by_name():
    with pytest.raises(ValueError, match="num_users=5"):
        build_lightgcn(5, 4, adjacency=bipartite_adjacency(TRAIN))


@pytest.mark.parametrize("model,kwargs,epochs", [
    ("lightgcn", {}, 40), ("ngcf", {"embedding_dim": 16, "hidden_units": [16, 16]}, 20)])
def test_graph_models_beat_popularity_on_planted_data(model, kwargs, epochs):
    frame = make_synthetic_ratings(300, 120, seed=3).frame
    training = TrainingConfig(epochs=epochs, learning_rate=1e-2, early_stopping_patience=10,
                              reduce_lr_patience=0, verbose=0, seed=0, optimizer="adam")
    pop = run_experiment(ExperimentConfig(model="pop", seed=0, training=training),
                         frame=frame).metrics["test"]["ndcg@10"]
    graph = run_experiment(ExperimentConfig(model=model, seed=0, batch_size=512,
                                            model_kwargs=kwargs, training=training),
                           frame=frame)
    assert graph.metrics["test"]["ndcg@10"] > pop + 0.1, (pop, graph.metrics["test"])
    assert type(graph.model).__name__ == "TwoTower"  # frozen: what evaluation and export read
