"""Against the peers on ml-100k: ``tfdeeprec train`` beside RecBole 1.2.1 (ranking) and
scikit-surprise 1.1.5 (ratings), on one split, in one run, at the same thread count.

    .venv/bin/python bench/peers_ml100k.py [--data FOLDER] [--threads 1] [--no-write]

The split (per-user 8:1:1, seed 0, what ``tfdeeprec train`` makes) is written as RecBole
atomic files (``bench/peers/split_files.py``), RecBole reads them through
``benchmark_filename`` and Surprise trains on the train file and predicts the test file;
the benchmark checks that the training pairs ``tfdeeprec train`` saved are exactly those
of the file. Each side runs in its own process and virtual environment
(``bench/peers/setup.sh recbole|surprise``). Ranking: all items ranked, training (and,
for test, validation) items excluded. Ratings: RMSE and MAE over every test row. A row
per model in :data:`ROWS` (ranking) and :data:`RATING_ROWS`.
Writes ``bench/results/peers_ml100k.json`` and the README's "Against the peers" table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import ROOT, markdown_table, write_result  # noqa: E402

EPOCHS = 8
# One row per model both sides have: the `tfdeeprec train` arguments and RecBole's.
ROWS = [
    {"name": "NeuMF",
     "tfdeeprec": ["--model", "neumf", "--num-negatives", "1", "--batch-size", "1024",
                   "--optimizer", "adam", "--model-arg", "dropout_rate=0.1"],
     "recbole": {"model": "NeuMF", "config": {
         "train_neg_sample_args": {"distribution": "uniform", "sample_num": 1},
         "train_batch_size": 1024, "learning_rate": 0.001, "dropout_prob": 0.1,
         "mf_embedding_size": 64, "mlp_embedding_size": 64, "mlp_hidden_size": [128, 64]}}},
    {"name": "BPR-MF",
     "tfdeeprec": ["--model", "mf", "--loss", "bpr", "--batch-size", "1024",
                   "--optimizer", "adam"],
     "recbole": {"model": "BPR", "config": {
         "train_neg_sample_args": {"distribution": "uniform", "sample_num": 1},
         "train_batch_size": 1024, "learning_rate": 0.001, "embedding_size": 64}}},
]

# Rating models: `tfdeeprec train --task rating` beside Surprise, RMSE over every test row.
RATING_ROWS = [
    {"name": "biased MF / SVD",
     "tfdeeprec": ["--model", "mf", "--task", "rating", "--split", "user_ratio",
                   "--batch-size", "256", "--optimizer", "adam", "--learning-rate", "0.003",
                   "--model-arg", "l2=0.0001"],
     "surprise": {"model": "SVD", "config": {"n_factors": 64, "n_epochs": 20}}},
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="ml-100k RecBole folder (default: "
                        "$TFDEEPREC_ML100K, else ../shared/data/fetch_ml100k.sh)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    data = args.data or os.environ.get("TFDEEPREC_ML100K") or fetch_ml100k()
    recbole, surprise = (subprocess.run(
        ["bash", str(ROOT / "bench" / "peers" / "setup.sh"), peer], capture_output=True,
        text=True, check=True).stdout.strip() for peer in ("recbole", "surprise"))
    work = Path(tempfile.mkdtemp(prefix="peers-"))
    # In a process of its own: this one stays small (no TensorFlow), so the peak memory of
    # each side's process (started from here) is its own.
    split = Path(subprocess.run(
        [sys.executable, str(ROOT / "bench" / "peers" / "split_files.py"), data,
         str(work / "data"), "--name", "ml100k"], capture_output=True, text=True,
        check=True).stdout.strip().splitlines()[-1])
    results = []
    for row in ROWS:
        ours = run_tfdeeprec(row, data, work, args.threads, args.epochs, split)
        theirs = run_recbole(row, recbole, work, args.threads, args.epochs)
        results.append({"name": row["name"], "tfdeeprec": ours, "recbole": theirs})
        print(f"{row['name']}: tfdeeprec NDCG@10 {ours['test']['ndcg@10']:.4f}, "
              f"RecBole {theirs['test']['ndcg@10']:.4f}")
    ratings = []
    for row in RATING_ROWS:
        ours = run_tfdeeprec(row, data, work, args.threads, 20, split)
        theirs = run_peer("surprise_run.py", surprise, work, {
            "model": row["surprise"]["model"], "data_path": str(work / "data"),
            "dataset": "ml100k", "config": row["surprise"]["config"]})
        ratings.append({"name": row["name"], "tfdeeprec": ours, "surprise": theirs})
        print(f"{row['name']}: tfdeeprec RMSE {ours['test']['rmse']:.4f}, "
              f"Surprise {theirs['test']['rmse']:.4f}")
    table = markdown_table(
        ["model", "side", "NDCG@10", "Recall@10", "epochs", "train s/epoch",
         "validation s/epoch", "total s", "peak RSS MiB"],
        [[r["name"], side, f"{s['test']['ndcg@10']:.4f}", f"{s['test']['recall@10']:.4f}",
          s["epochs"], f"{statistics.median(s['train_epoch_seconds']):.2f}",
          f"{statistics.median(s['valid_epoch_seconds']):.2f}", f"{s['total_seconds']:.1f}",
          f"{s['peak_rss_mib']:.0f}"]
         for r in results for side, s in (("tfdeeprec", r["tfdeeprec"]),
                                          ("RecBole 1.2.1", r["recbole"]))])
    table += (f"\n\nml-100k, per-user 8:1:1 split (seed 0) written once and read by both "
              f"sides; full ranking, training (and for test, validation) items excluded; "
              f"{args.epochs} epochs at most, {args.threads} thread(s), one process per "
              "side. Medians over epochs; a tfdeeprec epoch's validation is its per-epoch "
              "full-ranking NDCG, RecBole's its `valid_metric` pass. Both sides are far "
              "from converged at 8 epochs: this compares speed and early quality, not "
              "final quality.")
    table += "\n\n" + markdown_table(
        ["rating model", "side", "RMSE", "MAE", "RMSE (known rows)", "epochs", "total s",
         "peak RSS MiB"],
        [[r["name"], side, f"{s['test']['rmse']:.4f}", f"{s['test']['mae']:.4f}",
          f"{s['test']['rmse_known']:.4f}", s["epochs"], f"{s['total_seconds']:.1f}",
          f"{s['peak_rss_mib']:.0f}"]
         for r in ratings for side, s in (("tfdeeprec", r["tfdeeprec"]),
                                          ("Surprise 1.1.5", r["surprise"]))])
    table += ("\n\nRatings: the same split's ratings; RMSE and MAE over all "
              f"{ratings[0]['tfdeeprec']['test']['rows']} test rows, of which "
              f"{ratings[0]['tfdeeprec']['test']['cold_rows']} have an item unseen in "
              "training (tfdeeprec: the documented fallback, the user's mean; Surprise: "
              "the global mean plus the biases it has). tfdeeprec stops early on "
              "validation RMSE (at most 20 epochs); Surprise's SVD runs its 20 epochs. "
              "Not yet: the FLOP-limit fractions and the other peers of [2/7].")
    print(table)
    if not args.no_write:
        command = "`.venv/bin/python bench/peers_ml100k.py`"
        write_result("peers_ml100k", {"threads": args.threads, "epochs": args.epochs,
                                      "rows": results, "rating_rows": ratings}, table,
                     command.strip("`"))


def fetch_ml100k() -> str:
    script = ROOT.parent / "shared" / "data" / "fetch_ml100k.sh"
    if not script.exists():
        raise SystemExit(f"no ml-100k: pass --data FOLDER or set TFDEEPREC_ML100K ({script} "
                         "is not there)")
    return subprocess.run(["bash", str(script)], capture_output=True, text=True,
                          check=True).stdout.strip()


def run_tfdeeprec(row, data, work, threads, epochs, split) -> dict:
    """``tfdeeprec train`` as a user runs it; its run folder's metrics.json."""
    out = work / "runs" / row["name"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    subprocess.run([str(ROOT / ".venv" / "bin" / "tfdeeprec"), "train", *row["tfdeeprec"],
                    "--data", data, "--epochs", str(epochs), "--threads", str(threads),
                    "--out", str(out)], check=True, env=env, stdout=subprocess.DEVNULL)
    check_same_training_pairs(out, split)
    summary = json.loads((out / "metrics.json").read_text())
    epochs_run = summary["epoch_seconds"]
    valid = summary["validation_seconds"] or [0.0] * len(epochs_run)  # none: rating runs
    return {"test": summary["metrics"]["test"], "valid": summary["metrics"]["valid"],
            "epochs": summary["epochs"],
            "train_epoch_seconds": [e - v for e, v in zip(epochs_run, valid)],
            "valid_epoch_seconds": valid, "total_seconds": summary["seconds"],
            "peak_rss_mib": summary["peak_rss_mib"], "threads": threads,
            "command": ["tfdeeprec", "train", *row["tfdeeprec"], "--epochs", str(epochs)]}


def run_recbole(row, python, work, threads, epochs) -> dict:
    return run_peer("recbole_run.py", python, work, {
        "model": row["recbole"]["model"], "data_path": str(work / "data"),
        "dataset": "ml100k", "threads": threads, "checkpoint_dir": str(work / "saved"),
        "config": {**row["recbole"]["config"], "epochs": epochs, "stopping_step": 10}})


def run_peer(script, python, work, request) -> dict:
    """``script`` of ``bench/peers/`` with the peer's own Python; its result JSON."""
    (work / "request.json").write_text(json.dumps(request))
    subprocess.run([python, str(ROOT / "bench" / "peers" / script),
                    str(work / "request.json"), str(work / "result.json")], check=True,
                   cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads((work / "result.json").read_text())


def check_same_training_pairs(run_dir: Path, split: Path) -> None:
    """The (user, item) training pairs tfdeeprec saved equal the split file's."""
    import numpy as np

    users = json.loads((run_dir / "user_vocab.json").read_text())["tokens"]
    items = json.loads((run_dir / "item_vocab.json").read_text())["tokens"]
    with np.load(run_dir / "train.npz") as arrays:
        ours = sorted(((["[OOV]"] + users)[u], (["[OOV]"] + items)[i])
                      for u, i in zip(arrays["user"], arrays["item"]))
    lines = (split / "ml100k.train.inter").read_text().splitlines()[1:]
    theirs = sorted(tuple(line.split("\t")[:2]) for line in lines)
    if ours != theirs:
        raise SystemExit(f"the split files and `tfdeeprec train` disagree on the training "
                         f"pairs ({len(ours)} vs {len(theirs)})")


if __name__ == "__main__":
    main()
