import numpy as np
import pandas as pd
import pytest

from tfdeeprec.data.errors import DataError
from tfdeeprec.data.grouplens import read_grouplens
from tfdeeprec.data.recbole_atomic import read_atomic_file, read_recbole_atomic

INTER = ("user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
         "1\t10\t4\t881250949\n2\t10\t3\t881250950\n1\t20\t5\t881250951\n")
USER = ("user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n"
        "1\t24\tM\ttechnician\t85711\n2\t53\tF\tother\t94043\n")
ITEM = ("item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        "10\tToy Story\t1995\tAnimation Children's Comedy\n"
        "20\tMisérables, Les\t1995\tDrama Musical\n"
        "267\tunkonwn\tunkonwn\tunknown\n")


def write_atomic(folder, name="ml-tiny", inter=INTER, user=USER, item=ITEM):
    folder.mkdir(parents=True, exist_ok=True)
    for suffix, text in (("inter", inter), ("user", user), ("item", item)):
        if text is not None:
            (folder / f"{name}.{suffix}").write_text(text, encoding="utf-8")
    return folder


class TestReadRecBoleAtomic:
    def test_interactions(self, tmp_path):
        frame = read_recbole_atomic(write_atomic(tmp_path))
        df = frame.interactions
        assert df["user_id"].tolist() == ["1", "2", "1"]
        assert df["item_id"].tolist() == ["10", "10", "20"]
        assert df["rating"].dtype == np.float32 and df["rating"].tolist() == [4, 3, 5]
        assert df["timestamp"].dtype == np.int64 and df["timestamp"].iloc[2] == 881250951

    def test_movielens_fields_get_our_names_and_types(self, tmp_path):
        frame = read_recbole_atomic(write_atomic(tmp_path))
        assert list(frame.users.columns) == ["age", "gender", "occupation", "zip_code"]
        assert frame.users["age"].dtype == np.int32
        assert frame.users.loc["1"].tolist() == [24, "M", "technician", "85711"]
        items = frame.items
        assert list(items.columns) == ["title", "genres", "year"]
        assert items["year"].dtype == np.int32
        assert items.loc["10"].tolist() == ["Toy Story", ("Animation", "Children's", "Comedy"),
                                            1995]
        assert items.loc["20", "title"] == "Misérables, Les"
        assert items.loc["267"].tolist() == ["unkonwn", ("unknown",), 0]  # RecBole's spelling

    def test_year_falls_back_to_title(self, tmp_path):
        item = ("item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
                "1412\tLand Before Time III (1995)\tV\tAnimation\n")
        items = read_recbole_atomic(write_atomic(tmp_path, item=item)).items
        assert items.loc["1412"].tolist() == ["Land Before Time III", ("Animation",), 1995]

    def test_same_values_as_grouplens(self, tmp_path):
        gl = tmp_path / "gl"
        gl.mkdir()
        (gl / "u.data").write_text("1\t10\t4\t881250949\n")
        (gl / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|94043\n")
        flags = {"10": "0|0|0|1|1|1" + "|0" * 13, "20": "0" + "|0" * 7 + "|1|0|0|0|1" + "|0" * 6}
        (gl / "u.item").write_bytes(
            (f"10|Toy Story (1995)|01-Jan-1995||u|{flags['10']}\n"
             f"20|Misérables, Les (1995)|01-Jan-1995||u|{flags['20']}\n").encode("latin-1"))
        grouplens = read_grouplens(gl)
        recbole = read_recbole_atomic(write_atomic(tmp_path / "rb"))
        pd.testing.assert_frame_equal(recbole.users, grouplens.users)
        pd.testing.assert_frame_equal(recbole.items.loc[["10", "20"]],
                                      grouplens.items.loc[["10", "20"]])

    def test_extra_fields_keep_their_parsed_types(self, tmp_path):
        item = ("item_id:token\tprice:float\ttags:token_seq\temb:float_seq\tbrand:token\n"
                "a\t9.5\tred big\t0.5 1\tacme\nb\t\t\t\tzeta\n")
        items = read_recbole_atomic(write_atomic(tmp_path, user=None, item=item)).items
        assert items.loc["a"].tolist() == [9.5, ("red", "big"), (0.5, 1.0), "acme"]
        assert np.isnan(items.loc["b", "price"])
        assert items.loc["b", "tags"] == () and items.loc["b", "emb"] == ()

    def test_side_files_are_optional_and_extra_inter_fields_dropped(self, tmp_path):
        inter = "user_id:token\titem_id:token\tclicks:float\nu\ti\t3\n"
        frame = read_recbole_atomic(write_atomic(tmp_path, inter=inter, user=None, item=None))
        assert frame.users is None and frame.items is None
        assert list(frame.interactions.columns) == ["user_id", "item_id"]

    def test_dataset_name(self, tmp_path):
        write_atomic(tmp_path, name="first")
        write_atomic(tmp_path, name="second", inter="user_id:token\titem_id:token\nx\ty\n")
        assert read_recbole_atomic(tmp_path, "second").interactions["user_id"].tolist() == ["x"]
        with pytest.raises(DataError) as err:
            read_recbole_atomic(tmp_path)
        assert "first" in str(err.value) and "second" in str(err.value)
        named = write_atomic(tmp_path / "named", name="named")
        write_atomic(named, name="other")
        assert read_recbole_atomic(named).num_interactions == 3  # the folder's own name wins

    def test_read_atomic_file(self, tmp_path):
        path = write_atomic(tmp_path) / "ml-tiny.item"
        raw = read_atomic_file(path)
        assert list(raw.columns) == ["item_id", "movie_title", "release_year", "class"]
        assert raw.loc[0, "movie_title"] == ("Toy", "Story")


class TestReadRecBoleAtomicErrors:
    def test_missing_inter_file(self, tmp_path):
        with pytest.raises(DataError) as err:
            read_recbole_atomic(tmp_path)
        assert "*.inter" in str(err.value) and str(tmp_path) in str(err.value)
        with pytest.raises(DataError, match="'ml-x.inter'"):
            read_recbole_atomic(tmp_path, "ml-x")

    def test_header_without_type(self, tmp_path):
        write_atomic(tmp_path, inter="user_id:token\titem_id\n1\t2\n")
        with pytest.raises(DataError) as err:
            read_recbole_atomic(tmp_path)
        message = str(err.value)
        assert "ml-tiny.inter" in message and "column: item_id" in message
        assert "name:type" in message

    def test_unknown_type(self, tmp_path):
        write_atomic(tmp_path, item="item_id:token\tprice:double\n10\t1.5\n")
        with pytest.raises(DataError) as err:
            read_recbole_atomic(tmp_path)
        message = str(err.value)
        assert "ml-tiny.item" in message and "column: price" in message and "'double'" in message

    @pytest.mark.parametrize("inter,missing", [
        ("uid:token\titem_id:token\n1\t2\n", "user_id"),
        ("user_id:token\tmovie:token\n1\t2\n", "item_id"),
    ])
    def test_missing_id_fields(self, tmp_path, inter, missing):
        write_atomic(tmp_path, inter=inter)
        with pytest.raises(DataError) as err:
            read_recbole_atomic(tmp_path)
        assert "ml-tiny.inter" in str(err.value) and f"column: {missing}" in str(err.value)

    def test_missing_id_in_side_file(self, tmp_path):
        write_atomic(tmp_path, user="uid:token\tage:token\n1\t3\n")
        with pytest.raises(DataError) as err:
            read_recbole_atomic(tmp_path)
        assert "ml-tiny.user" in str(err.value) and "column: user_id" in str(err.value)

    @pytest.mark.parametrize("suffix,text,column,value", [
        ("inter", "user_id:token\titem_id:token\trating:float\n1\t2\tfour\n", "rating", "four"),
        ("item", "item_id:token\temb:float_seq\n10\t0.5 x1\n", "emb", "x1"),
        ("user", "user_id:token\tage:token\n1\tadult\n", "age", "adult"),
    ])
    def test_unparsable_numbers(self, tmp_path, suffix, text, column, value):
        write_atomic(tmp_path, **{suffix: text})
        with pytest.raises(DataError) as err:
            read_recbole_atomic(tmp_path)
        message = str(err.value)
        assert f"ml-tiny.{suffix}" in message and f"column: {column}" in message
        assert repr(value) in message
