"""Throughput of in-graph negative sampling on MovieLens-100k, against vectorised NumPy.

Usage: .venv/bin/python bench/negative_sampling.py [--data FOLDER] [--epochs 7]

FOLDER holds ml-100k.inter (default: the folder printed by
../shared/data/fetch_ml100k.sh). The data is split 8:1:1 per user (seed 0); the
training positives feed ``make_implicit_dataset`` (4 negatives per positive) and
``make_pairwise_dataset`` (1 per positive). Each configuration runs one warm-up epoch
and then ``--epochs`` timed epochs; examples/s = positives * (1 + negatives per
positive) / median epoch seconds. The baseline that matters is vectorised NumPy: a whole
epoch's uniform negatives drawn at once, positives rejected with ``np.isin`` on sorted
(user, item) keys and redrawn, then shuffled and laid out as the arrays ``model.fit``
takes (what a careful Keras user writes; timed the same way, median over ``--epochs``).
Two slower baselines, kept for scale, draw the negatives one example at a time with
Python rejection sampling on a subset of the positives: bare, and feeding
``tf.data.Dataset.from_generator``. A full epoch is then checked for any negative that
is a training positive."""

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
from tfdeeprec.data.pairwise import make_pairwise_dataset  # noqa: E402
from tfdeeprec.data.pointwise import make_implicit_dataset  # noqa: E402
from tfdeeprec.data.recbole_atomic import read_recbole_atomic  # noqa: E402
from tfdeeprec.data.split import split_by_user_ratio  # noqa: E402

NUM_NEGATIVES = 4
FETCH = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "fetch_ml100k.sh"


def time_epochs(dataset, epochs: int) -> list[float]:
    for _ in dataset:  # warm-up: traces the functions, fills caches
        pass
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        for _ in dataset:
            pass
        seconds.append(time.perf_counter() - start)
    return seconds


def numpy_epochs_baseline(user, item, num_items, epochs, seed=0) -> list[float]:
    """Seconds per epoch of vectorised NumPy sampling: all of an epoch's negatives at
    once, rejection by ``np.isin`` on sorted keys, then shuffled fit-ready arrays."""
    rng = np.random.default_rng(seed)
    user, item = user.astype(np.int64), item.astype(np.int64)
    keys = np.unique(user * num_items + item)
    width = 1 + NUM_NEGATIVES

    def epoch():
        negatives = rng.integers(1, num_items, size=(len(user), NUM_NEGATIVES))
        bad = np.isin(user[:, None] * num_items + negatives, keys)
        while bad.any():
            negatives[bad] = rng.integers(1, num_items, size=int(bad.sum()))
            bad = np.isin(user[:, None] * num_items + negatives, keys)
        order = rng.permutation(len(user))
        users = np.repeat(user[order], width).astype(np.int32)
        items = np.concatenate([item[order, None], negatives[order]], axis=1).reshape(-1)
        labels = np.tile(np.array([1.0] + [0.0] * NUM_NEGATIVES, np.float32), len(user))
        return users, items.astype(np.int32), labels

    epoch()  # warm-up, as for the pipelines
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        epoch()
        seconds.append(time.perf_counter() - start)
    return seconds


def _positive_sets(user, item) -> dict[int, set]:
    positives: dict[int, set] = {}
    for u, i in zip(user.tolist(), item.tolist()):
        positives.setdefault(u, set()).add(i)
    return positives


def _python_examples(user, item, num_items, rows, positives, rng):
    """Per positive: itself, then NUM_NEGATIVES rejection-sampled items, one at a time."""
    for row in rows.tolist():
        u, seen = int(user[row]), positives[int(user[row])]
        yield u, int(item[row]), 1.0
        drawn = 0
        while drawn < NUM_NEGATIVES:
            candidate = int(rng.integers(1, num_items))
            if candidate not in seen:
                drawn += 1
                yield u, candidate, 0.0


def python_sampling_baseline(user, item, num_items, subset, seed=0) -> float:
    """Examples/s of per-example Python rejection sampling alone (no tensors at all)."""
    positives, rng = _positive_sets(user, item), np.random.default_rng(seed)
    rows = rng.choice(len(user), size=subset, replace=False)
    start = time.perf_counter()
    count = sum(1 for _ in _python_examples(user, item, num_items, rows, positives, rng))
    return count / (time.perf_counter() - start)


def generator_pipeline_baseline(user, item, num_items, subset, batch_size, seed=0) -> float:
    """Examples/s of the same sampling fed through ``tf.data.Dataset.from_generator``."""
    positives, rng = _positive_sets(user, item), np.random.default_rng(seed)
    rows = rng.choice(len(user), size=subset, replace=False)
    spec = tf.TensorSpec([], tf.int32)
    dataset = tf.data.Dataset.from_generator(
        lambda: _python_examples(user, item, num_items, rows, positives, rng),
        output_signature=(spec, spec, tf.TensorSpec([], tf.float32)))
    dataset = dataset.batch(batch_size * (1 + NUM_NEGATIVES)).map(
        lambda u, i, y: ({"user_id": u, "item_id": i}, y)).prefetch(tf.data.AUTOTUNE)
    start = time.perf_counter()
    for _ in dataset:
        pass
    return subset * (1 + NUM_NEGATIVES) / (time.perf_counter() - start)


def negatives_are_never_positive(dataset, encoded) -> tuple[bool, int]:
    keys = encoded.user.astype(np.int64) * encoded.num_items + encoded.item
    users, items, labels = [], [], []
    for features, label in dataset:
        users.append(features["user_id"].numpy())
        items.append(features["item_id"].numpy())
        labels.append(label.numpy())
    users, items, labels = map(np.concatenate, (users, items, labels))
    negative = labels == 0
    drawn = users[negative].astype(np.int64) * encoded.num_items + items[negative]
    ok = not np.isin(drawn, keys).any() and not (items[negative] == 0).any()
    return bool(ok), int(negative.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=7)
    parser.add_argument("--baseline-subset", type=int, default=10_000,
                        help="positives the per-example baselines process (then scaled)")
    args = parser.parse_args()
    folder = args.data or Path(subprocess.run(["bash", str(FETCH)], check=True,
                                              capture_output=True, text=True).stdout.strip())

    frame = read_recbole_atomic(folder, "ml-100k")
    start = time.perf_counter()
    split = split_by_user_ratio(frame, (0.8, 0.1, 0.1), seed=0)
    split_seconds = time.perf_counter() - start
    users, items = split.vocabularies()
    train = encode(split.train, users, items)
    positives = len(train)

    results, rows = [], []
    numpy_seconds = numpy_epochs_baseline(train.user, train.item, train.num_items, args.epochs)
    vectorised = positives * (1 + NUM_NEGATIVES) / statistics.median(numpy_seconds)
    sampling = python_sampling_baseline(train.user, train.item, train.num_items,
                                        args.baseline_subset)
    generator = generator_pipeline_baseline(train.user, train.item, train.num_items,
                                            args.baseline_subset, batch_size=1024)
    rows.append(["vectorised NumPy, a whole epoch at once (baseline)", "uniform", "-",
                 NUM_NEGATIVES, f"{vectorised:,.0f}", "1.0x", f"{vectorised / sampling:.1f}x"])
    results.append({"pipeline": "numpy_vectorised", "distribution": "uniform",
                    "num_negatives": NUM_NEGATIVES, "epoch_seconds": numpy_seconds,
                    "examples_per_second": vectorised})
    for label, key, rate in (
            ("per-example Python rejection sampling, no tensors (baseline)", "python_sampling",
             sampling),
            ("same, fed by `Dataset.from_generator` (baseline)", "python_generator", generator)):
        rows.append([label, "uniform", 1024 if key == "python_generator" else "-", NUM_NEGATIVES,
                     f"{rate:,.0f}", f"{rate / vectorised:.2f}x", f"{rate / sampling:.1f}x"])
        results.append({"pipeline": key, "distribution": "uniform",
                        "num_negatives": NUM_NEGATIVES, "subset_positives": args.baseline_subset,
                        "examples_per_second": rate})
        print(rows[-1], flush=True)
    for name, make, negatives in (
            ("make_implicit_dataset", make_implicit_dataset, NUM_NEGATIVES),
            ("make_pairwise_dataset", make_pairwise_dataset, 1)):
        kwargs = {"num_negatives": negatives} if make is make_implicit_dataset else {}
        per_positive = 1 + negatives
        for distribution in ("uniform", "popularity"):
            for batch_size in (1024, 4096):
                dataset = make(train, distribution=distribution, batch_size=batch_size,
                               seed=0, **kwargs)
                seconds = time_epochs(dataset, args.epochs)
                median = statistics.median(seconds)
                rate = positives * per_positive / median
                results.append({"pipeline": name, "distribution": distribution,
                                "batch_size": batch_size, "num_negatives": negatives, "epoch_seconds": seconds,
                                "median_epoch_seconds": median, "examples_per_second": rate,
                                "examples_per_epoch": positives * per_positive})
                rows.append([f"`{name}`", distribution, batch_size, negatives, f"{rate:,.0f}",
                             f"{rate / vectorised:.2f}x", f"{rate / sampling:.1f}x"])
                print(rows[-1], flush=True)

    check = make_implicit_dataset(train, num_negatives=NUM_NEGATIVES, batch_size=4096, seed=1)
    clean, negatives = negatives_are_never_positive(check, train)
    uniform = [r["examples_per_second"] for r in results
               if r["pipeline"] == "make_implicit_dataset" and r["distribution"] == "uniform"]
    payload = {
        "load_average_1_5_15min": os.getloadavg(),  # other work on the machine skews timings
        "data": "ml-100k", "split": "per-user 8:1:1 (seed 0)", "split_seconds": split_seconds,
        "train_positives": positives, "num_users": train.num_users,
        "num_items": train.num_items, "epochs_timed": args.epochs,
        "no_negative_is_positive": clean, "negatives_checked": negatives,
        "meets_1m_uniform": min(uniform) >= 1_000_000, "results": results,
    }
    table = markdown_table(
        ["pipeline", "distribution", "batch (positives)", "negatives / positive",
         "examples/s (median epoch)", "vs vectorised NumPy", "vs per-example Python"], rows)
    table += (f"\n\nml-100k, per-user 8:1:1 split ({positives:,} training positives, split in "
              f"{split_seconds * 1000:.0f} ms); examples = positives x (1 + negatives per "
              f"positive); median of {args.epochs} epochs after a warm-up. The pipelines' "
              f"figures include batching into tensors, the NumPy baseline's only the arrays. "
              f"Full-epoch check, {negatives:,} negatives: "
              f"{'no negative is a positive' if clean else 'A NEGATIVE WAS A POSITIVE'}.")
    write_result("negative_sampling", payload, table,
                 command=".venv/bin/python bench/negative_sampling.py")
    print(table)


if __name__ == "__main__":
    main()
