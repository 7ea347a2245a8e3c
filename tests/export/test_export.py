"""Pair-family serving exports, reloaded by TensorFlow alone: OOV fallbacks, seen items,
``k``, ``exclude`` and metadata, on a plain ID model and a side-feature model for both
tasks. Every registered model's export is checked end to end by ``tests/conformance``."""

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tfdeeprec._keras import tf
from tfdeeprec.data import EncodedInteractions, Vocabulary, make_synthetic_ratings
from tfdeeprec.export import (METADATA_FILE, OOV_BEHAVIOUR, ExportVerificationError,
                              FallbackTables, ServingModule, check_plain_tf, existing_versions,
                              export_model, read_metadata)
from tfdeeprec.export import exporter
from tfdeeprec.models.registry import MODELS, build_model
from tfdeeprec.runs import export_run, save_run
from tfdeeprec.training import TrainingConfig
from tfdeeprec.training.experiment import ExperimentConfig, run_experiment

# Two pair-family models, each for both tasks (context models: tests/families/test_context.py).
CASES = [(name, task) for name in ("mf", "neumf") for task in MODELS[name].tasks]
MAX_K = 30
UNKNOWN_USER, UNKNOWN_ITEM = "no-such-user", "no-such-item"
CHECK_SCRIPT = Path(__file__).with_name("serving_check.py")
PLAIN_LOAD = """
import json, sys
import tensorflow as tf
def watched():
    return {m for m in sys.modules if m.split('.')[0] in ('keras', 'tf_keras', 'tfdeeprec')}
before = watched()
loaded = tf.saved_model.load(sys.argv[1])
out = loaded.signatures['score'](user_id=tf.constant([sys.argv[2]]),
                                 item_id=tf.constant([sys.argv[3]]))
print(json.dumps({'score': out['score'].numpy().tolist(),
                  'added_by_load': sorted(watched() - before),
                  'tf_keras_or_tfdeeprec': sorted(m for m in watched()
                                                  if m.split('.')[0] != 'keras')}))
"""


@dataclass
class Case:
    """One trained, saved and exported model, with what the fresh process answered."""

    task: str
    path: Path
    run_dir: Path
    users: tuple
    items: tuple
    predicted: np.ndarray  # model output (probability for implicit), [users, items]
    fallback: dict  # documented OOV values, computed from the raw training frame
    seen: dict  # user token -> set of training item tokens
    requests: dict
    answer: dict = None


def _expected_fallbacks(train_df, task, items):
    if task == "rating":
        by_item = train_df.groupby("item_id")["rating"].mean()
        return {"item": np.array([by_item[i] for i in items]),
                "user": train_df.groupby("user_id")["rating"].mean().to_dict(),
                "both": float(train_df["rating"].mean())}
    share = train_df.groupby("item_id")["user_id"].nunique() / train_df["user_id"].nunique()
    return {"item": np.array([share[i] for i in items]), "user": None, "both": 0.0}


def _requests(users, items, predicted, seen):
    rec_users = list(users[:4]) + [UNKNOWN_USER]
    excludes = []
    for user in rec_users[:-1]:  # exclude each known user's two best unseen items
        row = predicted[users.index(user)]
        best = [items[j] for j in np.argsort(-row) if items[j] not in seen[user]][:2]
        excludes.append(best + ["", UNKNOWN_ITEM])
    excludes.append([items[0], items[1], "", ""])
    empty = [[] for _ in rec_users]
    return {
        "score": {"user_id": np.repeat(list(users) + [UNKNOWN_USER], len(items) + 1).tolist(),
                  "item_id": (list(items) + [UNKNOWN_ITEM]) * (len(users) + 1)},
        "recommend": [{"user_id": rec_users, "k": 5, "exclude": excludes},
                      {"user_id": rec_users, "k": 3, "exclude": empty},
                      {"user_id": rec_users, "k": 1000, "exclude": empty},
                      {"user_id": rec_users, "k": 0, "exclude": empty}],
        "recommend_default": {"user_id": rec_users},
    }


def _train_and_export(model, task, frame, root):
    config = ExperimentConfig(model=model, task=task, batch_size=256,
                              model_kwargs=MODELS[model].test_kwargs,
                              training=TrainingConfig(epochs=1, verbose=0))
    result = run_experiment(config, frame=frame)
    run_dir = save_run(result, root / "runs" / f"{model}_{task}")
    path = export_run(run_dir, root / "models", f"{model}_{task}", max_k=MAX_K, data=frame)
    users, items = result.data.user_vocab.tokens, result.data.item_vocab.tokens
    grid_u = np.repeat(np.arange(1, len(users) + 1, dtype=np.int32), len(items))
    grid_i = np.tile(np.arange(1, len(items) + 1, dtype=np.int32), len(users))
    predicted = result.model.predict({"user_id": grid_u, "item_id": grid_i}, verbose=0,
                                     batch_size=4096).reshape(len(users), len(items))
    if task == "implicit":
        predicted = 1.0 / (1.0 + np.exp(-predicted.astype(np.float64)))
    train_df = result.data.split.train.interactions
    seen = train_df.groupby("user_id")["item_id"].agg(set).to_dict()
    return Case(task, path, run_dir, users, items, predicted,
                _expected_fallbacks(train_df, task, items), seen,
                _requests(users, items, predicted, seen))


@pytest.fixture(scope="module")
def served(tmp_path_factory, plain_tf_env):
    """Trains, saves and exports every case, then queries them all in one fresh process."""
    root = tmp_path_factory.mktemp("export")
    frame = make_synthetic_ratings(num_users=60, num_items=40, seed=1).frame
    cases = {key: _train_and_export(*key, frame, root) for key in CASES}
    requests = {"block": True, "exports": [dict(path=str(c.path), **c.requests)
                                           for c in cases.values()]}
    (root / "requests.json").write_text(json.dumps(requests))
    proc = subprocess.run([sys.executable, str(CHECK_SCRIPT), str(root / "requests.json"),
                           str(root / "answers.json")], capture_output=True, text=True,
                          env=plain_tf_env, cwd=root, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    answers = json.loads((root / "answers.json").read_text())
    for case, answer in zip(cases.values(), answers["exports"]):
        case.answer = answer
    first = next(iter(cases.values()))
    plain = subprocess.run([sys.executable, "-c", PLAIN_LOAD, str(first.path), first.users[0],
                            first.items[0]], capture_output=True, text=True, env=plain_tf_env,
                           cwd=root, timeout=300)
    assert plain.returncode == 0, plain.stderr[-3000:]
    return {"cases": cases, "answers": answers, "plain": json.loads(plain.stdout.splitlines()[-1]),
            "frame": frame, "root": root}


def _served_scores(case):
    """The fresh process's ``score`` answers as [users + 1, items + 1] (last: unknown)."""
    shape = (len(case.users) + 1, len(case.items) + 1)
    return (np.array(case.answer["score"]["score"]).reshape(shape),
            np.array(case.answer["score"]["known"]).reshape(shape))


@pytest.mark.parametrize("model,task", CASES)
def test_score_equals_model_for_known_pairs(served, model, task):
    case = served["cases"][model, task]
    scores, known = _served_scores(case)
    np.testing.assert_allclose(scores[:-1, :-1], case.predicted, rtol=0, atol=1e-6)
    assert known[:-1, :-1].all()
    assert case.answer["serving_default"] == case.answer["score"]


@pytest.mark.parametrize("model,task", CASES)
def test_unknown_ids_get_the_documented_fallback(served, model, task):
    case = served["cases"][model, task]
    scores, known = _served_scores(case)
    assert not known[-1].any() and not known[:, -1].any()
    fallback = case.fallback
    np.testing.assert_allclose(scores[-1, :-1], fallback["item"], rtol=0, atol=1e-6)
    per_user = ([fallback["user"][u] for u in case.users] if task == "rating"
                else np.zeros(len(case.users)))
    np.testing.assert_allclose(scores[:-1, -1], per_user, rtol=0, atol=1e-6)
    assert scores[-1, -1] == pytest.approx(fallback["both"], abs=1e-6)
    if task == "implicit":
        assert (scores[-1, :-1] > 0).all() and (scores[-1, :-1] <= 1).all()


def _brute_force(case, user, k, exclude):
    """numpy top-k over the served ``score`` of every item, seen and excluded items out."""
    scores, _ = _served_scores(case)
    row = scores[case.users.index(user)] if user in case.users else scores[-1]
    banned = set(exclude) | case.seen.get(user, set())
    eligible = [j for j in range(len(case.items)) if case.items[j] not in banned]
    order = sorted(eligible, key=lambda j: -row[j])  # stable: ties keep vocabulary order
    k = min(max(k, 1), MAX_K)
    ids = [case.items[j] for j in order[:k]]
    values = [row[j] for j in order[:k]]
    pad = k - len(ids)
    return ids + [""] * pad, np.array(values + [-np.inf] * pad), dict(zip(case.items, row))


def _assert_same_top_k(case, request, answer):
    for n, user in enumerate(request["user_id"]):
        exclude = request["exclude"][n] if request["exclude"] else []
        want_ids, want_scores, score_of = _brute_force(case, user, request["k"], exclude)
        got_ids, got_scores = answer["item_ids"][n], np.array(answer["scores"][n])
        np.testing.assert_allclose(got_scores, want_scores, rtol=0, atol=1e-6)
        for got, want in zip(got_ids, want_ids):  # ties aside: a swap needs equal scores
            assert got == want or abs(score_of[got] - score_of[want]) <= 1e-6, (user, got, want)
        real = [i for i in got_ids if i]
        assert len(set(real)) == len(real) and not set(real) & set(exclude)


@pytest.mark.parametrize("model,task", CASES)
def test_recommend_equals_brute_force_top_k(served, model, task):
    case = served["cases"][model, task]
    for request, answer in zip(case.requests["recommend"], case.answer["recommend"]):
        _assert_same_top_k(case, request, answer)
    users = case.requests["recommend_default"]["user_id"]
    default = dict(user_id=users, k=MAX_K, exclude=[])
    _assert_same_top_k(case, default, case.answer["recommend_default"])


@pytest.mark.parametrize("model,task", CASES)
def test_k_is_chosen_per_request_and_clipped(served, model, task):
    case = served["cases"][model, task]
    widths = [np.array(a["item_ids"]).shape for a in case.answer["recommend"]]
    batch = len(case.requests["recommend"][0]["user_id"])
    assert widths == [(batch, 5), (batch, 3), (batch, MAX_K), (batch, 1)]
    padded = case.answer["recommend"][2]  # k = 1000 -> max_k; users with many seen items
    assert any("" in row for row in padded["item_ids"])
    unknown_row = padded["item_ids"][-1]  # nothing is seen for an unknown user
    assert "" not in unknown_row


@pytest.mark.parametrize("model,task", CASES)
def test_metadata_describes_the_export(served, model, task):
    case = served["cases"][model, task]
    meta = case.answer["metadata"]
    assert meta == json.loads((case.path / "assets" / METADATA_FILE).read_text())
    assert meta["model"]["name"] == model and meta["model"]["family"]
    assert meta["task"] == task
    assert meta["versions"]["tensorflow"] == tf.__version__
    assert meta["vocab"]["users"] == len(case.users) and meta["vocab"]["items"] == len(case.items)
    config = json.loads((case.run_dir / "config.json").read_text())
    assert meta["training"] == config
    summary = json.loads((case.run_dir / "metrics.json").read_text())
    assert meta["metrics"] == summary["metrics"] and "ndcg@10" in meta["metrics"]["test"]
    assert meta["export"]["max_k"] == MAX_K and meta["export"]["exclude_seen"] is True
    assert meta["export"]["version"] == int(case.path.name) == 1
    assert {k: v for k, v in meta["oov"].items() if k != "known"} == OOV_BEHAVIOUR[task]
    described = {name: {"inputs": sig["inputs"], "outputs": sig["outputs"]}
                 for name, sig in meta["signatures"].items()}
    assert described == case.answer["signatures"]
    assert set(described) == {"serving_default", "score", "recommend", "recommend_default"}
    assert described["recommend"]["inputs"] == {
        "user_id": {"dtype": "string", "shape": [None]}, "k": {"dtype": "int32", "shape": []},
        "exclude": {"dtype": "string", "shape": [None, None]}}
    assert described["score"]["outputs"] == {"score": {"dtype": "float32", "shape": [None]},
                                             "known": {"dtype": "bool", "shape": [None]}}


@pytest.mark.parametrize("model,task", CASES)
def test_export_needs_tensorflow_only(served, model, task):
    case = served["cases"][model, task]
    check_plain_tf(case.path)
    assert not (case.path / "keras_metadata.pb").exists()
    assert not [p for p in case.path.parent.iterdir() if p.name.startswith(".")]


def test_fresh_process_never_imported_keras_or_tfdeeprec(served):
    answers = served["answers"]
    assert answers["env_legacy_keras"] is None
    assert answers["modules_at_end"] == []  # they were unimportable and nothing needed them
    plain = served["plain"]  # a plain `import tensorflow; tf.saved_model.load(path)`
    assert plain["added_by_load"] == [] and plain["tf_keras_or_tfdeeprec"] == []
    first = next(iter(served["cases"].values()))
    assert plain["score"][0] == pytest.approx(first.predicted[0, 0], abs=1e-6)


def test_export_run_refuses_data_that_gives_other_vocabularies(served, tmp_path):
    case = served["cases"]["mf", "rating"]
    other = make_synthetic_ratings(num_users=50, num_items=40, seed=2).frame
    with pytest.raises(ValueError, match="vocabularies"):
        export_run(case.run_dir, tmp_path, "mf", data=other)
    assert existing_versions(tmp_path / "mf") == []


# Small exports straight from export_model, for the versioning and atomicity contract.

@pytest.fixture
def tiny():
    train = EncodedInteractions(user=np.array([1, 1, 2, 3], np.int32),
                                item=np.array([1, 2, 3, 4], np.int32), num_users=4, num_items=5,
                                rating=np.array([4, 3, 5, 2], np.float32))
    return dict(model=build_model("mf", 4, 5, task="rating", embedding_dim=2),
                user_vocab=Vocabulary(["u1", "u2", "u3"]),
                item_vocab=Vocabulary(["a", "b", "c", "d"]), task="rating", train=train)


def _visible(root):
    return sorted(p.name for p in Path(root).iterdir())


def test_versions_increment_and_never_overwrite(tiny, tmp_path):
    paths = [export_model(**tiny, base=tmp_path, name="tiny", verify=False) for _ in range(2)]
    assert [p.name for p in paths] == ["1", "2"]
    assert export_model(**tiny, base=tmp_path, name="tiny", version=7).name == "7"  # verified
    assert export_model(**tiny, base=tmp_path, name="tiny", verify=False).name == "8"
    assert existing_versions(tmp_path / "tiny") == [1, 2, 7, 8]
    before = (tmp_path / "tiny" / "7" / "saved_model.pb").read_bytes()
    with pytest.raises(FileExistsError, match="already exists"):
        export_model(**tiny, base=tmp_path, name="tiny", version=7)
    assert (tmp_path / "tiny" / "7" / "saved_model.pb").read_bytes() == before
    assert _visible(tmp_path / "tiny") == ["1", "2", "7", "8"]  # no temporary folder left


def _save_then_fail(real_save):
    def save(*args, **kwargs):
        real_save(*args, **kwargs)  # a complete SavedModel in the temporary folder...
        raise OSError("disk full")  # ...then the failure

    return save


@pytest.mark.parametrize("failure", ["save_raises", "save_writes_then_raises",
                                     "verification_fails"])
def test_failed_export_leaves_no_trace(tiny, tmp_path, monkeypatch, failure):
    export_model(**tiny, base=tmp_path, name="tiny", version=1, verify=False)
    if failure == "save_raises":
        def boom(*args, **kwargs):
            raise OSError("disk full")
        monkeypatch.setattr(tf.saved_model, "save", boom)
    elif failure == "save_writes_then_raises":
        monkeypatch.setattr(tf.saved_model, "save", _save_then_fail(tf.saved_model.save))
    else:
        def disagree(*args, **kwargs):
            raise ExportVerificationError("score differs")
        monkeypatch.setattr(exporter, "verify_export", disagree)
    with pytest.raises((OSError, ExportVerificationError)):
        export_model(**tiny, base=tmp_path, name="tiny")
    assert _visible(tmp_path / "tiny") == ["1"]
    monkeypatch.undo()
    assert export_model(**tiny, base=tmp_path, name="tiny", verify=False).name == "2"


def test_failure_on_a_new_name_leaves_no_version(tiny, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", boom)
    with pytest.raises(OSError):
        export_model(**tiny, base=tmp_path, name="fresh")
    assert _visible(tmp_path / "fresh") == []


@pytest.mark.parametrize("name", ["", ".hidden", "..", "a/b", "a\\b", "x y", "../up", "é", 3,
                                  None])
def test_bad_names_are_refused(tiny, tmp_path, name):
    with pytest.raises(ValueError, match="`name`"):
        export_model(**tiny, base=tmp_path, name=name)
    assert _visible(tmp_path) == []


@pytest.mark.parametrize("version", [0, -1, "2", 1.0, True])
def test_bad_versions_are_refused(tiny, tmp_path, version):
    with pytest.raises(ValueError, match="`version`"):
        export_model(**tiny, base=tmp_path, name="tiny", version=version)
    assert _visible(tmp_path) == []


@pytest.mark.parametrize("max_k", [0, -3, 2.5, True])
def test_bad_max_k_is_refused(tiny, tmp_path, max_k):
    with pytest.raises(ValueError, match="`max_k`"):
        export_model(**tiny, base=tmp_path, name="tiny", max_k=max_k)


def test_good_names_are_accepted(tiny, tmp_path):
    path = export_model(**tiny, base=tmp_path, name="ml-1m_neumf.v2", verify=False)
    assert path == tmp_path / "ml-1m_neumf.v2" / "1"


def test_bad_requests_fail_cleanly_and_seen_items_can_stay(tiny, tmp_path):
    path = export_model(**tiny, base=tmp_path, name="tiny", exclude_seen=False, verify=False)
    loaded = tf.saved_model.load(str(path))
    with pytest.raises(tf.errors.InvalidArgumentError, match="same length"):
        loaded.signatures["score"](user_id=tf.constant(["u1", "u2"]), item_id=tf.constant(["a"]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="one row per"):
        loaded.signatures["recommend"](user_id=tf.constant(["u1", "u2"]), k=tf.constant(2),
                                       exclude=tf.constant([["a"]]))
    ranked = loaded.signatures["recommend_default"](user_id=tf.constant(["u1"]))["item_ids"]
    assert sorted(ranked.numpy()[0].astype(str)) == ["a", "b", "c", "d"]  # seen a, b stay
    assert read_metadata(path)["export"]["exclude_seen"] is False


def test_recommend_in_several_model_calls_equals_one_call(tiny):
    fallbacks = FallbackTables.from_train(tiny["train"], "rating")
    args = (tiny["model"], tiny["user_vocab"], tiny["item_vocab"])
    one = ServingModule(*args, task="rating", fallbacks=fallbacks)
    several = ServingModule(*args, task="rating", fallbacks=fallbacks, pairs_per_call=2 * 5)
    users = tf.constant(["u1", "u2", "u3", "ghost", "u2"])  # 3 calls of 2 users
    exclude = tf.constant([["b"], [""], ["a"], ["c"], ["d"]])
    for k in (1, 3):
        want = one.recommend(users, tf.constant(k), exclude)
        got = several.recommend(users, tf.constant(k), exclude)
        assert got["item_ids"].numpy().tolist() == want["item_ids"].numpy().tolist()
        np.testing.assert_array_equal(got["scores"].numpy(), want["scores"].numpy())
        alone = several.recommend(users[:1], tf.constant(k), exclude[:1])  # a block of 1
        assert alone["item_ids"].numpy().tolist() == want["item_ids"].numpy()[:1].tolist()
        np.testing.assert_array_equal(alone["scores"].numpy(), want["scores"].numpy()[:1])
    empty = several.recommend_default(tf.constant([], tf.string))
    assert empty["item_ids"].shape == (0, 4)
