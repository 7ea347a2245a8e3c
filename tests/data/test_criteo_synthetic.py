import re

import numpy as np
import pandas as pd
import pytest

from tfdeeprec.data import criteo_synthetic
from tfdeeprec.data.criteo import CRITEO_CATEGORICAL, CRITEO_NUMERIC, criteo_dataset
from tfdeeprec.data.criteo_synthetic import CATEGORICAL_SIZES, write_synthetic_criteo

COLUMNS = ["label", *CRITEO_NUMERIC, *CRITEO_CATEGORICAL]


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", header=None, names=COLUMNS, keep_default_na=False,
                       dtype=str)


@pytest.fixture(scope="module")
def frame(tmp_path_factory):
    path = tmp_path_factory.mktemp("criteo") / "train.txt"
    return _read(write_synthetic_criteo(path, 100_000, seed=0))


def _interaction(frame, a, b, top=4):
    """Mean |double-centred log-odds| over the cells of the top values of fields a, b.

    With a click model additive in the logit (no a x b term), the log-odds table of
    (a, b) is nearly row effect + column effect, so centring rows and columns leaves
    only noise; a planted pairwise term survives the centring.
    """
    top_a = frame[a].value_counts().index[:top]
    top_b = frame[b].value_counts().index[:top]
    cells = frame[frame[a].isin(top_a) & frame[b].isin(top_b)]
    rate = (cells.assign(y=cells["label"].astype(float)).groupby([a, b])["y"].mean()
            .unstack().loc[top_a, top_b].to_numpy())
    logit = np.log(rate / (1 - rate))
    centred = logit - logit.mean(0) - logit.mean(1, keepdims=True) + logit.mean()
    return float(np.abs(centred).mean())


class TestWriteSyntheticCriteo:
    def test_deterministic_per_seed_and_a_prefix_of_longer_files(self, tmp_path):
        a = write_synthetic_criteo(tmp_path / "a.tsv", 66_000, seed=5).read_bytes()
        assert write_synthetic_criteo(tmp_path / "b.tsv", 66_000, seed=5).read_bytes() == a
        other = write_synthetic_criteo(tmp_path / "c.tsv", 1_000, seed=6).read_bytes()
        assert not a.startswith(other) and other.count(b"\n") == 1_000
        # Files end inside the second 65,536-row chunk and inside the first one.
        short = write_synthetic_criteo(tmp_path / "s.tsv", 65_600, seed=5).read_bytes()
        assert a.startswith(short)
        shorter = write_synthetic_criteo(tmp_path / "t.tsv", 1_000, seed=5).read_bytes()
        assert a.startswith(shorter) and shorter.count(b"\n") == 1_000

    def test_criteo_format(self, frame):
        assert len(frame) == 100_000 and list(frame.columns) == COLUMNS
        assert set(frame["label"]) == {"0", "1"}
        for name in CRITEO_NUMERIC:
            values = frame[name]
            assert values.str.fullmatch(r"|0|[1-9][0-9]*").all(), name   # counts or empty
        for name in CRITEO_CATEGORICAL:
            assert frame[name].str.fullmatch(r"|[0-9a-f]{8}").all(), name

    def test_every_line_has_40_fields(self, tmp_path):
        path = write_synthetic_criteo(tmp_path / "x" / "t.tsv", 2_000, seed=1)
        lines = path.read_text().split("\n")
        assert lines[-1] == "" and len(lines) == 2_001
        assert {len(line.split("\t")) for line in lines[:-1]} == {40}

    def test_vocabularies_empties_and_heavy_tails(self, frame):
        distinct = [frame[c][frame[c] != ""].nunique() for c in CRITEO_CATEGORICAL]
        assert all(d <= size for d, size in zip(distinct, CATEGORICAL_SIZES))
        assert distinct[4] == 4 and distinct[0] == 20 and distinct[1] == 30   # small
        assert max(distinct) > 10_000                                         # large
        empty = (frame[list(CRITEO_CATEGORICAL)] == "").mean()
        assert empty["C1"] == 0 and empty["C2"] == 0
        assert abs(empty["C19"] - 0.25) < 0.01 and abs(empty["C3"] - 0.02) < 0.005
        assert abs((frame["I12"] == "").mean() - 0.6) < 0.01
        counts = pd.to_numeric(frame["I2"])
        assert counts.min() == 0 and counts.max() > 20 * counts.median()      # heavy tail
        # Zipf-like: the most frequent value of C1 is far more frequent than the median one.
        shares = frame["C1"].value_counts(normalize=True)
        assert shares.iloc[0] > 5 * shares.median()

    def test_click_rate(self, frame, tmp_path):
        assert abs((frame["label"] == "1").mean() - 0.25) < 0.01
        rare = _read(write_synthetic_criteo(tmp_path / "r.tsv", 20_000, seed=2, ctr=0.05))
        assert abs((rare["label"] == "1").mean() - 0.05) < 0.01

    def test_planted_pairwise_interaction(self, frame, tmp_path):
        planted = _interaction(frame, "C1", "C2")
        assert planted > 0.4
        # Fields with first-order effects only show no interaction ...
        assert _interaction(frame, "C5", "C6") < 0.15
        assert _interaction(frame, "C1", "C5") < 0.15
        # ... and neither does C1 x C2 once the planted term is switched off.
        flat = _read(write_synthetic_criteo(tmp_path / "f.tsv", 100_000, seed=0,
                                            interaction_strength=0.0))
        assert _interaction(flat, "C1", "C2") < 0.15

    def test_numeric_effect(self, frame):
        i2 = pd.to_numeric(frame["I2"])
        clicks = frame["label"] == "1"
        low, high = i2 <= i2.quantile(0.25), i2 >= i2.quantile(0.75)
        assert clicks[high].mean() - clicks[low].mean() > 0.05

    def test_readable_by_criteo_dataset(self, tmp_path):
        path = write_synthetic_criteo(tmp_path / "t.tsv", 1_500, seed=3)
        features, label = next(iter(criteo_dataset(path, batch_size=1_500)))
        expected = _read(path)
        assert label.numpy().tolist() == expected["label"].astype(float).tolist()
        assert features["C1"].numpy().astype(str).tolist() == expected["C1"].tolist()

    def test_command_line(self, tmp_path, capsys):
        out = tmp_path / "cli.tsv"
        assert criteo_synthetic.main([str(out), "--rows", "300", "--seed", "4"]) == 0
        assert re.search(r"wrote 300 rows to .*cli\.tsv", capsys.readouterr().out)
        assert out.read_bytes() == write_synthetic_criteo(tmp_path / "lib.tsv", 300,
                                                          seed=4).read_bytes()

    def test_zero_rows(self, tmp_path):
        assert write_synthetic_criteo(tmp_path / "e.tsv", 0).read_text() == ""

    @pytest.mark.parametrize("kwargs, message", [
        ({"num_rows": -1}, "num_rows=-1"),
        ({"num_rows": 2.5}, "num_rows=2.5"),
        ({"seed": -1}, "seed=-1"),
        ({"ctr": 1.0}, "ctr=1.0"),
        ({"interaction_strength": -0.5}, "interaction_strength=-0.5"),
    ])
    def test_bad_arguments(self, tmp_path, kwargs, message):
        kwargs = {"num_rows": 10, **kwargs}
        with pytest.raises(ValueError, match=message):
            write_synthetic_criteo(tmp_path / "bad.tsv", **kwargs)
