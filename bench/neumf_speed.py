"""NeuMF training speed on ml-100k in RecBole's default setting: tfdeeprec against plain tf-keras.

Usage: .venv/bin/python bench/neumf_speed.py [--data FOLDER] [--epochs 7] [--rounds 3]

FOLDER holds ml-100k.inter (default: the folder printed by
../shared/data/fetch_ml100k.sh). The setting is RecBole's NeuMF default: 64-d GMF and
MLP embeddings, MLP [128, 64], Adam with learning rate 0.001, binary cross-entropy,
1 uniform negative per positive, 2048 examples per batch, on the 80,808 training
positives of the per-user 8:1:1 split (seed 0): 161,616 examples in 79 batches per
epoch, and the same 357,569 weights, on every side. tfdeeprec's batch is 1024
positives, each followed by its negative (``make_implicit_dataset(num_negatives=1,
batch_size=1024)``): the same 2048 examples per batch as RecBole's, whose batch size
counts examples.

Sides, each in a fresh process per thread setting (TensorFlow's intra- and inter-op
pools both set to the thread count before any op runs):

- ``keras (numpy)``: NeuMF written the way a typical tf-keras user writes it, with
  ``Embedding`` + ``Flatten`` layers and a sigmoid output; each epoch draws the
  negatives with NumPy (vectorised rejection of the user's positives), then calls
  ``model.fit(numpy arrays, batch_size=2048, shuffle=True)``, once with keras Adam and
  once with tfdeeprec's ``SparseAdam`` (a Keras optimizer any model can use), so each
  comparison holds the optimizer fixed.
- ``keras (tf.data)``: the same, fed by ``from_tensor_slices(...).shuffle().batch(2048)``.
- ``tfdeeprec``: ``build_neumf`` + ``make_implicit_dataset`` + ``training.fit`` with the
  default ``TrainingConfig`` (SparseAdam, ``steps_per_execution=32``, no XLA; ``fit``
  repeats the data so one iterator serves every epoch), and with Adam; then with
  ``steps_per_execution=1`` (the old default) and with ``jit_compile=True``, to show
  what those settings do.

An epoch's time runs from the end of the previous epoch to the end of this one, so it
holds everything: negative sampling (inline for keras, in the tf.data pipeline for
tfdeeprec), the input pipeline, the steps and Keras's per-epoch work. Each process
trains ``--warmup`` epochs (tracing, caches) and then ``--epochs`` timed ones; the
sides alternate over ``--rounds`` rounds, and the figures are medians over all timed
epochs. Process CPU seconds per epoch are reported too: TensorFlow's thread setting
does not cover tf.data's own thread pool, so the pipeline may run on a second core.
The ``1 core`` rows pin the whole process to one core (``sched_setaffinity``), which
bounds that. Other work on the machine slows the wall times; the load average is
recorded with every process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FETCH = ROOT.parent / "shared" / "data" / "fetch_ml100k.sh"

from bench.report import markdown_table, write_result

BATCH_EXAMPLES = 2048  # RecBole's train_batch_size: examples, positives and negatives
EMBEDDING_DIM = 64
HIDDEN_UNITS = (128, 64)
LEARNING_RATE = 1e-3

# side -> (label, optimizer). Each comparison holds the optimizer fixed: Adam against
# Adam, SparseAdam (tfdeeprec's lazy Adam, a Keras optimizer any model can use) against
# SparseAdam.
SIDES = {
    "keras_numpy": ("keras (numpy), typical user", "adam"),
    "keras_tfdata": ("keras (tf.data), typical user", "adam"),
    "tfdeeprec_adam": ("tfdeeprec", "adam"),
    "keras_numpy_sparse": ("keras (numpy), typical user", "sparse_adam"),
    "tfdeeprec": ("tfdeeprec (defaults)", "sparse_adam"),
    "tfdeeprec_spe1": ("tfdeeprec, steps_per_execution=1", "sparse_adam"),
    "tfdeeprec_xla": ("tfdeeprec, jit_compile=True (XLA)", "sparse_adam"),
}
BASELINE = {"adam": "keras_numpy", "sparse_adam": "keras_numpy_sparse"}


# ---------------------------------------------------------------- worker (one side)

def _setup_tensorflow(threads: int):
    import tfdeeprec  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
    from tfdeeprec._keras import tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    return tf


def _training_positives(folder: Path):
    from tfdeeprec.data import encode, load_interactions, split_by_user_ratio
    split = split_by_user_ratio(load_interactions(folder), (0.8, 0.1, 0.1), seed=0)
    return encode(split.train, *split.vocabularies())


class _Clock:
    """Wall and process-CPU seconds between consecutive ``tick`` calls."""

    def __init__(self):
        self.wall, self.cpu = [], []
        self._last = (time.perf_counter(), time.process_time())

    def tick(self):
        now = (time.perf_counter(), time.process_time())
        self.wall.append(now[0] - self._last[0])
        self.cpu.append(now[1] - self._last[1])
        self._last = now


def run_keras(train, epochs: int, feed: str, optimizer: str = "adam") -> dict:
    """The plain tf-keras NeuMF; a new fit call per epoch on freshly drawn negatives."""
    import numpy as np

    from tfdeeprec._keras import keras, tf

    users, items = train.user.astype(np.int64), train.item.astype(np.int64)
    num_users, num_items = train.num_users, train.num_items
    positive_keys = np.unique(users * num_items + items)
    rng = np.random.default_rng(0)

    def sample_negatives():
        negatives = rng.integers(1, num_items, size=len(users))
        bad = np.isin(users * num_items + negatives, positive_keys)
        while bad.any():
            negatives[bad] = rng.integers(1, num_items, size=int(bad.sum()))
            bad = np.isin(users * num_items + negatives, positive_keys)
        return negatives

    def embedded(ids, size, name):
        table = keras.layers.Embedding(
            size, EMBEDDING_DIM, name=name,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=0.01))
        return keras.layers.Flatten()(table(ids))

    user = keras.Input((1,), dtype="int32", name="user")
    item = keras.Input((1,), dtype="int32", name="item")
    gmf = keras.layers.Multiply()([embedded(user, num_users, "gmf_user"),
                                   embedded(item, num_items, "gmf_item")])
    mlp = keras.layers.Concatenate()([embedded(user, num_users, "mlp_user"),
                                      embedded(item, num_items, "mlp_item")])
    for units in HIDDEN_UNITS:
        mlp = keras.layers.Dense(units, activation="relu")(mlp)
    output = keras.layers.Dense(1, activation="sigmoid")(
        keras.layers.Concatenate()([gmf, mlp]))
    model = keras.Model([user, item], output)
    from tfdeeprec.training.optimizers import make_optimizer

    model.compile(optimizer=make_optimizer(optimizer, LEARNING_RATE), loss="binary_crossentropy")

    labels = np.concatenate([np.ones(len(users), "float32"), np.zeros(len(users), "float32")])
    all_users = np.concatenate([users, users]).astype("int32")
    clock, losses, steps = _Clock(), [], 0
    for _ in range(epochs):
        all_items = np.concatenate([items, sample_negatives()]).astype("int32")
        if feed == "numpy":
            history = model.fit([all_users, all_items], labels, batch_size=BATCH_EXAMPLES,
                                epochs=1, shuffle=True, verbose=0)
        else:
            data = tf.data.Dataset.from_tensor_slices(((all_users, all_items), labels))
            data = data.shuffle(len(labels)).batch(BATCH_EXAMPLES).prefetch(tf.data.AUTOTUNE)
            history = model.fit(data, epochs=1, verbose=0)
        clock.tick()
        losses.append(history.history["loss"][0])
    steps = int(model.optimizer.iterations.numpy()) // epochs
    return {"wall": clock.wall, "cpu": clock.cpu, "loss": losses, "steps_per_epoch": steps,
            "examples_per_epoch": len(labels), "params": model.count_params()}


def run_tfdeeprec(train, epochs: int, **overrides) -> dict:
    """tfdeeprec's public path: build_neumf + make_implicit_dataset + training.fit."""
    from tfdeeprec._keras import keras
    from tfdeeprec.data import make_implicit_dataset
    from tfdeeprec.models import build_neumf
    from tfdeeprec.training import TrainingConfig, fit

    class EpochClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.clock = None

        def on_train_begin(self, logs=None):
            self.clock = _Clock()

        def on_epoch_end(self, epoch, logs=None):
            self.clock.tick()

    data = make_implicit_dataset(train, num_negatives=1, batch_size=BATCH_EXAMPLES // 2,
                                 seed=0)
    config = TrainingConfig(epochs=epochs, learning_rate=LEARNING_RATE, verbose=0, **overrides)
    timer = EpochClock()
    result = fit(lambda: build_neumf(train.num_users, train.num_items, gmf_dim=EMBEDDING_DIM,
                                     mlp_dim=EMBEDDING_DIM, hidden_units=HIDDEN_UNITS),
                 data, task="implicit", config=config, callbacks=[timer])
    model = result.model
    return {"wall": timer.clock.wall, "cpu": timer.clock.cpu, "loss": result.history["loss"],
            "steps_per_epoch": int(model.optimizer.iterations.numpy()) // epochs,
            "examples_per_epoch": 2 * len(train), "params": model.count_params(),
            "config": config.to_dict(), "optimizer": type(model.optimizer).__name__}


def worker(args) -> None:
    if args.pin:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    load_before = os.getloadavg()
    _setup_tensorflow(args.threads)
    train = _training_positives(args.data)
    epochs = args.warmup + args.epochs
    optimizer = SIDES[args.side][1]
    if args.side.startswith("keras"):
        out = run_keras(train, epochs, feed="tf.data" if "tfdata" in args.side else "numpy",
                        optimizer=optimizer)
    else:
        overrides = {"tfdeeprec_spe1": {"steps_per_execution": 1},
                     "tfdeeprec_xla": {"jit_compile": True}}.get(args.side, {})
        out = run_tfdeeprec(train, epochs, optimizer=optimizer, **overrides)
    out.update(side=args.side, threads=args.threads, pinned=args.pin, warmup=args.warmup,
               load_before=load_before, load_after=os.getloadavg())
    print(json.dumps(out), flush=True)


# ---------------------------------------------------------------- driver

def _run_worker(args, side: str, threads: int, pin: bool) -> dict:
    command = [sys.executable, __file__, "--worker", side, "--threads", str(threads),
               "--data", str(args.data), "--epochs", str(args.epochs),
               "--warmup", str(args.warmup)] + (["--pin"] if pin else [])
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"{side} (threads={threads}) failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _summarise(runs: list[dict]) -> dict:
    first = runs[0]
    skip = first["warmup"]
    wall = [w for r in runs for w in r["wall"][skip:]]
    cpu = [c for r in runs for c in r["cpu"][skip:]]
    median = statistics.median(wall)
    return {
        "side": first["side"], "label": SIDES[first["side"]][0],
        "optimizer_name": SIDES[first["side"]][1], "threads": first["threads"],
        "pinned_to_one_core": first["pinned"], "processes": len(runs),
        "median_epoch_seconds": median,
        "per_process_median_epoch_seconds": [statistics.median(r["wall"][skip:]) for r in runs],
        "epoch_seconds": [r["wall"] for r in runs],
        "median_cpu_seconds_per_epoch": statistics.median(cpu),
        "examples_per_epoch": first["examples_per_epoch"],
        "steps_per_epoch": first["steps_per_epoch"],
        "examples_per_second": first["examples_per_epoch"] / median,
        "params": first["params"],
        "final_loss": [r["loss"][-1] for r in runs],
        "loss_per_epoch": [r["loss"] for r in runs],
        "load_average_1min": [(r["load_before"][0], r["load_after"][0]) for r in runs],
        **({"training_config": first["config"], "optimizer": first["optimizer"]}
           if "config" in first else {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=7, help="timed epochs per process")
    parser.add_argument("--warmup", type=int, default=2, help="untimed epochs first")
    parser.add_argument("--rounds", type=int, default=3, help="processes per side and setting")
    parser.add_argument("--threads", default="1,2", help="thread settings, comma-separated")
    parser.add_argument("--no-pinned", action="store_true", help="skip the 1-core rows")
    parser.add_argument("--worker", choices=sorted(SIDES), help=argparse.SUPPRESS)
    parser.add_argument("--pin", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.data is None:
        args.data = Path(subprocess.run(["bash", str(FETCH)], check=True, capture_output=True,
                                         text=True).stdout.strip())
    if args.worker:
        args.side, args.threads = args.worker, int(args.threads)
        worker(args)
        return

    settings = [(int(t), False) for t in args.threads.split(",")]
    if not args.no_pinned:
        settings.append((1, True))
    runs: dict[tuple, list] = {}
    load_start = os.getloadavg()
    for round_ in range(args.rounds):
        for threads, pin in settings:
            for side in SIDES:
                if pin and side in ("tfdeeprec_spe1", "tfdeeprec_xla"):
                    continue
                run = _run_worker(args, side, threads, pin)
                runs.setdefault((side, threads, pin), []).append(run)
                print(f"round {round_ + 1}: {side:15s} threads={threads} pinned={pin} "
                      f"median {statistics.median(run['wall'][args.warmup:]):.3f} s, "
                      f"load {run['load_after'][0]:.1f}", flush=True)
    results = [_summarise(r) for r in runs.values()]

    def find(side, threads, pin):
        return next(r for r in results if r["side"] == side and r["threads"] == threads
                    and r["pinned_to_one_core"] == pin)

    rows = []
    for threads, pin in settings:
        for side, (_, optimizer) in SIDES.items():
            if pin and side in ("tfdeeprec_spe1", "tfdeeprec_xla"):
                continue
            r = find(side, threads, pin)
            base = find(BASELINE[optimizer], threads, pin)
            r["speedup_vs_keras_numpy"] = base["median_epoch_seconds"] / r["median_epoch_seconds"]
            rows.append([f"{threads}{' (1 core)' if pin else ''}", r["label"], optimizer,
                         f"{r['median_epoch_seconds']:.3f}",
                         f"{r['median_cpu_seconds_per_epoch']:.3f}",
                         f"{r['examples_per_second']:,.0f}",
                         f"{r['speedup_vs_keras_numpy']:.2f}x",
                         f"{statistics.median(r['final_loss']):.4f}",
                         f"{r['steps_per_epoch']} x {BATCH_EXAMPLES}"])
    ours = find("tfdeeprec", 1, False)
    payload = {
        "load_average_1_5_15min": {"start": load_start, "end": os.getloadavg()},
        "data": "ml-100k", "split": "per-user 8:1:1 (seed 0)",
        "setting": {"embedding_dim": EMBEDDING_DIM, "hidden_units": list(HIDDEN_UNITS),
                    "negatives_per_positive": 1, "distribution": "uniform",
                    "batch_examples": BATCH_EXAMPLES, "tfdeeprec_batch_positives":
                    BATCH_EXAMPLES // 2, "learning_rate": LEARNING_RATE},
        "epochs_timed_per_process": args.epochs, "warmup_epochs": args.warmup,
        "rounds": args.rounds,
        "results": results,
    }
    table = markdown_table(
        ["TF threads", "implementation", "optimizer", "epoch s (median)", "CPU s / epoch",
         "examples/s", "vs keras (numpy), same optimizer", "final loss", "steps x examples"],
        rows)
    table += (
        f"\n\nNeuMF on ml-100k in RecBole's default sizes (no dropout): 64-d GMF and MLP embeddings, "
        f"MLP [128, 64], lr 1e-3, binary cross-entropy, 1 uniform negative per "
        f"positive drawn fresh every epoch, batches of {BATCH_EXAMPLES} examples "
        f"(tfdeeprec: 1024 positives + their 1024 negatives); {ours['examples_per_epoch']:,} "
        f"examples and {ours['params']:,} weights per epoch on every side. An epoch runs "
        f"from the end of the previous one to its own end, negative sampling included; "
        f"median of {args.epochs} epochs after {args.warmup} warm-up epochs in each of "
        f"{args.rounds} fresh processes per row. \"final loss\": training loss of the last "
        f"epoch (median over processes). CPU s: process CPU time per epoch (tf.data's thread "
        f"pool is not bound by TF's thread setting; \"1 core\" pins the process to one core). "
        f"Each speed-up is against the plain-keras side with the same optimizer; RecBole is "
        f"measured beside `tfdeeprec train` in \"Against the peers\". Load average (1 min) "
        f"during the run: {load_start[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.")
    command = " ".join([".venv/bin/python bench/neumf_speed.py", *sys.argv[1:]])
    write_result("neumf_speed", payload, table, command=command)
    print(table)


if __name__ == "__main__":
    main()
