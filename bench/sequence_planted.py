"""Sequence models on planted Markov walks: do they use order?

Usage: .venv/bin/python bench/sequence_planted.py [--users 1000] [--items 300] [--length 30]

Users walk a random Markov chain over the items (``make_markov_sequences``: each item
has 2 successors, 10% random jumps, no item twice); leave-one-out by time. The oracle
ranks the items by the chain's own transition probabilities from the latest item; every
model's test HR@10 and NDCG@10 (full ranking, the user's items left out) are set
against it. Popularity and MF ignore order; the Markov chain counts transitions; GRU4Rec,
SASRec and BERT4Rec learn them. Each model is trained through ``run_experiment`` as
``tfdeeprec train`` runs it (up to 200 epochs, early stopping on validation NDCG@10 with
patience 20, no learning-rate cuts, learning rate 0.005; MF and popularity 30 epochs).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


import tfdeeprec  # noqa: E402,F401
from bench.report import markdown_table, write_result  # noqa: E402
from tfdeeprec.data.synthetic_sequences import make_markov_sequences  # noqa: E402
from tfdeeprec.training import TrainingConfig  # noqa: E402
from tfdeeprec.training.experiment import (ExperimentConfig, prepare_data,  # noqa: E402
                                           run_experiment)

SEQUENCE = {"epochs": 200, "early_stopping_patience": 20, "reduce_lr_patience": 0,
            "learning_rate": 0.005, "verbose": 0}
MODELS = {  # name: (model_kwargs, training)
    "pop": ({}, {"epochs": 30, "verbose": 0}),
    "mf": ({}, {"epochs": 30, "verbose": 0}),
    "markov": ({}, {"verbose": 0}),
    "gru4rec": ({"max_length": 30}, SEQUENCE),
    "sasrec": ({"max_length": 30, "dropout_rate": 0.2, "attention_dropout": 0.2}, SEQUENCE),
    "bert4rec": ({"max_length": 30}, SEQUENCE),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--length", type=int, default=30)
    args = parser.parse_args()
    walks = make_markov_sequences(num_users=args.users, num_items=args.items,
                                  length=args.length, seed=0)
    data = prepare_data(ExperimentConfig(model="markov", split="leave_one_out"), walks.frame)
    best = walks.oracle_metrics(data)
    rows, results = [["oracle (the planted chain)", f"{best['hit@10']:.3f}", "100%",
                      f"{best['ndcg@10']:.3f}", "-", "-"]], {"oracle": best}
    for name, (kwargs, training) in MODELS.items():
        start = time.perf_counter()
        config = ExperimentConfig(model=name, split="leave_one_out", model_kwargs=kwargs,
                                  training=TrainingConfig(**training))
        result = run_experiment(config, walks.frame)
        test = result.metrics["test"]
        results[name] = {"test": test, "epochs": len(result.epoch_seconds),
                         "seconds": time.perf_counter() - start,
                         "model_kwargs": kwargs, "training": training}
        share = test["hit@10"] / best["hit@10"]
        results[name]["share_of_oracle_hit@10"] = share
        rows.append([name, f"{test['hit@10']:.3f}", f"{100 * share:.0f}%",
                     f"{test['ndcg@10']:.3f}", str(len(result.epoch_seconds)),
                     f"{results[name]['seconds']:.0f}"])
        print(rows[-1], flush=True)
    table = markdown_table(["model", "HR@10", "of the oracle's", "NDCG@10", "epochs",
                            "seconds"], rows)
    command = ("python bench/sequence_planted.py"
               + "".join(f" --{k} {v}" for k, v in vars(args).items()
                         if v != parser.get_default(k)))
    write_result("sequence_planted", {
        "data": {"users": args.users, "items": args.items, "length": args.length,
                 "successors": 2, "noise": 0.1, "seed": 0},
        "results": results}, table, command)
    print(table)


if __name__ == "__main__":
    main()
