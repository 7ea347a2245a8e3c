"""Runs one implicit 0.7.3 model on pre-split atomic files and writes JSON (run it with the
implicit venv's Python: ``bench/peers/setup.sh implicit`` makes it).

    python implicit_run.py REQUEST.json RESULT.json

REQUEST: ``{"model": "AlternatingLeastSquares" | "BayesianPersonalizedRanking",
"data_path", "dataset", "threads", "epochs", "seed", "config": {...}}`` (the config goes to
the model, e.g. ``factors``, ``regularization``, ``learning_rate``, ``alpha``; ``epochs``
becomes its ``iterations``). It trains on ``NAME.train.inter`` (every training pair a 1)
and ranks all items for every user of ``NAME.valid.inter`` after each epoch (from fit's
callback, timed apart from training) and, with the factors of the best validation epoch,
for every user of ``NAME.test.inter``. Training items are excluded, and for test the
validation items too. NDCG, Recall, Hit, MRR and Precision @10 are computed as RecBole
computes them (binary relevance; ideal DCG over min(#relevant, 10); recall over all the
user's relevant items; averaged over the users that have any).
RESULT: test and best-validation metrics, the best epoch, seconds per epoch (training and
validation apart), total seconds, epochs run, peak RSS (MiB), threads, versions.
"""

import json
import os
import sys
import time
from pathlib import Path

from measure import peak_rss_mib  # bench/peers/measure.py, beside this script

K = 10


def _pairs(path):
    lines = Path(path).read_text().splitlines()[1:]
    return [tuple(line.split("\t")[:2]) for line in lines]


def ranking_metrics(np, user_factors, item_factors, users, truth, exclude):
    """RecBole's full-ranking @K metrics: ``truth`` and ``exclude`` are boolean
    ``[len(users), num_items]`` matrices (relevant items; items never ranked)."""
    scores = user_factors[users] @ item_factors.T
    scores[exclude] = -np.inf
    top = np.argpartition(-scores, K - 1, axis=1)[:, :K]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    hits = np.take_along_axis(truth, top, axis=1).astype(np.float64)   # [users, K]
    relevant = truth.sum(axis=1)
    discounts = 1.0 / np.log2(np.arange(2, K + 2))
    ideal = np.cumsum(discounts)[np.minimum(relevant, K) - 1]
    first = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, np.inf)
    return {f"ndcg@{K}": float(np.mean(hits @ discounts / ideal)),
            f"recall@{K}": float(np.mean(hits.sum(axis=1) / relevant)),
            f"hit@{K}": float(np.mean(hits.any(axis=1))),
            f"mrr@{K}": float(np.mean(1.0 / first)),
            f"precision@{K}": float(np.mean(hits.sum(axis=1) / K))}


def main(request_path, result_path):
    request = json.loads(Path(request_path).read_text())
    threads = int(request.get("threads", 1))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    import implicit
    import numpy as np
    import scipy
    import scipy.sparse as sp
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    models = {"AlternatingLeastSquares": AlternatingLeastSquares,
              "BayesianPersonalizedRanking": BayesianPersonalizedRanking}
    start = time.perf_counter()
    folder = Path(request["data_path"]) / request["dataset"]
    name = request["dataset"]
    parts = {part: _pairs(folder / f"{name}.{part}.inter") for part in ("train", "valid", "test")}
    user_index, item_index = {}, {}
    for part in ("train", "valid", "test"):  # every item of the three files can be ranked
        for u, i in parts[part]:
            user_index.setdefault(u, len(user_index))
            item_index.setdefault(i, len(item_index))
    shape = (len(user_index), len(item_index))

    def matrix(part):
        rows = np.array([user_index[u] for u, _ in parts[part]], np.int64)
        cols = np.array([item_index[i] for _, i in parts[part]], np.int64)
        m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)
        m.sum_duplicates()
        m.data[:] = 1.0
        return m

    train, valid, test = matrix("train"), matrix("valid"), matrix("test")

    def target(part, excluded):
        users = np.flatnonzero(np.diff(part.indptr) > 0)
        return users, part[users].toarray() > 0, excluded[users].toarray() > 0

    valid_target = target(valid, train)
    test_target = target(test, train + valid)
    epochs = int(request.get("epochs", 15))
    config = dict(request.get("config", {}))
    model = models[request["model"]](iterations=epochs, num_threads=threads,
                                     random_state=request.get("seed", 0), **config)
    seconds = {"train": [], "valid": []}
    best = {"ndcg": -1.0}
    mark = [0.0]

    def on_epoch(epoch, *_):
        seconds["train"].append(time.perf_counter() - mark[0])
        began = time.perf_counter()
        metrics = ranking_metrics(np, model.user_factors, model.item_factors, *valid_target)
        if metrics[f"ndcg@{K}"] > best["ndcg"]:
            best.update(ndcg=metrics[f"ndcg@{K}"], epoch=epoch + 1, valid=metrics,
                        factors=(model.user_factors.copy(), model.item_factors.copy()))
        seconds["valid"].append(time.perf_counter() - began)
        mark[0] = time.perf_counter()

    prepared = time.perf_counter() - start
    mark[0] = time.perf_counter()
    model.fit(train, show_progress=False, callback=on_epoch)
    test_metrics = ranking_metrics(np, *best["factors"], *test_target)
    total = time.perf_counter() - start
    result = {
        "peer": "implicit", "model": request["model"], "threads": threads,
        "test": test_metrics, "valid": best["valid"], "best_epoch": best["epoch"],
        "test_from": "the best validation epoch's factors (validation NDCG@10)",
        "epochs": len(seconds["train"]),
        "train_epoch_seconds": seconds["train"], "valid_epoch_seconds": seconds["valid"],
        "prepare_seconds": prepared, "total_seconds": total,
        "peak_rss_mib": peak_rss_mib(),
        "versions": {"implicit": implicit.__version__, "numpy": np.__version__,
                     "scipy": scipy.__version__},
        "config": config,
    }
    Path(result_path).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:3])
