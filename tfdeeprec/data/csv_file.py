"""Reads a delimited text file of interactions (CSV, TSV, ...) into an InteractionFrame."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pandas as pd

from tfdeeprec.data import schema
from tfdeeprec.data.errors import DataError
from tfdeeprec.data.interaction_frame import InteractionFrame

# Accepted header names per column, compared lower-case without "_", "-" or spaces.
COLUMN_ALIASES = {
    schema.USER_ID: ("userid", "user", "uid", "users"),
    schema.ITEM_ID: ("itemid", "item", "iid", "items", "movieid", "movie", "productid"),
    schema.RATING: ("rating", "ratings", "score", "stars", "userrating"),
    schema.TIMESTAMP: ("timestamp", "time", "ts", "unixtime", "datetime", "date"),
}
DELIMITERS = ",\t;|"


def read_csv_interactions(
    path: str | os.PathLike,
    *,
    user_col: str | None = None,
    item_col: str | None = None,
    rating_col: str | None = None,
    timestamp_col: str | None = None,
    sep: str | None = None,
    encoding: str = "utf-8",
) -> InteractionFrame:
    """Reads a delimited file with a header row, one interaction per line.

    The delimiter is sniffed from the first lines among ``, TAB ; |`` unless ``sep``
    is given (``.tsv`` files fall back to TAB, others to ``,``). Columns default to the
    schema names ``user_id``, ``item_id``, ``rating``, ``timestamp``, or a common alias
    (:data:`COLUMN_ALIASES`, e.g. ``userId``, ``movieId``, ``itemId``, ``user``,
    ``item``), matched ignoring case, ``_``, ``-`` and spaces. IDs are read as text, so
    ``"007"`` stays ``"007"``. A timestamp column of dates (e.g. ``2020-01-31``) becomes
    epoch seconds. Other columns are ignored.

    Args:
        path: the file.
        user_col, item_col, rating_col, timestamp_col: header names to use instead of
            the defaults; one given explicitly must exist.
        sep: the delimiter (str, default sniffed).
        encoding: the file's text encoding (str, default ``"utf-8"``).

    Raises:
        DataError: on a missing or empty file, or when the user or item column
            cannot be found (the message lists the header and the aliases tried).

    Example:

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ratings.csv"
    >>> _ = path.write_text("userId,movieId,rating\\n1,007,4.5\\n2,10,3\\n")
    >>> frame = read_csv_interactions(path)
    >>> frame.interactions["item_id"].tolist(), frame.interactions["rating"].tolist()
    (['007', '10'], [4.5, 3.0])
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError("no such file", source=str(path), value=str(path))
    with open(path, encoding=encoding, newline="") as handle:
        sample = handle.read(65_536)
    if not sample.strip():
        raise DataError("the file is empty", source=str(path))
    sep = sep if sep is not None else _sniff(sample, path)
    header = pd.read_csv(path, sep=sep, nrows=0, encoding=encoding).columns.tolist()
    columns = {
        schema.USER_ID: _resolve(header, user_col, schema.USER_ID, path, required=True),
        schema.ITEM_ID: _resolve(header, item_col, schema.ITEM_ID, path, required=True),
        schema.RATING: _resolve(header, rating_col, schema.RATING, path),
        schema.TIMESTAMP: _resolve(header, timestamp_col, schema.TIMESTAMP, path),
    }
    used = {k: v for k, v in columns.items() if v is not None}
    try:
        raw = pd.read_csv(path, sep=sep, usecols=list(used.values()), dtype=str,
                          keep_default_na=False, na_values=[""], encoding=encoding)
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataError(f"malformed file ({err})", source=str(path)) from err
    df = pd.DataFrame({name: raw[col] for name, col in used.items()})
    if schema.TIMESTAMP in df.columns:
        df[schema.TIMESTAMP] = _timestamps(df[schema.TIMESTAMP])
    return InteractionFrame.from_pandas(df, source=str(path))


def _sniff(sample: str, path: Path) -> str:
    lines = "\n".join(sample.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(lines, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return "\t" if path.suffix.lower() == ".tsv" else ","


def _normal(name: str) -> str:
    return re.sub(r"[\s_\-]", "", str(name)).lower()


def _resolve(header, given, standard, path, required=False):
    if given is not None:
        if given not in header:
            raise DataError(f"missing column {given!r}; the header is {header}",
                            source=str(path), column=given)
        return given
    wanted = (_normal(standard), *COLUMN_ALIASES[standard])
    for alias in wanted:
        for name in header:
            if _normal(name) == alias:
                return name
    if required:
        raise DataError(f"no {standard} column: the header is {header}, looked for "
                        f"{list(wanted)} (ignoring case, '_', '-' and spaces); pass "
                        f"{standard.split('_')[0]}_col=...", source=str(path),
                        column=standard)
    return None


def _timestamps(values: pd.Series) -> pd.Series:
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        return values
    dates = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    if dates.notna().all():
        return dates
    return values  # let InteractionFrame name the bad value
