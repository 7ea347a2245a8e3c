"""Tests for SparseAdam: hand-computed lazy steps, parity with Adam, Keras round trips."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tfdeeprec._keras import keras, tf
from tfdeeprec.training.sparse_adam import SparseAdam

LR, B1, B2, EPS = 0.01, 0.9, 0.999, 1e-7


def _adam_rows(w, m, v, g, step):
    """One textbook Adam step (float64) on the rows given."""
    m = B1 * m + (1 - B1) * g
    v = B2 * v + (1 - B2) * g**2
    alpha = LR * np.sqrt(1 - B2**step) / (1 - B1**step)
    return w - alpha * m / (np.sqrt(v) + EPS), m, v


def _slices(values, indices, shape):
    return tf.IndexedSlices(tf.constant(values, tf.float32), tf.constant(indices, tf.int32),
                            tf.constant(shape, tf.int32))


def _tiny_model(num_ids=20, dim=4):
    ids = keras.Input((1,), dtype="int32", name="item_id")
    x = keras.layers.Flatten()(keras.layers.Embedding(num_ids, dim, name="table")(ids))
    out = keras.layers.Dense(1, name="head")(keras.layers.Dense(8, activation="relu")(x))
    return keras.Model(ids, out)


def _tiny_data(n=256, num_ids=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, num_ids, size=(n, 1)).astype("int32")
    return x, (x[:, 0] % 2).astype("float32")[:, None]


class TestSparseAdam:
    def test_lazy_steps_match_hand_computed_values(self):
        w0 = np.arange(8, dtype=np.float64).reshape(4, 2) / 10 - 0.3
        table = tf.Variable(w0.astype("float32"))
        opt = SparseAdam(learning_rate=LR, beta_1=B1, beta_2=B2, epsilon=EPS)
        g1 = np.array([[0.5, -1.0], [2.0, 0.25], [1.5, 3.0]])  # rows 1, 3, 1
        g2 = np.array([[-0.5, 1.0], [0.1, -0.2]])  # rows 3, 3
        opt.apply_gradients([(_slices(g1, [1, 3, 1], [4, 2]), table)])
        m_t, v_t = opt._momentums[0], opt._velocities[0]

        w, m, v = w0.copy(), np.zeros((4, 2)), np.zeros((4, 2))
        summed = np.stack([g1[0] + g1[2], g1[1]])  # the duplicate row 1 is summed
        w[[1, 3]], m[[1, 3]], v[[1, 3]] = _adam_rows(w[[1, 3]], m[[1, 3]], v[[1, 3]], summed, 1)
        np.testing.assert_allclose(table.numpy(), w, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(m_t.numpy(), m, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(v_t.numpy(), v, rtol=1e-6, atol=1e-9)

        opt.apply_gradients([(_slices(g2, [3, 3], [4, 2]), table)])
        w[[3]], m[[3]], v[[3]] = _adam_rows(w[[3]], m[[3]], v[[3]], g2.sum(0, keepdims=True), 2)
        np.testing.assert_allclose(table.numpy(), w, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(m_t.numpy(), m, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(v_t.numpy(), v, rtol=1e-6, atol=1e-9)
        # Row 1 (touched only at step 1) kept its step-1 state; rows 0, 2 are untouched.
        np.testing.assert_array_equal(table.numpy()[[0, 2]], w0[[0, 2]].astype("float32"))
        np.testing.assert_array_equal(m_t.numpy()[[0, 2]], 0.0)
        np.testing.assert_array_equal(v_t.numpy()[[0, 2]], 0.0)
        assert int(opt.iterations) == 2

    @pytest.mark.parametrize("schedule", [False, True])
    def test_dense_gradients_equal_keras_adam(self, schedule):
        def lr():
            if not schedule:
                return LR
            return keras.optimizers.schedules.ExponentialDecay(LR, decay_steps=2, decay_rate=0.5)

        rng = np.random.default_rng(3)
        w0 = rng.normal(size=(5, 3)).astype("float32")
        ours, theirs = tf.Variable(w0), tf.Variable(w0)
        sparse_adam = SparseAdam(learning_rate=lr())
        adam = keras.optimizers.Adam(learning_rate=lr())
        for _ in range(6):
            g = tf.constant(rng.normal(size=(5, 3)).astype("float32"))
            sparse_adam.apply_gradients([(g, ours)])
            adam.apply_gradients([(g, theirs)])
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0, atol=1e-6)
        np.testing.assert_allclose(sparse_adam._velocities[0].numpy(),
                                   adam._velocities[0].numpy(), rtol=1e-6, atol=0)

    def test_first_sparse_step_equals_adam(self):
        w0 = np.ones((6, 2), "float32")
        ours, theirs = tf.Variable(w0), tf.Variable(w0)
        g = _slices([[1.0, -2.0], [0.5, 0.5], [3.0, 1.0]], [4, 0, 4], [6, 2])
        SparseAdam(learning_rate=LR).apply_gradients([(g, ours)])
        keras.optimizers.Adam(learning_rate=LR).apply_gradients([(g, theirs)])
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0, atol=1e-6)

    def test_xla_update_step_matches_eager(self):
        w0 = np.linspace(-1, 1, 12).reshape(6, 2).astype("float32")
        eager, xla = tf.Variable(w0), tf.Variable(w0)
        opt_eager, opt_xla = SparseAdam(learning_rate=LR), SparseAdam(learning_rate=LR)
        opt_xla.jit_compile = True  # Keras only enables it on GPUs; force the XLA path here
        for indices in ([1, 5, 1], [5, 2]):
            g = _slices(np.ones((len(indices), 2)), indices, [6, 2])
            opt_eager.apply_gradients([(g, eager)])
            opt_xla.apply_gradients([(g, xla)])
        np.testing.assert_allclose(xla.numpy(), eager.numpy(), rtol=0, atol=1e-6)

    def test_embedding_gradient_is_indexed_slices(self):
        model = _tiny_model()
        x, y = _tiny_data(8)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x) - y) ** 2)
        grad = tape.gradient(loss, model.get_layer("table").embeddings)
        assert isinstance(grad, tf.IndexedSlices)

    @pytest.mark.parametrize("jit_compile", [False, True])
    def test_fit_lowers_loss_and_leaves_unseen_rows_alone(self, jit_compile):
        model = _tiny_model()
        w0 = model.get_layer("table").get_weights()[0]
        model.compile(optimizer=SparseAdam(learning_rate=0.05), jit_compile=jit_compile,
                      loss=keras.losses.BinaryCrossentropy(from_logits=True))
        x, y = _tiny_data()  # ids 0..4 only
        history = model.fit(x, y, batch_size=32, epochs=4, verbose=0)
        losses = history.history["loss"]
        assert losses[-1] < 0.7 * losses[0]
        w = model.get_layer("table").get_weights()[0]
        np.testing.assert_array_equal(w[5:], w0[5:])
        assert np.all(np.abs(w[:5] - w0[:5]).sum(axis=1) > 0)

    def test_xla_compiled_fit_matches_plain_fit(self):
        x, y = _tiny_data(320, num_ids=15, seed=4)  # 10 steps, duplicate ids in every batch
        weights = []
        for jit_compile in (False, True):
            keras.utils.set_random_seed(5)
            model = _tiny_model()
            model.compile(optimizer=SparseAdam(learning_rate=0.05), loss="mse",
                          jit_compile=jit_compile)
            model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
            weights.append(model.get_weights())
        for plain, xla in zip(*weights):
            np.testing.assert_allclose(xla, plain, rtol=0, atol=1e-5)

    def test_config_round_trip(self):
        schedule = keras.optimizers.schedules.ExponentialDecay(0.01, 100, 0.9)
        opt = SparseAdam(learning_rate=schedule, beta_1=0.8, beta_2=0.99, epsilon=1e-6,
                         clipnorm=1.0, name="lazy")
        config = opt.get_config()
        assert SparseAdam.from_config(config).get_config() == config
        restored = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
        assert type(restored) is SparseAdam and restored.get_config() == config
        assert keras.saving.get_registered_name(SparseAdam) == "tfdeeprec>SparseAdam"
        assert {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6}.items() <= config.items()

    def test_model_save_and_load_keeps_optimizer(self, tmp_path):
        model = _tiny_model()
        model.compile(optimizer=SparseAdam(learning_rate=0.02, beta_2=0.99), loss="mse")
        x, y = _tiny_data(64)
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        for path in (tmp_path / "model.keras", tmp_path / "saved_model"):
            model.save(path)
            loaded = keras.models.load_model(path)
            assert isinstance(loaded.optimizer, SparseAdam)
            assert loaded.optimizer.get_config() == model.optimizer.get_config()
            np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                                       rtol=1e-6)
            if path.suffix == ".keras":  # the .keras format also restores the slots
                assert int(loaded.optimizer.iterations) == 4
                for a, b in zip(loaded.optimizer.variables, model.optimizer.variables):
                    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
            loaded.fit(x, y, batch_size=16, epochs=1, verbose=0)

    @pytest.mark.parametrize("kwargs, match", [
        ({"amsgrad": True}, "amsgrad"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"beta_1": 1.0}, "beta_1"),
        ({"beta_2": -0.1}, "beta_2"),
        ({"epsilon": -1e-7}, "epsilon"),
    ])
    def test_invalid_arguments_raise(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            SparseAdam(**kwargs)


# Runs in a fresh process: logical devices must be configured before TensorFlow starts.
_MIRRORED_SCRIPT = textwrap.dedent("""
    import json
    import numpy as np
    import tfdeeprec
    from tfdeeprec._keras import keras, tf
    from tfdeeprec.training.sparse_adam import SparseAdam

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, size=(48, 1)).astype("int32")  # duplicates within and across replicas
    y = rng.normal(size=(48, 1)).astype("float32")

    def replica_gap(variables):
        gaps = [0.0]
        for var in variables:
            parts = [part.numpy() for part in getattr(var, "values", [var])]
            gaps += [float(np.max(np.abs(part - parts[0]))) for part in parts[1:]]
        return max(gaps)

    def train(strategy):
        with strategy.scope():
            keras.utils.set_random_seed(1)
            ids = keras.Input((1,), dtype="int32")
            h = keras.layers.Flatten()(keras.layers.Embedding(10, 3)(ids))
            model = keras.Model(ids, keras.layers.Dense(1)(h))
            model.compile(optimizer=SparseAdam(learning_rate=0.1), loss="mse")
        table0 = model.get_weights()[0]
        data = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)  # the global batch
        model.fit(data, epochs=1, verbose=0)  # 3 steps, so the slots are read back too
        slots = model.optimizer._momentums + model.optimizer._velocities
        return (model.get_weights(), table0, strategy.num_replicas_in_sync,
                replica_gap(model.weights + slots))

    one, _, n1, _ = train(tf.distribute.OneDeviceStrategy("/cpu:0"))
    two, table0, n2, gap = train(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    seen = np.unique(x)
    unseen = np.setdiff1d(np.arange(10), seen)
    print(json.dumps({
        "replicas": [n1, n2],
        "replica_gap": gap,
        "max_abs_diff": max(float(np.max(np.abs(a - b))) for a, b in zip(one, two)),
        "unseen_rows_change": float(np.max(np.abs(two[0][unseen] - table0[unseen]))),
        "seen_rows_min_change": float(np.min(np.abs(two[0][seen] - table0[seen]))),
    }))
""")


def test_mirrored_strategy_matches_one_device():
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, "-c", _MIRRORED_SCRIPT], capture_output=True,
                          text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["replicas"] == [1, 2]
    assert result["replica_gap"] == 0.0  # weights and slots identical on both replicas
    assert result["max_abs_diff"] < 1e-5
    assert result["unseen_rows_change"] == 0.0 and result["seen_rows_min_change"] > 0.0
