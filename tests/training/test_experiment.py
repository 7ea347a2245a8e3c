"""A whole run: data -> fit -> metrics -> files, and what it learns on planted structure."""

import json

import numpy as np
import pytest

from tfdeeprec._keras import keras
from tfdeeprec.data import make_synthetic_ratings
from tfdeeprec.evaluation import FullRankingEvaluator
from tfdeeprec.models.two_tower import TwoTower, sampling_probabilities, tower_embeddings
from tfdeeprec.training import TrainingConfig
from tfdeeprec.runs import load_run, load_train, save_run
from tfdeeprec.training.experiment import (ExperimentConfig, evaluate_model, prepare_data,
                                           run_experiment, score_fn_for)


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
    # Each epoch's full-ranking validation is timed apart, inside the epoch's time.
    assert len(result.validation_seconds) == len(result.epoch_seconds) == 2
    assert all(0 < v < e for v, e in zip(result.validation_seconds, result.epoch_seconds))
    # The logQ correction got the training frequencies, not its uniform default.
    np.testing.assert_allclose(result.model.item_probability.numpy(),
                               sampling_probabilities(data.train.item, data.train.num_items))
    assert float(result.model.log_temperature.numpy()) != pytest.approx(np.log(0.25))
    users = np.arange(data.train.num_users, dtype=np.int32)
    np.testing.assert_allclose(score_fn_for(result.model, config, data.train)(users),
                               score_fn_for(result.model, config, data.train,
                                            live=True)(users),
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
    with pytest.raises(ValueError, match="'two_tower'. Received: task='rating'"):
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
    assert test["rows"] == len(result.data.test) and test["cold_rows"] == 0
    assert test["rmse"] == test["rmse_known"]
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


def test_rating_metrics_count_every_test_row_with_cold_rows_on_the_fallback(planted):
    """A test row whose user or item never appears in training still counts: it gets the
    documented fallback (item mean, user mean, or global mean training rating)."""
    from tfdeeprec.data import EncodedInteractions
    from tfdeeprec.families import get_family
    from tfdeeprec.training.experiment import rating_metrics

    config = ExperimentConfig(model="mf", task="rating", model_kwargs={"embedding_dim": 4},
                              training=TrainingConfig(epochs=1, verbose=0))
    result = run_experiment(config, frame=planted.frame)
    train, test = result.data.train, result.data.test.known()
    # The known test rows, then (unknown user, item 1), (user 1, unknown item), (both).
    part = EncodedInteractions(np.concatenate([test.user, [0, 1, 0]]).astype(np.int32),
                               np.concatenate([test.item, [1, 0, 0]]).astype(np.int32),
                               test.num_users, test.num_items,
                               np.concatenate([test.rating, [5.0, 1.0, 3.0]]).astype("float32"))
    got = rating_metrics(get_family("pair"), result.model, train, part)

    ratings = train.known().rating.astype(np.float64)
    fallback = [ratings[train.known().item == 1].mean(),   # the item's mean
                ratings[train.known().user == 1].mean(),   # the user's mean
                ratings.mean()]                             # the global mean
    model_pred = result.model.predict({"user_id": test.user, "item_id": test.item},
                                      verbose=0).astype(np.float64)
    errors_known = test.rating - model_pred
    errors_cold = np.array([5.0, 1.0, 3.0]) - np.array(fallback)
    everything = np.concatenate([errors_known, errors_cold])
    assert (got["rows"], got["cold_rows"]) == (len(test) + 3, 3)
    assert got["rmse"] == pytest.approx(np.sqrt(np.mean(everything ** 2)), rel=1e-5)
    assert got["mae"] == pytest.approx(np.mean(np.abs(everything)), rel=1e-5)
    assert got["rmse_known"] == pytest.approx(np.sqrt(np.mean(errors_known ** 2)), rel=1e-5)
    assert got["mae_cold"] == pytest.approx(np.mean(np.abs(errors_cold)), rel=1e-5)


def test_rating_range_comes_from_the_training_part_only():
    import pandas as pd
    from tfdeeprec.data import InteractionFrame
    from tfdeeprec.families import get_family
    from tfdeeprec.models.registry import get_spec
    df = pd.DataFrame({"user_id": [f"u{i % 10}" for i in range(200)],
                       "item_id": [f"i{i % 17}" for i in range(200)],
                       "rating": [2.0 + (i % 3) for i in range(200)]})
    df.loc[199, "rating"] = 10.0  # only ever in the test part (temporal cut below)
    df["timestamp"] = np.arange(200)
    frame = InteractionFrame.from_pandas(df, source="range")
    config = ExperimentConfig(model="mf", task="rating", split="temporal")
    data = prepare_data(config, frame)
    args = get_family("pair").model_arguments(get_spec("mf"), config, data)
    assert args["rating_range"] == (2.0, 4.0)
    assert args["global_mean"] == pytest.approx(float(data.train.rating.mean()))


def test_a_config_that_cannot_be_saved_fails_before_training():
    with pytest.raises(ValueError, match=r"model_kwargs\['table'\]"):
        ExperimentConfig(model="mf", model_kwargs={"table": np.zeros(3)})
    with pytest.raises(ValueError, match=r"unknown experiment field\(s\) \['epoch'\]"):
        ExperimentConfig.from_dict({"model": "mf", "epoch": 3})


def test_seed_applies_to_leave_one_out_ties():
    import pandas as pd
    from tfdeeprec.data import InteractionFrame
    df = pd.DataFrame({"user_id": ["a"] * 6 + ["b"] * 6,
                       "item_id": [str(i) for i in range(12)], "timestamp": [5] * 12})
    frame = InteractionFrame.from_pandas(df, source="ties")
    tests = {seed: tuple(prepare_data(ExperimentConfig(model="mf", split="leave_one_out",
                                                       seed=seed), frame)
                         .split.test.interactions.item_id)
             for seed in range(6)}
    assert len(set(tests.values())) > 1  # the seed changes which tied item is "last"
    again = prepare_data(ExperimentConfig(model="mf", split="leave_one_out", seed=2), frame)
    assert tuple(again.split.test.interactions.item_id) == tests[2]
