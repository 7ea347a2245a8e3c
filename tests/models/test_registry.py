"""Every registered model: builds small, fits a step, predicts, round-trips through SavedModel."""

import numpy as np
import pytest

from tfdeeprec._keras import keras, tf
from tfdeeprec.data.side_features import FeatureTables
from tfdeeprec.models import MODELS, RETRIEVAL_MODELS, SIDE_FEATURE_MODELS, build_model
from tfdeeprec.training.recipe import TrainingConfig, compile_model

NUM_USERS, NUM_ITEMS = 7, 9


def _side_features():
    rng = np.random.default_rng(0)
    users = FeatureTables(categorical={"occupation": rng.integers(0, 3, NUM_USERS).astype("int32")},
                          values={"occupation": ["[UNK]", "a", "b"]})
    items = FeatureTables(multi_hot={"genres": (rng.random((NUM_ITEMS, 4)) < 0.5).astype("float32")},
                          values={"genres": ["w", "x", "y", "z"]})
    return users, items


def _small_kwargs(name):
    return {"mf": {"embedding_dim": 4}, "gmf": {"embedding_dim": 4},
            "mlp_ncf": {"embedding_dim": 4, "hidden_units": (8, 4)},
            "neumf": {"gmf_dim": 4, "mlp_dim": 4, "hidden_units": (8, 4)},
            "wide_deep": {"embedding_dim": 4, "feature_embedding_dim": 2,
                          "hidden_units": (8,)},
            "two_tower": {"embedding_dim": 4, "feature_embedding_dim": 2,
                          "hidden_units": (8,)}}[name]


def _batch():
    rng = np.random.default_rng(1)
    features = {"user_id": rng.integers(0, NUM_USERS, 32).astype("int32"),
                "item_id": rng.integers(0, NUM_ITEMS, 32).astype("int32")}
    return features, rng.integers(0, 2, 32).astype("float32")


def test_every_model_is_in_the_registry_smoke_test():
    assert set(MODELS) == {"mf", "gmf", "mlp_ncf", "neumf", "wide_deep", "two_tower"}
    assert RETRIEVAL_MODELS <= set(MODELS) and SIDE_FEATURE_MODELS <= set(MODELS)


@pytest.mark.parametrize("task", ["implicit", "rating"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_build_fit_predict_reload(name, task, reload_check):
    users, items = _side_features()
    extra = {"rating_range": (1.0, 5.0), "global_mean": 3.0} if task == "rating" else {}
    if name in RETRIEVAL_MODELS:
        _check_retrieval_model(name, task, users, items, reload_check)
        return
    model = build_model(name, NUM_USERS, NUM_ITEMS, task=task, user_features=users,
                        item_features=items, **_small_kwargs(name), **extra)
    compile_model(model, task, TrainingConfig(optimizer="adam", learning_rate=0.05))
    features, labels = _batch()
    if task == "rating":
        labels = 1.0 + 4.0 * labels
    ds = tf.data.Dataset.from_tensor_slices((features, labels)).batch(16)
    before = model.evaluate(ds, verbose=0)
    before = before[0] if isinstance(before, list) else before
    history = model.fit(ds, epochs=5, verbose=0)
    assert history.history["loss"][-1] < before
    predictions = model.predict(features, verbose=0)
    assert predictions.shape == (32,)
    if task == "rating":
        assert predictions.min() >= 1.0 and predictions.max() <= 5.0
    reload_check(model, features)


def _check_retrieval_model(name, task, users, items, reload_check):
    """Implicit only; fitted on positives alone (its own in-batch softmax loss)."""
    if task == "rating":
        with pytest.raises(ValueError, match="task='rating'"):
            build_model(name, NUM_USERS, NUM_ITEMS, task=task, user_features=users,
                        item_features=items, **_small_kwargs(name))
        return
    model = build_model(name, NUM_USERS, NUM_ITEMS, task=task, user_features=users,
                        item_features=items, **_small_kwargs(name))
    compile_model(model, task, TrainingConfig(optimizer="adam", learning_rate=0.05))
    features, _ = _batch()
    ds = tf.data.Dataset.from_tensor_slices(features).batch(16)
    before = model.evaluate(ds, verbose=0)
    history = model.fit(ds, epochs=5, verbose=0)
    assert history.history["loss"][-1] < before
    assert model.predict(features, verbose=0).shape == (32,)
    reload_check(model, features)


def test_side_features_reach_only_models_that_use_them():
    users, items = _side_features()
    plain = build_model("mf", NUM_USERS, NUM_ITEMS, user_features=users, embedding_dim=2)
    wide = build_model("wide_deep", NUM_USERS, NUM_ITEMS, user_features=users,
                       item_features=items, hidden_units=(4,))
    assert "wide_deep" in SIDE_FEATURE_MODELS
    assert {layer.name for layer in wide.layers} >= {"occupation_lookup", "genres_lookup",
                                                     "cross_occupation_x_genres",
                                                     "cross_user_id_x_genres"}
    assert not any("lookup" in layer.name for layer in plain.layers)
    towers = build_model("two_tower", NUM_USERS, NUM_ITEMS, user_features=users,
                         item_features=items, embedding_dim=2)
    assert "two_tower" in SIDE_FEATURE_MODELS
    assert "occupation_lookup" in {layer.name for layer in towers.query_tower.layers}
    assert "genres_lookup" in {layer.name for layer in towers.candidate_tower.layers}


def test_unknown_model_and_task_are_named():
    with pytest.raises(ValueError, match="model='svdpp'"):
        build_model("svdpp", 3, 3)
    with pytest.raises(ValueError, match="task='ctr'"):
        build_model("mf", 3, 3, task="ctr")
    with pytest.raises(ValueError, match="task='rating'"):
        build_model("two_tower", 3, 3, task="rating")
    with pytest.raises(ValueError, match="num_items=1"):
        build_model("gmf", 3, 1)
