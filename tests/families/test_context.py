"""The context family end to end: planted structure learned, labelled files, exports, serving."""

import dataclasses
import json
import urllib.error
import urllib.request

import numpy as np
import pandas as pd
import pytest

from tfdeeprec._keras import tf
from tfdeeprec.data import InteractionFrame
from tfdeeprec.runs import export_run, load_run, save_run
from tfdeeprec.training import TrainingConfig
from tfdeeprec.training.experiment import ExperimentConfig, evaluate_part, run_experiment


def _planted_frame(num_users=300, num_items=40, per_user=20, seed=0):
    """Rated pairs whose label is a gender x genre interaction plus a little noise:
    women rate genre A items 5 and genre B items 1, men the other way round."""
    rng = np.random.default_rng(seed)
    gender = rng.choice(["F", "M"], num_users)
    genre = rng.choice(["A", "B"], num_items)
    users = np.repeat(np.arange(num_users), per_user)
    items = rng.integers(0, num_items, len(users))
    likes = (gender[users] == "F") == (genre[items] == "A")
    flip = rng.random(len(users)) < 0.05
    rating = np.where(likes ^ flip, 5.0, 1.0)
    return InteractionFrame.from_pandas(
        pd.DataFrame({"user_id": users, "item_id": items, "rating": rating}),
        users=pd.DataFrame({"gender": gender}, index=pd.Index(
            [str(u) for u in range(num_users)], name="user_id")),
        items=pd.DataFrame({"genres": [(g,) for g in genre]}, index=pd.Index(
            [str(i) for i in range(num_items)], name="item_id")))


@pytest.fixture(scope="module")
def planted():
    return _planted_frame()


def _run(model, frame_or_data, epochs=4, learning_rate=0.01, **kwargs):
    config = ExperimentConfig(model=model, task="ctr", batch_size=256, seed=0, **kwargs,
                              training=TrainingConfig(epochs=epochs, verbose=0, seed=0,
                                                      learning_rate=learning_rate,
                                                      optimizer="adam"))
    if isinstance(frame_or_data, InteractionFrame):
        return run_experiment(config, frame=frame_or_data)
    return run_experiment(dataclasses.replace(config, data=frame_or_data))


def test_fm_learns_a_planted_interaction_that_lr_cannot(planted):
    fm = _run("fm", planted, model_kwargs={"embedding_dim": 4})
    lr = _run("lr", planted)
    # Bayes AUC with 5% flipped labels is about 0.95; LR sees each feature alone.
    assert fm.metrics["test"]["auc"] > 0.9
    assert lr.metrics["test"]["auc"] < 0.75
    assert fm.metrics["test"]["logloss"] < lr.metrics["test"]["logloss"]
    assert fm.metrics["test"]["gauc"] > 0.85
    assert 0.0 <= fm.metrics["test"]["ndcg@10"] <= 1.0  # keyed: ranking metrics too
    assert [f["name"] for f in fm.config.features] == ["user_id", "item_id", "gender", "genres"]
    assert fm.history["val_auc"][-1] > 0.9


@pytest.mark.parametrize("model, kwargs", [
    ("deepfm", {}), ("xdeepfm", {}), ("dcn", {}), ("dcn_v2", {}), ("autoint", {}),
    ("autoint", {"interacting": "paper"})])
def test_deep_models_learn_the_planted_interaction(planted, model, kwargs):
    from tfdeeprec.models.registry import MODELS
    result = _run(model, planted, epochs=6, model_kwargs=MODELS[model].test_kwargs
                  | {"dropout_rate": 0.0} | kwargs)
    assert result.metrics["test"]["auc"] > 0.85, result.metrics["test"]


def test_ratings_are_labelled_and_dropped_as_configured(planted):
    result = _run("lr", planted, epochs=1, drop_ratings=(1,))
    rows = result.data.rows
    assert all(labels.min() == 1.0 for labels in (r.labels for r in rows.values()))
    with pytest.raises(ValueError, match="needs ratings"):
        _run("lr", InteractionFrame.from_pandas(pd.DataFrame({"user_id": [1],
                                                              "item_id": [2]})), epochs=1)


@pytest.fixture(scope="module")
def labelled_file(tmp_path_factory):
    """A CSV of labelled rows without IDs: label = 1 when colour and size agree."""
    rng = np.random.default_rng(3)
    n = 6000
    colour = rng.choice(["red", "blue"], n)
    size = rng.choice(["S", "L"], n)
    weight = rng.normal(10, 2, n)
    label = ((colour == "red") == (size == "S")).astype(int)
    label = np.where(rng.random(n) < 0.05, 1 - label, label)
    path = tmp_path_factory.mktemp("labelled") / "clicks.csv"
    pd.DataFrame({"colour": colour, "size": size, "weight": weight, "label": label}).to_csv(
        path, index=False)
    return path


def test_a_labelled_file_trains_saves_exports_and_serves(labelled_file, tmp_path):
    result = _run("fm", str(labelled_file), epochs=8, learning_rate=0.003,
                  model_kwargs={"embedding_dim": 4})
    test = result.metrics["test"]
    assert set(test) == {"auc", "logloss"} and test["auc"] > 0.9
    run = save_run(result, tmp_path / "run")
    model, user_vocab, item_vocab, config = load_run(run)
    assert user_vocab is None and config.features == result.config.features
    assert evaluate_part(model, result.data, "test", config) == pytest.approx(test, abs=1e-6)
    export = export_run(run, tmp_path / "exports", "clicks")
    loaded = tf.saved_model.load(str(export))
    assert set(loaded.signatures) == {"serving_default", "score_features"}
    rows = {"colour": tf.constant(["red", "red", "green", ""]),
            "size": tf.constant(["S", "L", "S", "S"]),
            "weight": tf.constant([10.0, 10.0, np.nan, 12.0])}
    got = loaded.signatures["score_features"](**rows)["score"].numpy()
    want = tf.sigmoid(model(rows)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert got[0] > 0.5 > got[1]  # the planted rule, through the export

    from tfdeeprec.serving import make_server
    server = make_server(tmp_path / "exports", port=0, poll_seconds=0)
    try:
        status, body = _post(server.url + "/v1/models/clicks:predict", {
            "signature_name": "score_features",
            "instances": [{"colour": "red", "size": "S", "weight": 10.0}]})
        assert status == 200 and body["predictions"][0] == pytest.approx(got[0], abs=1e-6)
        status, body = _post(server.url + "/v1/models/clicks:predict", {
            "signature_name": "score_features", "instances": [{"colour": "red", "size": "S"}]})
        assert status == 400 and "weight" in body["error"]
    finally:
        server.shutdown()


def _post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode())
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())
