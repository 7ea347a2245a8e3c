import gzip

import numpy as np
import pytest

from tfdeeprec._keras import tf
from tfdeeprec.data.criteo import (CRITEO_CATEGORICAL, CRITEO_LABEL, CRITEO_NUMERIC,
                                   count_rows, criteo_dataset)
from tfdeeprec.data.errors import DataError


def _line(label, numeric, categorical):
    return "\t".join([str(label), *map(str, numeric), *categorical])


# Three hand-written lines; "" marks an empty field.
LINES = [
    _line(1, [5, "", 0, -1] + [""] * 9, ["68fd1e64", ""] + ["0b153874"] * 24),
    _line(0, [""] * 12 + [123456], [""] * 25 + ["ffffffff"]),
    _line(0, list(range(13)), [f"{i:08x}" for i in range(26)]),
]


def _numbered(path, num_rows, first=0):
    """A file whose I1 is the row number (from ``first``): rows can be told apart."""
    labels = np.random.default_rng(num_rows).integers(0, 2, num_rows)
    rest = "\t".join([""] * 12 + ["a1b2c3d4"] * 26)
    path.write_text("".join(f"{labels[i]}\t{first + i}\t{rest}\n" for i in range(num_rows)))
    return path


def _ids(dataset):
    return [int(i) for features, _ in dataset for i in features["I1"].numpy()]


class TestCriteoDataset:
    def test_constants(self):
        assert CRITEO_LABEL == "label"
        assert CRITEO_NUMERIC == tuple(f"I{i}" for i in range(1, 14))
        assert CRITEO_CATEGORICAL == tuple(f"C{i}" for i in range(1, 27))

    def test_exact_values_and_empties(self, tmp_path):
        path = tmp_path / "day_0"
        path.write_text("\n".join(LINES) + "\n")
        (features, label), = list(criteo_dataset(path, batch_size=8))
        assert list(features) == [*CRITEO_NUMERIC, *CRITEO_CATEGORICAL]
        assert label.dtype == tf.float32 and label.numpy().tolist() == [1.0, 0.0, 0.0]
        for name in CRITEO_NUMERIC:
            assert features[name].dtype == tf.float32 and features[name].shape == (3,)
        for name in CRITEO_CATEGORICAL:
            assert features[name].dtype == tf.string and features[name].shape == (3,)
        nan = np.nan
        np.testing.assert_array_equal(features["I1"].numpy(), [5, nan, 0])
        np.testing.assert_array_equal(features["I2"].numpy(), [nan, nan, 1])
        np.testing.assert_array_equal(features["I3"].numpy(), [0, nan, 2])
        np.testing.assert_array_equal(features["I4"].numpy(), [-1, nan, 3])
        np.testing.assert_array_equal(features["I13"].numpy(), [nan, 123456, 12])
        assert features["C1"].numpy().tolist() == [b"68fd1e64", b"", b"00000000"]
        assert features["C2"].numpy().tolist() == [b"", b"", b"00000001"]
        assert features["C26"].numpy().tolist() == [b"0b153874", b"ffffffff", b"00000019"]

    def test_batches_and_last_partial_batch(self, tmp_path):
        path = _numbered(tmp_path / "f.tsv", 5)
        sizes = [int(label.shape[0]) for _, label in criteo_dataset(path, batch_size=2)]
        assert sizes == [2, 2, 1]
        assert _ids(criteo_dataset(path, batch_size=2)) == [0, 1, 2, 3, 4]

    def test_files_in_order_and_gzip(self, tmp_path):
        first = _numbered(tmp_path / "a.tsv", 3)
        plain = _numbered(tmp_path / "b.tsv", 2, first=100)
        packed = tmp_path / "b.tsv.gz"
        packed.write_bytes(gzip.compress(plain.read_bytes()))
        assert _ids(criteo_dataset([first, packed], batch_size=4)) == [0, 1, 2, 100, 101]
        assert count_rows([first, packed]) == 5

    def test_parts_are_disjoint_cover_every_row_and_follow_the_ratios(self, tmp_path):
        files = [_numbered(tmp_path / "a.tsv", 3000), _numbered(tmp_path / "b.tsv", 2000, 3000)]
        parts = {p: _ids(criteo_dataset(files, part=p, batch_size=512))
                 for p in ("train", "valid", "test")}
        everything = [i for ids in parts.values() for i in ids]
        assert sorted(everything) == list(range(5000))          # disjoint and covering
        # Binomial standard deviations on 5000 rows: ~28 (train), ~21 (valid, test);
        # the tolerances are 5 of them or more.
        assert abs(len(parts["train"]) - 4000) < 150
        assert abs(len(parts["valid"]) - 500) < 110
        assert abs(len(parts["test"]) - 500) < 110
        # Both files contribute to every part, in file order.
        for ids in parts.values():
            assert ids == sorted(ids) and ids[0] < 3000 <= ids[-1]

    def test_parts_are_the_same_every_pass_and_every_batch_size(self, tmp_path):
        path = _numbered(tmp_path / "f.tsv", 3000)
        once = _ids(criteo_dataset(path, part="valid", batch_size=64))
        assert _ids(criteo_dataset(path, part="valid", batch_size=7)) == once
        # Three passes of a repeated dataset, in batches that straddle the passes.
        repeated = criteo_dataset(path, part="valid", batch_size=100, repeat=True)
        ids = _ids(repeated.take(3 * len(once) // 100 + 1))[:3 * len(once)]
        assert ids == once * 3

    def test_seed_and_ratios_change_the_split(self, tmp_path):
        path = _numbered(tmp_path / "f.tsv", 2000)
        seed0 = _ids(criteo_dataset(path, part="test", seed=0))
        seed1 = _ids(criteo_dataset(path, part="test", seed=1))
        assert seed0 != seed1 and len(set(seed0) & set(seed1)) < len(seed0) / 2
        assert _ids(criteo_dataset(path, part="train", ratios=(1, 0, 0))) == list(range(2000))
        assert _ids(criteo_dataset(path, part="valid", ratios=(1, 0, 0))) == []
        halves = _ids(criteo_dataset(path, part="train", ratios=(1, 0, 1)))
        assert 900 < len(halves) < 1100

    def test_shuffle_keeps_the_rows_and_reshuffles_each_pass(self, tmp_path):
        path = _numbered(tmp_path / "f.tsv", 2000)
        train = _ids(criteo_dataset(path, part="train"))
        dataset = criteo_dataset(path, part="train", shuffle_buffer=500, shuffle_seed=3)
        first, second = _ids(dataset), _ids(dataset)
        assert first != train and sorted(first) == train
        assert second != first and sorted(second) == train
        again = _ids(criteo_dataset(path, part="train", shuffle_buffer=500, shuffle_seed=3))
        assert again == first                                   # seeded: reproducible

    def test_count_rows(self, tmp_path):
        path = tmp_path / "f.tsv"
        path.write_text("\n".join(LINES))                       # no final newline
        assert count_rows(path) == 3
        path.write_text("\n".join(LINES) + "\n")
        assert count_rows(path) == 3 and count_rows([path, path]) == 6
        empty = tmp_path / "empty.tsv"
        empty.write_text("")
        assert count_rows(empty) == 0


class TestCriteoDatasetErrors:
    def test_missing_file(self, tmp_path):
        with pytest.raises(DataError, match="no such file"):
            criteo_dataset(tmp_path / "nope.tsv")

    def test_wrong_field_count_names_file_line_and_count(self, tmp_path):
        path = tmp_path / "day_1"
        path.write_text(LINES[0] + "\n" + LINES[1][:LINES[1].rindex("\t")] + "\n")
        with pytest.raises(DataError) as err:
            criteo_dataset(path)
        message = str(err.value)
        assert f"{path}, line 2" in message and "line 2 has 39" in message
        assert "must have 40" in message

    def test_bad_label_names_the_value(self, tmp_path):
        path = tmp_path / "day_1"
        path.write_text(LINES[0] + "\n" + "2" + LINES[1][1:] + "\n")
        with pytest.raises(DataError, match="label must be 0 or 1") as err:
            criteo_dataset(path)
        assert err.value.value == "2" and f"{path}, line 2" in str(err.value)

    def test_bad_integer_field(self, tmp_path):
        path = tmp_path / "day_1"
        path.write_text(LINES[0].replace("\t5\t", "\t5.5\t", 1) + "\n")
        with pytest.raises(DataError, match="column: I1, value: '5.5'"):
            criteo_dataset(path)

    def test_bad_label_after_the_checked_lines_fails_while_streaming(self, tmp_path):
        path = _numbered(tmp_path / "f.tsv", 1500)
        lines = path.read_text().splitlines()
        lines[1200] = "7" + lines[1200][1:]
        path.write_text("\n".join(lines) + "\n")
        dataset = criteo_dataset(path, batch_size=4096)          # the eager check passes
        with pytest.raises(tf.errors.InvalidArgumentError) as err:
            list(dataset)
        assert str(path) in err.value.message and "1201" in err.value.message

    def test_short_line_after_the_checked_lines_fails_in_decode_csv(self, tmp_path):
        path = _numbered(tmp_path / "f.tsv", 1500)
        lines = path.read_text().splitlines()
        lines[1300] = lines[1300][:lines[1300].rindex("\t")]
        path.write_text("\n".join(lines) + "\n")
        with pytest.raises(tf.errors.InvalidArgumentError, match="Expect 40 fields but have 39"):
            list(criteo_dataset(path))

    @pytest.mark.parametrize("kwargs, message", [
        ({"part": "training"}, "part='training'"),
        ({"ratios": (0.8, 0.2)}, r"ratios=\(0.8, 0.2\)"),
        ({"ratios": (0, 0, 0)}, r"ratios=\(0, 0, 0\)"),
        ({"ratios": (1, -1, 1)}, r"ratios=\(1, -1, 1\)"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"shuffle_buffer": -1}, "shuffle_buffer=-1"),
        ({"seed": -2}, "seed=-2"),
    ])
    def test_bad_arguments(self, tmp_path, kwargs, message):
        path = _numbered(tmp_path / "f.tsv", 3)
        with pytest.raises(ValueError, match=message):
            criteo_dataset(path, **kwargs)
