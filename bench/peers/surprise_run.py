"""Runs one scikit-surprise 1.1.5 rating model on pre-split atomic files and writes JSON
(run it with the Surprise venv's Python: ``bench/peers/setup.sh surprise`` makes it).

    python surprise_run.py REQUEST.json RESULT.json

REQUEST: ``{"model": "SVD" | "SVDpp", "data_path", "dataset", "epochs", "config": {...}}``
(the config goes to the algorithm, e.g. ``n_factors``, ``lr_all``, ``reg_all``,
``cache_ratings``; ``epochs`` becomes ``n_epochs`` unless the config sets it). RESULT: RMSE
and MAE over every test row (SVD and SVD++ answer a pair with an unknown user or item from
the global mean and the biases they know), the same over rows whose user and item were
both in training, seconds, peak RSS. Surprise trains all its epochs in one call, with no
validation: the training seconds per epoch are the fit's seconds over the epochs, and
there are no validation seconds.
"""

import json
import sys
import time
from pathlib import Path

from measure import peak_rss_mib  # bench/peers/measure.py, beside this script


def _rows(path):
    lines = Path(path).read_text().splitlines()[1:]
    return [(u, i, float(r)) for u, i, r, _ in (line.split("\t") for line in lines)]


def main(request_path, result_path):
    request = json.loads(Path(request_path).read_text())
    import numpy as np
    import surprise

    folder = Path(request["data_path"]) / request["dataset"]
    name = request["dataset"]
    train_rows = _rows(folder / f"{name}.train.inter")
    test_rows = _rows(folder / f"{name}.test.inter")
    low = min(r for *_, r in train_rows)
    high = max(r for *_, r in train_rows)
    reader = surprise.Reader(line_format="user item rating", sep="\t",
                             rating_scale=(low, high))
    start = time.perf_counter()
    plain = Path(result_path).with_suffix(".train.tsv")  # no header: what Surprise reads
    plain.write_text("".join(f"{u}\t{i}\t{r}\n" for u, i, r in train_rows))
    trainset = surprise.Dataset.load_from_file(str(plain), reader).build_full_trainset()
    config = dict(request.get("config", {}))
    config.setdefault("n_epochs", int(request.get("epochs", 20)))
    algorithm = getattr(surprise, request["model"])(random_state=0, **config)
    fit_start = time.perf_counter()
    algorithm.fit(trainset)
    fit_seconds = time.perf_counter() - fit_start
    predictions = algorithm.test(test_rows)
    total = time.perf_counter() - start
    truth = np.array([p.r_ui for p in predictions])
    guess = np.array([p.est for p in predictions])
    users, items = {u for u, _, _ in train_rows}, {i for _, i, _ in train_rows}
    known = np.array([u in users and i in items for u, i, _ in test_rows])
    epochs = int(config["n_epochs"])
    result = {
        "peer": "surprise", "model": request["model"], "threads": 1,
        "test": {"rmse": float(np.sqrt(np.mean((truth - guess) ** 2))),
                 "mae": float(np.mean(np.abs(truth - guess))),
                 "rmse_known": float(np.sqrt(np.mean((truth[known] - guess[known]) ** 2))),
                 "rows": int(len(truth)), "cold_rows": int((~known).sum())},
        "epochs": epochs, "train_epoch_seconds": [fit_seconds / epochs] * epochs,
        "valid_epoch_seconds": [], "total_seconds": total,
        "peak_rss_mib": peak_rss_mib(),
        "versions": {"surprise": surprise.__version__, "numpy": np.__version__},
        "config": config,
    }
    Path(result_path).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:3])
