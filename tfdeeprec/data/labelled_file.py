"""Reads a labelled table (CSV, TSV or Parquet) with a 0/1 click label into pandas."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from tfdeeprec.data import schema
from tfdeeprec.data.errors import DataError

# Delimiter by file suffix (before any compression suffix).
SEPARATORS = {".csv": ",", ".tsv": "\t", ".txt": "\t"}
_COMPRESSION = (".gz", ".bz2", ".zip", ".xz", ".zst")


def read_labelled_file(
    path: str | os.PathLike,
    *,
    label: str = schema.LABEL,
    sep: str | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Reads a table whose ``label`` column is a 0/1 (or bool) target.

    Text files (``.csv``, ``.tsv``, ``.txt``, optionally compressed, e.g.
    ``.csv.gz``) are read with pandas, the separator taken from the suffix (``,`` for
    ``.csv``, TAB for ``.tsv`` and ``.txt``) unless ``sep`` is given. ``.parquet``
    files need ``pyarrow``. The label comes back as float32 (0.0 / 1.0); the other
    columns as pandas reads them, in the file's order.

    Args:
        path: the file.
        label: the label column (str, default ``"label"``).
        sep: the delimiter of a text file (str, default from the suffix).
        columns: names for the columns of a text file without a header row (e.g.
            Criteo's ``label, I1..I13, C1..C26``); None (default) reads the header.

    Raises:
        DataError: a missing or empty file, an unknown suffix without ``sep``, Parquet
            without pyarrow, a header-less file whose first line does not have
            ``len(columns)`` fields, no ``label`` column (the message lists the
            columns), or a label that is missing or not 0/1 (the message names the
            first bad value and its row, counted from 0 after the header).

    Example:

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "clicks.csv"
    >>> _ = path.write_text("label,user,ad\\n1,u1,a7\\n0,u2,a7\\n")
    >>> frame = read_labelled_file(path)
    >>> frame["label"].tolist(), str(frame["label"].dtype), frame["ad"].tolist()
    ([1.0, 0.0], 'float32', ['a7', 'a7'])
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError("no such file", source=str(path), value=str(path))
    if path.stat().st_size == 0:
        raise DataError("the file is empty", source=str(path))
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes = suffixes[:-1]
    suffix = suffixes[-1] if suffixes else ""
    if suffix == ".parquet":
        frame = _read_parquet(path, columns)
    else:
        frame = _read_text(path, suffix, sep, columns)
    frame[label] = _labels(frame, label, path)
    return frame


def _read_parquet(path: Path, columns) -> pd.DataFrame:
    if columns is not None:
        raise ValueError(f"`columns` names the columns of a text file without a header; a "
                         f"Parquet file stores its names. Received: columns={columns!r}")
    if not _has_pyarrow():
        raise DataError("reading Parquet needs pyarrow: pip install pyarrow",
                        source=str(path))
    try:
        return pd.read_parquet(path, engine="pyarrow")
    except Exception as err:  # pyarrow raises its own error types
        raise DataError(f"unreadable Parquet file ({err})", source=str(path)) from err


def _has_pyarrow() -> bool:
    return importlib.util.find_spec("pyarrow") is not None


def _read_text(path: Path, suffix: str, sep, columns) -> pd.DataFrame:
    if sep is None:
        if suffix not in SEPARATORS:
            raise DataError(f"cannot tell the separator from the suffix {suffix!r} (known: "
                            f"{sorted(SEPARATORS)} and .parquet); pass sep=...",
                            source=str(path))
        sep = SEPARATORS[suffix]
    options = {}
    if columns is not None:
        columns = list(columns)
        first = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str)
        if first.shape[1] != len(columns):
            raise DataError(f"the first line has {first.shape[1]} fields but `columns` "
                            f"names {len(columns)}", source=str(path), value=columns)
        options = {"header": None, "names": columns}
    try:
        return pd.read_csv(path, sep=sep, **options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"malformed file ({err})", source=str(path)) from err


def _labels(frame: pd.DataFrame, label: str, path: Path) -> np.ndarray:
    if label not in frame.columns:
        raise DataError(f"no label column {label!r}; the columns are "
                        f"{[str(c) for c in frame.columns]}", source=str(path), column=label)
    values = frame[label]
    missing = values.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise DataError(f"missing label in row {row}", source=str(path), column=label)
    if pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=np.float32)
    numbers = (values if pd.api.types.is_numeric_dtype(values)
               else pd.to_numeric(values, errors="coerce"))   # text such as "yes" -> NaN
    bad = ~numbers.isin((0, 1)).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = values.iloc[row]
        value = value.item() if hasattr(value, "item") else value   # numpy -> Python
        raise DataError(f"the label must be 0 or 1 (or bool); row {row} holds {value!r}",
                        source=str(path), column=label, value=value)
    return numbers.to_numpy(dtype=np.float32)
