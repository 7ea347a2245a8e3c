"""Every layer: exact values, shapes, weights, invalid arguments, config and save round trips."""

import numpy as np
import pytest

from tfdeeprec._keras import keras, tf
from tfdeeprec.layers import MLP, CrossedLinear, FeatureLookup, RatingClip, ScalarBias


class TestMLP:
    def test_exact_values_with_constant_initializer(self):
        layer = MLP((2, 1), activation="linear", kernel_initializer="ones")
        out = layer(np.array([[1.0, 2.0, 3.0]], "float32"))
        # first layer: each unit 1+2+3 = 6 (bias 0); second: 6 + 6 = 12
        np.testing.assert_allclose(out.numpy(), [[12.0]])
        assert len(layer.weights) == 4 and layer.count_params() == (3 * 2 + 2) + (2 + 1)

    def test_invalid_arguments(self):
        with pytest.raises(ValueError, match="Received: hidden_units=()"):
            MLP(())
        with pytest.raises(ValueError, match="dropout_rate=1.5"):
            MLP((4,), dropout_rate=1.5)

    def test_config_round_trip_and_dropout_only_in_training(self):
        layer = MLP((4, 2), dropout_rate=0.5, kernel_regularizer="l2")
        clone = MLP.from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
        x = np.ones((64, 3), "float32")
        np.testing.assert_allclose(layer(x, training=False), layer(x, training=False))

    def test_save_load_in_a_model(self, reload_check):
        inputs = keras.Input((3,))
        model = keras.Model(inputs, MLP((4, 2), dropout_rate=0.1)(inputs))
        reload_check(model, np.random.default_rng(0).random((5, 3)).astype("float32"))


class TestRatingClipAndScalarBias:
    def test_clip_only_outside_training(self):
        layer = RatingClip(1.0, 5.0)
        x = tf.constant([0.0, 6.0])
        assert layer(x, training=True).numpy().tolist() == [0.0, 6.0]
        assert layer(x, training=False).numpy().tolist() == [1.0, 5.0]
        with pytest.raises(ValueError, match="low=5.0, high=1.0"):
            RatingClip(5.0, 1.0)

    def test_scalar_bias_is_one_trainable_weight(self):
        layer = ScalarBias(3.5)
        assert layer(tf.constant([[1.0]])).numpy().tolist() == [[4.5]]
        assert layer.count_params() == 1
        assert ScalarBias.from_config(layer.get_config()).initial_value == 3.5


class TestFeatureLookup:
    def test_gathers_rows_and_is_not_trainable(self):
        layer = FeatureLookup(table=np.array([[0, 0], [1, 0], [0, 1]], "float32"))
        assert layer(tf.constant([2, 0])).numpy().tolist() == [[0.0, 1.0], [0.0, 0.0]]
        assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 1

    def test_invalid_and_config(self):
        with pytest.raises(ValueError, match="table_shape"):
            FeatureLookup(table_shape=(2, 2, 2))
        with pytest.raises(ValueError, match="float64"):
            FeatureLookup(table_shape=(3,), table_dtype="float64")
        config = FeatureLookup(table=np.zeros(4, "int32")).get_config()
        assert config["table_shape"] == [4] and "table" not in config

    def test_table_values_survive_save_load(self, reload_check):
        inputs = keras.Input((), dtype="int32")
        lookup = FeatureLookup(table=np.array([0, 7, 3], "int32"))(inputs)
        model = keras.Model(inputs, lookup)
        reloaded = reload_check(model, np.array([1, 2, 0], "int32"))
        assert reloaded.predict(np.array([1]), verbose=0).tolist() == [7]


class TestCrossedLinear:
    def test_exact_value(self):
        layer = CrossedLinear(2, 3)
        layer.build(None)
        layer.kernel.assign([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        out = layer([tf.constant([0, 1]), tf.constant([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])])
        assert out.numpy().tolist() == [[3.0], [6.0]]
        assert layer.count_params() == 6

    def test_invalid_and_config(self):
        with pytest.raises(ValueError, match="num_categories=0"):
            CrossedLinear(0, 3)
        layer = CrossedLinear(2, 3, kernel_regularizer="l2")
        assert CrossedLinear.from_config(layer.get_config()).get_config() == layer.get_config()


def test_mlp_dropout_first_drops_the_input_of_each_layer():
    from tfdeeprec.layers import MLP

    mlp = MLP((4,), dropout_rate=0.5, dropout_first=True, activation=None)
    x = np.ones((500, 8), "float32")
    mlp(x)
    kernel = np.ones((8, 4), "float32")
    mlp.dense_layers[0].set_weights([kernel, np.zeros(4, "float32")])
    out = mlp(x, training=True).numpy()
    # Input dropout: each output is 2 * (kept inputs), an even number from 0 to 16,
    # the same for all 4 units of a row; dropout after would zero units independently.
    assert set(np.unique(out)) <= set(range(0, 17, 2))
    assert np.all(out == out[:, :1])
    assert MLP.from_config(mlp.get_config()).dropout_first
