"""Criteo-format files through the user's path: `tfdeeprec train --data criteo:FILE`,
`--config`, evaluate, export and `score_features`, streamed all the way."""

import json

import numpy as np
import pytest
import yaml

from tfdeeprec._keras import tf
from tfdeeprec.cli import main
from tfdeeprec.data.criteo import CRITEO_CATEGORICAL, CRITEO_NUMERIC
from tfdeeprec.data.criteo_synthetic import write_synthetic_criteo


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    return write_synthetic_criteo(tmp_path_factory.mktemp("criteo") / "day.tsv", 8_000,
                                  seed=4)


def test_train_from_a_criteo_file_then_evaluate_and_export(day, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--model", "deepfm", "--data", f"criteo:{day}", "--task", "ctr",
                 "--epochs", "3", "--batch-size", "256", "--optimizer", "adam",
                 "--learning-rate", "0.01",
                 "--model-arg", "embedding_dim=4", "--model-arg", "hidden_units=[16]",
                 "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    assert set(metrics["test"]) == {"auc", "logloss"}
    assert metrics["test"]["auc"] > 0.7  # the generator's planted signal
    config = json.loads((out / "config.json").read_text())
    assert [f["name"] for f in config["features"]] == [*CRITEO_NUMERIC, *CRITEO_CATEGORICAL]
    assert not (out / "user_vocab.json").exists()
    capsys.readouterr()
    assert main(["evaluate", "--model-dir", str(out)]) == 0
    assert f"{metrics['test']['auc']:.4f}" in capsys.readouterr().out

    assert main(["export", "--model-dir", str(out), "--base", str(tmp_path / "exports"),
                 "--name", "ctr"]) == 0
    loaded = tf.saved_model.load(str(tmp_path / "exports" / "ctr" / "1"))
    assert set(loaded.signatures) == {"serving_default", "score_features"}
    rows = {name: tf.constant([1.0, np.nan]) for name in CRITEO_NUMERIC}
    rows |= {name: tf.constant(["68fd1e64", ""]) for name in CRITEO_CATEGORICAL}
    scores = loaded.signatures["score_features"](**rows)["score"].numpy()
    assert scores.shape == (2,) and np.all((scores > 0) & (scores < 1))
    with pytest.raises(TypeError, match="C26"):
        loaded.signatures["score_features"](**{k: v for k, v in rows.items() if k != "C26"})


def test_the_same_run_from_a_config_file_with_declared_features(day, tmp_path):
    features = ([{"kind": "numeric", "name": "I2", "transform": "log1p"},
                 {"kind": "numeric", "name": "I5", "transform": "bucketize", "num_buckets": 4}]
                + [{"kind": "categorical", "name": c, "min_count": 5} for c in ("C1", "C2")]
                + [{"kind": "categorical", "name": "C4", "hash_buckets": 64}])
    config = tmp_path / "ctr.yaml"
    config.write_text(yaml.safe_dump({
        "model": "fm", "data": f"criteo:{day}", "task": "ctr", "batch_size": 256,
        "features": features, "model_kwargs": {"embedding_dim": 4},
        "epochs": 2, "optimizer": "adam", "learning_rate": 0.01}))
    out = tmp_path / "run"
    assert main(["train", "--config", str(config), "--out", str(out)]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert [f["name"] for f in saved["features"]] == ["I2", "I5", "C1", "C2", "C4"]
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    # C1 x C2 carry the planted interaction; FM on five fields still finds most of it.
    assert metrics["test"]["auc"] > 0.65
