"""Benchmark: LightGCN's graph and training steps at scale, on CPU.

A synthetic user-item graph of 1,000,000 users, 100,000 items and 20,000,000 edges
(Zipf-like item popularity, lognormal user activity): the normalised user-item matrix
built by ``bipartite_adjacency`` (sparse at this size: 0.02% nonzero), then
``LightGCN`` (64 dimensions, 2 propagation layers, BPR, 2,048 triples a step) fitted
for ``--steps`` steps through ``model.fit`` on ``make_pairwise_dataset``. Every step
propagates the whole graph forward and back, as training does. Reports the seconds to
build the graph, the median seconds per step (after a first, tracing step), the
projected epoch (every edge once: ``ceil(edges / batch)`` steps) and the process's peak
resident memory (VmHWM), against the 8 GiB budget.

Run from the repository root::

    .venv/bin/python bench/lightgcn_scale.py            # ~10 minutes on 2 cores
    .venv/bin/python bench/lightgcn_scale.py --users 10000 --items 2000 --edges 200000 \\
        --steps 5 --no-write                          # a quick look
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import tfdeeprec  # noqa: E402,F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from bench.peers.measure import peak_rss_mib  # noqa: E402
from bench.report import markdown_table, write_result  # noqa: E402
from tfdeeprec._keras import keras, tf  # noqa: E402
from tfdeeprec.data import EncodedInteractions  # noqa: E402
from tfdeeprec.data.graph import bipartite_adjacency  # noqa: E402
from tfdeeprec.data.pairwise import make_pairwise_dataset  # noqa: E402
from tfdeeprec.models.lightgcn import build_lightgcn  # noqa: E402

BUDGET_MIB = 8 * 1024


def make_graph(users: int, items: int, edges: int, seed: int = 0) -> EncodedInteractions:
    """``edges`` (user, item) rows over indices ``1..users`` and ``1..items`` (0 is OOV)."""
    rng = np.random.default_rng(seed)
    activity = rng.lognormal(0.0, 1.0, users)
    user = rng.choice(users, size=edges, p=activity / activity.sum()).astype(np.int32) + 1
    popularity = 1.0 / np.arange(1, items + 1) ** 0.8
    item = rng.choice(items, size=edges, p=popularity / popularity.sum()).astype(np.int32)
    return EncodedInteractions(user, item + 1, users + 1, items + 1)


class StepTimes(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds, self._start = [], 0.0

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--edges", type=int, default=20_000_000)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    began = time.perf_counter()
    train = make_graph(args.users, args.items, args.edges)
    generated = time.perf_counter()
    adjacency = bipartite_adjacency(train)
    built = time.perf_counter()
    edges = int(adjacency.indices.shape[0])
    graph_rss = peak_rss_mib()
    print(f"graph: {edges:,} distinct edges in {built - generated:.1f} s; "
          f"peak RSS {graph_rss:.0f} MiB", flush=True)

    model = build_lightgcn(train.num_users, train.num_items, adjacency=adjacency,
                           embedding_dim=64, num_layers=2)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    triples = make_pairwise_dataset(train, batch_size=args.batch_size, seed=0)
    timer = StepTimes()
    history = model.fit(triples.take(args.steps + 1), epochs=1, verbose=0, callbacks=[timer])
    steps = timer.seconds[1:]  # the first step traces the function
    per_step = statistics.median(steps)
    epoch_steps = math.ceil(edges / args.batch_size)
    peak = peak_rss_mib()
    result = {
        "users": args.users, "items": args.items, "rows": args.edges, "edges": edges,
        "dense_adjacency": model.dense_adjacency, "embedding_dim": 64, "num_layers": 2,
        "batch_size": args.batch_size, "steps_timed": len(steps),
        "generate_seconds": generated - began, "graph_seconds": built - generated,
        "median_step_seconds": per_step, "mean_step_seconds": statistics.fmean(steps),
        "projected_epoch_hours": per_step * epoch_steps / 3600, "epoch_steps": epoch_steps,
        "graph_peak_rss_mib": graph_rss, "peak_rss_mib": peak, "budget_mib": BUDGET_MIB,
        "within_budget": peak <= BUDGET_MIB,
        "loss": history.history["loss"][0],
        "threads": {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                    "inter_op": tf.config.threading.get_inter_op_parallelism_threads()},
    }
    table = markdown_table(
        ["graph", "edges", "build graph s", "s / step", "projected epoch", "peak RSS MiB",
         "within 8 GiB"],
        [[f"{args.users:,} users x {args.items:,} items", f"{edges:,}",
          f"{built - generated:.1f}", f"{per_step:.2f}",
          f"{result['projected_epoch_hours']:.1f} h ({epoch_steps:,} steps)", f"{peak:.0f}",
          "yes" if result["within_budget"] else "no"]])
    print(table)
    if not args.no_write:
        table += ("\n\nLightGCN (64 dimensions, 2 layers, BPR, 2,048 triples a step) on a "
                  "synthetic graph, the sparse user-item matrix propagated forward and back "
                  f"at every step through `model.fit`; median of {len(steps)} steps after "
                  "the first; peak RSS of the whole process (VmHWM). A full epoch at this "
                  "size is GPU work.")
        write_result("lightgcn_scale", result, table,
                     "bench/lightgcn_scale.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
