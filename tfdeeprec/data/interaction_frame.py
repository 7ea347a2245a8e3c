"""InteractionFrame: interactions plus optional user and item side features, validated."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tfdeeprec.data import schema
from tfdeeprec.data.errors import DataError


@dataclass(frozen=True, eq=False)
class InteractionFrame:
    """Typed user-item interactions, the one frame every source is read into.

    ``interactions`` has the columns ``user_id`` and ``item_id`` (raw IDs as ``str``),
    optionally ``rating`` (``float32``) and ``timestamp`` (``int64``). ``users`` and
    ``items`` are optional side-feature frames indexed by the raw ``user_id`` /
    ``item_id`` strings. Build one with :meth:`from_pandas`, which validates and
    normalises its input; the constructor trusts already-normalised frames.

    Example:

    >>> import pandas as pd
    >>> frame = InteractionFrame.from_pandas(
    ...     pd.DataFrame({"user": [1, 1, 2], "movie": [10, 11, 10], "stars": [4, 5, 3]}),
    ...     user_col="user", item_col="movie", rating_col="stars")
    >>> (frame.num_interactions, frame.num_users, frame.num_items, frame.has_ratings)
    (3, 2, 2, True)
    """

    interactions: pd.DataFrame
    users: pd.DataFrame | None = None
    items: pd.DataFrame | None = None
    source: str = "DataFrame"

    @classmethod
    def from_pandas(
        cls,
        df: pd.DataFrame,
        *,
        user_col: str | None = None,
        item_col: str | None = None,
        rating_col: str | None = None,
        timestamp_col: str | None = None,
        users: pd.DataFrame | None = None,
        items: pd.DataFrame | None = None,
        source: str = "DataFrame",
    ) -> "InteractionFrame":
        """Validates ``df`` and returns a normalised frame.

        Args:
            df: one row per interaction.
            user_col, item_col: ID columns; default ``"user_id"`` / ``"item_id"``.
            rating_col, timestamp_col: optional columns. Left as ``None``, the
                standard names ``"rating"`` / ``"timestamp"`` are used when present;
                a name given explicitly must exist.
            users, items: side features, indexed by raw ID (or with an ID column of
                the standard name).
            source: where the data came from, used in error messages.

        Raises:
            DataError: on an empty frame, missing columns, null/negative/non-integer
                numeric IDs, NaN or non-numeric ratings, unparsable timestamps.
        """
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"expected a pandas DataFrame, received {type(df).__name__}",
                            source=source)
        if len(df) == 0:
            raise DataError("no interactions: the frame is empty", source=source)
        user_col = _require_column(df, user_col, schema.USER_ID, source)
        item_col = _require_column(df, item_col, schema.ITEM_ID, source)
        rating_col = _optional_column(df, rating_col, schema.RATING, source)
        timestamp_col = _optional_column(df, timestamp_col, schema.TIMESTAMP, source)

        out = pd.DataFrame({
            schema.USER_ID: normalize_ids(df[user_col], source=source, column=user_col),
            schema.ITEM_ID: normalize_ids(df[item_col], source=source, column=item_col),
        })
        if rating_col is not None:
            out[schema.RATING] = _ratings(df[rating_col], source, rating_col)
        if timestamp_col is not None:
            out[schema.TIMESTAMP] = _timestamps(df[timestamp_col], source, timestamp_col)
        return cls(
            interactions=out.reset_index(drop=True),
            users=_side_frame(users, schema.USER_ID, source),
            items=_side_frame(items, schema.ITEM_ID, source),
            source=source,
        )

    @property
    def num_interactions(self) -> int:
        return len(self.interactions)

    @property
    def num_users(self) -> int:
        return int(self.interactions[schema.USER_ID].nunique())

    @property
    def num_items(self) -> int:
        return int(self.interactions[schema.ITEM_ID].nunique())

    @property
    def has_ratings(self) -> bool:
        return schema.RATING in self.interactions.columns

    @property
    def has_timestamps(self) -> bool:
        return schema.TIMESTAMP in self.interactions.columns

    def with_interactions(self, interactions: pd.DataFrame) -> "InteractionFrame":
        """A frame over other interactions (e.g. a split) with the same side features."""
        return InteractionFrame(interactions.reset_index(drop=True), self.users,
                                self.items, self.source)

    def __repr__(self) -> str:
        return (f"InteractionFrame(source={self.source!r}, interactions="
                f"{self.num_interactions}, users={self.num_users}, items={self.num_items}, "
                f"ratings={self.has_ratings}, timestamps={self.has_timestamps}, "
                f"user_features={_feature_names(self.users)}, "
                f"item_features={_feature_names(self.items)})")


def normalize_ids(values: pd.Series, *, source: str, column: str) -> pd.Series:
    """Raw IDs as strings; numeric IDs must be non-negative integers.

    >>> normalize_ids(pd.Series([3, 1]), source="demo", column="user").tolist()
    ['3', '1']
    """
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise DataError(f"missing ID in row {row}", source=source, column=column,
                        value=values.iloc[row])
    if pd.api.types.is_bool_dtype(values):
        raise DataError("IDs must be strings or integers, not booleans",
                        source=source, column=column, value=values.iloc[0])
    if pd.api.types.is_numeric_dtype(values):
        arr = values.to_numpy()
        bad = (arr < 0) | (arr != np.floor(arr))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"numeric IDs must be non-negative integers; row {row}",
                            source=source, column=column, value=arr[row])
        return pd.Series(arr.astype(np.int64).astype(str), index=values.index)
    text = values.astype(str).str.strip()
    empty = text == ""
    if empty.any():
        row = int(np.flatnonzero(empty.to_numpy())[0])
        raise DataError(f"empty ID in row {row}", source=source, column=column,
                        value=values.iloc[row])
    return text


def _require_column(df, given, default, source):
    name = given if given is not None else default
    if name not in df.columns:
        raise DataError(f"missing column {name!r}; columns are {list(df.columns)}",
                        source=source, column=name)
    return name


def _optional_column(df, given, default, source):
    if given is None:
        return default if default in df.columns else None
    return _require_column(df, given, default, source)


def _ratings(values: pd.Series, source: str, column: str) -> pd.Series:
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna() | ~np.isfinite(numeric.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"ratings must be finite numbers; row {row}", source=source,
                        column=column, value=values.iloc[row])
    return numeric.astype(np.float32)


def _timestamps(values: pd.Series, source: str, column: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        if values.isna().any():
            row = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise DataError(f"missing timestamp in row {row}", source=source, column=column)
        epoch = pd.Timestamp(0, tz=getattr(values.dt, "tz", None))
        return ((values - epoch) // pd.Timedelta(seconds=1)).astype(np.int64)
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.isna().any():
        row = int(np.flatnonzero(numeric.isna().to_numpy())[0])
        raise DataError(f"timestamps must be numbers; row {row}", source=source,
                        column=column, value=values.iloc[row])
    return numeric.astype(np.int64)


def _side_frame(frame: pd.DataFrame | None, id_name: str, source: str):
    if frame is None:
        return None
    if id_name in frame.columns:
        frame = frame.set_index(id_name)
    index = normalize_ids(frame.index.to_series(), source=source, column=id_name)
    frame = frame.copy()
    frame.index = pd.Index(index.to_numpy(), name=id_name)
    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()][0]
        raise DataError("duplicate ID in side features", source=source, column=id_name,
                        value=dup)
    return frame


def _feature_names(frame):
    return [] if frame is None else list(frame.columns)
