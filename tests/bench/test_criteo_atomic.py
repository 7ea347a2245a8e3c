"""bench/peers/criteo_atomic.py writes RecBole's files with exactly tfdeeprec's parts."""

import importlib.util
from pathlib import Path

import numpy as np

from tfdeeprec.data.criteo import CRITEO_CATEGORICAL, PARTS, criteo_dataset
from tfdeeprec.data.criteo_synthetic import write_synthetic_criteo

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "peers" / "criteo_atomic.py"


def _converter():
    spec = importlib.util.spec_from_file_location("criteo_atomic", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _part(path, part):
    batches = list(criteo_dataset(path, batch_size=512, part=part).as_numpy_iterator())
    features = {k: np.concatenate([f[k] for f, _ in batches]).astype(str)
                for k in CRITEO_CATEGORICAL}
    return features, np.concatenate([label for _, label in batches])


def test_parts_and_rows_equal_criteo_dataset(tmp_path):
    path = write_synthetic_criteo(tmp_path / "c.tsv", 2000, seed=3)
    converter = _converter()
    summary = converter.write_atomic(path, tmp_path / "out", name="c", min_count=1)
    folder = Path(summary["folder"])
    train_tokens = None
    for part in PARTS:
        lines = (folder / f"c.{part}.inter").read_text().splitlines()
        assert lines[0].startswith("label:float\tI1:float")
        rows = [line.split("\t") for line in lines[1:]]
        features, labels = _part(path, part)
        assert len(rows) == len(labels) == summary["rows"][part] > 0
        np.testing.assert_array_equal([float(r[0]) for r in rows], labels)
        for j, name in enumerate(CRITEO_CATEGORICAL, start=14):
            written = np.array([r[j] for r in rows])
            expected = features[name]
            if part == "train":  # min_count=1: every training value is in the vocabulary
                np.testing.assert_array_equal(written, expected)
            else:  # values never seen in training: the OOV token
                unseen = (expected != "") & ~np.isin(expected, train_tokens[name])
                np.testing.assert_array_equal(written, np.where(unseen, converter.OOV,
                                                                expected))
        if part == "train":
            train_tokens = features
    assert sum(summary["rows"].values()) == 2000
