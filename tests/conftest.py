"""Shared test set-up: Keras 2 before TensorFlow, a fresh seeded session per test."""

import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import tfdeeprec  # noqa: E402,F401
from tfdeeprec._keras import keras, tf  # noqa: E402
from tfdeeprec.data.interaction_frame import InteractionFrame  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_keras_session():
    keras.backend.clear_session()
    keras.utils.set_random_seed(1234)
    yield


@pytest.fixture(params=["coo", "csr", "dense"])
def adjacency_form(request):
    """``R -> R`` in each form the graph layers multiply by: the ``tf.SparseTensor``
    itself, TensorFlow's CSR matrix, a dense tensor."""
    from tfdeeprec.layers._graph import csr_adjacency

    return {"coo": lambda r: r, "csr": csr_adjacency,
            "dense": tf.sparse.to_dense}[request.param]


@pytest.fixture(scope="session")
def plain_tf_env() -> dict:
    """The environment for a child process that must load exports with TensorFlow alone:
    no ``TF_USE_LEGACY_KERAS`` (an export must not need it), TensorFlow's logs quiet."""
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return env


@pytest.fixture
def tiny_frame() -> InteractionFrame:
    """4 users, 5 items, ratings and timestamps; small enough to check by hand."""
    df = pd.DataFrame({
        "user_id": ["u1", "u1", "u1", "u2", "u2", "u3", "u3", "u3", "u3", "u4"],
        "item_id": ["i1", "i2", "i3", "i1", "i4", "i2", "i3", "i4", "i5", "i5"],
        "rating": [5, 3, 4, 2, 5, 1, 4, 4, 3, 5],
        "timestamp": [10, 20, 30, 15, 25, 5, 6, 7, 8, 40],
    })
    return InteractionFrame.from_pandas(df, source="tiny_frame")


@pytest.fixture
def random_frame() -> InteractionFrame:
    """200 users x 120 items, 3,000 distinct interactions with ratings and timestamps."""
    rng = np.random.default_rng(7)
    keys = rng.choice(200 * 120, size=3000, replace=False)
    df = pd.DataFrame({
        "user_id": (keys // 120).astype(str),
        "item_id": (keys % 120).astype(str),
        "rating": rng.integers(1, 6, size=3000).astype(float),
        "timestamp": rng.integers(0, 10**6, size=3000),
    })
    return InteractionFrame.from_pandas(df, source="random_frame")


def assert_reloads_equal(model, inputs, tmp_path, name="model"):
    """Saves ``model`` (SavedModel), reloads it with ``load_model`` and compares outputs."""
    expected = model.predict(inputs, verbose=0)
    path = tmp_path / name
    model.save(path)
    reloaded = keras.models.load_model(path, compile=False)
    np.testing.assert_allclose(reloaded.predict(inputs, verbose=0), expected, rtol=1e-6,
                               atol=1e-6)
    assert type(reloaded.layers[-1]) is type(model.layers[-1])
    return reloaded


@pytest.fixture
def reload_check(tmp_path):
    return lambda model, inputs, name="model": assert_reloads_equal(model, inputs, tmp_path,
                                                                    name)
