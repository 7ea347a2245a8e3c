"""Speed and figures of full-ranking evaluation on MovieLens-100k, vs a brute-force reference.

Usage: .venv/bin/python bench/full_ranking_eval.py [--data FOLDER] [--runs 7]

FOLDER holds ml-100k.inter (default: the folder printed by ../shared/data/fetch_ml100k.sh).
The data is read with ``read_recbole_atomic`` and split 8:1:1 per user (seed 0);
vocabularies come from train only. Two implicit-feedback models are fitted on the binary
training matrix with numpy: PureSVD (64-d truncated SVD, scores ``U_k S_k V_k^T``) and
item popularity. ``FullRankingEvaluator`` ranks all items for every test user (train and
valid items excluded) at ks=(10, 20) with all ten metrics, GAUC (mean per-user AUC), AUC
(pooled over all users' pairs) and coverage included, scoring through a TensorFlow
embedding matmul; one warm-up run, then the median of ``--runs`` runs. The same run
times a brute-force numpy reference (a loop over users, a full argsort of every
candidate row, every metric from its definition) and checks that both give the same
numbers. ``SampledEvaluator`` (100 fixed negatives per test
positive) is timed and reported too, to show how much the sampled protocol flatters.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

import tfdeeprec  # noqa: E402,F401
from bench.report import markdown_table, write_result  # noqa: E402
from tfdeeprec._keras import tf  # noqa: E402
from tfdeeprec.data.encoded import encode  # noqa: E402
from tfdeeprec.data.recbole_atomic import read_recbole_atomic  # noqa: E402
from tfdeeprec.data.split import split_by_user_ratio  # noqa: E402
from tfdeeprec.evaluation.full_ranking import FullRankingEvaluator  # noqa: E402
from tfdeeprec.evaluation.sampled import SampledEvaluator, full_scores_to_pair_scorer  # noqa: E402

KS = (10, 20)
METRICS = ("hit", "precision", "recall", "f1", "ndcg", "mrr", "map", "gauc", "auc",
           "coverage")
EMBEDDING_DIM = 64
FETCH = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "fetch_ml100k.sh"


def pure_svd(train, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """User and item factors of the binary training matrix: ``U_k S_k`` and ``V_k``."""
    matrix = np.zeros((train.num_users, train.num_items), np.float32)
    matrix[train.user, train.item] = 1.0
    u, s, vt = np.linalg.svd(matrix, full_matrices=False)
    return (u[:, :dim] * s[:dim]).astype(np.float32), vt[:dim].T.astype(np.float32)


def popularity(train) -> tuple[np.ndarray, np.ndarray]:
    """A one-dimensional "factorisation": every user 1, every item its training count."""
    counts = np.bincount(train.item, minlength=train.num_items).astype(np.float32)
    counts[0] = 0.0
    return np.ones((train.num_users, 1), np.float32), counts[:, None]


def tf_score_fn(user_factors: np.ndarray, item_factors: np.ndarray):
    """``users -> tf.Tensor [b, num_items]``, as a Keras model's embedding tables would."""
    users_table = tf.constant(user_factors)
    items_table = tf.constant(item_factors)

    @tf.function(reduce_retracing=True)
    def score(users):
        return tf.matmul(tf.gather(users_table, users), items_table, transpose_b=True)

    return lambda users: score(tf.convert_to_tensor(users, tf.int32))


def brute_force(user_factors, item_factors, train, valid, test, ks) -> dict[str, float]:
    """Per user: full argsort of the candidates, then each metric from its definition."""
    scores_all = user_factors @ item_factors.T
    m = train.num_items
    seen = [set() for _ in range(train.num_users)]
    relevant = [set() for _ in range(train.num_users)]
    unreachable = np.zeros(train.num_users, int)  # test items unseen in training (OOV)
    for split, target in ((train, seen), (valid, seen), (test, relevant)):
        for u, i in zip(split.user.tolist(), split.item.tolist()):
            if u > 0 and i > 0:
                target[u].add(i)
            elif u > 0 and split is test:
                unreachable[u] += 1
    totals, aucs, covered = {}, [], {k: set() for k in ks}
    pooled_pos, pooled_neg = [], []
    evaluated = [u for u in range(train.num_users) if relevant[u] or unreachable[u]]
    for u in evaluated:
        excluded = np.zeros(m, bool)
        excluded[0] = True
        excluded[list(seen[u])] = True
        is_relevant = np.zeros(m, bool)
        is_relevant[list(relevant[u])] = True
        candidates = np.flatnonzero(~excluded)
        ranked = candidates[np.argsort(-scores_all[u, candidates], kind="stable")]
        n_rel = len(relevant[u]) + unreachable[u]
        for k in ks:
            top = ranked[:k]
            covered[k].update(top.tolist())
            hits = is_relevant[top]
            n_hit = int(hits.sum())
            ranks = np.flatnonzero(hits) + 1                     # 1-based
            precision, recall = n_hit / k, n_hit / n_rel
            values = {
                "hit": float(n_hit > 0), "precision": precision, "recall": recall,
                "f1": 2 * precision * recall / (precision + recall) if n_hit else 0.0,
                "ndcg": float(np.sum(1 / np.log2(ranks + 1))
                              / np.sum(1 / np.log2(np.arange(min(n_rel, k)) + 2))),
                "mrr": float(1 / ranks[0]) if n_hit else 0.0,
                "map": float(np.sum(np.arange(1, n_hit + 1) / ranks) / min(n_rel, k)),
            }
            for name, value in values.items():
                totals[f"{name}@{k}"] = totals.get(f"{name}@{k}", 0.0) + value
        negatives = np.sort(scores_all[u, ~excluded & ~is_relevant])
        positives = scores_all[u, is_relevant & ~excluded]      # masked positives win 0
        below = np.searchsorted(negatives, positives, "left")
        not_above = np.searchsorted(negatives, positives, "right")
        if relevant[u]:  # AUCs cover the items the model can score
            aucs.append(float(np.sum(below + not_above) / 2
                              / (len(relevant[u]) * len(negatives))))
        n_masked = len(relevant[u]) - len(positives)
        pooled_pos.append(np.concatenate([positives, np.full(n_masked, -np.inf, np.float32)]))
        pooled_neg.append(negatives)
    out = {}
    for k in ks:
        for name in METRICS:
            if name == "coverage":
                out[f"coverage@{k}"] = len(covered[k] - {0}) / (m - 1)
            elif name not in ("gauc", "auc"):
                out[f"{name}@{k}"] = totals[f"{name}@{k}"] / len(evaluated)
    out["gauc"] = float(np.mean(aucs))
    pos = np.concatenate(pooled_pos)
    neg = np.sort(np.concatenate(pooled_neg))                   # every user's candidates
    wins = (np.searchsorted(neg, pos, "left").sum() + np.searchsorted(neg, pos, "right").sum())
    out["auc"] = float(wins / 2 / (len(pos) * len(neg)))
    return out


def timed(fn, runs: int) -> tuple[object, list[float]]:
    result = fn()  # warm-up: traces the tf.function, warms caches
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - start)
    return result, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    folder = args.data or Path(subprocess.run(["bash", str(FETCH)], check=True,
                                              capture_output=True, text=True).stdout.strip())

    frame = read_recbole_atomic(folder, "ml-100k")
    split = split_by_user_ratio(frame, (0.8, 0.1, 0.1), seed=0)
    user_vocab, item_vocab = split.vocabularies()
    train, valid, test = (encode(part, user_vocab, item_vocab) for part in split)
    dropped_test_rows = int(len(test) - len(test.known()))

    start = time.perf_counter()
    full = FullRankingEvaluator(train, test, exclude=(valid,), ks=KS, metrics=METRICS)
    full_setup = time.perf_counter() - start
    start = time.perf_counter()
    sampled = SampledEvaluator(train, test, exclude=(valid,), num_negatives=100, seed=0,
                               ks=KS)
    sampled_setup = time.perf_counter() - start

    models = {f"PureSVD-{EMBEDDING_DIM}": pure_svd(train, EMBEDDING_DIM),
              "popularity": popularity(train)}
    timings, figures, agreement = {}, {}, {}
    for name, factors in models.items():
        score_fn = tf_score_fn(*factors)
        pair_score_fn = full_scores_to_pair_scorer(score_fn)
        result, seconds = timed(lambda f=score_fn: full.evaluate(f), args.runs)
        reference, reference_seconds = timed(
            lambda f=factors: brute_force(*f, train, valid, test, KS), max(3, args.runs // 2))
        sampled_result, sampled_seconds = timed(
            lambda f=pair_score_fn: sampled.evaluate(f), args.runs)
        figures[name] = {"full": result.to_dict(), "sampled": sampled_result.to_dict()}
        agreement[name] = max(abs(result.metrics[key] - reference[key]) for key in reference)
        timings[name] = {"full_ranking_evaluator": seconds, "brute_force_reference":
                         reference_seconds, "sampled_evaluator": sampled_seconds}

    svd = next(iter(models))
    median = {name: {kind: statistics.median(s) for kind, s in t.items()}
              for name, t in timings.items()}
    quality = markdown_table(
        ["model", "protocol", "NDCG@10", "Recall@10", "HR@10", "MRR@10", "GAUC", "AUC",
         "Coverage@10"],
        [[name, f"`{kind['protocol']}`"] + [
            f"{kind['metrics'][key]:.4f}" if key in kind["metrics"] else "-"
            for key in ("ndcg@10", "recall@10", "hit@10", "mrr@10", "gauc", "auc",
                        "coverage@10")]
         for name, pair in figures.items() for kind in (pair["full"], pair["sampled"])])
    speed = markdown_table(
        ["evaluation of " + f"{full.num_users} users x {full.num_items - 1:,} items, "
         f"ks={KS}", f"median s ({svd})", "median s (popularity)"],
        [["`FullRankingEvaluator` (10 metrics incl. GAUC, AUC, coverage)",
          f"{median[svd]['full_ranking_evaluator']:.3f}",
          f"{median['popularity']['full_ranking_evaluator']:.3f}"],
         ["brute-force numpy reference (per-user argsort)",
          f"{median[svd]['brute_force_reference']:.3f}",
          f"{median['popularity']['brute_force_reference']:.3f}"],
         [f"`SampledEvaluator` ({sampled.candidates.shape[0]:,} rows x 101 candidates)",
          f"{median[svd]['sampled_evaluator']:.3f}",
          f"{median['popularity']['sampled_evaluator']:.3f}"]])
    note = (f"ml-100k split 8:1:1 per user (seed 0), train/valid items excluded; "
            f"{dropped_test_rows} test rows with an item unseen in training are OOV: they "
            f"stay relevant (in recall's denominator) and can never be hit. Largest difference between the evaluator and the brute-force "
            f"reference over all {len(figures[svd]['full']['metrics'])} figures: "
            f"{max(agreement.values()):.1e}. Set-up (once): full {full_setup:.3f} s, "
            f"sampled negatives {sampled_setup:.3f} s.")
    payload = {
        "data": {"folder_name": folder.name, "train": len(train), "valid": len(valid),
                 "test": len(test), "test_rows_oov": dropped_test_rows,
                 "num_users": train.num_users, "num_items": train.num_items},
        "ks": list(KS), "metrics": list(METRICS), "runs": args.runs,
        "evaluated_users": full.num_users, "sampled_rows": int(sampled.candidates.shape[0]),
        "setup_seconds": {"full": full_setup, "sampled": sampled_setup},
        "seconds": timings, "median_seconds": median,
        "max_abs_difference_vs_reference": agreement, "results": figures,
    }
    out = write_result("full_ranking_eval", payload, f"{speed}\n\n{quality}\n\n{note}",
                       command=".venv/bin/python bench/full_ranking_eval.py")
    print(f"{speed}\n\n{quality}\n\n{note}\n\nwrote {out}")


if __name__ == "__main__":
    main()
