"""Benchmark: SparseAdam vs plain Adam on a NeuMF-style model with ML-20M-sized tables.

Synthetic implicit feedback shaped like MovieLens-20M (138,000 users, 27,000 items,
20,000,263 interactions; Zipf-like item popularity, skewed user activity, 20 latent
"genres" so there is something to learn). Each batch of 2,048 rows holds 1,024 positives
and 1,024 uniform negatives, generated with numpy beforehand, so both optimizers see the
same rows in the same order from the same initial weights. Both run through ``model.fit``
with the same ``steps_per_execution``; a warm-up epoch (tracing) is not timed.

Run from the repository root::

    .venv/bin/python bench/sparse_adam.py            # ~5 minutes on 2 cores
    .venv/bin/python bench/sparse_adam.py --steps 200 --no-write   # a quick look
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import tfdeeprec  # noqa: E402,F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from bench.report import markdown_table, write_result  # noqa: E402
from tfdeeprec._keras import keras, tf  # noqa: E402
from tfdeeprec.training.sparse_adam import SparseAdam  # noqa: E402

NUM_USERS, NUM_ITEMS, NUM_INTERACTIONS, NUM_GENRES = 138_000, 27_000, 20_000_263, 20


def make_interactions(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """20M (user, item) positives: skewed users, Zipf items, half drawn from the user's genre."""
    rng = np.random.default_rng(seed)
    user_weight = rng.lognormal(mean=0.0, sigma=1.0, size=NUM_USERS)
    users = rng.choice(NUM_USERS, size=NUM_INTERACTIONS, p=user_weight / user_weight.sum())
    users = users.astype(np.int32)
    # Item i has popularity rank i and genre i % NUM_GENRES.
    item_p = 1.0 / np.arange(1, NUM_ITEMS + 1) ** 0.9
    items = rng.choice(NUM_ITEMS, size=NUM_INTERACTIONS, p=item_p / item_p.sum())
    per_genre = NUM_ITEMS // NUM_GENRES
    genre_p = 1.0 / np.arange(1, per_genre + 1) ** 0.9
    user_genre = rng.integers(0, NUM_GENRES, size=NUM_USERS)
    in_genre = rng.random(NUM_INTERACTIONS) < 0.5
    rank = rng.choice(per_genre, size=int(in_genre.sum()), p=genre_p / genre_p.sum())
    items[in_genre] = rank * NUM_GENRES + user_genre[users[in_genre]]
    return users, items.astype(np.int32)


def make_batches(users, items, positions, batch_size: int, rng) -> tuple[dict, np.ndarray]:
    """Rows for ``positions``: each positive followed by one uniform negative of the same user."""
    n = len(positions)
    u = np.repeat(users[positions], 2)
    i = np.stack([items[positions], rng.integers(0, NUM_ITEMS, size=n, dtype=np.int32)], 1)
    y = np.tile(np.array([1.0, 0.0], np.float32), n)
    rows = {"user_id": u, "item_id": i.reshape(-1)}
    if batch_size:
        rows = {k: v.reshape(-1, batch_size) for k, v in rows.items()}
        y = y.reshape(-1, batch_size)
    return rows, y


def build_neumf(embedding_dim: int = 64, hidden_units=(128, 64)) -> keras.Model:
    """NeuMF: GMF (user * item embeddings) and an MLP tower, one logit from their concat."""
    user = keras.Input(shape=(), dtype="int32", name="user_id")
    item = keras.Input(shape=(), dtype="int32", name="item_id")

    def embed(ids, size, name):
        return keras.layers.Embedding(size, embedding_dim, name=name)(ids)

    gmf = keras.layers.Multiply(name="gmf")([embed(user, NUM_USERS, "gmf_user"),
                                             embed(item, NUM_ITEMS, "gmf_item")])
    x = keras.layers.Concatenate(name="mlp_input")([embed(user, NUM_USERS, "mlp_user"),
                                                    embed(item, NUM_ITEMS, "mlp_item")])
    for k, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, activation="relu", name=f"mlp_{k}")(x)
    logit = keras.layers.Dense(1, name="logit")(keras.layers.Concatenate()([gmf, x]))
    return keras.Model({"user_id": user, "item_id": item}, logit, name="neumf")


class _EpochClock(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.ends = []

    def on_epoch_end(self, epoch, logs=None):
        self.ends.append(time.perf_counter())


def run(name, make_optimizer, jit_compile, train, held_out, args) -> dict:
    keras.backend.clear_session()
    keras.utils.set_random_seed(args.seed)  # identical initial weights for every optimizer
    model = build_neumf()
    model.compile(optimizer=make_optimizer(), steps_per_execution=args.steps_per_execution,
                  jit_compile=jit_compile, loss=keras.losses.BinaryCrossentropy(from_logits=True))
    spe = args.steps_per_execution
    epochs = 1 + args.steps // spe  # epoch 0 is the untimed warm-up (tracing)
    data = tf.data.Dataset.from_tensor_slices(train).take(epochs * spe)
    clock = _EpochClock()
    start = time.perf_counter()
    history = model.fit(data, epochs=epochs, steps_per_epoch=spe, verbose=0, callbacks=[clock])
    timed_steps = (epochs - 1) * spe
    ms_per_step = 1000 * (clock.ends[-1] - clock.ends[0]) / timed_steps
    held_x, held_y = held_out
    held_loss = model.evaluate(held_x, held_y, batch_size=8192, verbose=0)
    loss = history.history["loss"]
    result = {
        "optimizer": name,
        "jit_compile": jit_compile,  # Model.compile: XLA for the whole train step
        "optimizer_jit_compile": bool(model.optimizer.jit_compile),  # Keras: GPU only
        "ms_per_step": round(ms_per_step, 2),
        "timed_steps": timed_steps,
        "total_steps": epochs * spe,
        "train_loss_first_epoch": round(loss[0], 5),
        "train_loss_last_epoch": round(loss[-1], 5),
        "held_out_loss": round(float(held_loss), 5),
        "wall_s": round(time.perf_counter() - start, 1),
    }
    print(result, flush=True)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="timed training steps")
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--steps-per-execution", type=int, default=50)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=2, help="TF intra- and inter-op threads")
    parser.add_argument("--held-out", type=int, default=100_000, help="held-out positives")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jit-compile", choices=["off", "on", "both"], default="both",
                        help="Model.compile(jit_compile=...) for both optimizers")
    parser.add_argument("--no-adagrad", action="store_true", help="skip the Adagrad reference")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.steps % args.steps_per_execution or args.batch_size % 2:
        parser.error("--steps must be a multiple of --steps-per-execution; --batch-size even")

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    t0 = time.perf_counter()
    users, items = make_interactions(args.seed)
    order = np.random.default_rng(args.seed + 1).permutation(NUM_INTERACTIONS)
    total_steps = args.steps + args.steps_per_execution
    n_train = total_steps * args.batch_size // 2
    rng = np.random.default_rng(args.seed + 2)
    train = make_batches(users, items, order[:n_train], args.batch_size, rng)
    held_out = make_batches(users, items, order[-args.held_out:], 0, rng)
    data_s = time.perf_counter() - t0
    print(f"data: {NUM_INTERACTIONS:,} interactions in {data_s:.1f} s; "
          f"{n_train:,} positives used for training", flush=True)

    lr = args.learning_rate
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.jit_compile]
    results, summary = [], []
    for jit in modes:
        adam = run("keras Adam", lambda: keras.optimizers.Adam(lr), jit, train, held_out, args)
        sparse = run("SparseAdam", lambda: SparseAdam(lr), jit, train, held_out, args)
        results += [adam, sparse]
        summary.append({
            "jit_compile": jit,
            "speedup": round(adam["ms_per_step"] / sparse["ms_per_step"], 2),
            "train_loss_rel_gap": round(abs(sparse["train_loss_last_epoch"]
                                            / adam["train_loss_last_epoch"] - 1), 5),
            "held_out_loss_rel_gap": round(abs(sparse["held_out_loss"]
                                               / adam["held_out_loss"] - 1), 5),
        })
        print(summary[-1], flush=True)
    if not args.no_adagrad:
        results.append(run("keras Adagrad (reference)", lambda: keras.optimizers.Adagrad(lr),
                           modes[0], train, held_out, args))
    threads = {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
               "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}

    def speedup(r):
        adam = next(a for a in results
                    if a["optimizer"] == "keras Adam" and a["jit_compile"] == r["jit_compile"])
        return f"{adam['ms_per_step'] / r['ms_per_step']:.2f}x"

    rows = [[r["optimizer"], r["jit_compile"], r["ms_per_step"], speedup(r),
             r["train_loss_last_epoch"], r["held_out_loss"]] for r in results]
    spe = args.steps_per_execution
    table = (
        f"SparseAdam vs Adam, NeuMF (GMF 64 + MLP 64 embeddings, MLP 128-64) on synthetic "
        f"ML-20M-sized data ({NUM_USERS:,} users, {NUM_ITEMS:,} items), batch "
        f"{args.batch_size}, learning rate {lr}, the same data order and initial weights; "
        f"{args.steps} timed steps after {spe} warm-up steps, `model.fit` with "
        f"steps_per_execution={spe}; jit_compile is `Model.compile`'s (XLA for the whole "
        f"train step); TF threads intra={threads['intra_op']} inter={threads['inter_op']}. "
        f"Train loss: mean of the last {spe} steps; held-out: {args.held_out:,} positives "
        f"+ as many negatives. Adagrad (sparse updates in Keras) is a speed reference only: "
        f"at this learning rate it barely moves the loss.\n\n"
        + markdown_table(["optimizer", "jit_compile", "ms/step", "speed-up vs Adam",
                          "train loss", "held-out loss"], rows))
    print(table)
    if args.no_write:
        return
    command = "python bench/sparse_adam.py" + (" " + " ".join(argv if argv is not None
                                                              else sys.argv[1:])).rstrip()
    payload = {
        "config": {**vars(args), "num_users": NUM_USERS, "num_items": NUM_ITEMS,
                   "num_interactions": NUM_INTERACTIONS, "negatives_per_positive": 1,
                   "embedding_dim": 64, "hidden_units": [128, 64]},
        "tensorflow": tf.__version__,
        "threads": threads,
        "data_generation_s": round(data_s, 1),
        "results": results,
        "summary": summary,
    }
    print(write_result("sparse_adam", payload, table, command))


if __name__ == "__main__":
    main()
