"""Test fixture for the R tests: trains tiny models of every family, exports them, and
writes what Python computes for the same requests to OUT/expected.json.

    python make_exports.py OUT
"""

import json
import os
import sys

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import tfdeeprec  # noqa: E402,F401
from tfdeeprec._keras import tf  # noqa: E402
from tfdeeprec.data import make_synthetic_ratings  # noqa: E402
from tfdeeprec.models.registry import MODELS  # noqa: E402
from tfdeeprec.models.two_tower import tower_embeddings  # noqa: E402
from tfdeeprec.training import TrainingConfig  # noqa: E402
from tfdeeprec.runs import export_run, save_run  # noqa: E402
from tfdeeprec.training.experiment import ExperimentConfig, run_experiment  # noqa: E402


def main(out):
    frame = make_synthetic_ratings(60, 40, seed=1).frame
    base = os.path.join(out, "exports")
    expected = {"base": base, "models": {}}
    users = ["1", "2", "3", "no-such-user"]
    items = ["1", "5", "9", "no-such-item"]
    pairs = {"user_id": [u for u in users for _ in items], "item_id": items * len(users)}
    # Every pair-family model and task (the two-tower export is built below).
    for family, spec in sorted(MODELS.items()):
        if spec.family != "pair":
            continue
        for task in spec.tasks:
            name = f"{family}_{task}"
            config = ExperimentConfig(model=family, task=task, batch_size=256,
                                      model_kwargs=spec.test_kwargs,
                                      training=TrainingConfig(epochs=1, verbose=0))
            result = run_experiment(config, frame=frame)
            run_dir = save_run(result, os.path.join(out, "runs", name))
            export_run(run_dir, base, name, max_k=20)
            # Python's answers: the Keras model for known pairs, the export for the rest.
            loaded = tf.saved_model.load(os.path.join(base, name, "1"))
            served = loaded.signatures["score"](user_id=tf.constant(pairs["user_id"]),
                                                item_id=tf.constant(pairs["item_id"]))
            user_index = result.data.user_vocab.lookup(pairs["user_id"])
            item_index = result.data.item_vocab.lookup(pairs["item_id"])
            keras_scores = result.model.predict({"user_id": user_index, "item_id": item_index},
                                                verbose=0)
            if task == "implicit":
                keras_scores = 1 / (1 + np.exp(-keras_scores))
            known = (user_index > 0) & (item_index > 0)
            exclude = [["1", "2"], [], ["3"], []]
            recs = loaded.signatures["recommend"](
                user_id=tf.constant(users), k=tf.constant(5),
                exclude=tf.constant([row + [""] * (2 - len(row)) for row in exclude]))
            expected["models"][name] = {
                "pairs": pairs,
                "keras_score": [float(s) for s in keras_scores],
                "served_score": served["score"].numpy().tolist(),
                "known": known.tolist(),
                "recommend": {"user_id": users, "k": 5, "exclude": exclude,
                              "item_ids": [[b.decode() for b in row]
                                           for row in recs["item_ids"].numpy().tolist()],
                              "scores": recs["scores"].numpy().tolist()},
            }
    expected["two_tower"] = two_tower(frame, out, base, users, pairs)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)


def two_tower(frame, out, base, users, pairs):
    """A two-tower run exported as `two_tower` (brute force), `two_tower_scann` and
    `two_tower_query_tower`; Python's answers from each."""
    config = ExperimentConfig(model="two_tower", task="implicit", batch_size=64,
                              model_kwargs={"embedding_dim": 8},
                              training=TrainingConfig(epochs=2, verbose=0))
    result = run_experiment(config, frame=frame)
    run_dir = save_run(result, os.path.join(out, "runs", "two_tower"))
    export_run(run_dir, base, "two_tower", max_k=20, scann=True)
    queries = tower_embeddings(result.model.query_tower, len(result.data.user_vocab))
    items = tower_embeddings(result.model.candidate_tower, len(result.data.item_vocab))
    user_index = result.data.user_vocab.lookup(pairs["user_id"])
    item_index = result.data.item_vocab.lookup(pairs["item_id"])
    known = (user_index > 0) & (item_index > 0)
    answers = {"pairs": pairs, "known": known.tolist(),
               "dot": np.sum(queries[user_index] * items[item_index], axis=1).tolist()}
    exclude = [["1", "2"], [], ["3"], []]
    padded = tf.constant([row + [""] * (2 - len(row)) for row in exclude])
    for name in ("two_tower", "two_tower_scann"):
        loaded = tf.saved_model.load(os.path.join(base, name, "1")).signatures
        served = loaded["score"](user_id=tf.constant(pairs["user_id"]),
                                 item_id=tf.constant(pairs["item_id"]))
        recs = loaded["recommend"](user_id=tf.constant(users), k=tf.constant(5),
                                   exclude=padded)
        answers[name] = {
            "served_score": served["score"].numpy().tolist(),
            "recommend": {"user_id": users, "k": 5, "exclude": exclude,
                          "item_ids": recs["item_ids"].numpy().astype(str).tolist(),
                          "scores": recs["scores"].numpy().tolist()}}
    tower = tf.saved_model.load(os.path.join(base, "two_tower_query_tower", "1"))
    answers["embedding"] = tower.signatures["embed"](
        user_id=tf.constant(users))["embedding"].numpy().tolist()
    return answers


if __name__ == "__main__":
    main(sys.argv[1])
