"""Runs one RecBole 1.2.1 model on pre-split atomic files and writes JSON (run it with the
RecBole venv's Python: ``bench/peers/setup.sh recbole`` makes it).

    python recbole_run.py REQUEST.json RESULT.json

REQUEST: ``{"model", "data_path", "dataset", "threads", "config": {...}}`` (the config
goes to RecBole as ``config_dict`` over the defaults set here: the split files through
``benchmark_filename``, full ranking, NDCG/Recall/Hit/MRR/Precision@10, no workers).
RESULT: test and best-validation metrics, seconds per epoch (training and validation
apart), total seconds, epochs run, peak RSS (MiB), threads, versions.
"""

import json
import os
import sys
import time

from measure import peak_rss_mib  # bench/peers/measure.py, beside this script


def main(request_path, result_path):
    with open(request_path) as f:
        request = json.load(f)
    threads = int(request.get("threads", 1))
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
    os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    import torch
    import recbole
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_seed

    torch.set_num_threads(threads)
    config_dict = {
        "data_path": request["data_path"], "benchmark_filename": ["train", "valid", "test"],
        "load_col": {"inter": ["user_id", "item_id", "rating", "timestamp"]},
        "eval_args": {"mode": "full", "order": "RO", "group_by": "user"},
        "metrics": ["NDCG", "Recall", "Hit", "MRR", "Precision"], "topk": [10],
        "valid_metric": "NDCG@10", "worker": 0, "device": "cpu", "use_gpu": False,
        "show_progress": False, "checkpoint_dir": request.get("checkpoint_dir", "saved"),
        "seed": request.get("seed", 2020), "reproducibility": True,
        **request.get("config", {})}
    config = Config(model=request["model"], dataset=request["dataset"],
                    config_dict=config_dict)
    init_seed(config["seed"], config["reproducibility"])
    start = time.perf_counter()
    dataset = create_dataset(config)
    train, valid, test = data_preparation(config, dataset)
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

    trainer._train_epoch = timed("train", trainer._train_epoch)
    trainer._valid_epoch = timed("valid", trainer._valid_epoch)
    prepared = time.perf_counter() - start
    best_valid, best_metrics = trainer.fit(train, valid, saved=True, show_progress=False)
    test_metrics = trainer.evaluate(test, load_best_model=True, show_progress=False)
    total = time.perf_counter() - start
    result = {
        "peer": "recbole", "model": request["model"], "threads": threads,
        "test": {k.lower(): float(v) for k, v in test_metrics.items()},
        "valid": {k.lower(): float(v) for k, v in best_metrics.items()},
        "epochs": len(seconds["train"]),
        "train_epoch_seconds": seconds["train"], "valid_epoch_seconds": seconds["valid"],
        "prepare_seconds": prepared, "total_seconds": total,
        "peak_rss_mib": peak_rss_mib(),
        "versions": {"recbole": recbole.__version__, "torch": torch.__version__},
        "config": request.get("config", {}),
    }
    with open(result_path, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main(*sys.argv[1:3])
