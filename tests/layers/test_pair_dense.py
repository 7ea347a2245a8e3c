"""PairDense: equal to Dense on [p_u, q_i], its halves reusable for full ranking."""

import numpy as np
import pytest

from tfdeeprec._keras import keras, tf
from tfdeeprec.layers import PairDense


def _layer(l2=0.0):
    layer = PairDense(4, 5, embedding_dim=3, units=2, l2=l2)
    layer.build(None)
    rng = np.random.default_rng(0)
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    return layer


def test_equals_dense_on_the_concatenation():
    layer = _layer()
    users, items = np.array([1, 1, 3, 0]), np.array([4, 2, 4, 1])
    concat = np.concatenate([layer.user_embeddings.numpy()[users],
                             layer.item_embeddings.numpy()[items]], axis=1)
    kernel = np.concatenate([layer.user_kernel.numpy(), layer.item_kernel.numpy()])
    expected = np.maximum(concat @ kernel + layer.bias.numpy(), 0.0)
    np.testing.assert_allclose(layer([users, items]).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_halves_give_every_pair():
    layer = _layer()
    users = np.array([2, 3], np.int32)
    full = layer.activation(layer.project_users(users)[:, None, :]
                            + layer.project_items(5)[None, :, :]).numpy()
    for row, user in enumerate(users):
        pairs = layer([np.full(5, user), np.arange(5)]).numpy()
        np.testing.assert_allclose(full[row], pairs, rtol=1e-5, atol=1e-6)


def test_l2_is_the_mean_squared_norm_of_the_looked_up_rows():
    layer = _layer(l2=0.5)
    users, items = np.array([1, 1, 2]), np.array([0, 4, 4])
    layer([users, items])
    rows = (np.sum(layer.user_embeddings.numpy()[users] ** 2)
            + np.sum(layer.item_embeddings.numpy()[items] ** 2))
    np.testing.assert_allclose(float(tf.add_n(layer.losses)), 0.5 * rows / 3, rtol=1e-5)


def test_round_trips_through_its_config():
    layer = PairDense(4, 5, embedding_dim=3, units=2, activation="tanh", l2=0.1, name="p")
    clone = PairDense.from_config(layer.get_config())
    assert (clone.units, clone.embedding_dim, clone.l2, clone.name) == (2, 3, 0.1, "p")
    assert clone.activation is keras.activations.tanh


@pytest.mark.parametrize("bad", [{"units": 0}, {"embedding_dim": -1}, {"l2": -1.0}])
def test_bad_arguments_are_named(bad):
    kwargs = {"embedding_dim": 3, "units": 2, **bad}
    with pytest.raises(ValueError, match=next(iter(bad))):
        PairDense(4, 5, **kwargs)


def test_dropout_drops_looked_up_rows_in_training_only():
    layer = PairDense(4, 5, embedding_dim=64, units=3, dropout_rate=0.5, activation=None)
    users, items = np.ones(200, np.int32), np.full(200, 2, np.int32)
    inference = layer([users, items]).numpy()
    np.testing.assert_allclose(inference, np.broadcast_to(inference[0], inference.shape))
    trained = layer([users, items], training=True).numpy()
    assert len({tuple(row) for row in trained.round(6)}) > 100  # a fresh mask per row
    np.testing.assert_allclose(trained.mean(0), inference[0], atol=0.5 * np.abs(inference).max())
