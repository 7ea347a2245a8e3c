"""Accuracy and cost of every ID model on MovieLens-100k: implicit full ranking and ratings.

Usage: .venv/bin/python bench/ml100k_models.py [--data FOLDER] [--task implicit|rating|all]
       [--models mf,neumf,...] [--override JSON] [--no-write]

FOLDER holds the RecBole atomic files ml-100k.{inter,user,item} (default: the folder
printed by ../shared/data/fetch_ml100k.sh). Every (task, model) row is trained in a
fresh Python subprocess, so rows do not share graphs, caches or memory, and each
row's peak memory is that process's own.

Protocols (the same for every model; hyperparameters were tuned on VALIDATION only):

- implicit: every interaction is a positive. Per-user 8:1:1 split
  (``split_by_user_ratio(frame, (0.8, 0.1, 0.1), seed=0)``), vocabularies from train.
  Each epoch the model ranks all items for every validation user, training items
  excluded; early stopping watches validation NDCG@10 (``RankingValidation`` +
  ``TrainingConfig(monitor="val_ndcg@10")``) and restores the best epoch's weights.
  Test: full ranking over all items, training and validation items excluded;
  NDCG/Recall/HR/MRR/Precision@10 averaged over the test users (RecBole's protocol).
- rating: random 80/20 split (``split_random(frame, (0.8, 0.2), seed=0)``). The test
  20% is never looked at during training or tuning: a validation slice of 10% of the
  80% is carved out of it (``split_random(train, (0.9, 0.1), seed=1)``); the model is
  fitted on the other 72%, early stopping watches validation RMSE and restores the
  best epoch's weights; RMSE and MAE are then measured once on the test 20%.
  Vocabularies come from the 80% (an ID only in the validation slice keeps its
  untrained, near-zero initial row, like an unknown ID). Ratings are predicted as the
  train mean + the model's output, clipped to [1, 5]. The ``refit`` row (biased MF)
  then trains the same model again from scratch on the whole 80%, for the number of
  epochs and with the per-epoch learning rates that its early-stopped fit chose on
  validation, and is tested once like the others.

Cost columns: ``epochs`` is epochs run (best epoch in brackets); ``train s/epoch`` is
the median wall time of an epoch's training steps alone: the per-epoch validation
ranking is left out (the ratings' Keras validation pass over 8k rows is in), and so is
the first epoch, which also traces the graphs, when there are more. ``examples/s`` =
training examples per epoch / that median, where an example is one row the model is
trained on: a positive or a negative for BCE, a (user, positive, negative) triple for
BPR, a rating for MSE. The machine is shared, so timings carry its load (the JSON
keeps the load average).
``peak RSS`` is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of the row's own
subprocess at its end: the whole process (Python, TensorFlow, the data, the model,
the optimizer state and the evaluation buffers), not the model alone; the RSS
already reached before the model is built is kept in the JSON as
``rss_before_model_mib``. ``params`` is ``count_params()`` of the scoring model (for
Wide & Deep this includes the constant side-feature tables' non-trainable weights).
NeuMF (pre-trained) trains its GMF and MLP-NCF first, with their own rows'
settings; its cost columns count all three fits.
"""

from __future__ import annotations

import argparse
import copy
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
TASKS = ("implicit", "rating")
COMMAND = ".venv/bin/python bench/ml100k_models.py"

# ---------------------------------------------------------------------------------------
# Tuned settings, one dict per model. "model": builder kwargs; "data": pipeline kwargs
# ("pairwise": BPR triples instead of BCE positives + negatives); "train": TrainingConfig
# kwargs. Chosen by a small manual grid per model (learning rate, L2, batch size,
# negatives, dropout, BCE vs BPR) on the VALIDATION metric only (validation NDCG@10 for
# implicit, validation RMSE for ratings); the test split was evaluated only for the
# final settings. The grids tried are listed in bench/results/ml100k_models.json
# under "tuning".
# ---------------------------------------------------------------------------------------
IMPLICIT = {
    "popularity": {"label": "Popularity (train counts)", "kind": "popularity"},
    "mf": {
        "label": "Biased MF (BCE, 4 negatives)",
        "builder": "mf",
        "model": {"embedding_dim": 64, "l2": 1e-2},
        "data": {"num_negatives": 4, "batch_size": 512},
        "train": {"loss": "bce", "learning_rate": 5e-3, "epochs": 80,
                  "early_stopping_patience": 8, "reduce_lr_patience": 4},
    },
    "mf_bpr": {
        "label": "Biased MF (BPR)",
        "builder": "mf",
        "model": {"embedding_dim": 64, "l2": 1e-4},
        "data": {"pairwise": True, "batch_size": 1024},
        "train": {"loss": "bpr", "learning_rate": 2e-3, "epochs": 80,
                  "early_stopping_patience": 8, "reduce_lr_patience": 4},
    },
    "gmf": {
        "label": "GMF",
        "builder": "gmf",
        "model": {"embedding_dim": 64, "l2": 1e-2},
        "data": {"num_negatives": 4, "batch_size": 512},
        "train": {"loss": "bce", "learning_rate": 1e-3, "epochs": 80,
                  "early_stopping_patience": 6, "reduce_lr_patience": 3},
    },
    "mlp_ncf": {
        "label": "MLP-NCF",
        "builder": "mlp_ncf",
        "model": {"embedding_dim": 64, "hidden_units": (128, 64), "dropout_rate": 0.2,
                  "l2": 0.0},
        "data": {"num_negatives": 4, "batch_size": 512},
        "train": {"loss": "bce", "learning_rate": 1e-3, "epochs": 60,
                  "early_stopping_patience": 6, "reduce_lr_patience": 3},
    },
    "neumf": {
        "label": "NeuMF",
        "builder": "neumf",
        "model": {"gmf_dim": 64, "mlp_dim": 64, "hidden_units": (128, 64),
                  "dropout_rate": 0.2, "l2": 1e-3},
        "data": {"num_negatives": 4, "batch_size": 512},
        "train": {"loss": "bce", "learning_rate": 1e-3, "epochs": 60,
                  "early_stopping_patience": 6, "reduce_lr_patience": 3},
    },
    "neumf_pretrained": {
        "label": "NeuMF (pre-trained GMF + MLP)",
        "builder": "neumf",
        "pretrain": {"gmf": "gmf", "mlp": "mlp_ncf", "alpha": 0.5},
        "model": {"dropout_rate": 0.2, "l2": 1e-3},  # dims follow the pre-trained parts
        "data": {"num_negatives": 4, "batch_size": 512},
        "train": {"loss": "bce", "learning_rate": 1e-4, "epochs": 40,
                  "early_stopping_patience": 5, "reduce_lr_patience": 3},
    },
}

_RATING_TRAIN = {"learning_rate": 5e-4, "epochs": 80, "early_stopping_patience": 6,
                 "reduce_lr_patience": 3}
RATING = {
    "global_mean": {"label": "Global mean (train)", "kind": "global_mean"},
    "mf": {
        "label": "Biased MF",
        "builder": "mf",
        "model": {"embedding_dim": 64, "l2": 0.05},
        "data": {"batch_size": 128},
        "train": dict(_RATING_TRAIN),
    },
    "gmf": {
        "label": "GMF",
        "builder": "gmf",
        "model": {"embedding_dim": 64, "l2": 0.02},
        "data": {"batch_size": 128},
        "train": dict(_RATING_TRAIN),
    },
    "mlp_ncf": {
        "label": "MLP-NCF",
        "builder": "mlp_ncf",
        "model": {"embedding_dim": 64, "hidden_units": (128, 64), "dropout_rate": 0.0,
                  "l2": 0.05},
        "data": {"batch_size": 128},
        "train": dict(_RATING_TRAIN),
    },
    "neumf": {
        "label": "NeuMF",
        "builder": "neumf",
        "model": {"gmf_dim": 64, "mlp_dim": 64, "hidden_units": (128, 64),
                  "dropout_rate": 0.0, "l2": 0.05},
        "data": {"batch_size": 128},
        "train": dict(_RATING_TRAIN),
    },
}

# The same MF, trained once more from scratch on the whole training 80% for the number
# of epochs (and the per-epoch learning rates) its early-stopped fit chose on validation.
RATING["mf_refit"] = {**RATING["mf"], "label": "Biased MF, refit on the 80%", "refit": True}

SETTINGS = {"implicit": IMPLICIT, "rating": RATING}

TARGETS = {"implicit": {"neumf_ndcg@10": 0.29, "best_ndcg@10": 0.30},
           "rating": {"best_rmse": 0.91}}

IMPLICIT_TEST_METRICS = ("ndcg", "recall", "hit", "mrr", "precision")


# --------------------------------------------------------------------------- worker side

def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _builders():
    from tfdeeprec.models.mf import build_mf
    from tfdeeprec.models.ncf import build_gmf, build_mlp_ncf, build_neumf
    builders = {"mf": build_mf, "gmf": build_gmf, "mlp_ncf": build_mlp_ncf,
                "neumf": build_neumf}
    # Wide & Deep is a context (CTR) model now: its ml-100k rows are in peers_ml100k.py.
    return builders


class _Data:
    """One task's splits, encoded; built once per worker process."""

    def __init__(self, folder: str, task: str):
        from tfdeeprec.data import (build_vocabularies, encode, load_interactions,
                                    split_by_user_ratio, split_random)
        frame = load_interactions(folder)
        self.task = task
        if task == "implicit":
            train, valid, test = split_by_user_ratio(frame, (0.8, 0.1, 0.1), seed=0)
            self.protocol = ("per-user 8:1:1 (split_by_user_ratio seed 0); vocabularies from "
                             "train; full ranking, train items excluded (valid), train+valid "
                             "items excluded (test)")
        else:
            train80, _, test = split_random(frame, (0.8, 0.2), seed=0)
            train, _, valid = split_random(train80, (0.9, 0.1), seed=1)
            self.protocol = ("random 80/20 (split_random seed 0); validation = 10% of the 80% "
                             "(split_random seed 1), early-stopping fit on the other 72%; "
                             "vocabularies from the 80%; test 20% used once")
        vocab_source = train if task == "implicit" else train80
        self.users, self.items = build_vocabularies(vocab_source)
        self.train, self.valid, self.test = (encode(s, self.users, self.items)
                                             for s in (train, valid, test))
        # Ratings only: the whole training 80%, for the refit rows.
        self.train_full = None if task == "implicit" else encode(train80, self.users,
                                                                 self.items)
        self.frame = frame

    def side_features(self):
        from tfdeeprec.data.side_features import build_feature_tables
        return {"user_features": build_feature_tables(self.frame.users, self.users),
                "item_features": build_feature_tables(self.frame.items, self.items)}


def _fit_one(data: _Data, spec: dict, *, scorer_factory=None, verbose=2,
             replay: dict | None = None) -> dict:
    """Trains one neural model under the task's protocol; returns the model and costs.

    With ``replay`` (ratings only: an earlier early-stopped fit's result), the model is
    trained again from scratch on the whole training 80% for that fit's best number of
    epochs, replaying its learning rate of each epoch, with no validation.
    """
    from tfdeeprec._keras import keras, tf
    from tfdeeprec.data import make_implicit_dataset, make_pairwise_dataset, make_rating_dataset
    from tfdeeprec.evaluation import FullRankingEvaluator, model_score_fn
    from tfdeeprec.models.pairwise import build_pairwise_trainer
    from tfdeeprec.training import RankingValidation, TrainingConfig, fit

    task = data.task
    tr = data.train if replay is None else data.train_full
    model_kwargs = dict(spec.get("model", {}))
    data_kwargs = dict(spec.get("data", {}))
    train_kwargs = dict(spec.get("train", {}))
    if spec.get("side_features"):
        model_kwargs.update(data.side_features())
    builder = _builders()[spec["builder"]]
    if task == "rating":
        mean = float(tr.rating.mean())
        model_kwargs.update(global_mean=mean, rating_range=(1.0, 5.0))

    def make_scorer():
        if scorer_factory is not None:
            return scorer_factory(model_kwargs)
        return builder(tr.num_users, tr.num_items, task=task, **model_kwargs)

    holder = {}

    def build():
        holder["scorer"] = make_scorer()
        if pairwise:
            return build_pairwise_trainer(holder["scorer"])
        return holder["scorer"]

    pairwise = bool(data_kwargs.pop("pairwise", False))
    from tfdeeprec.training.callbacks import EpochTimer
    timer = EpochTimer()  # first in the list: training steps only, before validation
    callbacks = [timer]
    validation_data = None
    if task == "implicit":
        if pairwise:
            ds = make_pairwise_dataset(tr, **data_kwargs)
            ds = ds.map(lambda f: (f, tf.ones_like(f["user_id"], tf.float32)))
            examples = len(tr)
        else:
            negatives = data_kwargs.get("num_negatives", 4)
            ds = make_implicit_dataset(tr, **data_kwargs)
            examples = len(tr) * (1 + negatives)
        evaluator = FullRankingEvaluator(tr, data.valid, ks=(10,), metrics=("ndcg",))
        ranking = RankingValidation(evaluator, lambda m: model_score_fn(m, tr.num_items),
                                    scorer=_Lazy(holder))
        callbacks.append(ranking)
        train_kwargs.setdefault("monitor", "val_ndcg@10")
    elif replay is None:
        ds = make_rating_dataset(tr, **data_kwargs)
        validation_data = make_rating_dataset(data.valid, batch_size=4096, shuffle=False)
        examples = len(tr)
        train_kwargs.setdefault("monitor", "val_rmse")
    else:
        ds = make_rating_dataset(tr, **data_kwargs)
        examples = len(tr)
        rates = replay["learning_rates"][:replay["best_epoch"]]
        callbacks.append(keras.callbacks.LearningRateScheduler(lambda epoch: rates[epoch]))
        train_kwargs.update(epochs=replay["best_epoch"], early_stopping_patience=0,
                            reduce_lr_patience=0, monitor="loss")
    config = TrainingConfig(verbose=verbose, **train_kwargs)
    result = fit(build, ds, task=task, config=config, validation_data=validation_data,
                 callbacks=callbacks)
    history = result.history
    if replay is not None:
        return {"scorer": holder["scorer"], "epochs": len(history["loss"]),
                "best_epoch": len(history["loss"]), **_costs(timer, result, examples),
                "config": config.to_dict()}
    monitor = config.monitor
    values = history[monitor]
    best = (max if "ndcg" in monitor else min)(range(len(values)), key=values.__getitem__)
    return {
        "scorer": holder["scorer"],
        "epochs": len(values), "best_epoch": best + 1,
        "best_validation": {monitor: float(values[best])},
        "validation_history": [float(v) for v in values],
        "learning_rates": [float(v) for v in history.get("lr", [config.learning_rate]
                                                          * len(values))],
        **_costs(timer, result, examples),
        "config": config.to_dict(),
    }


def _costs(timer, result, examples: int) -> dict:
    # The first epoch also traces and compiles the graphs: left out when there are more.
    median = statistics.median(timer.seconds[1:] or timer.seconds)
    return {"train_seconds_per_epoch": median,
            "epoch_seconds_incl_validation": statistics.median(result.epoch_seconds[1:]
                                                               or result.epoch_seconds),
            "examples_per_epoch": examples, "examples_per_second": examples / median,
            "fit_seconds": result.seconds}


class _Lazy:
    """Stands in for the scorer until ``fit`` has built it (RankingValidation reads it late)."""

    def __init__(self, holder):
        self._holder = holder

    def __call__(self, *args, **kwargs):
        return self._holder["scorer"](*args, **kwargs)


def _evaluate(data: _Data, scorer) -> dict:
    import numpy as np

    from tfdeeprec.evaluation import FullRankingEvaluator, evaluate_ratings, model_score_fn
    if data.task == "implicit":
        evaluator = FullRankingEvaluator(data.train, data.test, exclude=(data.valid,), ks=(10,),
                                         metrics=IMPLICIT_TEST_METRICS)
        score_fn = scorer if callable(scorer) and not hasattr(scorer, "predict") \
            else model_score_fn(scorer, data.train.num_items)
        return evaluator.evaluate(score_fn).metrics
    test = data.test
    if hasattr(scorer, "predict"):
        pred = scorer.predict({"user_id": test.user, "item_id": test.item}, batch_size=8192,
                              verbose=0)
    else:
        pred = scorer(test.user, test.item)
    return evaluate_ratings(test.rating, np.asarray(pred, np.float32).reshape(-1))


def run_worker(folder: str, task: str, name: str, spec: dict, verbose=2) -> dict:
    """Trains and tests one row; everything it reports is measured in this process."""
    import numpy as np

    import tfdeeprec  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
    data = _Data(folder, task)
    rss_before = _peak_rss_mib()
    start = time.perf_counter()
    row = {"task": task, "model": name, "label": spec.get("label", name),
           "settings": spec, "protocol": data.protocol,
           "train_rows": len(data.train), "valid_rows": len(data.valid),
           "test_rows": len(data.test), "num_users": data.train.num_users,
           "num_items": data.train.num_items}
    kind = spec.get("kind")
    if kind == "popularity":
        counts = np.bincount(data.train.item, minlength=data.train.num_items).astype(np.float32)
        row.update(params=0, epochs=0, test=_evaluate(
            data, lambda users: np.tile(counts, (len(users), 1))))
    elif kind == "global_mean":
        mean = float(data.train.rating.mean())
        row.update(params=1, epochs=0, test=_evaluate(
            data, lambda users, items: np.full(len(users), mean)))
    else:
        fits = []
        factory = None
        if "pretrain" in spec:
            factory, fits = _pretrain(data, spec, verbose)
        fitted = _fit_one(data, spec, scorer_factory=factory, verbose=verbose)
        scorer = fitted.pop("scorer")
        if spec.get("refit"):
            if task != "rating" or factory is not None:
                raise ValueError("`refit` is for rating rows without pre-training")
            fits.append(fitted)
            fitted = _fit_one(data, spec, verbose=verbose, replay=fitted)
            fitted["fit"] = "refit on the training 80%"
            scorer = fitted.pop("scorer")
        fits.append(fitted)
        row.update(fitted)
        if len(fits) > 1:
            row["earlier_fits"] = fits[:-1]
            row["epochs_all_fits"] = sum(f["epochs"] for f in fits)
            total_train = sum(f["train_seconds_per_epoch"] * f["epochs"] for f in fits)
            row["train_seconds_per_epoch"] = total_train / row["epochs_all_fits"]
            row["examples_per_second"] = (sum(f["examples_per_epoch"] * f["epochs"]
                                              for f in fits) / total_train)
            row["fit_seconds"] = sum(f["fit_seconds"] for f in fits)
        row["params"] = int(scorer.count_params())
        row["test"] = _evaluate(data, scorer)
    row["seconds"] = time.perf_counter() - start
    row["rss_before_model_mib"] = rss_before
    row["peak_rss_mib"] = _peak_rss_mib()
    return row


def _pretrain(data: _Data, spec: dict, verbose):
    """Fits GMF and MLP-NCF with their own rows' settings; returns a NeuMF factory."""
    from tfdeeprec.models.ncf import build_neumf, load_pretrained_neumf
    parts = {}
    fits = []
    for role in ("gmf", "mlp"):
        part_spec = spec["pretrain"][f"{role}_spec"]
        fitted = _fit_one(data, part_spec, verbose=verbose)
        parts[role] = (fitted.pop("scorer"), part_spec["model"])
        fitted["fit"] = f"pre-training: {spec['pretrain'][role]}"
        fits.append(fitted)
    gmf_model, gmf_kwargs = parts["gmf"]
    mlp_model, mlp_kwargs = parts["mlp"]
    alpha = spec["pretrain"].get("alpha", 0.5)

    def factory(model_kwargs):
        kwargs = {**model_kwargs, "gmf_dim": gmf_kwargs["embedding_dim"],
                  "mlp_dim": mlp_kwargs["embedding_dim"],
                  "hidden_units": mlp_kwargs["hidden_units"]}
        neumf = build_neumf(data.train.num_users, data.train.num_items, task=data.task,
                            **kwargs)
        return load_pretrained_neumf(neumf, gmf_model, mlp_model, alpha=alpha)

    return factory, fits


# --------------------------------------------------------------------------- driver side

def _run_subprocess(folder: str, task: str, name: str, spec: dict, quiet: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "row.json"
        spec_file = Path(tmp) / "spec.json"
        spec_file.write_text(json.dumps(spec))
        cmd = [sys.executable, __file__, "--worker", task, name, "--data", folder,
               "--spec-file", str(spec_file), "--out", str(out)]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE if quiet else None,
                              stderr=subprocess.STDOUT if quiet else None, text=True)
        if proc.returncode != 0:
            tail = (proc.stdout or "")[-3000:]
            raise RuntimeError(f"{task}/{name} failed (exit {proc.returncode})\n{tail}")
        return json.loads(out.read_text())


def _fmt(value, digits=4):
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _epochs_cell(row):
    if not row.get("epochs"):
        return "-"
    if row["settings"].get("refit"):
        first = row["earlier_fits"][0]
        return f"{first['epochs']} ({first['best_epoch']}) + {row['epochs']} refit"
    cell = f"{row['epochs']} ({row['best_epoch']})"
    if "epochs_all_fits" in row:
        cell += f" + {row['epochs_all_fits'] - row['epochs']} pre-training"
    return cell


def _cost_cells(row):
    if not row.get("epochs"):
        return ["-", "-", f"{row['peak_rss_mib']:,.0f}", f"{row['params']:,}"]
    return [f"{row['train_seconds_per_epoch']:.2f}", f"{row['examples_per_second']:,.0f}",
            f"{row['peak_rss_mib']:,.0f}", f"{row['params']:,}"]


def tables(rows: list[dict]) -> str:
    from bench.report import markdown_table
    parts = []
    implicit = [r for r in rows if r["task"] == "implicit"]
    rating = [r for r in rows if r["task"] == "rating"]
    if implicit:
        body = []
        for r in implicit:
            t = r["test"]
            body.append([r["label"], _fmt(t["ndcg@10"]), _fmt(t["recall@10"]), _fmt(t["hit@10"]),
                         _fmt(t["mrr@10"]), _fmt(t["precision@10"]), _epochs_cell(r),
                         *_cost_cells(r)])
        parts.append(
            "**Implicit**, per-user 8:1:1 split, full ranking over all items (train and "
            "validation items excluded), test split:\n\n" + markdown_table(
                ["model", "NDCG@10", "Recall@10", "HR@10", "MRR@10", "Precision@10",
                 "epochs (best)", "train s/epoch", "examples/s", "peak RSS MiB", "params"],
                body)
            + "\n\nThe peers on the same split, run beside `tfdeeprec train`: \"Against the "
              "peers\" (`make bench-peers`).")
    if rating:
        body = []
        for r in rating:
            t = r["test"]
            body.append([r["label"], _fmt(t["rmse"]), _fmt(t["mae"]), _epochs_cell(r),
                         *_cost_cells(r)])
        parts.append(
            "**Ratings**, random 80/20 split; fitted on 72%, early-stopped on an 8% validation "
            "slice of the training 80% (the refit row then retrains from scratch on the whole "
            "80% for the chosen number of epochs), test 20% used once:\n\n" + markdown_table(
                ["model", "RMSE", "MAE", "epochs (best)", "train s/epoch", "examples/s",
                 "peak RSS MiB", "params"], body))
    parts.append(
        "Early stopping restores the best validation epoch (NDCG@10, or RMSE). Train s/epoch "
        "excludes the per-epoch validation; examples = scored (user, item) rows (BCE: "
        "positives + negatives; BPR: triples; ratings). Peak RSS is the row's own "
        "subprocess (TensorFlow + data + model), from `getrusage` maxrss. Settings and "
        "the full protocol: `bench/ml100k_models.py`.")
    return "\n\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="folder with ml-100k.inter")
    parser.add_argument("--task", choices=(*TASKS, "all"), default="all")
    parser.add_argument("--models", default=None,
                        help="comma-separated row names (default: all of the task's rows)")
    parser.add_argument("--override", default=None,
                        help='JSON merged into the settings, e.g. '
                             '\'{"implicit": {"neumf": {"train": {"learning_rate": 0.002}}}}\'')
    parser.add_argument("--no-write", action="store_true",
                        help="print only; do not write bench/results or README.md")
    parser.add_argument("--quiet", action="store_true", help="hide the training logs")
    parser.add_argument("--worker", nargs=2, metavar=("TASK", "MODEL"), help=argparse.SUPPRESS)
    parser.add_argument("--spec-file", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = args.data or subprocess.run(["bash", str(FETCH)], check=True, capture_output=True,
                                         text=True).stdout.strip()

    if args.worker:
        task, name = args.worker
        spec = json.loads(Path(args.spec_file).read_text())
        row = run_worker(folder, task, name, spec)
        Path(args.out).write_text(json.dumps(row, default=_json_default))
        return

    settings = copy.deepcopy(SETTINGS)
    if args.override:
        settings = merge_settings(settings, json.loads(args.override))
    tasks = TASKS if args.task == "all" else (args.task,)
    wanted = None if args.models is None else [m.strip() for m in args.models.split(",")]
    have_wide_deep = "wide_deep" in _available_builders()
    start = time.perf_counter()
    rows, skipped = [], []
    for task in tasks:
        for name, spec in settings[task].items():
            if wanted is not None and name not in wanted:
                continue
            if spec.get("builder") == "wide_deep" and not have_wide_deep:
                # HOOK: tfdeeprec.models.wide_deep.build_wide_deep is missing in this
                # checkout; the row runs as soon as it exists.
                skipped.append(f"{task}/{name}")
                print(f"skipping {task}/{name}: tfdeeprec.models.wide_deep not found",
                      flush=True)
                continue
            if "pretrain" in spec:  # the parts train with their own rows' settings
                for role in ("gmf", "mlp"):
                    spec["pretrain"][f"{role}_spec"] = settings[task][spec["pretrain"][role]]
            print(f"=== {task} / {name}", flush=True)
            row = _run_subprocess(folder, task, name, spec, args.quiet)
            rows.append(row)
            print(json.dumps({k: row[k] for k in ("task", "model", "test", "epochs", "seconds",
                                                  "peak_rss_mib")}, default=_json_default),
                  flush=True)
    seconds = time.perf_counter() - start
    table = tables(rows)
    print(table)
    print(f"total {seconds:.0f} s")
    if args.no_write or args.override or wanted is not None or args.task != "all":
        return
    from bench.report import write_result
    payload = {
        "data": "ml-100k (RecBole atomic files)", "seconds": seconds,
        "load_average_1_5_15min": os.getloadavg(),
        "peak_memory_method": "resource.getrusage(RUSAGE_SELF).ru_maxrss of each row's own "
                              "subprocess (whole process: Python + TensorFlow + data + model)",
        "targets": TARGETS, "skipped": skipped,
        "rows": rows,
    }
    write_result("ml100k_models", payload, table, command=COMMAND)


def _available_builders():
    import importlib.util
    names = ["mf", "gmf", "mlp_ncf", "neumf"]
    if importlib.util.find_spec("tfdeeprec.models.wide_deep") is not None:
        names.append("wide_deep")
    return names


def _json_default(value):
    import numpy as np
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")



if __name__ == "__main__":
    main()
