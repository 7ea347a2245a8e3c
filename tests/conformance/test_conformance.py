"""The conformance suite: every registered model, every task it supports, end to end.

Parametrised over the registry itself, so a newly registered model is tested here with
no edit, and one that fails any step cannot land:

build at its test size -> fit a few steps on planted synthetic data -> full-ranking
evaluation -> save and reload the run (same metrics, same recommendations) -> export ->
in a fresh TensorFlow-only process, ``recommend`` equals the in-process top k -> served
by ``tfdeeprec serve``, it equals the export -> from R, it equals too (1e-6).

Only the family-independent contract is used: ``recommend(user_id, k, exclude)``.
"""

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tfdeeprec.data import make_synthetic_ratings
from tfdeeprec.export.items_exporter import user_histories
from tfdeeprec.families import get_family
from tfdeeprec.models.registry import MODELS
from tfdeeprec.runs import export_run, load_run, recommend_from_run, recommend_top_k, save_run
from tfdeeprec.training import TrainingConfig
from tfdeeprec.training.experiment import ExperimentConfig, evaluate_part, run_experiment

# TFDEEPREC_CONFORMANCE_MODELS=sasrec,gru4rec narrows a local run; CI runs every model.
_ONLY = [m for m in os.environ.get("TFDEEPREC_CONFORMANCE_MODELS", "").split(",") if m]
CASES = [(name, task) for name, spec in sorted(MODELS.items()) for task in spec.tasks
         if not _ONLY or name in _ONLY]
IDS = [f"{name}-{task}" for name, task in CASES]
K = 7
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


@dataclass
class Conformed:
    config: ExperimentConfig
    result: object
    run_dir: Path
    export: Path
    users: list           # known users, then one unknown
    in_process: list      # per known user: [(item_id, score)] from the Keras model
    from_items: list      # per known user: their training items (raw IDs)
    # a row model that reads the user (CDAE): each known user's items as an anonymous row
    in_process_anonymous: list | None = None


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("conformance")


@pytest.fixture(scope="module")
def conformed(work):
    """Every case trained, saved, exported; in-process answers alongside."""
    frame = make_synthetic_ratings(80, 50, seed=5).frame
    cases = {}
    for name, task in CASES:
        key = f"{name}-{task}"
        config = ExperimentConfig(model=name, task=task, batch_size=128, seed=1,
                                  model_kwargs=MODELS[name].test_kwargs,
                                  training=TrainingConfig(epochs=2, verbose=0, seed=1))
        result = run_experiment(config, frame=frame)
        run_dir = save_run(result, work / "runs" / key)
        export = export_run(run_dir, work / "exports", key.replace("-", "_"), max_k=20)
        data = result.data
        users = [str(u) for u in data.user_vocab.tokens[:5]] + ["no-such-user"]
        family = get_family(MODELS[name].family)
        in_process = recommend_top_k(family, result.model, config, data.train,
                                     data.user_vocab, data.item_vocab, users[:-1], K)
        starts, items = user_histories(data.train)  # each user's items in time order
        from_items = [[str(i) for i in data.item_vocab.ids_of(items[starts[u]:starts[u + 1]])]
                      for u in data.user_vocab.lookup(users[:-1])]
        anonymous = (_anonymous_top_k(result.model, data, users[:-1])
                     if MODELS[name].family == "row" and
                     "user_id" in result.model.input_names else None)
        cases[key] = Conformed(config, result, run_dir, export, users, in_process, from_items,
                               anonymous)
    return cases


@pytest.fixture(scope="module")
def plain_tf(conformed, work, plain_tf_env):
    """Each export's ``recommend`` in one fresh process where only TensorFlow loads."""
    requests = [{"path": str(c.export), "user_id": c.users, "k": K,
                 "from_items": c.from_items} for c in conformed.values()]
    (work / "plain_requests.json").write_text(json.dumps(requests))
    subprocess.run([sys.executable, str(HERE / "plain_tf_recommend.py"),
                    str(work / "plain_requests.json"), str(work / "plain_answers.json")],
                   check=True, env=plain_tf_env, timeout=600)
    answers = json.loads((work / "plain_answers.json").read_text())
    return dict(zip(conformed, answers))


@pytest.fixture(scope="module")
def served(conformed, work):
    """Each export's ``recommend`` over REST from one ``tfdeeprec serve`` process."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tfdeeprec.cli", "serve", "--model-base",
         str(work / "exports"), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        answers = {}
        for key, case in conformed.items():
            url = f"http://127.0.0.1:{port}/v1/models/{case.export.parent.name}"
            _wait_available(server, url)
            body = {"signature_name": "recommend",
                    "inputs": {"user_id": case.users, "k": K,
                               "exclude": [[] for _ in case.users]}}
            request = urllib.request.Request(url + ":predict", data=json.dumps(body).encode())
            with urllib.request.urlopen(request, timeout=60) as response:
                answers[key] = json.loads(response.read())["outputs"]
            if _offers_fold_in(case):
                width = max(len(r) for r in case.from_items)
                body = {"signature_name": "recommend_from_items", "inputs": {
                    "item_ids": [r + [""] * (width - len(r)) for r in case.from_items],
                    "k": K, "exclude": [[] for _ in case.from_items]}}
                request = urllib.request.Request(url + ":predict",
                                                 data=json.dumps(body).encode())
                with urllib.request.urlopen(request, timeout=60) as response:
                    answers[key]["from_items"] = json.loads(response.read())["outputs"]
        return answers
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def from_r(conformed, work):
    """Each export's ``recommend()`` through the R bridge, in one Rscript process."""
    if shutil.which("Rscript") is None:
        if os.environ.get("CI"):
            pytest.fail("Rscript is missing: `make test` installs R before the tests")
        pytest.skip("Rscript is not installed (make r-deps)")
    requests = [{"base": str(c.export.parent.parent), "name": c.export.parent.name,
                 "user_id": c.users, "k": K, "from_items": c.from_items}
                for c in conformed.values()]
    (work / "r_requests.json").write_text(json.dumps(requests))
    env = dict(os.environ, RETICULATE_PYTHON=sys.executable, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(["Rscript", str(HERE / "r_recommend.R"), str(ROOT / "r_bridge"),
                           str(work / "r_requests.json"), str(work / "r_answers.json")],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    answers = json.loads((work / "r_answers.json").read_text())
    return dict(zip(conformed, answers))


@pytest.mark.parametrize("key", IDS)
def test_fit_then_full_ranking_evaluation(conformed, key):
    case = conformed[key]
    if MODELS[case.config.model].solver is None:
        assert len(case.result.history["loss"]) == 2
        assert all(math.isfinite(v) for v in case.result.history["loss"])
    else:  # solved in closed form: no gradient loop, no epochs
        assert case.result.history == {} and case.result.epoch_seconds == []
    test = case.result.metrics["test"]
    assert 0.0 <= test["ndcg@10"] <= 1.0 and 0.0 <= test["recall@10"] <= 1.0
    if case.config.task == "rating":
        assert 0.0 < test["rmse"] < 3.0 and test["rows"] == len(case.result.data.test)
    if case.config.task == "ctr":
        assert 0.0 <= test["auc"] <= 1.0 and 0.0 < test["logloss"] < 5.0


@pytest.mark.parametrize("key", IDS)
def test_saved_run_reloads_with_the_same_metrics_and_recommendations(conformed, key):
    case = conformed[key]
    model, user_vocab, item_vocab, config = load_run(case.run_dir)
    assert config == case.result.config  # with the feature specs a context run inferred
    assert (user_vocab, item_vocab) == (case.result.data.user_vocab,
                                        case.result.data.item_vocab)
    again = evaluate_part(model, case.result.data, "test", config)
    assert again == pytest.approx(case.result.metrics["test"], abs=1e-6)
    reloaded = recommend_from_run(case.run_dir, case.users, K)
    assert reloaded[-1] == []  # an unknown user has no row in the model
    for got, want in zip(reloaded, case.in_process):
        assert [i for i, _ in got] == [i for i, _ in want]
        np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-6)


@pytest.mark.parametrize("key", IDS)
def test_plain_tensorflow_recommend_equals_the_in_process_top_k(conformed, plain_tf, key):
    case, answer = conformed[key], plain_tf[key]
    assert answer["modules"] == []
    family = get_family(MODELS[case.config.model].family)
    assert set(answer["signatures"]) == set(family.serves)
    for row, want in enumerate(case.in_process):
        assert answer["item_ids"][row] == [i for i, _ in want]
        np.testing.assert_allclose(answer["scores"][row], [s for _, s in want],
                                   rtol=1e-5, atol=1e-6)
    # The unknown user gets the export's cold-start fallback: K real items, best first.
    unknown_items, unknown_scores = answer["item_ids"][-1], answer["scores"][-1]
    assert len(unknown_items) == K and "" not in unknown_items
    assert unknown_scores == sorted(unknown_scores, reverse=True)


@pytest.mark.parametrize("key", IDS)
def test_tfdeeprec_serve_answers_as_the_export(plain_tf, served, key):
    want, got = plain_tf[key], served[key]
    assert got["item_ids"] == want["item_ids"]
    np.testing.assert_allclose(got["scores"], want["scores"], rtol=0, atol=1e-6)


@pytest.mark.parametrize("key", IDS)
def test_r_bridge_answers_as_the_export(conformed, plain_tf, from_r, key):
    want, got = plain_tf[key], from_r[key]
    users = conformed[key].users
    expected = [(users[row], rank, item, score)
                for row, (items, scores) in enumerate(zip(want["item_ids"], want["scores"]))
                for rank, (item, score) in enumerate(zip(items, scores), 1) if item != ""]
    assert list(zip(got["user_id"], got["rank"], got["item_id"])) == [e[:3] for e in expected]
    np.testing.assert_allclose(got["score"], [e[3] for e in expected], rtol=0, atol=1e-6)


FOLD_IN = [key for key, (name, _) in zip(IDS, CASES)
           if "recommend_from_items" in get_family(MODELS[name].family).serves]


@pytest.mark.parametrize("key", FOLD_IN)
def test_recommend_from_items_of_a_users_items_is_recommend_of_that_user(conformed, plain_tf,
                                                                         served, from_r, key):
    want, folded = plain_tf[key], plain_tf[key]["from_items"]
    anonymous = conformed[key].in_process_anonymous
    if anonymous is not None:  # CDAE: a folded-in row is an anonymous user's
        assert folded["item_ids"] == [[i for i, _ in row] for row in anonymous]
        np.testing.assert_allclose(folded["scores"], [[s for _, s in row] for row in anonymous],
                                   rtol=1e-5, atol=1e-6)
    else:
        assert folded["item_ids"] == want["item_ids"][:-1]  # the unknown user is not folded in
        np.testing.assert_allclose(folded["scores"], want["scores"][:-1], rtol=0, atol=1e-6)
    assert served[key]["from_items"]["item_ids"] == folded["item_ids"]
    np.testing.assert_allclose(served[key]["from_items"]["scores"], folded["scores"],
                               rtol=0, atol=1e-6)
    got = from_r[key]["from_items"]
    expected = [(row + 1, rank, item, score)
                for row, (items, scores) in enumerate(zip(folded["item_ids"], folded["scores"]))
                for rank, (item, score) in enumerate(zip(items, scores), 1) if item != ""]
    assert list(zip(got["row"], got["rank"], got["item_id"])) == [e[:3] for e in expected]
    np.testing.assert_allclose(got["score"], [e[3] for e in expected], rtol=0, atol=1e-6)


def _anonymous_top_k(model, data, users):
    """Top ``K`` of a row model that reads the user, given each user's training items
    as a row and the OOV user (index 0), the training items left out."""
    known = data.train.known()
    indices = data.user_vocab.lookup(np.asarray(users, dtype=object))
    rows = np.zeros((len(indices), data.train.num_items), "float32")
    for row, user in enumerate(indices):
        rows[row, known.item[known.user == user]] = 1.0
    scores = model({"user_row": rows, "user_id": np.zeros(len(indices), "int32")}).numpy()
    scores[rows > 0] = -np.inf
    scores[:, 0] = -np.inf
    tokens = data.item_vocab.ids_of(np.arange(data.train.num_items))
    return [[(str(tokens[i]), float(row[i])) for i in np.argsort(-row, kind="stable")[:K]]
            for row in scores]


def _offers_fold_in(case) -> bool:
    return "recommend_from_items" in get_family(MODELS[case.config.model].family).serves


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_available(server, url, timeout=180):
    deadline = time.time() + timeout
    while True:
        if server.poll() is not None or time.time() > deadline:
            server.kill()
            raise AssertionError("tfdeeprec serve did not make the model available: "
                                 f"{server.communicate()[0].decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                state = json.loads(response.read())["model_version_status"][0]
            if state["state"] == "AVAILABLE":
                return
            if state["state"] == "END":
                raise AssertionError(f"tfdeeprec serve could not load {url}: {state}")
        except OSError:
            pass
        time.sleep(0.3)
