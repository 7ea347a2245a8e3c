"""A whole run: data -> fit -> metrics -> files, and what it learns on planted structure."""

import json

import numpy as np
import pytest

from tfdeeprec._keras import keras
from tfdeeprec.data import make_synthetic_ratings
from tfdeeprec.evaluation import FullRankingEvaluator
from tfdeeprec.models.two_tower import TwoTower, sampling_probabilities, tower_embeddings
from tfdeeprec.training import TrainingConfig
from tfdeeprec.training.experiment import (ExperimentConfig, evaluate_model, load_run,
                                           load_train, make_score_fn, prepare_data,
                                           run_experiment, save_run)


@pytest.fixture(scope="module")
def planted():
    return make_synthetic_ratings(seed=11)


def _popularity_ndcg(data):
    counts = np.bincount(data.train.item, minlength=data.train.num_items).astype("float32")
    evaluator = FullRankingEvaluator(data.train, data.test, exclude=(data.valid,), ks=(10,),
                                     metrics=("ndcg",))
    return evaluator.evaluate(lambda users: np.tile(counts, (len(users), 1)))["ndcg@10"]


@pytest.mark.parametrize("model, settings", [
    ("neumf", {"num_negatives": 4,
               "model_kwargs": {"gmf_dim": 16, "mlp_dim": 16, "hidden_units": (32, 16)}}),
    ("two_tower", {"model_kwargs": {"embedding_dim": 16}}),
])
def test_learns_planted_structure_beyond_popularity(planted, model, settings):
    config = ExperimentConfig(
        model=model, task="implicit", batch_size=256, **settings,
        training=TrainingConfig(epochs=12, learning_rate=3e-3, verbose=0,
                                early_stopping_patience=3))
    result = run_experiment(config, frame=planted.frame)
    ndcg = result.metrics["test"]["ndcg@10"]
    popularity = _popularity_ndcg(result.data)
    print(f"planted structure: {model} NDCG@10 {ndcg:.4f}, popularity {popularity:.4f}")
    assert ndcg >= 1.5 * popularity


def test_two_tower_run_saves_reloads_and_evaluates_the_same(tmp_path, planted):
    config = ExperimentConfig(model="two_tower", batch_size=512,
                              model_kwargs={"embedding_dim": 8, "learn_temperature": True},
                              training=TrainingConfig(epochs=2, verbose=0, learning_rate=0.01))
    result = run_experiment(config, frame=planted.frame)
    data = result.data
    assert type(result.model) is TwoTower
    assert set(result.history) >= {"loss", "val_ndcg@10", "val_recall@10"}
    # The logQ correction got the training frequencies, not its uniform default.
    np.testing.assert_allclose(result.model.item_probability.numpy(),
                               sampling_probabilities(data.train.item, data.train.num_items))
    assert float(result.model.log_temperature.numpy()) != pytest.approx(np.log(0.25))
    users = np.arange(data.train.num_users, dtype=np.int32)
    np.testing.assert_allclose(make_score_fn(result.model, data.train.num_users,
                                             data.train.num_items)(users),
                               make_score_fn(result.model, data.train.num_users,
                                             data.train.num_items, live=True)(users),
                               atol=1e-5)

    out = save_run(result, tmp_path / "run")
    model, user_vocab, item_vocab, loaded = load_run(out)
    assert type(model) is TwoTower and loaded == config
    for name, n in (("query_tower", data.train.num_users),
                    ("candidate_tower", data.train.num_items)):
        np.testing.assert_allclose(tower_embeddings(getattr(model, name), n),
                                   tower_embeddings(getattr(result.model, name), n), atol=1e-6)
    np.testing.assert_array_equal(model.item_probability.numpy(),
                                  result.model.item_probability.numpy())
    assert float(model.log_temperature.numpy()) == float(result.model.log_temperature.numpy())
    saved = json.loads((out / "metrics.json").read_text())["metrics"]
    again = evaluate_model(model, data, data.test, loaded, exclude=(data.valid,)).metrics
    assert again == pytest.approx(saved["test"], abs=1e-6)
    assert set(saved["test"]) == {"hit@10", "precision@10", "recall@10", "ndcg@10", "mrr@10"}


def test_retrieval_models_refuse_the_rating_task_and_a_loss():
    with pytest.raises(ValueError, match="model='two_tower', task='rating'"):
        ExperimentConfig(model="two_tower", task="rating")
    with pytest.raises(ValueError, match="loss='bce'"):
        ExperimentConfig(model="two_tower", training=TrainingConfig(loss="bce"))
    with pytest.raises(ValueError, match="loss='bpr'"):
        ExperimentConfig.from_dict({"model": "two_tower", "training": {"loss": "bpr"}})


def test_rating_run_saves_reloads_and_reports(tmp_path, planted):
    config = ExperimentConfig(model="mf", task="rating", batch_size=512,
                              model_kwargs={"embedding_dim": 8, "l2": 1e-4},
                              training=TrainingConfig(epochs=3, verbose=0, learning_rate=0.01))
    result = run_experiment(config, frame=planted.frame)
    test = result.metrics["test"]
    assert 0 < test["rmse"] < 1.2 and test["mae"] <= test["rmse"]
    out = save_run(result, tmp_path / "run")
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json", "item_vocab.json", "metrics.json", "model", "train.npz",
        "user_vocab.json"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["epochs"] == 3 and len(summary["history"]["loss"]) == 3
    assert set(summary["metrics"]) == {"valid", "test"}
    model, users, items, loaded = load_run(out)
    assert loaded == config
    known = result.data.test.known()
    pairs = {"user_id": known.user, "item_id": known.item}
    np.testing.assert_allclose(model.predict(pairs, verbose=0),
                               result.model.predict(pairs, verbose=0), rtol=1e-6)
    assert users == result.data.user_vocab and items == result.data.item_vocab
    train = load_train(out)
    np.testing.assert_array_equal(train.user, result.data.train.user)
    np.testing.assert_array_equal(train.rating, result.data.train.rating)
    assert (train.num_users, train.num_items) == (len(users), len(items))


def test_rating_split_carves_validation_from_train(planted):
    data = prepare_data(ExperimentConfig(model="mf", task="rating", ratios=(0.8, 0.2)),
                        frame=planted.frame)
    sizes = [len(p.interactions) for p in data.split]
    assert sum(sizes) == planted.frame.num_interactions
    assert sizes[2] == pytest.approx(0.2 * sum(sizes), abs=2)
    assert sizes[1] == pytest.approx(0.1 * (sizes[0] + sizes[1]), abs=2)


def test_bpr_run_trains_the_scorer(planted):
    config = ExperimentConfig(model="mf", task="implicit", batch_size=512,
                              model_kwargs={"embedding_dim": 8},
                              training=TrainingConfig(epochs=2, loss="bpr", verbose=0))
    result = run_experiment(config, frame=planted.frame)
    assert result.model.name == "mf"
    assert result.metrics["test"]["ndcg@10"] > 0


def test_bad_config_is_named():
    with pytest.raises(ValueError, match="model='bert'"):
        ExperimentConfig(model="bert")
    with pytest.raises(ValueError, match="split='kfold'"):
        ExperimentConfig(split="kfold")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_run("/nowhere")
