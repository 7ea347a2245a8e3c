"""A trained sequence model's export answers ``recommend_from_items`` for 100 random
sessions (variable length, unknown items among them) exactly as the Keras model does on
the same history: the known items in order, the latest ``max_length`` right-aligned,
the session's own items and the padding index left out; so do ``tfdeeprec serve`` and
the R bridge's ``recommend(model, history = ...)`` (1e-6)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tfdeeprec._keras import tf
from tfdeeprec.data.synthetic_sequences import make_markov_sequences
from tfdeeprec.export import read_metadata
from tfdeeprec.runs import export_run, save_run
from tfdeeprec.training import TrainingConfig
from tfdeeprec.training.experiment import ExperimentConfig, run_experiment

K, MAX_LENGTH = 10, 6
ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module", params=["bert4rec"])  # the export is model-agnostic
def trained(request, tmp_path_factory):
    frame = make_markov_sequences(num_users=60, num_items=40, length=10, seed=3).frame
    config = ExperimentConfig(model=request.param, split="leave_one_out",
                              model_kwargs={"max_length": MAX_LENGTH, "embedding_dim": 16,
                                            "inner_dim": 32},
                              training=TrainingConfig(epochs=2, verbose=0))
    result = run_experiment(config, frame)
    work = tmp_path_factory.mktemp(request.param)
    path = export_run(save_run(result, work / "run"), work / "exports", "sessions", max_k=K)
    return result, tf.saved_model.load(str(path)).signatures, path


def _sessions(item_ids, rng, count=100):
    sessions = []
    for _ in range(count):
        session = list(rng.choice(item_ids, size=rng.integers(1, MAX_LENGTH + 4),
                                  replace=False))
        if rng.random() < 0.3:  # an item the model never saw, somewhere in the session
            session.insert(int(rng.integers(len(session) + 1)), "no-such-item")
        sessions.append(session)
    return sessions


def _keras_top_k(result, sessions):
    vocab, model = result.data.item_vocab, result.model
    histories = np.zeros((len(sessions), MAX_LENGTH), np.int32)
    for row, session in enumerate(sessions):
        known = [i for i in vocab.lookup(session) if i > 0][-MAX_LENGTH:]
        histories[row, MAX_LENGTH - len(known):] = known
    scores = model(histories, training=False).numpy()
    for row, session in enumerate(sessions):
        scores[row, vocab.lookup(session)] = -np.inf  # the session's own items (and OOV 0)
    scores[:, 0] = -np.inf
    top = tf.math.top_k(scores, k=K)
    return vocab.ids_of(top.indices.numpy()).astype(str), top.values.numpy()


@pytest.fixture(scope="module")
def sessions(trained):
    item_ids = [str(i) for i in trained[0].data.item_vocab.tokens]
    return _sessions(item_ids, np.random.default_rng(0))


@pytest.fixture(scope="module")
def want(trained, sessions):
    return _keras_top_k(trained[0], sessions)


def _padded(sessions):
    width = max(len(s) for s in sessions)
    return [s + [""] * (width - len(s)) for s in sessions]


def test_recommend_from_items_of_100_random_sessions_equals_the_keras_top_k(trained, sessions,
                                                                           want):
    out = trained[1]["recommend_from_items"](
        item_ids=tf.constant(_padded(sessions)), k=tf.constant(K),
        exclude=tf.zeros([len(sessions), 0], tf.string))
    assert out["item_ids"].numpy().astype(str).tolist() == want[0].tolist()
    np.testing.assert_allclose(out["scores"].numpy(), want[1], rtol=0, atol=1e-6)


def test_tfdeeprec_serve_answers_the_100_sessions_alike(trained, sessions, want,
                                                        serve_exports):
    path = trained[2]
    with serve_exports(path.parent.parent) as server:
        out = server.predict(path.parent.name, {
            "signature_name": "recommend_from_items",
            "inputs": {"item_ids": _padded(sessions), "k": K,
                       "exclude": [[] for _ in sessions]}})["outputs"]
    assert out["item_ids"] == want[0].tolist()
    np.testing.assert_allclose(out["scores"], want[1], rtol=0, atol=1e-6)


def test_r_recommend_from_a_history_answers_the_100_sessions_alike(trained, sessions, want,
                                                                   tmp_path):
    if shutil.which("Rscript") is None:
        if os.environ.get("CI"):
            pytest.fail("Rscript is missing: `make test` installs R before the tests")
        pytest.skip("Rscript is not installed (make r-deps)")
    path = trained[2]
    users = [str(u) for u in trained[0].data.user_vocab.tokens[:2]]
    (tmp_path / "requests.json").write_text(json.dumps([{
        "base": str(path.parent.parent), "name": path.parent.name, "user_id": users, "k": K,
        "from_items": sessions}]))
    proc = subprocess.run(
        ["Rscript", str(ROOT / "tests" / "conformance" / "r_recommend.R"),
         str(ROOT / "r_bridge"), str(tmp_path / "requests.json"),
         str(tmp_path / "answers.json")],
        env=dict(os.environ, RETICULATE_PYTHON=sys.executable, TF_CPP_MIN_LOG_LEVEL="3"),
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads((tmp_path / "answers.json").read_text())[0]["from_items"]
    expected = [(row + 1, rank, item, score)
                for row, (items, scores) in enumerate(zip(*want))
                for rank, (item, score) in enumerate(zip(items, scores), 1)]
    assert list(zip(got["row"], got["rank"], got["item_id"])) == [e[:3] for e in expected]
    np.testing.assert_allclose(got["score"], [e[3] for e in expected], rtol=0, atol=1e-6)


def test_the_metadata_says_unknown_session_items_are_skipped(trained):
    oov = read_metadata(trained[2])["oov"]
    assert oov["recommend_from_items_unknown_item"].startswith("skipped")
