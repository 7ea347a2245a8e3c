"""Two-tower on ml-100k through the library path: trained, exported, served, compared.

Usage: .venv/bin/python bench/retrieval_export.py [--data FOLDER] [--requests N] [--no-write]

FOLDER holds the RecBole atomic files ml-100k.{inter,user,item} (default: the folder
printed by ../shared/data/fetch_ml100k.sh).

1. ``run_experiment`` trains ``two_tower`` with the settings tuned on validation in
   ``bench/two_tower_ml100k.py`` (per-user 8:1:1 split, full ranking, training items
   excluded) and reports its test NDCG@10 / Recall@10 beside the [2/5] models of
   ``bench/results/ml100k_models.json``.
2. ``save_run`` + ``export_run`` write ``tt`` (brute force), ``tt_scann`` (ScaNN with
   the parameters its rule picks for 1,682 items: exact scoring) and
   ``tt_query_tower``; ``export_retrieval`` also writes ``tree_scann`` with a forced
   k-means tree (41 leaves, leaves to search tuned for recall 0.95) and asymmetric
   hashing, so that ScaNN really approximates.
3. ``tfdeeprec serve`` (a subprocess) serves every export. Each ScaNN export's
   ``recommend`` (k = 10, training items excluded) over REST, for the half of the users
   that took no part in tuning the tree at export (472 of 943), is
   compared with the brute-force export's answers computed in a fresh process that
   cannot import Keras or tfdeeprec. Then ``--requests`` one-user ``recommend`` requests
   are sent one after another to each export (latency of one request).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FETCH = ROOT.parent / "shared" / "data" / "fetch_ml100k.sh"
COMMAND = ".venv/bin/python bench/retrieval_export.py"
K = 10
SETTINGS = {  # the tuned row "logq" of bench/two_tower_ml100k.py
    "model_kwargs": {"embedding_dim": 64, "feature_embedding_dim": 16, "temperature": 0.25},
    "batch_size": 1024,
    "training": {"learning_rate": 2e-3, "epochs": 60, "early_stopping_patience": 6,
                 "reduce_lr_patience": 3, "optimizer": "sparse_adam", "seed": 0},
}
TREE = {"num_leaves": 41, "scoring": "ah"}  # round(sqrt(1682)) leaves

PLAIN_TF = r"""
import json, sys
for name in ("keras", "tf_keras", "tfdeeprec"):
    sys.modules[name] = None
import tensorflow as tf
path, users, k = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
sig = tf.saved_model.load(path).signatures["recommend"]
out = sig(user_id=tf.constant(users), k=tf.constant(k),
          exclude=tf.zeros([len(users), 0], tf.string))
print(json.dumps(out["item_ids"].numpy().astype(str).tolist()))
"""


def _fetch_folder() -> str:
    return subprocess.run(["bash", str(FETCH)], check=True, capture_output=True,
                          text=True).stdout.strip().splitlines()[-1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def _wait_available(url, server, names):
    deadline = time.time() + 300
    for name in names:
        while True:
            if server.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"tfdeeprec serve did not load {name}")
            try:
                with urllib.request.urlopen(f"{url}/v1/models/{name}", timeout=5) as r:
                    state = json.loads(r.read())["model_version_status"][0]
                if state["state"] == "AVAILABLE":
                    break
                if state["state"] == "END":
                    raise RuntimeError(f"tfdeeprec serve could not load {name}: {state}")
            except OSError:
                pass
            time.sleep(0.5)


def _served_top_k(url, name, users):
    rows = []
    for start in range(0, len(users), 128):
        chunk = users[start:start + 128]
        out = _post(f"{url}/v1/models/{name}:predict", {
            "signature_name": "recommend",
            "inputs": {"user_id": chunk, "k": K, "exclude": [[] for _ in chunk]}})
        rows += out["outputs"]["item_ids"]
    return rows


def _latency(url, name, users, count):
    seconds = []
    for i in range(count):
        user = users[i % len(users)]
        start = time.perf_counter()
        _post(f"{url}/v1/models/{name}:predict", {
            "signature_name": "recommend", "inputs": {"user_id": [user], "k": K,
                                                      "exclude": [[]]}})
        seconds.append(time.perf_counter() - start)
    return {"median_ms": statistics.median(seconds) * 1e3,
            "p99_ms": sorted(seconds)[int(0.99 * (len(seconds) - 1))] * 1e3,
            "requests_per_second": len(seconds) / sum(seconds)}


def _agreement(found, exact):
    same = [set(a) == set(b) for a, b in zip(found, exact)]
    recall = [len(set(a) & set(b)) / K for a, b in zip(found, exact)]
    return {"same_top_10": sum(same) / len(same), "recall_at_10": sum(recall) / len(recall),
            "users": len(same)}


def run(folder: str, requests: int) -> dict:
    import tfdeeprec  # noqa: F401  (Keras 2 before TensorFlow)
    from tfdeeprec.data import load_interactions
    from tfdeeprec.export import export_retrieval, read_metadata
    from tfdeeprec.export.retrieval_exporter import tuning_and_held_out_users
    from tfdeeprec.runs import export_run, save_run
    from tfdeeprec.training import TrainingConfig
    from tfdeeprec.training.experiment import ExperimentConfig, run_experiment

    config = ExperimentConfig(model="two_tower", data=folder, task="implicit",
                              split="user_ratio", ratios=(0.8, 0.1, 0.1),
                              batch_size=SETTINGS["batch_size"],
                              model_kwargs=dict(SETTINGS["model_kwargs"]),
                              training=TrainingConfig(verbose=0, **SETTINGS["training"]))
    start = time.perf_counter()
    result = run_experiment(config, frame=load_interactions(folder))
    train_seconds = time.perf_counter() - start
    work = Path(tempfile.mkdtemp(prefix="tfdeeprec-retrieval-export-"))
    run_dir = save_run(result, work / "run")
    base = work / "exports"
    start = time.perf_counter()
    export_run(run_dir, base, "tt", scann=True)
    export_seconds = time.perf_counter() - start
    data = result.data
    export_retrieval(result.model, data.user_vocab, data.item_vocab, base=base, name="tree",
                     train=data.train, scann=True, scann_options=TREE)
    metadata = {name: read_metadata(base / name / "1")
                for name in ("tt", "tt_scann", "tree_scann")}
    users = list(data.user_vocab.tokens)
    plain = subprocess.run([sys.executable, "-c", PLAIN_TF, str(base / "tt" / "1"),
                            json.dumps(users), str(K)], check=True, capture_output=True,
                           text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    exact = json.loads(plain.stdout.strip().splitlines()[-1])

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "tfdeeprec.cli", "serve",
                               "--model-base", str(base), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    served = {}
    try:
        _wait_available(url, server, ["tt", "tt_scann", "tree_scann"])
        # The tree's leaves to search were tuned on half of the users at export: its
        # recall is measured on the other half only (every export on the same users).
        held_out = {u.decode() for u in tuning_and_held_out_users(data.user_vocab)[1].numpy()}
        rows = [i for i, user in enumerate(users) if user in held_out]
        for name in ("tt", "tt_scann", "tree_scann"):
            found = _served_top_k(url, name, users)
            served[name] = _agreement([found[i] for i in rows], [exact[i] for i in rows])
            _latency(url, name, users, 20)  # warm-up
            served[name].update(_latency(url, name, users, requests))
    finally:
        server.terminate()
        server.wait(timeout=60)
    for name in served:
        retrieval = metadata[name]["retrieval"]
        served[name]["index"] = retrieval["index"]
        served[name]["scann_parameters"] = retrieval.get("scann_parameters")
        served[name]["scann_recall_at_10_at_export"] = retrieval.get("scann_recall_at_10")
    return {"data": folder, "settings": SETTINGS, "tree_options": TREE,
            "test": result.metrics["test"], "valid": result.metrics["valid"],
            "epochs": len(result.epoch_seconds), "train_seconds": train_seconds,
            "export_seconds": export_seconds, "served": served,
            "users": len(users), "items": len(data.item_vocab) - 1}


def table(payload: dict) -> str:
    from bench.report import markdown_table

    rows = [["Two-tower (`tfdeeprec train --model two_tower` path)",
             f"{payload['test']['ndcg@10']:.4f}", f"{payload['test']['recall@10']:.4f}"]]
    earlier = ROOT / "bench" / "results" / "ml100k_models.json"
    if earlier.exists():
        for row in json.loads(earlier.read_text())["rows"]:
            if row["task"] == "implicit":
                rows.append([f"{row['label']} ([2/5], `bench/ml100k_models.py`)",
                             f"{row['test']['ndcg@10']:.4f}",
                             f"{row['test']['recall@10']:.4f}"])
    lines = ["**Two-tower on ml-100k, trained, exported and served** (per-user 8:1:1 split, "
             "full ranking over all items, training and validation items excluded, test "
             "split):", "", markdown_table(["model", "NDCG@10", "Recall@10"], rows), ""]
    labels = {"tt": "`tt`: brute force (stock ops)",
              "tt_scann": "`tt_scann`: ScaNN, default rule (exact scoring below 20k items)",
              "tree_scann": "`tree_scann`: ScaNN, forced tree (41 leaves) + AH"}
    served_rows = []
    for name, s in payload["served"].items():
        params = s["scann_parameters"] or {}
        if s["index"] == "brute_force":
            search = "exact: one matmul + top-k"
        elif params.get("num_leaves"):
            search = (f"{params['num_leaves_to_search']} of {params['num_leaves']} leaves, "
                      f"AH, re-score {params['reorder_k']}")
        else:
            search = f"ScaNN {params['scoring']}"
        served_rows.append([labels[name], search, f"{s['same_top_10']:.2%}",
                            f"{s['recall_at_10']:.4f}", f"{s['median_ms']:.2f}",
                            f"{s['p99_ms']:.2f}", f"{s['requests_per_second']:,.0f}"])
    lines += [f"`recommend` (k = 10, training items excluded) for all {payload['users']} "
              "users, served by `tfdeeprec serve`, against the brute-force export run in a "
              "fresh process without Keras or tfdeeprec; then one-user requests sent one "
              "after another:", "",
              markdown_table(["served export", "search", "same top-10 as brute force",
                              "recall@10", "median ms / request", "p99 ms",
                              "requests/s (1 client)"], served_rows), "",
              f"{payload['epochs']} epochs, {payload['train_seconds']:.0f} s to train; "
              f"`export_run` of the three models {payload['export_seconds']:.1f} s. "
              "Settings: `bench/retrieval_export.py`."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="ml-100k RecBole folder")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    payload = run(args.data or _fetch_folder(), args.requests)
    text = table(payload)
    print(text)
    if not args.no_write:
        from bench.report import write_result
        write_result("retrieval_export", payload, text, command=COMMAND)


if __name__ == "__main__":
    main()
