import numpy as np
import pytest

from tfdeeprec.data.csv_file import read_csv_interactions
from tfdeeprec.data.errors import DataError


class TestReadCsvInteractions:
    @pytest.mark.parametrize("sep", [",", "\t", ";", "|"])
    def test_sniffs_the_delimiter(self, tmp_path, sep):
        path = tmp_path / "ratings.txt"
        path.write_text(sep.join(["user_id", "item_id", "rating", "timestamp"]) + "\n"
                        + sep.join(["u1", "i1", "4.5", "100"]) + "\n"
                        + sep.join(["u2", "i1", "3", "200"]) + "\n")
        df = read_csv_interactions(path).interactions
        assert df["user_id"].tolist() == ["u1", "u2"]
        assert df["rating"].dtype == np.float32 and df["rating"].tolist() == [4.5, 3.0]
        assert df["timestamp"].dtype == np.int64 and df["timestamp"].tolist() == [100, 200]

    def test_aliases_and_ids_kept_as_text(self, tmp_path):
        path = tmp_path / "ratings.csv"
        path.write_text("userId,movieId,rating,timestamp,tag\n1,007,4,964982703,x\n"
                        "2,10,5,964981247,y\n")
        frame = read_csv_interactions(path)
        assert frame.interactions["item_id"].tolist() == ["007", "10"]
        assert list(frame.interactions.columns) == ["user_id", "item_id", "rating", "timestamp"]

    @pytest.mark.parametrize("header", ["user,item", "UserID,ItemID", "user id,item-id",
                                        "uid,iid"])
    def test_more_aliases(self, tmp_path, header):
        path = tmp_path / "r.csv"
        path.write_text(f"{header}\na,b\n")
        frame = read_csv_interactions(path)
        assert frame.interactions.iloc[0].tolist() == ["a", "b"] and not frame.has_ratings

    def test_explicit_columns(self, tmp_path):
        path = tmp_path / "r.tsv"
        path.write_text("who\twhat\tstars\nann\tbook\t2\n")
        frame = read_csv_interactions(path, user_col="who", item_col="what", rating_col="stars")
        assert frame.interactions.iloc[0].tolist() == ["ann", "book", 2.0]

    def test_date_timestamps_become_epoch_seconds(self, tmp_path):
        path = tmp_path / "r.csv"
        path.write_text("user_id,item_id,timestamp\na,b,2020-01-01\na,c,2020-01-02T00:00:10\n")
        df = read_csv_interactions(path).interactions
        assert df["timestamp"].tolist() == [1577836800, 1577923210]


class TestReadCsvInteractionsErrors:
    def test_missing_user_column_lists_header_and_aliases(self, tmp_path):
        path = tmp_path / "r.csv"
        path.write_text("person,item_id\na,b\n")
        with pytest.raises(DataError) as err:
            read_csv_interactions(path)
        message = str(err.value)
        assert str(path) in message and "person" in message and "userid" in message
        assert "column: user_id" in message

    def test_explicit_column_must_exist(self, tmp_path):
        path = tmp_path / "r.csv"
        path.write_text("user_id,item_id\na,b\n")
        with pytest.raises(DataError, match="'stars'"):
            read_csv_interactions(path, rating_col="stars")

    def test_bad_rating_is_named(self, tmp_path):
        path = tmp_path / "r.csv"
        path.write_text("user_id,item_id,rating\na,b,4\na,c,great\n")
        with pytest.raises(DataError) as err:
            read_csv_interactions(path)
        message = str(err.value)
        assert str(path) in message and "column: rating" in message and "'great'" in message

    def test_missing_and_empty_files(self, tmp_path):
        with pytest.raises(DataError, match="no such file"):
            read_csv_interactions(tmp_path / "nope.csv")
        (tmp_path / "empty.csv").write_text("")
        with pytest.raises(DataError, match="empty"):
            read_csv_interactions(tmp_path / "empty.csv")
