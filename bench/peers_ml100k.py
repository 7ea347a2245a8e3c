"""Against the peers on ml-100k: ``tfdeeprec train`` beside RecBole 1.2.1, implicit 0.7.3
and scikit-surprise 1.1.5, on one split per protocol, in one run, at the same thread count.

    .venv/bin/python bench/peers_ml100k.py [--data FOLDER] [--threads 1] [--epochs 8]
        [--all | --only NAME[,NAME]] [--no-write | --write] [--list]

Every comparison is one :class:`Row` of :data:`ROWS`: a display name, a protocol (a key of
:data:`PROTOCOLS`), the ``tfdeeprec train`` arguments (``None`` for a model tfdeeprec does
not have yet) and, for each peer that has the model, the peer's model name and config.
Adding a comparison is adding a row.

Protocols. ``ranking``: the per-user 8:1:1 split (seed 0, what ``tfdeeprec train`` makes),
all items ranked, training (and, for test, validation) items excluded, NDCG@10 and
Recall@10. ``rating``: the same split's ratings, RMSE and MAE over every test row.
``sequence``: leave-one-out by time, the next item ranked among all items from the last 50
(``MAX_ITEM_LIST_LENGTH``). ``ctr``: the 8:1:1 split without the rows rated 3, label =
rating >= 4, user and item features, AUC and LogLoss (RecBole's CTR protocol on
MovieLens). Each protocol's split is written once as RecBole atomic files
(``bench/peers/split_files.py``) and read by every side; the benchmark checks that the
training pairs ``tfdeeprec train`` saved are exactly those of the file. Each side runs in
its own process and virtual environment (``bench/peers/setup.sh recbole|implicit|
surprise``); peak memory is each process's own.

Which rows run. By default (``make bench-peers``: about 65 minutes at 1 thread, 38 of them
the eight CTR rows (xDeepFM's CIN alone 17), 13 the EASE, autoencoder and LightGCN rows
(RecBole's LightGCN alone 8), plus the peers' one-time installs) the rows both sides have
plus the cheap peer-only ones (``default=True``). ``--all`` runs every row: at 1 thread
about 2 to 3 hours, an hour and a half of it RecBole's three sequential models (a full
softmax over every training sequence of ml-100k an epoch, 30 minutes each; ``make
bench-peers-sequence`` runs those three rows and their order-blind baselines alone).
``--only NAME[,NAME]`` runs those rows (names as ``--list`` prints them, case-insensitive)
and writes nothing unless ``--write`` is given; then they replace the same rows of the
results, the others kept as measured (each row keeps its date and its run's matmul limit).
A run in which a side fails writes nothing either. Every figure comes from the run: results go to
``bench/results/peers_ml100k.json`` and the README's "Against the peers" section.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import flops  # noqa: E402
from report import ROOT, markdown_table, write_result  # noqa: E402

PEERS_DIR = ROOT / "bench" / "peers"
EPOCHS = 8


@dataclass(frozen=True)
class Protocol:
    """How a kind of row is split, trained and measured.

    ``split_args``: ``split_files.py`` arguments (rows with equal ones share the files).
    ``tfdeeprec_args``: ``tfdeeprec train`` arguments every row of the kind gets (``None``:
    tfdeeprec has no such protocol yet). ``metrics``: (column, result key) pairs of the
    table. ``epochs``: fixed epochs (``None``: ``--epochs``). ``text``: the table's note.
    ``peer_seconds``: RecBole's training time budget (it stops before an epoch that would
    start past it and is tested on its best validation checkpoint); ``None``: no budget.
    """

    split_args: tuple
    tfdeeprec_args: tuple | None
    metrics: tuple
    text: str
    epochs: int | None = None
    peer_seconds: float | None = None


PROTOCOLS = {
    "ranking": Protocol(
        ("--split", "user_ratio"), ("--split", "user_ratio"),
        (("NDCG@10", "ndcg@10"), ("Recall@10", "recall@10")),
        "Ranking: ml-100k, per-user 8:1:1 split (seed 0) written once and read by every "
        "side; full ranking, training (and for test, validation) items excluded; RecBole's "
        "NDCG, Recall, Hit, MRR and Precision @10 on every side. Test metrics come from each "
        "side's best validation epoch (tfdeeprec: the weights its early stopping restores; "
        "RecBole: "
        "`load_best_model`; implicit: the factors of its best validation NDCG@10); a "
        "tfdeeprec epoch's validation is its per-epoch full-ranking NDCG, RecBole's its "
        "`valid_metric` pass, implicit's a full ranking from its fit callback. Closed-form "
        "models (tfdeeprec's item_knn) report no epochs; RecBole counts the one pass of "
        "its Pop, ItemKNN and EASE as an epoch."),
    "rating": Protocol(
        ("--split", "user_ratio"), ("--task", "rating", "--split", "user_ratio"),
        (("RMSE", "rmse"), ("MAE", "mae"), ("RMSE (known rows)", "rmse_known")),
        "Ratings: the same split's ratings; RMSE and MAE over every test row (rows whose "
        "item is unseen in training: tfdeeprec's documented fallback, the user's mean; "
        "Surprise: the global mean plus the biases it has); \"known rows\": both user and "
        "item seen in training. tfdeeprec stops early on validation RMSE (computed inside "
        "its epochs); Surprise runs all its epochs in one call with no validation.",
        epochs=20),
    "sequence": Protocol(
        ("--split", "leave_one_out", "--item-lists", "50"),
        ("--split", "leave_one_out", "--rank-seen", "--learning-rate", "3e-3",
         "--early-stopping-patience", "10", "--reduce-lr-patience", "0"),
        (("NDCG@10", "ndcg@10"), ("Hit@10", "hit@10"), ("MRR@10", "mrr@10")),
        "Sequences: leave-one-out by time (the latest item test, the one before it "
        "validation), the next item ranked among all items from the user's last 50, "
        "history items included (RecBole excludes no history for sequential models; "
        "tfdeeprec's `--rank-seen`). Up to 300 epochs; both stop after 10 without a "
        "better validation NDCG@10, RecBole also when 30 minutes of training have passed "
        "(it starts no epoch after that), each tested with its best validation epoch's "
        "weights. Each model's RecBole defaults on both sides, but tfdeeprec's Adam "
        "learning rate is 3e-3 (RecBole's 1e-3).", epochs=300, peer_seconds=1800),
    "ctr": Protocol(
        ("--split", "random", "--drop-rating", "3", "--features"),
        ("--task", "ctr", "--split", "random", "--drop-ratings", "3"),
        (("AUC", "auc"), ("LogLoss", "logloss")),
        "CTR: ml-100k without the rows rated 3, a random 8:1:1 split (seed 0) of the rest, "
        "label = rating >= 4; the same ten fields on both sides: user and item IDs, user "
        "age, gender, occupation and zip prefix, item year and genres, hour and weekday "
        "(UTC); AUC and LogLoss over the test rows (RecBole's labelled mode), the best "
        "validation AUC's weights on both sides; Adam, learning rate 1e-3, 2048 rows a "
        "batch, embeddings of 10, RecBole's stopping rule (10 epochs without a better "
        "validation AUC) and each model's RecBole defaults on both sides."),
}


@dataclass(frozen=True)
class Peer:
    """A peer's model: its name there and its settings (RecBole: ``config_dict``;
    implicit: model arguments; Surprise: algorithm arguments)."""

    model: str
    config: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    """One comparison. ``tfdeeprec``: ``tfdeeprec train`` arguments after the protocol's
    (``None``: tfdeeprec has no such model yet); ``recbole``/``implicit``/``surprise``: the
    peers that have it. ``epochs``: fixed epochs for every side (default: the
    protocol's, else ``--epochs``). ``default``: in a run without ``--all`` (``None``: when
    tfdeeprec and a peer both have it). ``note``: printed under the table (no figures:
    every number there comes from the run). ``flops``: ``flops(sizes, side) -> (training
    FLOPs per epoch, validation FLOPs per epoch)`` for the FLOP-limit columns
    (:func:`neumf_flops`); ``None``: no FLOP count for the row."""

    name: str
    protocol: str
    tfdeeprec: tuple | None = None
    recbole: Peer | None = None
    implicit: Peer | None = None
    surprise: Peer | None = None
    epochs: int | None = None
    default: bool | None = None
    note: str = ""
    flops: Callable | None = None

    def peers(self) -> dict:
        return {side: peer for side in SIDES if side != "tfdeeprec"
                and (peer := getattr(self, side)) is not None}

    def runs_by_default(self) -> bool:
        if self.default is not None:
            return self.default
        return self.tfdeeprec is not None and bool(self.peers())


# --- FLOPs: each side's speed as a fraction of the machine's matmul limit, measured in the
# same run (bench/flops.py). A row with ``flops`` gets its GFLOP/s and that fraction for
# training and for validation; the others a dash.
FLOP_HEADERS = ["train GFLOP/s (of limit)", "validation GFLOP/s (of limit)"]


def neumf_flops(negatives: dict, embedding_dim=64, hidden_units=(128, 64), gmf_dim=64):
    """NeuMF's FLOPs per epoch on each side: training = (1 + negatives) examples per
    positive, forward and backward; validation = every (user, item) pair of the
    validation users, tfdeeprec's first MLP layer once per user and item (its ranker),
    the peer's once per pair (as the peer computes it)."""
    def count(sizes, side):
        examples = sizes["train_positives"] * (1 + negatives[side])
        train = flops.neumf_epoch_flops(examples, embedding_dim, hidden_units, gmf_dim)
        valid = flops.neumf_ranking_flops(sizes["valid_users"], sizes["items"],
                                          embedding_dim, hidden_units, gmf_dim,
                                          split_first_layer=side == "tfdeeprec")
        return train, valid
    return count


def autoencoder_flops(sizes, side, hidden=600):
    """Mult-DAE's and Mult-VAE's FLOPs per epoch, the same on both sides: every training
    user's row through ``items -> hidden`` and ``hidden -> items`` (the layers that hold
    nearly all the work), forward and backward (the first layer's gradient is its
    kernel's alone) for training, forward for each validation user."""
    users, items = sizes["train_users"], sizes["items"]
    layer = 2 * users * items * hidden
    return 5 * layer, 2 * layer * sizes["valid_users"] / users


def ctr_flops(sizes, side):
    """A CTR model's FLOPs per epoch, the same on both sides (RecBole's model has the
    same layers): its forward matmul FLOPs per example, counted on tfdeeprec's trained
    model (``bench/flops.py --model``), times 3 for each training row (forward and
    backward) and once for each validation row."""
    per_example = sizes["forward_flops_per_example"]
    return 3 * per_example * sizes["train_rows"], per_example * sizes["valid_rows"]


def model_flops(run_dir: Path) -> float:
    """``bench/flops.py --model`` on a tfdeeprec run (a process of its own)."""
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "python"),
                          str(ROOT / "bench" / "flops.py"), "--model", str(run_dir / "model")],
                         capture_output=True, text=True, check=True,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    return json.loads(out.stdout.strip().splitlines()[-1])["forward_flops_per_example"]


def add_flops(result: dict, row: Row, side: str, sizes: dict, limit: dict) -> None:
    """Puts the side's GFLOP/s and fractions of the limit into its result (a row with
    ``flops``; ``sizes``: :func:`split_sizes` of its split)."""
    train, valid = row.flops(sizes, side)
    out = {"train_gflop_per_epoch": train / 1e9, "valid_gflop_per_epoch": valid / 1e9}
    for kind, work in (("train", train), ("valid", valid)):
        seconds = result.get(f"median_{kind}_epoch_seconds")
        if seconds:
            rate = work / seconds / 1e9
            out[f"{kind}_gflops"] = rate
            out[f"{kind}_fraction_of_limit"] = rate / limit["gflops_float32"]
    result["flops"] = out


def flop_cells(row: Row, side: str, result: dict) -> list[str]:
    f = result.get("flops", {})
    return [f"{f[f'{kind}_gflops']:.1f} ({100 * f[f'{kind}_fraction_of_limit']:.0f}%)"
            if f"{kind}_gflops" in f else "-" for kind in ("train", "valid")]


def split_sizes(split: Path) -> dict:
    """Training positives (rows, for CTR), validation rows and users, and items (with the
    padding index 0 that both sides score) of a split folder."""
    def rows(part):
        lines = (split / f"{split.name}.{part}.inter").read_text().splitlines()[1:]
        return [line.split("\t") for line in lines]
    train, valid = rows("train"), rows("valid")
    return {"train_positives": len(train), "train_rows": len(train),
            "train_users": len({r[0] for r in train}),
            "valid_rows": len(valid), "valid_users": len({r[0] for r in valid}),
            "items": len({r[1] for r in train}) + 1}


def measure_flop_limit(threads: int) -> dict:
    """bench/flops.py in a process of its own (this one loads no TensorFlow)."""
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "python"),
                          str(ROOT / "bench" / "flops.py"), "--threads", str(threads)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])
# --- end FLOPs


NO_SAMPLING = {"train_neg_sample_args": None}  # RecBole's non-sampling general models
CTR_SETTINGS = ("--batch-size", "2048", "--optimizer", "adam",
                "--config", str(PEERS_DIR / "recbole_stopping.yaml"))
CTR_EPOCHS = 30
GRAPH_EPOCHS = 300
AUTOENCODER_SETTINGS = ("--batch-size", "1024", "--learning-rate", "3e-3",
                        "--early-stopping-patience", "10", "--reduce-lr-patience", "0")
AUTOENCODER_EPOCHS = 300
AUTOENCODER_NOTE = ("each model's RecBole defaults on both sides (one hidden layer of 600, a "
                    "code of 64 (Mult-DAE's a linear layer, as RecBole's), input dropout "
                    "0.5; Mult-VAE's KL weight annealed over "
                    "200,000 steps, capped at 0.2), every training user's row in one batch "
                    "(RecBole's `train_batch_size` of 2048 holds all 943) and RecBole's "
                    "stopping rule (10 epochs without a better validation NDCG@10); "
                    "tfdeeprec's Adam learning rate is 3e-3 (RecBole's 1e-3).")

ROWS = [
    # ranking: both sides
    Row("NeuMF", "ranking",
        tfdeeprec=("--model", "neumf", "--num-negatives", "1", "--batch-size", "1024",
                   "--optimizer", "adam", "--model-arg", "dropout_rate=0.1",
                   "--config", str(PEERS_DIR / "recbole_stopping.yaml")),
        recbole=Peer("NeuMF", {
            "train_neg_sample_args": {"distribution": "uniform", "sample_num": 1},
            "train_batch_size": 2048, "learning_rate": 0.001, "dropout_prob": 0.1,
            "mf_embedding_size": 64, "mlp_embedding_size": 64,
            "mlp_hidden_size": [128, 64]}),
        flops=neumf_flops({"tfdeeprec": 1, "recbole": 1}), epochs=30,
        note="the same settings on both sides (RecBole's defaults): Adam, learning rate "
             "1e-3, one uniform negative per positive, batches of 1024 positives and "
             "their negatives (RecBole's `train_batch_size` counts both), dropout 0.1 on "
             "the input of each MLP layer, and RecBole's stopping rule (10 epochs without "
             "a better validation NDCG@10, no learning-rate schedule; "
             "`bench/peers/recbole_stopping.yaml`)."),
    Row("NeuMF (defaults)", "ranking",
        tfdeeprec=("--model", "neumf"), recbole=Peer("NeuMF"),
        flops=neumf_flops({"tfdeeprec": 4, "recbole": 1}), epochs=30,
        note="each side as a user gets it with no settings: tfdeeprec's defaults "
             "(SparseAdam, 4 negatives per positive, 1024 positives per batch, no "
             "dropout, early stopping after 3 epochs without progress, the learning rate "
             "halved after 2) against RecBole's (Adam, 1 negative, 2048 examples per "
             "batch, dropout 0.1, stopping after 10); both capped at the same epochs. The "
             "epochs differ in size, so compare quality, not seconds."),
    Row("BPR-MF", "ranking",
        tfdeeprec=("--model", "mf", "--loss", "bpr", "--batch-size", "1024",
                   "--optimizer", "adam"),
        recbole=Peer("BPR", {
            "train_neg_sample_args": {"distribution": "uniform", "sample_num": 1},
            "train_batch_size": 1024, "learning_rate": 0.001, "embedding_size": 64}),
        implicit=Peer("BayesianPersonalizedRanking", {"factors": 64})),
    Row("ItemKNN", "ranking",
        tfdeeprec=("--model", "item_knn", "--model-arg", "neighbours=100",
                   "--model-arg", "shrink=0.0"),
        recbole=Peer("ItemKNN", {"k": 100, "shrink": 0.0})),
    Row("Pop", "ranking",
        tfdeeprec=("--model", "pop", "--batch-size", "1024"),
        recbole=Peer("Pop"),
        note="RecBole's Pop (its defaults) adds 1 to an item's count once per training "
             "batch the item is in (`item_cnt[item] = item_cnt[item] + 1` with repeated "
             "indices), and its batches hold the sampled negatives too, so its scores are "
             "not the training counts; tfdeeprec's pop starts from the training "
             "frequencies' log-odds and trains them with BCE."),
    Row("EASE", "ranking", tfdeeprec=("--model", "ease", "--model-arg", "l2=250.0"),
        recbole=Peer("EASE", {"reg_weight": 250.0})),
    # autoencoders of the user's row: RecBole's defaults on both sides but tfdeeprec's
    # learning rate
    *(Row(name, "ranking", tfdeeprec=("--model", ours, *AUTOENCODER_SETTINGS),
          recbole=Peer(name, NO_SAMPLING), epochs=AUTOENCODER_EPOCHS, flops=autoencoder_flops,
          note=AUTOENCODER_NOTE) for name, ours in (("MultiVAE", "mult_vae"),
                                                    ("MultiDAE", "mult_dae"))),
    Row("CDAE", "ranking",
        tfdeeprec=("--model", "cdae", *AUTOENCODER_SETTINGS[:2], "--learning-rate", "1e-2",
                   *AUTOENCODER_SETTINGS[4:]),
        recbole=Peer("CDAE", NO_SAMPLING), epochs=AUTOENCODER_EPOCHS,
        note="RecBole's defaults on both sides (64 hidden units, ReLU, corruption 0.5, BCE "
             "over every item), every training user's row in one batch and RecBole's "
             "stopping rule; tfdeeprec's Adam learning rate is 1e-2 (RecBole's 1e-3) and "
             "its weight penalty 1e-4 on the squared weights (RecBole's 0.01 on their "
             "norms)."),
    Row("ALS", "ranking",
        tfdeeprec=("--model", "als", "--model-arg", "embedding_dim=64", "--model-arg",
                   "l2=50.0", "--model-arg", "alpha=4.0", "--model-arg", "iterations=15"),
        implicit=Peer("AlternatingLeastSquares", {"factors": 64, "regularization": 50.0,
                                                  "alpha": 5.0}), epochs=15,
        note="the same model on both sides: 64 factors, weight penalty 50, confidence 5 "
             "for a training pair (tfdeeprec's alpha 4 in c = 1 + alpha r; implicit's "
             "alpha is c itself), 15 iterations of three conjugate-gradient steps per "
             "system; implicit's test factors are those of its best validation "
             "iteration, tfdeeprec's those of the 15th."),
    Row("PureSVD", "ranking", tfdeeprec=("--model", "pure_svd"), default=True,
        note="tfdeeprec alone (no peer has it): its defaults, 24 dimensions."),
    Row("LightGCN", "ranking",
        tfdeeprec=("--model", "lightgcn", "--model-arg", "num_layers=3", "--batch-size", "2048",
                   "--optimizer", "adam", "--learning-rate", "3e-3",
                   "--early-stopping-patience", "50", "--reduce-lr-patience", "0"),
        recbole=Peer("LightGCN", {
            "n_layers": 3, "train_batch_size": 2048, "stopping_step": 50,
            "train_neg_sample_args": {"distribution": "uniform", "sample_num": 1}}),
        epochs=GRAPH_EPOCHS,
        note="RecBole's defaults on both sides (64 dimensions, BPR with one uniform "
             "negative per positive, 2048 triples a batch, weight penalty 1e-5) but three "
             "propagation layers on both (tfdeeprec's validation NDCG@10 was better with "
             "three than two); up to 300 epochs, both stopping after 50 without a better "
             "validation NDCG@10; tfdeeprec's Adam learning rate is 3e-3 (RecBole's 1e-3; "
             "of 3e-3, 5e-3 and 1e-2, the best validation NDCG@10). "
             "tfdeeprec multiplies by ml-100k's normalised user-item matrix (5% nonzero) "
             "in TensorFlow's CSR form."),
    Row("NGCF", "ranking",
        tfdeeprec=("--model", "ngcf", "--batch-size", "2048", "--optimizer", "adam",
                   "--learning-rate", "1e-3", "--early-stopping-patience", "50",
                   "--reduce-lr-patience", "0"),
        recbole=Peer("NGCF", {
            "train_batch_size": 2048, "stopping_step": 50,
            "train_neg_sample_args": {"distribution": "uniform", "sample_num": 1}}),
        epochs=GRAPH_EPOCHS,
        note="the same settings on both sides (RecBole's defaults: 64 dimensions, three "
             "NGCF layers of 64, message dropout 0.1, BPR with one uniform negative per "
             "positive, 2048 triples a batch, Adam at 1e-3, weight penalty 1e-5), up to "
             "300 epochs, both stopping after 50 without a better validation NDCG@10; but "
             "the penalty falls on the triple's layer-0 vectors' squared norms in tfdeeprec "
             "(as its LightGCN's), on the norms (not squared) of the triple's final, "
             "concatenated vectors in RecBole's NGCF."),
    # ratings
    Row("biased MF / SVD", "rating",
        tfdeeprec=("--model", "mf", "--batch-size", "256", "--optimizer", "adam",
                   "--learning-rate", "0.003", "--model-arg", "l2=0.0001"),
        surprise=Peer("SVD", {"n_factors": 64})),
    Row("SVD++", "rating", surprise=Peer("SVDpp", {"n_factors": 64, "cache_ratings": True}),
        default=True),
    Row("I-AutoRec", "rating",
        tfdeeprec=("--model", "autorec", "--batch-size", "1024", "--optimizer", "adam",
                   "--learning-rate", "0.003", "--model-arg", "l2=0.001"),
        epochs=60, default=True,
        note="tfdeeprec alone (no peer has it; compare it with the biased MF, SVD and SVD++ "
             "rows of the same run): each item's training ratings encoded by 500 sigmoid "
             "units (the paper's), trained pair by pair with MSE (the paper's error on the "
             "observed entries), Adam at 3e-3, 1024 ratings a batch, weight penalty 1e-3 "
             "on the squared weights per batch, up to 60 epochs with tfdeeprec's early "
             "stopping on validation RMSE; the best validation RMSE of the penalties, "
             "batch sizes and learning rates tried."),
    # sequences: peers only
    # sequences: RecBole trains each for up to 30 minutes, so not by default
    # (`make bench-peers-sequence`)
    *(Row(name, "sequence", tfdeeprec=("--model", name.lower()), recbole=Peer(name),
          default=False) for name in ("GRU4Rec", "SASRec")),
    Row("BERT4Rec", "sequence",
        tfdeeprec=("--model", "bert4rec", "--window-stride", "25", "--learning-rate", "1e-3"),
        recbole=Peer("BERT4Rec"), default=False,
        note="tfdeeprec's BERT4Rec trains on windows cut every 25 items (each item masked "
             "in two windows an epoch, with independent masks) at learning rate 1e-3, "
             "the best validation NDCG@10 of three settings tried (windows every 50 "
             "items at 1e-3 and at 3e-3 were the others)."),
    # sequences: order-blind baselines, tfdeeprec alone (popularity, and the best ranking
    # models of the ranking protocol above), on the same split and protocol
    Row("Pop (next item)", "sequence", tfdeeprec=("--model", "pop"), default=False,
        note="order-blind baselines on the sequence protocol (tfdeeprec only): they rank "
             "the user's own items too, as every row of this protocol does."),
    Row("ItemKNN (next item)", "sequence",
        tfdeeprec=("--model", "item_knn", "--model-arg", "neighbours=100",
                   "--model-arg", "shrink=0.0"), default=False),
    Row("NeuMF (next item)", "sequence",
        tfdeeprec=("--model", "neumf", "--learning-rate", "1e-3",
                   "--early-stopping-patience", "3", "--reduce-lr-patience", "2"),
        epochs=30, default=False),
    # CTR: both sides, each model's RecBole defaults (tfdeeprec's builders default to them)
    # (LR's and FM's work is no matmul: no FLOP columns.)
    *(Row(name, "ctr", tfdeeprec=("--model", ours, *CTR_SETTINGS), recbole=Peer(name),
          epochs=CTR_EPOCHS, flops=None if ours in ("lr", "fm") else ctr_flops)
      for name, ours in (("LR", "lr"), ("FM", "fm"), ("DeepFM", "deepfm"),
                         ("xDeepFM", "xdeepfm"), ("DCN", "dcn"), ("DCNV2", "dcn_v2"),
                         ("WideDeep", "wide_deep"), ("AutoInt", "autoint"))),
]

# Each side: the runner script in bench/peers/ (None: `tfdeeprec train`) and how its label
# reads its version from the result.
SIDES = {
    "tfdeeprec": (None, lambda r: "tfdeeprec"),
    "recbole": ("recbole_run.py", lambda r: f"RecBole {r['versions']['recbole']}"),
    "implicit": ("implicit_run.py", lambda r: f"implicit {r['versions']['implicit']}"),
    "surprise": ("surprise_run.py", lambda r: f"Surprise {r['versions']['surprise']}"),
}




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="ml-100k RecBole folder (default: "
                        "$TFDEEPREC_ML100K, else ../shared/data/fetch_ml100k.sh)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=EPOCHS,
                        help=f"epochs of rows without fixed ones (default {EPOCHS})")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="every row (hours)")
    which.add_argument("--only", default=None, metavar="NAME[,NAME]",
                       help="these rows only; with --write they replace those rows")
    writing = parser.add_mutually_exclusive_group()
    writing.add_argument("--no-write", action="store_true")
    writing.add_argument("--write", action="store_true", help="write even with --only")
    parser.add_argument("--list", action="store_true", help="list the rows and exit")
    args = parser.parse_args()
    check_rows()
    if args.list:
        for row in ROWS:
            sides = ["tfdeeprec"] * (row.tfdeeprec is not None) + list(row.peers())
            when = "default" if row.runs_by_default() else "--all"
            print(f"{row.name:18} {row.protocol:9} {when:8} " + ", ".join(sides))
        return
    rows = select_rows(args)
    write = args.write or not (args.no_write or args.only)
    data = args.data or os.environ.get("TFDEEPREC_ML100K") or fetch_ml100k()
    pythons = {side: setup_peer(side) for side in SIDES if side != "tfdeeprec"
               and any(getattr(row, side) is not None for row in rows)}
    work = Path(tempfile.mkdtemp(prefix="peers-"))
    began, started = time.perf_counter(), now()
    limit = measure_flop_limit(args.threads)
    print(f"matmul limit at {args.threads} thread(s): {limit['gflops_float32']} GFLOP/s "
          f"float32, {limit['gflops_bfloat16']} bfloat16", flush=True)
    splits = {}
    results, failed = [], []
    for row in rows:
        protocol = PROTOCOLS[row.protocol]
        if protocol.split_args not in splits:
            splits[protocol.split_args] = write_split(data, work, protocol.split_args,
                                                      len(splits))
        split = splits[protocol.split_args]
        epochs = row.epochs or protocol.epochs or args.epochs
        sides = {}
        if row.tfdeeprec is not None:
            sides["tfdeeprec"] = guarded(failed, row, "tfdeeprec", run_tfdeeprec, row,
                                         protocol, data, work, args.threads, epochs, split)
        for side, peer in row.peers().items():
            sides[side] = guarded(failed, row, side, run_peer, side, pythons[side], work,
                                  row, peer, split, args.threads, epochs)
        sizes = split_sizes(split) if row.flops else None
        if sizes and row.protocol == "ctr":
            if "error" in sides.get("tfdeeprec", {"error": "not run"}):
                sizes = None
            else:
                sizes["forward_flops_per_example"] = sides["tfdeeprec"][
                    "forward_flops_per_example"]
        for side, s in sides.items():
            if "error" in s:
                continue
            # The table's medians, kept in the JSON beside the lists.
            s.update({f"median_{kind}_epoch_seconds": statistics.median(values)
                      if (values := s[f"{kind}_epoch_seconds"]) else None
                      for kind in ("train", "valid")})
            if sizes:
                add_flops(s, row, side, sizes, limit)
        results.append({"name": row.name, "protocol": row.protocol, "epochs": epochs,
                        "sides": sides, "measured": {"date": started, "flop_limit": limit}})
        print(f"{row.name}: " + "; ".join(
            f"{label(side, s)} " + (", ".join(f"{col} {s['test'][key]:.4f}" for col, key
                                              in protocol.metrics)
                                    if "error" not in s else "FAILED")
            for side, s in sides.items()), flush=True)
    seconds = time.perf_counter() - began
    command = " ".join([".venv/bin/python bench/peers_ml100k.py"]
                       + ["--all"] * args.all + [f"--only {args.only}"] * bool(args.only)
                       + [f"--threads {args.threads}"] * (args.threads != 1)
                       + [f"--epochs {args.epochs}"] * (args.epochs != EPOCHS))
    if args.only and write:
        results = merged(results, command, args.threads, args.epochs)
    table = tables(results, args.threads, limit)
    print(table)
    print(f"\n{len(rows)} rows in {seconds:.0f} s")
    if failed:  # a table with failed sides never replaces the README's
        (work / "results.json").write_text(json.dumps(results, indent=2))
        raise SystemExit(f"failed: {', '.join(failed)}; nothing written (logs in "
                         f"{work / 'logs'}, results in {work / 'results.json'})")
    if write:
        write_result("peers_ml100k", {"threads": args.threads, "epochs": args.epochs,
                                      "seconds": seconds, "flop_limit": limit,
                                      "rows": results}, table, command)


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())


def merged(results: list, command: str, threads: int, epochs: int) -> list:
    """``--only ... --write``: this run's rows in place of the same rows of
    ``bench/results/peers_ml100k.json``, the others kept as they were measured (each
    row keeps its date and its run's limit), in :data:`ROWS` order."""
    path = ROOT / "bench" / "results" / "peers_ml100k.json"
    if not path.exists():
        return results
    before = json.loads(path.read_text())
    if (before.get("threads"), before.get("epochs")) != (threads, epochs):
        raise SystemExit(f"{path.name} was measured at {before.get('threads')} thread(s) "
                         f"and {before.get('epochs')} epochs: rerun every row to change them")
    stamp = {"date": before["machine"]["date"], "flop_limit": before["flop_limit"]}
    by_name = {r["name"]: {"measured": stamp, **r} for r in before["rows"]}
    by_name.update({r["name"]: r for r in results})
    order = [row.name for row in ROWS]
    return sorted(by_name.values(), key=lambda r: order.index(r["name"]))


def check_rows() -> None:
    """Every row names a protocol, a side that can run it, and a name of its own."""
    names = [row.name.lower() for row in ROWS]
    if len(set(names)) != len(names) or any("," in name for name in names):
        raise SystemExit("row names must be distinct and have no comma")
    for row in ROWS:
        if row.protocol not in PROTOCOLS:
            raise SystemExit(f"{row.name}: no protocol {row.protocol!r}")
        if row.tfdeeprec is not None and PROTOCOLS[row.protocol].tfdeeprec_args is None:
            raise SystemExit(f"{row.name}: tfdeeprec has no {row.protocol!r} protocol yet")
        if row.tfdeeprec is None and not row.peers():
            raise SystemExit(f"{row.name}: no side runs it")


def select_rows(args) -> list[Row]:
    if args.all:
        return list(ROWS)
    if args.only:
        by_name = {row.name.lower(): row for row in ROWS}
        wanted = [name.strip().lower() for name in args.only.split(",") if name.strip()]
        unknown = [name for name in wanted if name not in by_name]
        if unknown:
            raise SystemExit(f"no row named {', '.join(unknown)}; rows: "
                             f"{', '.join(row.name for row in ROWS)}")
        return [by_name[name] for name in wanted]
    return [row for row in ROWS if row.runs_by_default()]


def fetch_ml100k() -> str:
    script = ROOT.parent / "shared" / "data" / "fetch_ml100k.sh"
    if not script.exists():
        raise SystemExit(f"no ml-100k: pass --data FOLDER or set TFDEEPREC_ML100K ({script} "
                         "is not there)")
    return subprocess.run(["bash", str(script)], capture_output=True, text=True,
                          check=True).stdout.strip()


def setup_peer(side: str) -> str:
    """The peer's Python, its venv made by ``bench/peers/setup.sh`` the first time."""
    return subprocess.run(["bash", str(PEERS_DIR / "setup.sh"), side], capture_output=True,
                          text=True, check=True).stdout.strip()


def write_split(data, work: Path, split_args: tuple, number: int) -> Path:
    """The protocol's split files (in a process of its own: this one stays small, no
    TensorFlow, so each side's process, started from here, has its own peak memory)."""
    out = work / f"data{number}"
    return Path(subprocess.run(
        [sys.executable, str(PEERS_DIR / "split_files.py"), data, str(out),
         "--name", "ml100k", *split_args], capture_output=True, text=True,
        check=True).stdout.strip().splitlines()[-1])


def guarded(failed: list, row: Row, side: str, run, *args) -> dict:
    """``run(*args)``, or ``{"error": ...}`` when the side failed (the others still run)."""
    try:
        return run(*args)
    except (subprocess.CalledProcessError, SameSplitError, OSError, KeyError,
            ValueError) as error:
        failed.append(f"{row.name} ({side})")
        return {"error": f"{type(error).__name__}: {error}"}


def label(side: str, result: dict) -> str:
    return side if "error" in result else SIDES[side][1](result)


def log_file(work: Path, row: Row, side: str) -> Path:
    (work / "logs").mkdir(exist_ok=True)
    return work / "logs" / f"{row.name.replace('/', '_').replace(' ', '_')}.{side}.log"


def run_tfdeeprec(row: Row, protocol: Protocol, data, work: Path, threads: int, epochs: int,
                  split: Path) -> dict:
    """``tfdeeprec train`` as a user runs it; its run folder's metrics.json."""
    out = work / "runs" / row.name.replace("/", "_")
    arguments = [*protocol.tfdeeprec_args, *row.tfdeeprec]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    began = time.perf_counter()
    with open(log_file(work, row, "tfdeeprec"), "w") as log:
        subprocess.run([str(ROOT / ".venv" / "bin" / "tfdeeprec"), "train", *arguments,
                        "--data", data, "--epochs", str(epochs), "--threads", str(threads),
                        "--out", str(out)], check=True, env=env, stdout=log,
                       stderr=subprocess.STDOUT)
    process_seconds = time.perf_counter() - began
    check_same_training_pairs(out, split)
    summary = json.loads((out / "metrics.json").read_text())
    epoch_seconds = summary["epoch_seconds"]
    valid = summary["validation_seconds"]
    result = {"test": summary["metrics"]["test"], "valid": summary["metrics"]["valid"],
              "epochs": summary["epochs"],
              "train_epoch_seconds": [e - v for e, v in zip(epoch_seconds, valid)]
              if valid else list(epoch_seconds),
              "valid_epoch_seconds": valid, "total_seconds": summary["seconds"],
              "process_seconds": process_seconds,  # the whole `tfdeeprec train`
              "peak_rss_mib": summary["peak_rss_mib"], "threads": threads,
              "versions": {"tfdeeprec": summary.get("tfdeeprec_version"),
                           "tensorflow": summary.get("tensorflow_version")},
              "command": ["tfdeeprec", "train", *arguments, "--epochs", str(epochs)]}
    if row.flops is not None and row.protocol == "ctr":
        result["forward_flops_per_example"] = model_flops(out)
    if epoch_seconds and not valid:
        result["valid_in_train"] = True  # rating runs: Keras' validation RMSE, in the epoch
    return result


def run_peer(side: str, python: str, work: Path, row: Row, peer: Peer, split: Path,
             threads: int, epochs: int) -> dict:
    """The side's ``bench/peers/`` runner with the peer's own Python; its result JSON."""
    request = {"model": peer.model, "protocol": row.protocol, "data_path": str(split.parent),
               "dataset": split.name, "threads": threads, "epochs": epochs, "seed": 0,
               "config": peer.config}
    if side == "recbole":
        request.update(seed=2020, checkpoint_dir=str(work / "saved"),
                       config={"stopping_step": 10, **peer.config, "epochs": epochs})
        if PROTOCOLS[row.protocol].peer_seconds:
            request["time_limit_seconds"] = PROTOCOLS[row.protocol].peer_seconds
    stem = work / "requests" / f"{row.name.replace('/', '_').replace(' ', '_')}.{side}"
    stem.parent.mkdir(exist_ok=True)
    stem.with_suffix(".request.json").write_text(json.dumps(request))
    began = time.perf_counter()
    with open(log_file(work, row, side), "w") as log:
        subprocess.run([python, str(PEERS_DIR / SIDES[side][0]),
                        str(stem.with_suffix(".request.json")),
                        str(stem.with_suffix(".result.json"))], check=True, cwd=work,
                       stdout=log, stderr=subprocess.STDOUT)
    return {**json.loads(stem.with_suffix(".result.json").read_text()),
            "process_seconds": time.perf_counter() - began}


class SameSplitError(Exception):
    pass


def check_same_training_pairs(run_dir: Path, split: Path) -> None:
    """The (user, item) training pairs tfdeeprec saved equal the split file's (for item-list
    files: the targets plus each user's first item, the one-item list)."""
    import numpy as np

    users = json.loads((run_dir / "user_vocab.json").read_text())["tokens"]
    items = json.loads((run_dir / "item_vocab.json").read_text())["tokens"]
    with np.load(run_dir / "train.npz") as arrays:
        ours = sorted(((["[OOV]"] + users)[u], (["[OOV]"] + items)[i])
                      for u, i in zip(arrays["user"], arrays["item"]))
    lines = (split / f"{split.name}.train.inter").read_text().splitlines()
    theirs = [tuple(line.split("\t")[:2]) for line in lines[1:]]
    if lines[0].endswith("item_id_list:token_seq"):
        theirs += [(fields[0], fields[4]) for fields in (line.split("\t") for line in lines[1:])
                   if " " not in fields[4]]
    if ours != sorted(theirs):
        raise SameSplitError(f"the split files and `tfdeeprec train` disagree on the "
                             f"training pairs ({len(ours)} vs {len(theirs)})")


def tables(results: list, threads: int, limit: dict) -> str:
    """One table per protocol run, each side of each row a line, then the protocol's note."""
    out = []
    for name, protocol in PROTOCOLS.items():
        rows = [r for r in results if r["protocol"] == name]
        if not rows:
            continue
        header = ["model", "side", *(col for col, _ in protocol.metrics), "epochs",
                  "train s/epoch", "validation s/epoch", "total s", "peak RSS MiB",
                  *FLOP_HEADERS]
        lines = []
        for r in rows:
            row = next(row for row in ROWS if row.name == r["name"])
            for side, s in r["sides"].items():
                if "error" in s:
                    lines.append([r["name"], side, "failed"] + [""] * (len(header) - 3))
                    continue
                lines.append([r["name"], label(side, s),
                              *(f"{s['test'][key]:.4f}" for _, key in protocol.metrics),
                              s["epochs"],
                              fmt_seconds(s["median_train_epoch_seconds"], "closed form"),
                              fmt_seconds(s["median_valid_epoch_seconds"],
                                          "in train" if s.get("valid_in_train") else "none"),
                              f"{s['total_seconds']:.1f}", f"{s['peak_rss_mib']:.0f}",
                              *flop_cells(row, side, s)])
        fixed = sorted({r["epochs"] for r in rows})
        note = (f" At most {'/'.join(map(str, fixed))} epochs, {threads} thread(s), one "
                "process per side; medians over epochs.")
        short = [r["name"] for r in rows if r["epochs"] < 20 and any(
            s.get("epochs", 0) > 1 for s in r["sides"].values())]
        if name != "rating" and short:
            note += (f" {', '.join(short)}: so few epochs leave the trained models far from "
                     "converged, so those rows compare speed and early quality, not final "
                     "quality.")
        for r in rows:
            row = next(row for row in ROWS if row.name == r["name"])
            note += f" {row.name}: {row.note}" if row.note else ""
        if protocol.peer_seconds:
            note += time_ratios(rows, protocol)
        out.append(markdown_table(header, lines) + "\n\n" + protocol.text + note)
    runs = {}
    for r in results:
        stamp = r.get("measured", {"date": "this run", "flop_limit": limit})
        runs.setdefault((stamp["date"], json.dumps(stamp["flop_limit"])), []).append(r["name"])
    measured = "; ".join(
        f"{json.loads(key)['gflops_float32']} GFLOP/s (bfloat16: "
        f"{json.loads(key)['gflops_bfloat16']}) in the run of {date}"
        + (f" on {json.loads(key)['cpu_model']}" if json.loads(key).get("cpu_model") else "")
        + (f" ({', '.join(names)})" if len(runs) > 1 else "")
        for (date, key), names in runs.items())
    out.append(
        "GFLOP/s: the model's matmul FLOPs of an epoch (`bench/flops.py`) over its median "
        "seconds. NeuMF: forward and backward for training, every validation (user, item) "
        "pair for validation, as each side computes it. CTR: the model's forward matmul "
        "FLOPs per row, counted on tfdeeprec's trained model, 3 times over for a training "
        "row and once for a validation row, on both sides (RecBole's models have the same "
        "layers, so its figure is tfdeeprec's count over RecBole's seconds; LR's and FM's "
        "work is no matmul). Mult-DAE and Mult-VAE: every training user's row through their "
        "items x 600 and 600 x items layers, forward and backward (5 such matmuls) for "
        "training, forward for each validation user, the same count on both sides. The "
        f"limit is the best float32 2048 x 2048 matmul through TensorFlow at {threads} "
        f"thread(s), measured in the run of each row: {measured} (CPU flags of the "
        f"latest run: {', '.join(limit['cpu_flags']) or 'none read'}).")
    return "\n\n".join(out)


def time_ratios(rows: list, protocol: Protocol) -> str:
    """For rows measured on both sides: tfdeeprec's first metric beside RecBole's, and its
    total time and median training epoch as fractions of RecBole's (whole processes, where
    the run recorded them, else each side's own total)."""
    parts = []
    col, key = protocol.metrics[0]
    for r in rows:
        ours, theirs = r["sides"].get("tfdeeprec"), r["sides"].get("recbole")
        if not ours or not theirs or "error" in ours or "error" in theirs:
            continue
        whole = "process_seconds" in ours and "process_seconds" in theirs
        total = "process_seconds" if whole else "total_seconds"
        epoch = "median_train_epoch_seconds"
        counted = ("whole processes" if whole else
                   "tfdeeprec's fit against RecBole's preparation, fit and test")
        parts.append(f"{r['name']}: {col} {ours['test'][key]:.4f} against "
                     f"{theirs['test'][key]:.4f}; total time "
                     f"1/{theirs[total] / ours[total]:.1f} of RecBole's ({counted}), "
                     f"training epoch 1/{theirs[epoch] / ours[epoch]:.1f}")
    return (" tfdeeprec against RecBole: " + "; ".join(parts) + ".") if parts else ""


def fmt_seconds(value, empty: str) -> str:
    return empty if value is None else f"{value:.2f}"


if __name__ == "__main__":
    main()
