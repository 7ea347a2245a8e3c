"""Each ranker equals scoring every (user, item) pair through its model, for both tasks,
fresh and reloaded, and the pair family uses it."""

import dataclasses

import numpy as np
import pytest

from tfdeeprec._keras import keras
from tfdeeprec.evaluation import model_score_fn
from tfdeeprec.families import get_family
from tfdeeprec.models import rankers
from tfdeeprec.models.registry import MODELS

RANKED = [name for name, spec in MODELS.items() if spec.ranker is not None]


def _model(model, task, **extra):
    spec = MODELS[model]
    kwargs = dict(spec.test_kwargs, task=task, **extra)
    if task == "rating":
        kwargs.update(rating_range=(1.0, 5.0), global_mean=3.0)
    model = spec.builder(7, 40, **kwargs)
    rng = np.random.default_rng(1)  # weights large enough that the clip and the relus bite
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    return model


def test_the_pair_models_with_rankers():
    assert set(RANKED) == {"mf", "gmf", "mlp_ncf", "neumf", "pop", "autorec"}


@pytest.mark.parametrize("task", ["implicit", "rating"])
@pytest.mark.parametrize("name", RANKED)
def test_ranker_equals_scoring_every_pair(name, task, monkeypatch):
    monkeypatch.setattr(rankers, "PAIRS_PER_CALL", 64)  # several chunks of users
    model = _model(name, task)
    users = np.array([0, 1, 2, 3, 4, 5, 6, 3], np.int32)
    expected = model_score_fn(model, 40)(users)
    got = MODELS[name].ranker(model, 40)(users)
    assert got.shape == (8, 40)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_mlp_ncf_with_one_hidden_layer():
    model = _model("mlp_ncf", "implicit", hidden_units=[6])
    users = np.arange(7, dtype=np.int32)
    np.testing.assert_allclose(rankers.mlp_ncf_ranker(model, 40)(users),
                               model_score_fn(model, 40)(users), rtol=1e-5, atol=1e-5)


def test_reloaded_model_ranks_the_same(tmp_path):
    model = _model("neumf", "implicit")
    model.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras")
    users = np.arange(7, dtype=np.int32)
    np.testing.assert_allclose(rankers.neumf_ranker(reloaded, 40)(users),
                               model_score_fn(model, 40)(users), rtol=1e-5, atol=1e-5)


class _Train:
    num_items = 40


def test_pair_family_uses_the_ranker_and_falls_back(monkeypatch):
    calls = []
    real = rankers.neumf_ranker
    spec = MODELS["neumf"]
    monkeypatch.setitem(MODELS, "neumf", dataclasses.replace(
        spec, ranker=lambda model, n: calls.append(n) or real(model, n)))
    family = get_family("pair")
    model = _model("neumf", "implicit")
    family.score_fn(model, _Train())(np.array([1], np.int32))
    assert calls == [40]
    renamed = _model("neumf", "implicit", name="my_neumf")  # not a registered name
    scores = family.score_fn(renamed, _Train())(np.array([1], np.int32))
    assert calls == [40] and scores.shape == (1, 40)
