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
from tfdeeprec.export import export_run  # noqa: E402
from tfdeeprec.models import MODELS  # noqa: E402
from tfdeeprec.training import TrainingConfig  # noqa: E402
from tfdeeprec.training.experiment import ExperimentConfig, run_experiment, save_run  # noqa: E402

SMALL = {"mf": {"embedding_dim": 4}, "gmf": {"embedding_dim": 4},
         "mlp_ncf": {"embedding_dim": 4, "hidden_units": [8, 4]},
         "neumf": {"gmf_dim": 4, "mlp_dim": 4, "hidden_units": [8, 4]},
         "wide_deep": {"embedding_dim": 4, "feature_embedding_dim": 2, "hidden_units": [8]}}


def main(out):
    frame = make_synthetic_ratings(60, 40, seed=1).frame
    base = os.path.join(out, "exports")
    expected = {"base": base, "models": {}}
    users = ["1", "2", "3", "no-such-user"]
    items = ["1", "5", "9", "no-such-item"]
    pairs = {"user_id": [u for u in users for _ in items], "item_id": items * len(users)}
    for family in sorted(MODELS):
        for task in ("implicit", "rating"):
            name = f"{family}_{task}"
            config = ExperimentConfig(model=family, task=task, batch_size=256,
                                      model_kwargs=SMALL[family],
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
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main(sys.argv[1])
