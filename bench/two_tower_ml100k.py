"""Two-tower retrieval on MovieLens-100k: with and without the logQ correction.

Usage: .venv/bin/python bench/two_tower_ml100k.py [--data FOLDER] [--rows a,b]
       [--override JSON] [--no-write] [--quiet]

FOLDER holds the RecBole atomic files ml-100k.{inter,user,item} (default: the folder
printed by ../shared/data/fetch_ml100k.sh). Each row trains in a fresh subprocess.

Protocol (the implicit protocol of bench/ml100k_models.py): every rating is a positive;
per-user 8:1:1 split (``split_by_user_ratio(frame, (0.8, 0.1, 0.1), seed=0)``),
vocabularies and side-feature tables from the training part only. Training batches are
the shuffled training pairs (positives only); the loss is the in-batch sampled softmax
of ``TwoTower`` (``tfrs.tasks.Retrieval``). Each epoch every validation user ranks all
items by ``query_tower(user) . candidate_tower(item)`` (``embedding_score_fn``), training
items excluded; early stopping watches validation NDCG@10 and restores the best epoch.
Test: full ranking over all items, training and validation items excluded
(``FullRankingEvaluator(train, test, exclude=(valid,))``). Side features: user age
(bucketised), gender, occupation; item genres (multi-hot) and year (bucketised); the
query tower can also average the user's training items (``history``).

Hyperparameters were chosen on validation NDCG@10 only; the grid tried is kept in the
JSON under "tuning".
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import merge_settings  # noqa: E402

FETCH = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "fetch_ml100k.sh"
COMMAND = ".venv/bin/python bench/two_tower_ml100k.py"
TARGET_NDCG = 0.25

BASE = {
    "model": {"embedding_dim": 64, "hidden_units": (), "feature_embedding_dim": 16,
              "history_length": 0, "history_dropout_rate": 0.0},
    "loss": {"temperature": 0.25, "logq_correction": True, "num_uniform_negatives": 0,
             "remove_accidental_hits": True},
    "data": {"batch_size": 1024},
    "train": {"learning_rate": 2e-3, "epochs": 60, "early_stopping_patience": 6,
              "reduce_lr_patience": 3, "optimizer": "sparse_adam"},
}

ROWS = {
    "logq": {"label": "Two-tower, in-batch softmax + logQ correction (default)",
             "loss": {"logq_correction": True}},
    "no_logq": {"label": "Two-tower, in-batch softmax, no logQ correction",
                "loss": {"logq_correction": False, "temperature": 0.5}},
    "mixed": {"label": "Two-tower, logQ + 512 uniform negatives (mixed negative sampling)",
              "loss": {"logq_correction": True, "num_uniform_negatives": 512}},
}

# --------------------------------------------------------------------------- worker side

def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_worker(folder: str, spec: dict, verbose=2, embeddings_out: str | None = None) -> dict:
    """Trains and tests one row; everything it reports is measured in this process.

    With ``embeddings_out``, also saves ``.npz`` arrays for bench/retrieval.py: ``items``
    (the candidate tower's output for items ``1..n-1``) and ``queries`` (the query tower's
    output for the test users).
    """
    import numpy as np

    import tfdeeprec  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
    from tfdeeprec._keras import tf
    from tfdeeprec.data import (build_histories, build_vocabularies, encode, load_interactions,
                                split_by_user_ratio)
    from tfdeeprec.data.side_features import build_feature_tables
    from tfdeeprec.evaluation import FullRankingEvaluator, embedding_score_fn
    from tfdeeprec.models.two_tower import (TwoTower, build_candidate_tower, build_query_tower,
                                            sampling_probabilities, tower_embeddings,
                                            tower_score_fn)
    from tfdeeprec.training import RankingValidation, TrainingConfig, fit
    from tfdeeprec.training.callbacks import EpochTimer

    start = time.perf_counter()
    frame = load_interactions(folder)
    split = split_by_user_ratio(frame, (0.8, 0.1, 0.1), seed=0)
    users, items = build_vocabularies(split.train)
    train, valid, test = (encode(part, users, items) for part in split)
    user_tables = build_feature_tables(frame.users, users)
    item_tables = build_feature_tables(frame.items, items)
    model_kw, loss_kw = dict(spec["model"]), dict(spec["loss"])
    data_kw, train_kw = dict(spec["data"]), dict(spec["train"])
    history_length = model_kw.pop("history_length")
    history_dropout = model_kw.pop("history_dropout_rate")
    history = None
    if history_length:
        rows = build_histories(train, max_length=history_length)
        history = np.zeros((train.num_users, history_length), np.int32)
        history[rows["user_id"]] = rows["history"]
    probabilities = sampling_probabilities(train.item, train.num_items)

    def build():
        query = build_query_tower(train.num_users, user_tables, user_history=history,
                                  num_items=train.num_items,
                                  history_dropout_rate=history_dropout, **model_kw)
        candidate = build_candidate_tower(train.num_items, item_tables, **model_kw)
        return TwoTower(query, candidate, train.num_items, item_probabilities=probabilities,
                        seed=0, **loss_kw)

    def live_score_fn(model):  # RankingValidation builds it once; it follows training
        return tower_score_fn(model.query_tower, model.candidate_tower, train.num_items)

    def score_fn(model):  # the trained model's embedding tables
        return embedding_score_fn(tower_embeddings(model.query_tower, train.num_users),
                                  tower_embeddings(model.candidate_tower, train.num_items))

    batch_size = data_kw["batch_size"]
    dataset = tf.data.Dataset.from_tensor_slices(
        {"user_id": train.user, "item_id": train.item}).shuffle(
        len(train), seed=0, reshuffle_each_iteration=True).batch(batch_size)
    timer = EpochTimer()  # first in the list: training steps only, before validation
    validation = RankingValidation(FullRankingEvaluator(train, valid, ks=(10,),
                                                        metrics=("ndcg", "recall")),
                                   live_score_fn)
    config = TrainingConfig(monitor="val_ndcg@10", verbose=verbose, seed=0, **train_kw)
    # The recipe compiles with the task's default loss, which TwoTower.train_step ignores.
    fitted = fit(build, dataset, task="implicit", config=config,
                 callbacks=[timer, validation])
    model = fitted.model
    values = fitted.history["val_ndcg@10"]
    best = max(range(len(values)), key=values.__getitem__)
    evaluator = FullRankingEvaluator(train, test, exclude=(valid,), ks=(10,),
                                     metrics=("ndcg", "recall", "hit", "mrr", "precision"))
    test_metrics = evaluator.evaluate(score_fn(model)).metrics
    if embeddings_out:
        np.savez(embeddings_out,
                 items=tower_embeddings(model.candidate_tower, train.num_items)[1:],
                 queries=tower_embeddings(model.query_tower, train.num_users)[evaluator.users])
    return {
        "settings": spec, "label": spec.get("label"),
        "train_rows": len(train), "valid_rows": len(valid), "test_rows": len(test),
        "num_users": train.num_users, "num_items": train.num_items,
        "epochs": len(values), "best_epoch": best + 1,
        "best_validation": {"ndcg@10": float(values[best]),
                            "recall@10": float(fitted.history["val_recall@10"][best])},
        "validation_history": [float(v) for v in values],
        "test": test_metrics,
        "train_seconds_per_epoch": statistics.median(timer.seconds),
        "examples_per_second": len(train) / statistics.median(timer.seconds),
        "fit_seconds": fitted.seconds, "seconds": time.perf_counter() - start,
        "params": int(model.query_tower.count_params()
                      + model.candidate_tower.count_params()),
        "temperature": float(np.exp(model.log_temperature.numpy())),
        "peak_rss_mib": _peak_rss_mib(),
    }


# --------------------------------------------------------------------------- driver side

def _run_subprocess(folder: str, spec: dict, quiet: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out, spec_file = Path(tmp) / "row.json", Path(tmp) / "spec.json"
        spec_file.write_text(json.dumps(spec))
        cmd = [sys.executable, __file__, "--worker", "--data", folder,
               "--spec-file", str(spec_file), "--out", str(out)]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE if quiet else None,
                              stderr=subprocess.STDOUT if quiet else None, text=True)
        if proc.returncode != 0:
            tail = (proc.stdout or "")[-3000:]
            raise RuntimeError(f"row failed (exit {proc.returncode})\n{tail}")
        return json.loads(out.read_text())


def _other_models() -> list[list]:
    """The implicit rows of bench/results/ml100k_models.json, when it has been run."""
    path = Path(__file__).resolve().parent / "results" / "ml100k_models.json"
    if not path.is_file():
        return []
    rows = json.loads(path.read_text()).get("rows", [])
    return [[r["label"], f"{r['test']['ndcg@10']:.4f}", f"{r['test']['recall@10']:.4f}",
             f"{r['test']['hit@10']:.4f}", "(bench/ml100k_models.py)"]
            for r in rows if r.get("task") == "implicit"]


def table(rows: list[dict]) -> str:
    from bench.report import markdown_table
    body = []
    for r in rows:
        t = r["test"]
        body.append([r["label"], f"{t['ndcg@10']:.4f}", f"{t['recall@10']:.4f}",
                     f"{t['hit@10']:.4f}", f"{r['epochs']} ({r['best_epoch']}), "
                     f"{r['train_seconds_per_epoch']:.1f} s/epoch"])
    body += _other_models()
    return ("**Two-tower retrieval on ml-100k**, per-user 8:1:1 split, full ranking over "
            "all items (train and validation items excluded), test split; in-batch "
            "sampled softmax, side features in both towers:\n\n"
            + markdown_table(["model", "NDCG@10", "Recall@10", "HR@10", "epochs (best), cost"],
                             body)
            + f"\n\nTarget NDCG@10 >= {TARGET_NDCG}. Settings: `bench/two_tower_ml100k.py`; "
              "the peers on the same split: \"Against the peers\".")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="folder with ml-100k.inter")
    parser.add_argument("--rows", default=None, help="comma-separated row names")
    parser.add_argument("--override", default=None,
                        help="JSON merged into every row, e.g. "
                             '\'{"train": {"learning_rate": 0.005}}\'')
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--spec-file", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--embeddings-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = args.data or subprocess.run(["bash", str(FETCH)], check=True, capture_output=True,
                                         text=True).stdout.strip()
    if args.worker:
        spec = json.loads(Path(args.spec_file).read_text())
        row = run_worker(folder, spec, embeddings_out=args.embeddings_out)
        Path(args.out).write_text(json.dumps(row))
        return

    wanted = None if args.rows is None else [r.strip() for r in args.rows.split(",")]
    start = time.perf_counter()
    rows = []
    for name, row in ROWS.items():
        if wanted is not None and name not in wanted:
            continue
        spec = merge_settings(BASE, row)
        if args.override:
            spec = merge_settings(spec, json.loads(args.override))
        print(f"=== {name}", flush=True)
        result = _run_subprocess(folder, spec, args.quiet)
        result["row"] = name
        rows.append(result)
        print(json.dumps({k: result[k] for k in ("row", "test", "best_validation", "epochs",
                                                 "seconds")}), flush=True)
    seconds = time.perf_counter() - start
    text = table(rows)
    print(text)
    print(f"total {seconds:.0f} s")
    if args.no_write or args.override or wanted is not None:
        return
    from bench.report import write_result
    payload = {"data": "ml-100k (RecBole atomic files)", "seconds": seconds,
               "load_average_1_5_15min": os.getloadavg(), "target_ndcg@10": TARGET_NDCG,
               "rows": rows}
    write_result("two_tower_ml100k", payload, text, command=COMMAND)


if __name__ == "__main__":
    main()
