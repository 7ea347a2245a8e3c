import numpy as np
import pandas as pd
import pytest

from tfdeeprec.data.errors import DataError
from tfdeeprec.data.interaction_frame import InteractionFrame


def _df(**overrides):
    base = {"user_id": [1, 2, 2], "item_id": [5, 5, 6], "rating": [4.0, 3.0, 5.0],
            "timestamp": [100, 200, 300]}
    base.update(overrides)
    return pd.DataFrame(base)


class TestInteractionFrame:
    def test_normalises_types(self):
        frame = InteractionFrame.from_pandas(_df())
        df = frame.interactions
        assert df["user_id"].tolist() == ["1", "2", "2"]
        assert df["item_id"].tolist() == ["5", "5", "6"]
        assert df["rating"].dtype == np.float32
        assert df["timestamp"].dtype == np.int64
        assert (frame.num_interactions, frame.num_users, frame.num_items) == (3, 2, 2)

    def test_optional_columns_are_detected_and_explicit_ones_required(self):
        frame = InteractionFrame.from_pandas(_df().drop(columns=["rating", "timestamp"]))
        assert not frame.has_ratings and not frame.has_timestamps
        with pytest.raises(DataError, match="missing column 'stars'"):
            InteractionFrame.from_pandas(_df(), rating_col="stars")

    def test_datetime_timestamps_become_epoch_seconds(self):
        frame = InteractionFrame.from_pandas(
            _df(timestamp=pd.to_datetime(["1970-01-01 00:00:10"] * 3)))
        assert frame.interactions["timestamp"].tolist() == [10, 10, 10]

    @pytest.mark.parametrize("column,values,fragment", [
        ("user_id", [1, -2, 3], "value: np.int64(-2)"),
        ("user_id", [1.0, 2.5, 3.0], "2.5"),
        ("item_id", ["a", None, "c"], "missing ID in row 1"),
        ("item_id", ["a", " ", "c"], "empty ID in row 1"),
        ("rating", [1.0, np.nan, 2.0], "row 1"),
        ("rating", ["1", "good", "2"], "'good'"),
        ("timestamp", [1, "yesterday", 3], "'yesterday'"),
    ])
    def test_bad_values_are_named(self, column, values, fragment):
        with pytest.raises(DataError) as err:
            InteractionFrame.from_pandas(_df(**{column: values}), source="ratings.csv")
        message = str(err.value)
        assert "ratings.csv" in message and column in message and fragment in message

    def test_empty_and_missing_columns(self):
        with pytest.raises(DataError, match="empty"):
            InteractionFrame.from_pandas(_df().iloc[:0])
        with pytest.raises(DataError, match="missing column 'item_id'"):
            InteractionFrame.from_pandas(_df().drop(columns=["item_id"]))
        with pytest.raises(DataError, match="list"):
            InteractionFrame.from_pandas([1, 2, 3])

    def test_side_features_are_indexed_by_string_id_and_unique(self):
        users = pd.DataFrame({"user_id": [1, 2], "age": [20, 30]})
        frame = InteractionFrame.from_pandas(_df(), users=users)
        assert frame.users.loc["2", "age"] == 30
        with pytest.raises(DataError, match="duplicate"):
            InteractionFrame.from_pandas(_df(), users=pd.DataFrame({"user_id": [1, 1], "age": [1, 2]}))

    def test_with_interactions_keeps_side_features(self):
        items = pd.DataFrame({"item_id": [5, 6], "year": [1990, 2000]})
        frame = InteractionFrame.from_pandas(_df(), items=items, source="s")
        sub = frame.with_interactions(frame.interactions.iloc[1:])
        assert sub.num_interactions == 2 and sub.items is frame.items and sub.source == "s"
        assert sub.interactions.index.tolist() == [0, 1]
