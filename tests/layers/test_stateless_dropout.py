"""StatelessDropout: the rate, the scaling, a fresh mask every step, repeatable runs."""

import numpy as np
import pytest

from tfdeeprec._keras import keras, tf
from tfdeeprec.layers.stateless_dropout import StatelessDropout


def test_drops_the_rate_and_scales_the_rest():
    layer = StatelessDropout(0.2, salt=3)
    out = layer(tf.ones([400, 500]), training=True).numpy()
    dropped = (out == 0).mean()
    assert abs(dropped - 13107 / 65536) < 0.005  # the rate, rounded to 1/65536
    np.testing.assert_allclose(out[out != 0], 65536 / (65536 - 13107))
    assert layer.threshold == 13107 and int(layer.step.numpy()) == 1
    np.testing.assert_array_equal(layer(tf.ones([3, 4]), training=False), np.ones([3, 4]))
    assert int(layer.step.numpy()) == 1  # inference leaves the counter alone


def test_each_step_draws_a_new_mask_and_a_run_repeats_them():
    def masks(salt):
        layer = StatelessDropout(0.5, salt=salt)
        return [layer(tf.ones([8, 8]), training=True).numpy() != 0 for _ in range(3)]
    first, again, other = masks(1), masks(1), masks(2)
    assert not np.array_equal(first[0], first[1])
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_odd_sizes_and_saving(tmp_path):
    layer = StatelessDropout(0.3)
    assert layer(tf.ones([3, 5, 7]), training=True).shape == (3, 5, 7)
    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, StatelessDropout(0.3, name="drop")(inputs))
    model.save(tmp_path / "m")
    again = keras.models.load_model(tmp_path / "m")
    assert again.get_layer("drop").get_config() == model.get_layer("drop").get_config()
    np.testing.assert_array_equal(again(tf.ones([2, 4])), np.ones([2, 4]))
    with pytest.raises(ValueError, match="rate=1.0"):
        StatelessDropout(1.0)
