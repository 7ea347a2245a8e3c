"""Writes a Criteo-format TSV as RecBole atomic files with tfdeeprec's parts and
vocabularies, so RecBole trains, validates and tests on exactly the rows and features
``tfdeeprec train --data criteo:FILE --task ctr`` does.

    .venv/bin/python bench/peers/criteo_atomic.py FILE OUT [--name criteo] [--seed 0]
        [--min-count 10]

writes ``OUT/NAME/NAME.{train,valid,test}.inter`` (``label:float I1..I13:float
C1..C26:token``, tab-separated, with a header) and prints a JSON summary as its last line
(rows per part, vocabulary sizes, seconds). Run it with tfdeeprec's Python: it uses the
library's own code for everything that must agree.

* **Parts.** Each line goes to the part :func:`tfdeeprec.data.criteo.criteo_line_parts`
  gives it, the hash ``criteo_dataset(part=...)`` filters with (seed ``--seed``, ratios
  8:1:1, file index 0), in file order.
* **Categories.** The vocabulary of each of C1..C26 is what ``tfdeeprec train`` learns:
  :func:`tfdeeprec.features.fit_feature_stats` over the training part's batches with
  ``Categorical(name, min_count=--min-count)`` (the CLI's default for Criteo: 10). A
  value outside it (rarer in training, or never seen there) is written as the field's
  out-of-vocabulary token ``~oov``, which tfdeeprec maps to its OOV row; an empty value
  stays empty (RecBole's ``[PAD]``, tfdeeprec's missing row). Both sides therefore embed
  the same values: vocabulary + OOV + missing rows per field.
* **Numbers.** I1..I13 are written as tfdeeprec's encoder feeds them to its model:
  ``Numeric(transform="log1p")`` standardised with the training part's moments,
  ``(log1p(max(x, 0)) - mean) / sqrt(variance)`` (``%.6g``), from the same
  ``fit_feature_stats`` pass; empty stays empty (RecBole fills it with the column's mean,
  about 0; tfdeeprec with 0, the training mean).
* **Label.** ``0`` or ``1``.

Memory stays bounded: both passes stream the file in batches of 65,536 rows.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

OOV = "~oov"
BATCH = 1 << 16


def feature_stats(path, *, seed: int = 0, min_count: int = 10):
    """``(FeatureStats, seconds)``: what ``tfdeeprec train --data criteo:PATH`` learns
    (the same specs, the same batches, the same function)."""
    import tfdeeprec  # noqa: F401  (Keras 2 before TensorFlow)
    from tfdeeprec.data.criteo import criteo_dataset
    from tfdeeprec.data.labelled import LabelledRows
    from tfdeeprec.families.context import CRITEO_STATS_BATCH, criteo_specs
    from tfdeeprec.features import fit_feature_stats

    rows = LabelledRows(stream=lambda batch_size, shuffle_buffer, _: criteo_dataset(
        path, batch_size=batch_size, part="train", seed=seed, shuffle_buffer=shuffle_buffer))
    began = time.perf_counter()
    stats = fit_feature_stats(criteo_specs(min_count), rows.batches(CRITEO_STATS_BATCH),
                              seed=seed)
    return stats, time.perf_counter() - began


def write_atomic(path, out, *, name: str = "criteo", seed: int = 0,
                 min_count: int = 10) -> dict:
    """Writes the three files; returns the summary :func:`main` prints."""
    import numpy as np
    import pandas as pd

    import tfdeeprec  # noqa: F401  (Keras 2 before TensorFlow)
    from tfdeeprec.data.criteo import (CRITEO_CATEGORICAL, CRITEO_NUMERIC, PARTS,
                                       criteo_dataset, criteo_line_parts)

    began = time.perf_counter()
    stats, stats_seconds = feature_stats(path, seed=seed, min_count=min_count)
    known = {field: np.array(stats.vocabularies[field], dtype=str)
             for field in CRITEO_CATEGORICAL}
    folder = Path(out) / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    header = "\t".join(["label:float", *(f"{n}:float" for n in CRITEO_NUMERIC),
                        *(f"{n}:token" for n in CRITEO_CATEGORICAL)]) + "\n"
    files = {part: open(folder / f"{name}.{part}.inter", "w") for part in PARTS}
    rows = dict.fromkeys(PARTS, 0)
    labels_sum = dict.fromkeys(PARTS, 0.0)
    start = 0
    try:
        for handle in files.values():
            handle.write(header)
        for features, label in criteo_dataset(path, batch_size=BATCH).as_numpy_iterator():
            parts = criteo_line_parts(len(label), start=start, seed=seed)
            start += len(label)
            columns = {"label": label.astype(np.int8)}
            for field in CRITEO_NUMERIC:
                mean, variance = stats.moments[field]
                x = np.log1p(np.maximum(features[field].astype(np.float64), 0.0))
                columns[field] = _text((x - mean) / max(np.sqrt(variance), 1e-7))
            for field in CRITEO_CATEGORICAL:
                values = features[field].astype(str)
                unknown = (values != "") & ~np.isin(values, known[field])
                columns[field] = np.where(unknown, OOV, values)
            frame = pd.DataFrame(columns)
            for k, part in enumerate(PARTS):
                mask = parts == k
                if mask.any():
                    frame[mask].to_csv(files[part], sep="\t", header=False, index=False)
                    rows[part] += int(mask.sum())
                    labels_sum[part] += float(label[mask].sum())
    finally:
        for handle in files.values():
            handle.close()
    return {"folder": str(folder), "name": name, "rows": rows,
            "click_rate": {p: labels_sum[p] / rows[p] if rows[p] else None for p in PARTS},
            "vocabulary_sizes": {field: len(tokens) for field, tokens in known.items()},
            "min_count": min_count, "seed": seed, "statistics_seconds": stats_seconds,
            "seconds": time.perf_counter() - began}


def _text(x):
    """``%.6g`` of each value, ``""`` for NaN (each distinct value formatted once: the
    columns hold few distinct values, and formatting each row in Python is slow)."""
    import numpy as np

    out = np.full(len(x), "", dtype=object)
    seen = ~np.isnan(x)
    values, index = np.unique(x[seen], return_inverse=True)
    out[seen] = np.array([f"{v:.6g}" for v in values.tolist()], dtype=object)[index]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="a Criteo-format TSV (label, I1..I13, C1..C26)")
    parser.add_argument("out", help="folder for NAME/NAME.{train,valid,test}.inter")
    parser.add_argument("--name", default="criteo")
    parser.add_argument("--seed", type=int, default=0, help="split seed (tfdeeprec's --seed)")
    parser.add_argument("--min-count", type=int, default=10,
                        help="tfdeeprec's min_count for C1..C26 (its default for Criteo: 10)")
    args = parser.parse_args()
    summary = write_atomic(args.file, args.out, name=args.name, seed=args.seed,
                           min_count=args.min_count)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
