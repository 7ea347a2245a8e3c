import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tfdeeprec.data.errors import DataError
from tfdeeprec.data.interaction_frame import InteractionFrame
from tfdeeprec.data.load import load_interactions

ML100K = os.environ.get("TFDEEPREC_ML100K")


def _grouplens(folder):
    folder.mkdir()
    (folder / "u.data").write_text("1\t10\t4\t881250949\n2\t20\t3\t881250950\n")
    return folder


def _recbole(folder, name="tiny"):
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.inter").write_text("user_id:token\titem_id:token\nu\ti\n")
    return folder


class TestLoadInteractions:
    def test_synthetic(self):
        frame = load_interactions("synthetic", num_users=30, num_items=20, seed=3)
        assert frame.num_users == 30 and frame.source == "synthetic"
        compatible = load_interactions("synthetic:compatible", seed=3)
        assert compatible.source == "synthetic:compatible" and compatible.num_users == 500

    def test_dataframe_and_frame(self):
        frame = load_interactions(pd.DataFrame({"u": [1], "i": [2]}), user_col="u",
                                  item_col="i")
        assert frame.interactions.iloc[0].tolist() == ["1", "2"]
        assert load_interactions(frame) is frame

    def test_csv_file(self, tmp_path):
        path = tmp_path / "ratings.csv"
        path.write_text("userId,movieId,rating\n1,2,3.5\n")
        frame = load_interactions(path)
        assert frame.interactions.iloc[0].tolist() == ["1", "2", 3.5]
        assert load_interactions(str(path)).num_interactions == 1

    def test_grouplens_folder(self, tmp_path):
        frame = load_interactions(_grouplens(tmp_path / "ml-100k"))
        assert frame.num_interactions == 2 and frame.interactions["rating"].dtype == np.float32

    def test_recbole_folder_and_file(self, tmp_path):
        folder = _recbole(tmp_path / "rb")
        assert load_interactions(folder).interactions.iloc[0].tolist() == ["u", "i"]
        _recbole(folder, "other")
        assert load_interactions(folder / "other.inter").num_interactions == 1

    def test_tfds_name_goes_to_tfds_reader(self, tmp_path):
        with pytest.raises(DataError, match="download=True"):
            load_interactions("movielens/100k-ratings", data_dir=tmp_path)


class TestLoadInteractionsErrors:
    def test_nonexistent_path_lists_what_was_looked_for(self, tmp_path):
        missing = tmp_path / "nope"
        with pytest.raises(DataError) as err:
            load_interactions(missing)
        message = str(err.value)
        assert str(missing) in message
        for expected in ("synthetic", "movielens/", "DataFrame", ".csv", "u.data",
                         "ratings.dat", ".inter"):
            assert expected in message

    def test_unknown_folder_and_file(self, tmp_path):
        (tmp_path / "notes.md").write_text("hello")
        with pytest.raises(DataError) as err:
            load_interactions(tmp_path)
        assert str(tmp_path) in str(err.value) and "u.data" in str(err.value)
        with pytest.raises(DataError) as err:
            load_interactions(tmp_path / "notes.md")
        assert "'.md'" in str(err.value) and "notes.md" in str(err.value)

    def test_unknown_type(self):
        with pytest.raises(DataError, match="int"):
            load_interactions(42)


@pytest.mark.skipif(not ML100K, reason="set TFDEEPREC_ML100K to the folder printed by "
                    "/work/shared/data/fetch_ml100k.sh to run this test on the real ml-100k")
def test_real_ml100k():
    frame = load_interactions(Path(ML100K))
    assert isinstance(frame, InteractionFrame)
    assert (frame.num_interactions, frame.num_users, frame.num_items) == (100_000, 943, 1_682)
    assert frame.interactions["rating"].dtype == np.float32
    assert frame.interactions["timestamp"].dtype == np.int64
    assert set(frame.interactions["rating"].unique()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    users, items = frame.users, frame.items
    assert len(users) == 943 and len(items) == 1_682
    assert users.loc["1"].tolist() == [24, "M", "technician", "85711"]
    assert users["age"].dtype == np.int32 and users["age"].between(7, 73).all()
    assert set(users["gender"]) == {"M", "F"} and users["occupation"].nunique() == 21
    assert items.loc["1"].tolist() == ["Toy Story", ("Animation", "Children's", "Comedy"), 1995]
    assert items["year"].dtype == np.int32
    assert items.index[items["year"] == 0].tolist() == ["267"]  # RecBole's "unkonwn" movie
    assert items["year"][items["year"] > 0].min() == 1922 and items["year"].max() == 1998
    assert items.loc["1412"].tolist() == ["Land Before Time III: The Time of the Great Giving",
                                          ("Animation", "Children's"), 1995]
    assert all(isinstance(g, tuple) and g for g in items["genres"])
