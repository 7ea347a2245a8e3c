"""The fit recipe: compile by task, callbacks, seeds, and MirroredStrategy equivalence."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tfdeeprec._keras import keras, tf
from tfdeeprec.models import build_mf
from tfdeeprec.training import SparseAdam, TrainingConfig, compile_model, fit


def _ratings(n=256, seed=0):
    rng = np.random.default_rng(seed)
    users, items = rng.integers(1, 20, n), rng.integers(1, 15, n)
    ratings = np.clip(3 + np.sin(users) + np.cos(items), 1, 5).astype("float32")
    return tf.data.Dataset.from_tensor_slices(
        ({"user_id": users.astype("int32"), "item_id": items.astype("int32")}, ratings)).batch(32)


class TestRecipe:
    def test_rating_task_compiles_mse_with_rmse_mae(self):
        model = compile_model(build_mf(20, 15, task="rating"), "rating", TrainingConfig())
        assert isinstance(model.optimizer, SparseAdam)
        assert isinstance(model.loss, keras.losses.MeanSquaredError)
        assert [m.name for m in model.compiled_metrics._user_metrics] == ["rmse", "mae"]

    def test_fit_learns_and_is_seeded(self):
        config = TrainingConfig(epochs=5, learning_rate=0.05, verbose=0, seed=3)
        build = lambda: build_mf(20, 15, task="rating", embedding_dim=4, global_mean=3.0)
        first = fit(build, _ratings(), task="rating", config=config)
        second = fit(build, _ratings(), task="rating", config=config)
        assert first.history["loss"][-1] < 0.5 * first.history["loss"][0]
        assert first.history["loss"] == second.history["loss"]
        assert len(first.epoch_seconds) == 5

    def test_early_stopping_restores_best_weights(self):
        config = TrainingConfig(epochs=30, learning_rate=0.05, verbose=0,
                                early_stopping_patience=2, reduce_lr_patience=0)
        train = _ratings(seed=0)
        valid = _ratings(seed=1).map(lambda x, y: (x, tf.random.shuffle(y, seed=5)))
        result = fit(lambda: build_mf(20, 15, task="rating", embedding_dim=8, global_mean=3.0),
                     train, task="rating", config=config, validation_data=valid)
        val = result.history["val_loss"]
        assert len(val) < 30
        restored = result.model.evaluate(valid, verbose=0)[0]
        assert restored == pytest.approx(min(val), rel=1e-4)

    def test_bad_config_values_are_named(self):
        with pytest.raises(ValueError, match="epochs=0"):
            TrainingConfig(epochs=0)
        with pytest.raises(ValueError, match="loss='hinge2'"):
            TrainingConfig(loss="hinge2")
        with pytest.raises(ValueError, match="optimizer='rmsprop'"):
            compile_model(build_mf(3, 3), "rating", TrainingConfig(optimizer="rmsprop"))


@pytest.mark.parametrize("optimizer", ["sparse_adam", "adam"])
def test_mirrored_strategy_matches_one_device(optimizer):
    script = Path(__file__).with_name("mirrored_check.py")
    env = {**os.environ, "CHECK_OPTIMIZER": optimizer}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    # Same input: the loss curves agree to float round-off.
    np.testing.assert_allclose(result["fixed_mirrored"], result["fixed_single"], rtol=1e-5)
    # Live sampling: the seeded pipeline feeds both runs the same draws.
    np.testing.assert_allclose(result["live_mirrored"], result["live_single"], rtol=1e-4)
    assert result["live_single"][-1] < 0.9 * result["live_single"][0]  # it learns


class TestStepsPerExecution:
    def test_several_steps_per_call_train_the_same(self):
        build = lambda: build_mf(20, 15, task="rating", embedding_dim=4, global_mean=3.0)
        losses = [fit(build, _ratings(), task="rating", config=TrainingConfig(
            epochs=3, learning_rate=0.05, verbose=0, steps_per_execution=steps)
                      ).history["loss"] for steps in (1, 3, 32)]
        np.testing.assert_allclose(losses[1], losses[0], rtol=1e-6)
        np.testing.assert_allclose(losses[2], losses[0], rtol=1e-6)
        assert TrainingConfig().steps_per_execution == 32

    def test_repeating_the_data_matches_keras_epochs(self):
        # fit() repeats a dataset of known length (one iterator per run); the epochs
        # must be the ones model.fit gets from a fresh iterator per epoch.
        config = TrainingConfig(epochs=3, learning_rate=0.05, verbose=0, seed=4)
        build = lambda: build_mf(20, 15, task="rating", embedding_dim=4, global_mean=3.0)
        data = _ratings().shuffle(8, seed=1, reshuffle_each_iteration=False)
        ours = fit(build, data, task="rating", config=config).history["loss"]
        keras.utils.set_random_seed(config.seed)
        model = compile_model(build(), "rating", config)
        plain = model.fit(data, epochs=3, verbose=0).history["loss"]
        np.testing.assert_allclose(ours, plain, rtol=1e-6)

    def test_data_of_unknown_length_falls_back_to_one_step(self):
        unknown = _ratings().filter(lambda features, rating: True)
        assert int(unknown.cardinality()) == tf.data.UNKNOWN_CARDINALITY
        result = fit(lambda: build_mf(20, 15, task="rating"), unknown, task="rating",
                     config=TrainingConfig(epochs=2, verbose=0), validation_data=unknown)
        assert len(result.history["val_loss"]) == 2
        assert int(result.model.steps_per_execution.numpy()) == 1

    def test_bad_steps_per_execution_is_named(self):
        with pytest.raises(ValueError, match="steps_per_execution=0"):
            TrainingConfig(steps_per_execution=0)
