"""Runs one RecBole 1.2.1 model on pre-split atomic files and writes JSON (run it with the
RecBole venv's Python: ``bench/peers/setup.sh recbole`` makes it).

    python recbole_run.py REQUEST.json RESULT.json

REQUEST: ``{"model", "protocol", "data_path", "dataset", "threads", "checkpoint_dir",
"seed", "config": {...}}``, optionally ``"time_limit_seconds"``: no training epoch starts
once that much time has passed since the fit began (the last one and its validation
finish), and the best validation checkpoint so far is tested. The config goes to RecBole as ``config_dict`` over the
defaults of the protocol (``split_files.py`` writes the files each one reads):

* ``ranking`` (general models): the split files through ``benchmark_filename``, full
  ranking grouped by user (training items, and for test validation items, excluded),
  NDCG/Recall/Hit/MRR/Precision@10, NDCG@10 picks the best epoch.
* ``sequence`` (sequential models): leave-one-out files with ``item_id_list``
  (``split_files.py --split leave_one_out --item-lists 50``), MAX_ITEM_LIST_LENGTH 50,
  time order, full ranking of the next item (RecBole excludes no history for sequential
  models), no negative sampling (the CE loss), the same metrics.
* ``ctr`` (context models): files with rows rated 3 left out and the features of
  tfdeeprec's CTR view beside them (``split_files.py --drop-rating 3 --features``: user
  age, gender, occupation and zip prefix; item year and genres; hour and weekday);
  labelled mode,
  label = rating >= 4 (``threshold``), AUC and LogLoss, AUC picks the best epoch, no
  negative sampling. RecBole's CTR protocol on MovieLens (``val_interval`` dropping the
  3s) is applied by the split files instead: filtering rows after loading pre-split
  files would shift their boundaries, so a ``val_interval`` in the config is refused.
* ``criteo`` (context models on Criteo-format rows, no user or item): the files
  ``criteo_atomic.py`` writes (``label:float``, ``I1..I13:float`` embedded as RecBole's
  ``numerical_features``, ``C1..C26:token``); labelled mode, AUC and LogLoss, AUC picks
  the best epoch. The result's ``dataset`` has the model's parameter count instead of
  users and items.

Always: no workers, CPU, ``torch.set_num_threads`` and OMP/MKL threads from ``threads``,
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` (RecBole reloads its best checkpoint, a pickled
Config, which torch >= 2.6 refuses by default), and scipy >= 1.13's missing
``dok_matrix._update`` put back at run time (LightGCN, NGCF, GCMC, NCL, SpectralCF
build their adjacency with it); see ../shared/PEERS.md. Non-sampling general models
(MultiVAE, MultiDAE, CDAE, ...) need ``"train_neg_sample_args": null`` in the config.
RESULT: test metrics (of the best validation epoch's checkpoint) and best-validation
metrics, seconds per epoch (training and validation apart), total seconds, epochs run,
peak RSS (MiB), threads, versions.
"""

import json
import os
import sys
import time

from measure import peak_rss_mib  # bench/peers/measure.py, beside this script

RANKING_METRICS = ["NDCG", "Recall", "Hit", "MRR", "Precision"]


class TimeBudgetSpent(Exception):
    """Raised before a training epoch once ``time_limit_seconds`` have passed."""
CRITEO_COLUMNS = (["label"] + [f"I{i}" for i in range(1, 14)]
                  + [f"C{i}" for i in range(1, 27)])

PROTOCOLS = {
    "ranking": {
        "load_col": {"inter": ["user_id", "item_id", "rating", "timestamp"]},
        "eval_args": {"mode": "full", "order": "RO", "group_by": "user"},
        "metrics": RANKING_METRICS, "topk": [10], "valid_metric": "NDCG@10",
    },
    "sequence": {
        "load_col": {"inter": ["user_id", "item_id", "timestamp", "item_id_list"]},
        "alias_of_item_id": ["item_id_list"], "MAX_ITEM_LIST_LENGTH": 50,
        "eval_args": {"mode": "full", "order": "TO", "group_by": "user"},
        "train_neg_sample_args": None,
        "metrics": RANKING_METRICS, "topk": [10], "valid_metric": "NDCG@10",
    },
    "ctr": {
        "load_col": {"inter": ["user_id", "item_id", "rating", "hour", "weekday"],
                     "user": ["user_id", "age", "gender", "occupation", "zip_prefix"],
                     "item": ["item_id", "release_year", "class"]},
        "threshold": {"rating": 4},
        "eval_args": {"mode": "labeled", "order": "RO", "group_by": "none"},
        "train_neg_sample_args": None,
        "metrics": ["AUC", "LogLoss"], "valid_metric": "AUC",
    },
    "criteo": {
        "USER_ID_FIELD": None, "ITEM_ID_FIELD": None, "RATING_FIELD": None,
        "TIME_FIELD": None, "LABEL_FIELD": "label",
        "load_col": {"inter": CRITEO_COLUMNS},
        "numerical_features": CRITEO_COLUMNS[1:14],
        "eval_args": {"mode": "labeled", "order": "RO", "group_by": "none"},
        "train_neg_sample_args": None,
        "metrics": ["AUC", "LogLoss"], "valid_metric": "AUC",
    },
}


def patch_scipy_dok():
    """scipy 1.13 dropped ``dok_matrix._update``; RecBole's graph models call it."""
    import scipy.sparse as sp

    if not hasattr(sp.dok_matrix, "_update"):
        def _update(self, data):
            self._dict.update(data)
        sp.dok_matrix._update = _update


def main(request_path, result_path):
    with open(request_path) as f:
        request = json.load(f)
    threads = int(request.get("threads", 1))
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"
    import recbole
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_seed

    patch_scipy_dok()
    torch.set_num_threads(threads)
    protocol = request.get("protocol", "ranking")
    config = request.get("config", {})
    if "val_interval" in config:
        raise SystemExit("val_interval with pre-split files shifts their boundaries: drop "
                         "the rows in the split files (split_files.py --drop-rating)")
    config_dict = {
        "data_path": request["data_path"], "benchmark_filename": ["train", "valid", "test"],
        "worker": 0, "device": "cpu", "use_gpu": False,
        "show_progress": False, "checkpoint_dir": request.get("checkpoint_dir", "saved"),
        "seed": request.get("seed", 2020), "reproducibility": True,
        **PROTOCOLS[protocol], **config}
    config = Config(model=request["model"], dataset=request["dataset"],
                    config_dict=config_dict)
    init_seed(config["seed"], config["reproducibility"])
    start = time.perf_counter()
    dataset = create_dataset(config)
    train, valid, test = data_preparation(config, dataset)
    init_seed(config["seed"], config["reproducibility"])
    model = get_model(config["model"])(config, train.dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    seconds = {"train": [], "valid": []}

    def timed(name, method):
        def wrapper(*args, **kwargs):
            began = time.perf_counter()
            out = method(*args, **kwargs)
            seconds[name].append(time.perf_counter() - began)
            return out
        return wrapper

    limit = request.get("time_limit_seconds")
    began = {}

    def budgeted(method):
        def wrapper(*args, **kwargs):
            began.setdefault("fit", time.perf_counter())
            if limit is not None and time.perf_counter() - began["fit"] >= limit:
                raise TimeBudgetSpent
            return method(*args, **kwargs)
        return wrapper

    trainer._train_epoch = budgeted(timed("train", trainer._train_epoch))
    trainer._valid_epoch = timed("valid", trainer._valid_epoch)
    prepared = time.perf_counter() - start
    try:
        _, best_metrics = trainer.fit(train, valid, saved=True, show_progress=False)
        stopped_by_time = False
    except TimeBudgetSpent:
        best_metrics, stopped_by_time = trainer.best_valid_result, True
    test_metrics = trainer.evaluate(test, load_best_model=True, show_progress=False)
    total = time.perf_counter() - start
    result = {
        "peer": "recbole", "model": request["model"], "protocol": protocol,
        "threads": threads,
        "test": {k.lower(): float(v) for k, v in test_metrics.items()},
        "valid": {k.lower(): float(v) for k, v in best_metrics.items()},
        "test_from": "the best validation epoch's checkpoint (load_best_model)",
        "epochs": len(seconds["train"]),
        "time_limit_seconds": limit, "stopped_by_time_limit": stopped_by_time,
        "train_epoch_seconds": seconds["train"], "valid_epoch_seconds": seconds["valid"],
        "prepare_seconds": prepared, "total_seconds": total,
        "peak_rss_mib": peak_rss_mib(),
        "dataset": {"rows": [len(train.dataset), len(valid.dataset), len(test.dataset)],
                    **({"parameters": sum(p.numel() for p in model.parameters())}
                       if protocol == "criteo" else
                       {"users": int(dataset.user_num - 1),
                        "items": int(dataset.item_num - 1)})},
        "versions": {"recbole": recbole.__version__, "torch": torch.__version__},
        "config": request.get("config", {}),
    }
    with open(result_path, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main(*sys.argv[1:3])
