import gzip

import numpy as np
import pandas as pd
import pytest

from tfdeeprec.data import labelled_file
from tfdeeprec.data.errors import DataError
from tfdeeprec.data.labelled_file import read_labelled_file


class TestReadLabelledFile:
    def test_csv_label_becomes_float32_and_other_columns_stay(self, tmp_path):
        path = tmp_path / "clicks.csv"
        path.write_text("user,label,price,ad\nu1,1,2.5,a\nu2,0,3,b\nu3,1,,c\n")
        frame = read_labelled_file(path)
        assert list(frame.columns) == ["user", "label", "price", "ad"]
        assert frame["label"].dtype == np.float32
        assert frame["label"].tolist() == [1.0, 0.0, 1.0]
        assert frame["user"].tolist() == ["u1", "u2", "u3"]
        assert frame["price"].dtype == np.float64 and frame["price"].isna().tolist() == [
            False, False, True]

    @pytest.mark.parametrize("name", ["clicks.tsv", "clicks.txt"])
    def test_tab_separated_suffixes(self, tmp_path, name):
        path = tmp_path / name
        path.write_text("click\tad\n0\tx,y\n1\tz\n")
        frame = read_labelled_file(path, label="click")
        assert frame["click"].tolist() == [0.0, 1.0] and frame["ad"].tolist() == ["x,y", "z"]

    def test_headerless_text_with_column_names(self, tmp_path):
        path = tmp_path / "train.txt"
        path.write_text("1\t7\t\tab12\n0\t\t3\tcd34\n")
        frame = read_labelled_file(path, columns=["label", "I1", "I2", "C1"])
        assert frame["label"].tolist() == [1.0, 0.0]
        assert frame["I1"].tolist()[0] == 7 and np.isnan(frame["I1"].tolist()[1])
        assert frame["C1"].tolist() == ["ab12", "cd34"]

    def test_explicit_separator_and_any_suffix(self, tmp_path):
        path = tmp_path / "clicks.dat"
        path.write_text("label|x\n1|a\n")
        assert read_labelled_file(path, sep="|")["x"].tolist() == ["a"]

    def test_bool_labels(self, tmp_path):
        path = tmp_path / "clicks.csv"
        path.write_text("label,x\nTrue,1\nFalse,2\n")
        frame = read_labelled_file(path)
        assert frame["label"].dtype == np.float32 and frame["label"].tolist() == [1.0, 0.0]

    def test_compressed_csv(self, tmp_path):
        path = tmp_path / "clicks.csv.gz"
        with gzip.open(path, "wt") as handle:
            handle.write("label,x\n0,a\n1,b\n")
        assert read_labelled_file(path)["label"].tolist() == [0.0, 1.0]

    def test_parquet(self, tmp_path):
        pytest.importorskip("pyarrow")
        path = tmp_path / "clicks.parquet"
        pd.DataFrame({"label": [1, 0, 0], "ad": ["a", "b", "c"],
                      "price": [1.5, 2.0, 0.5]}).to_parquet(path)
        frame = read_labelled_file(path)
        assert frame["label"].dtype == np.float32 and frame["label"].tolist() == [1.0, 0.0, 0.0]
        assert frame["ad"].tolist() == ["a", "b", "c"] and frame["price"].tolist() == [
            1.5, 2.0, 0.5]


class TestReadLabelledFileErrors:
    def test_missing_label_column_names_file_and_columns(self, tmp_path):
        path = tmp_path / "clicks.csv"
        path.write_text("clicked,ad\n1,a\n")
        with pytest.raises(DataError) as err:
            read_labelled_file(path)
        message = str(err.value)
        assert str(path) in message and "['clicked', 'ad']" in message
        assert "no label column 'label'" in message

    def test_label_not_binary_names_value_and_row(self, tmp_path):
        path = tmp_path / "clicks.csv"
        path.write_text("label,ad\n1,a\n0,b\n2,c\n3,d\n")
        with pytest.raises(DataError, match="row 2 holds 2") as err:
            read_labelled_file(path)
        assert err.value.value == 2 and err.value.column == "label"

    def test_text_label_names_the_first_bad_value(self, tmp_path):
        path = tmp_path / "clicks.csv"
        path.write_text("label,ad\n1,a\nyes,b\n")
        with pytest.raises(DataError, match="row 1 holds 'yes'"):
            read_labelled_file(path)

    def test_fractional_label(self, tmp_path):
        path = tmp_path / "clicks.csv"
        path.write_text("label\n1\n0.5\n")
        with pytest.raises(DataError, match="row 1 holds 0.5"):
            read_labelled_file(path)

    def test_missing_label_value_names_row(self, tmp_path):
        path = tmp_path / "clicks.csv"
        path.write_text("label,ad\n1,a\n0,b\n,c\n")
        with pytest.raises(DataError, match="missing label in row 2"):
            read_labelled_file(path)

    def test_parquet_without_pyarrow_says_how_to_install(self, tmp_path, monkeypatch):
        path = tmp_path / "clicks.parquet"
        path.write_bytes(b"PAR1")
        monkeypatch.setattr(labelled_file, "_has_pyarrow", lambda: False)
        with pytest.raises(DataError, match="pip install pyarrow"):
            read_labelled_file(path)

    def test_parquet_takes_no_column_names(self, tmp_path):
        path = tmp_path / "clicks.parquet"
        path.write_bytes(b"PAR1")
        with pytest.raises(ValueError, match="columns=\\['label'\\]"):
            read_labelled_file(path, columns=["label"])

    def test_unknown_suffix_without_sep(self, tmp_path):
        path = tmp_path / "clicks.dat"
        path.write_text("label\n1\n")
        with pytest.raises(DataError, match="pass sep="):
            read_labelled_file(path)

    def test_column_names_must_match_the_field_count(self, tmp_path):
        path = tmp_path / "train.tsv"
        path.write_text("1\t2\t3\n")
        with pytest.raises(DataError, match="the first line has 3 fields but `columns` names 2"):
            read_labelled_file(path, columns=["label", "x"])

    def test_missing_and_empty_files(self, tmp_path):
        with pytest.raises(DataError, match="no such file"):
            read_labelled_file(tmp_path / "nope.csv")
        empty = tmp_path / "empty.csv"
        empty.write_text("")
        with pytest.raises(DataError, match="the file is empty"):
            read_labelled_file(empty)
