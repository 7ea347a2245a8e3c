"""The main job: NCF, Wide & Deep and NeuMF on synthetic ratings, tables and a figure."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from tfdeeprec.config import ExperimentConfig, TrainingConfig
from tfdeeprec.data import make_synthetic_ratings
from tfdeeprec.families import get_family
from tfdeeprec.models.registry import get_spec
from tfdeeprec.tables import format_table
from tfdeeprec.training.experiment import run_experiment

# The classic tutorial's NCF (embedding -> concat -> dense 20 -> dropout -> dense 10 ->
# dropout -> linear) beside Wide & Deep (on the users' and items' features, with a
# gender x occupation cross) and NeuMF.
DEMO_MODELS = {
    "NCF": ("mlp_ncf", {"embedding_dim": 50, "hidden_units": (20, 10), "dropout_rate": 0.2}),
    "Wide & Deep": ("wide_deep", {"embedding_dim": 16, "hidden_units": (64, 32),
                                  "dropout_rate": 0.1,
                                  "crosses": [["gender", "occupation"]]}),
    "NeuMF": ("neumf", {"gmf_dim": 32, "mlp_dim": 32, "hidden_units": (64, 32),
                        "dropout_rate": 0.1, "l2": 1e-4}),
}


def run_demo(out_dir="out/demo", *, epochs: int = 12, seed: int = 0) -> dict:
    """Trains the demo models, prints the tables, writes ``demo.png`` and ``demo.json``."""
    start = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    synthetic = make_synthetic_ratings(seed=seed)
    frame = synthetic.frame
    print(f"data: {frame.num_interactions:,} ratings by {frame.num_users} users of "
          f"{frame.num_items} items (synthetic, planted structure); random 80/20 split, "
          "10% of train for early stopping")
    runs = {}
    for label, (model, kwargs) in DEMO_MODELS.items():
        config = ExperimentConfig(
            model=model, data="synthetic", task="rating", split="random", ratios=(0.8, 0.2),
            batch_size=256, model_kwargs=kwargs, seed=seed,
            training=TrainingConfig(epochs=epochs, learning_rate=3e-3, optimizer="adam",
                                    early_stopping_patience=3, seed=seed, verbose=0))
        result = run_experiment(config, frame=frame)
        family = get_family(get_spec(model).family)
        actual, predicted = family.rating_predictions(result.model, result.data, "test")
        runs[label] = {"result": result, "actual": actual, "predicted": predicted}
        print(f"  {label}: {len(result.epoch_seconds)} epochs in {result.seconds:.1f} s")

    rating_rows = [[label, r["result"].metrics["test"]["mae"], r["result"].metrics["test"]["rmse"],
                    f"{r['result'].parameters:,}", f"{r['result'].seconds:.1f}"]
                   for label, r in runs.items()]
    print("\nRating prediction (test split)")
    print(format_table(["model", "MAE", "RMSE", "parameters", "train s"], rating_rows))
    ranking_rows = [[label, r["result"].metrics["test"]["ndcg@10"],
                     r["result"].metrics["test"]["recall@10"]] for label, r in runs.items()]
    print("\nRanking by predicted rating (full ranking, training items excluded)")
    print(format_table(["model", "NDCG@10", "Recall@10"], ranking_rows))

    figure = out_dir / "demo.png"
    plot_demo(runs, figure)
    summary = {label: {"metrics": r["result"].metrics, "parameters": r["result"].parameters,
                       "seconds": r["result"].seconds, "epochs": len(r["result"].epoch_seconds),
                       "history": {k: [float(x) for x in v]
                                   for k, v in r["result"].history.items()}}
               for label, r in runs.items()}
    (out_dir / "demo.json").write_text(json.dumps(summary, indent=2))
    print(f"\nwrote {figure} and {out_dir / 'demo.json'} "
          f"({time.perf_counter() - start:.0f} s in all)")
    return summary


def plot_demo(runs: dict, path) -> None:
    """The 12 panels: curves, bars, scatter per model, distributions, summary table."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(runs)
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c"]
    fig, axes = plt.subplots(3, 4, figsize=(20, 14))
    ax = axes.ravel()
    for label, color in zip(labels, colors):
        history = runs[label]["result"].history
        ax[0].plot(history["loss"], color=color, label=f"{label} train")
        valid = history.get("val_loss") or [r * r for r in history["val_rmse"]]
        ax[0].plot(valid, color=color, linestyle="--", label=f"{label} valid")
    ax[0].set(title="Training curves (MSE)", xlabel="epoch", ylabel="loss")
    ax[0].legend(fontsize=7)
    for i, metric in ((1, "mae"), (2, "rmse")):
        values = [runs[m]["result"].metrics["test"][metric] for m in labels]
        ax[i].bar(labels, values, color=colors)
        ax[i].set(title=f"Test {metric.upper()}", ylim=(0, max(values) * 1.2))
        for x, v in enumerate(values):
            ax[i].text(x, v, f"{v:.3f}", ha="center", va="bottom")
    for i, (label, color) in enumerate(zip(labels, colors), start=3):
        actual, predicted = runs[label]["actual"], runs[label]["predicted"]
        jitter = np.random.default_rng(0).uniform(-0.2, 0.2, len(actual))
        ax[i].scatter(actual + jitter, predicted, s=3, alpha=0.3, color=color)
        ax[i].plot([1, 5], [1, 5], "k--", lw=1)
        ax[i].set(title=f"{label}: predicted vs actual", xlabel="actual", ylabel="predicted")
    bins = np.linspace(0.5, 5.5, 21)
    ax[6].hist(runs[labels[0]]["actual"], bins=bins, alpha=0.5, label="actual", color="grey")
    for label, color in zip(labels, colors):
        ax[6].hist(runs[label]["predicted"], bins=bins, histtype="step", color=color, label=label)
    ax[6].set(title="Rating distribution", xlabel="rating")
    ax[6].legend(fontsize=7)
    ax[7].bar(labels, [runs[m]["result"].parameters for m in labels], color=colors)
    ax[7].set(title="Parameters")
    ax[8].bar(labels, [runs[m]["result"].seconds for m in labels], color=colors)
    ax[8].set(title="Measured training time (s)")
    for label, color in zip(labels, colors):
        ax[9].plot(runs[label]["result"].history["val_rmse"], color=color, label=label)
    ax[9].set(title="Convergence (validation RMSE)", xlabel="epoch")
    ax[9].legend(fontsize=7)
    for label, color in zip(labels, colors):
        ax[10].hist(runs[label]["predicted"] - runs[label]["actual"], bins=40,
                    histtype="step", color=color, label=label)
    ax[10].set(title="Error distribution (predicted - actual)")
    ax[10].legend(fontsize=7)
    ax[11].axis("off")
    cells = [[m, f"{runs[m]['result'].metrics['test']['mae']:.3f}",
              f"{runs[m]['result'].metrics['test']['rmse']:.3f}",
              f"{runs[m]['result'].metrics['test']['ndcg@10']:.3f}",
              f"{runs[m]['result'].parameters:,}", f"{runs[m]['result'].seconds:.1f}"]
             for m in labels]
    table = ax[11].table(cellText=cells, colLabels=["model", "MAE", "RMSE", "NDCG@10",
                                                    "params", "s"], loc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(11)
    table.scale(1.1, 2.2)
    ax[11].set(title="Summary")
    fig.suptitle("tfdeeprec demo: rating prediction on synthetic data with planted structure")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
