"""Reads RecBole atomic files (NAME.inter, NAME.user, NAME.item) into an InteractionFrame."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pandas as pd

from tfdeeprec.data import schema
from tfdeeprec.data.errors import DataError
from tfdeeprec.data.grouplens import split_title_year
from tfdeeprec.data.interaction_frame import InteractionFrame

FIELD_TYPES = ("token", "token_seq", "float", "float_seq")

# RecBole's MovieLens field names -> ours (the user fields already match).
_MOVIELENS_RENAMES = {"movie_title": schema.TITLE, "release_year": schema.YEAR,
                      "class": schema.GENRES}
# Side-feature columns in the order every MovieLens source uses.
_CANONICAL_ORDER = (schema.AGE, schema.GENDER, schema.OCCUPATION, schema.ZIP_CODE,
                    schema.TITLE, schema.GENRES, schema.YEAR)


def read_recbole_atomic(folder: str | os.PathLike,
                        dataset_name: str | None = None) -> InteractionFrame:
    """Reads ``NAME.inter`` and the optional ``NAME.user`` / ``NAME.item`` from ``folder``.

    Atomic files are tab-separated text whose header types every field as
    ``name:type``, with type ``token`` (text), ``token_seq`` (space-separated texts,
    read as a tuple), ``float`` or ``float_seq`` (space-separated, a tuple of floats);
    an empty float is NaN. The ``.inter`` file must have ``user_id`` and ``item_id``
    fields; ``rating`` and ``timestamp`` are used when present and other interaction
    fields are dropped. The ``.user`` / ``.item`` files must have ``user_id`` /
    ``item_id`` and become the side-feature frames; their fields keep their names and
    parsed types, except RecBole's MovieLens fields, which are given the MovieLens
    columns every other source uses: ``movie_title`` -> ``title`` (tokens joined by
    spaces), ``release_year`` -> ``year`` (``int32``; when it is not a number, the
    ``"(1995)"`` ending the title, which is then removed, else 0, as for the
    ``"unkonwn"`` movie 267 of ml-100k), ``class`` -> ``genres`` (tuple), and ``age``
    -> ``int32``. Files are read as UTF-8.

    Args:
        folder: the folder holding the atomic files.
        dataset_name: the ``NAME`` in the file names. By default the folder's name when
            ``<folder>/<folder name>.inter`` exists, else the one ``.inter`` file there.

    Raises:
        DataError: on a missing ``.inter`` file, a header field without ``:`` or with
            an unknown type, missing ``user_id`` / ``item_id`` fields, or an unparsable
            float; the message names the file, column and value.

    Example:

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "demo.inter").write_text(
    ...     "user_id:token\\titem_id:token\\trating:float\\n1\\t7\\t4\\n2\\t7\\t5\\n")
    >>> frame = read_recbole_atomic(folder)
    >>> frame.interactions["item_id"].tolist(), frame.interactions["rating"].tolist()
    (['7', '7'], [4.0, 5.0])
    """
    folder = Path(folder).expanduser()
    name = dataset_name if dataset_name is not None else _default_name(folder)
    inter_path = folder / f"{name}.inter"
    if not inter_path.is_file():
        raise DataError(f"no RecBole interaction file {inter_path.name!r} in {str(folder)!r}",
                        source=str(folder), value=str(inter_path))
    inter = read_atomic_file(inter_path)
    _require_field(inter, schema.USER_ID, inter_path)
    _require_field(inter, schema.ITEM_ID, inter_path)
    users = _side_file(folder / f"{name}.user", schema.USER_ID)
    items = _side_file(folder / f"{name}.item", schema.ITEM_ID)
    return InteractionFrame.from_pandas(inter, users=users, items=items,
                                        source=str(inter_path))


def read_atomic_file(path: str | os.PathLike) -> pd.DataFrame:
    """One atomic file as a frame whose columns are the field names, values parsed by type.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "demo.item"
    >>> _ = path.write_text("item_id:token\\tclass:token_seq\\tprice:float\\n"
    ...                     "7\\tAction Comedy\\t9.5\\n")
    >>> frame = read_atomic_file(path)
    >>> list(frame.columns), frame.loc[0, "class"], float(frame.loc[0, "price"])
    (['item_id', 'class', 'price'], ('Action', 'Comedy'), 9.5)
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, sep="\t", header=0, dtype=str, keep_default_na=False,
                          quoting=csv.QUOTE_NONE, encoding="utf-8", engine="c")
    except pd.errors.EmptyDataError as err:
        raise DataError("the file is empty; expected a typed header", source=str(path)) from err
    except pd.errors.ParserError as err:
        raise DataError(f"malformed line ({err})", source=str(path)) from err
    fields = [_parse_header_field(str(h), path) for h in raw.columns]
    columns = {}
    for (name, ftype), header in zip(fields, raw.columns):
        values = raw[header].fillna("")
        columns[name] = _parse_values(values, ftype, path, name)
    return pd.DataFrame(columns, index=raw.index)


def _default_name(folder: Path) -> str:
    if (folder / f"{folder.name}.inter").is_file():
        return folder.name
    found = sorted(p.stem for p in folder.glob("*.inter")) if folder.is_dir() else []
    if len(found) == 1:
        return found[0]
    if not found:
        raise DataError(f"no RecBole interaction file (*.inter) in {str(folder)!r}",
                        source=str(folder), value=str(folder))
    raise DataError(f"several RecBole data sets in {str(folder)!r}; pass dataset_name, "
                    f"one of {found}", source=str(folder), value=found)


def _parse_header_field(header: str, path: Path) -> tuple[str, str]:
    name, sep, ftype = header.rpartition(":")
    if not sep or not name:
        raise DataError("header fields must be written name:type", source=str(path),
                        column=header, value=header)
    if ftype not in FIELD_TYPES:
        raise DataError(f"unknown field type; expected one of {list(FIELD_TYPES)}",
                        source=str(path), column=name, value=ftype)
    return name, ftype


def _parse_values(values: pd.Series, ftype: str, path: Path, column: str) -> pd.Series:
    if ftype == "token":
        return values
    if ftype == "token_seq":
        return pd.Series([tuple(v.split()) for v in values], index=values.index,
                         dtype=object)
    if ftype == "float":
        numeric = pd.to_numeric(values, errors="coerce").astype(float)
        bad = numeric.isna() & (values.str.strip() != "")
        if bad.any():
            raise DataError("not a float", source=str(path), column=column,
                            value=values[bad].iloc[0])
        return numeric
    return pd.Series([tuple(_floats(v.split(), path, column)) for v in values],
                     index=values.index, dtype=object)


def _floats(texts: list[str], path: Path, column: str) -> list[float]:
    out = []
    for text in texts:
        if text.strip() == "":
            out.append(np.nan)
            continue
        try:
            out.append(float(text))
        except ValueError:
            raise DataError("not a float", source=str(path), column=column,
                            value=text) from None
    return out


def _require_field(frame: pd.DataFrame, field: str, path: Path) -> None:
    if field not in frame.columns:
        raise DataError(f"missing field {field!r}; fields are {list(frame.columns)}",
                        source=str(path), column=field)


def _side_file(path: Path, id_field: str) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    frame = read_atomic_file(path)
    _require_field(frame, id_field, path)
    frame = frame.rename(columns=_MOVIELENS_RENAMES)
    if schema.TITLE in frame.columns:
        frame[schema.TITLE] = [" ".join(t) if isinstance(t, tuple) else t
                               for t in frame[schema.TITLE]]
        frame[schema.TITLE] = frame[schema.TITLE].astype(str)
    if schema.GENRES in frame.columns:
        frame[schema.GENRES] = pd.Series(
            [g if isinstance(g, tuple) else tuple(str(g).split()) for g in frame[schema.GENRES]],
            index=frame.index, dtype=object)
    if schema.YEAR in frame.columns:
        years = pd.to_numeric(frame[schema.YEAR], errors="coerce")
        if schema.TITLE in frame.columns:  # e.g. ml-100k movie 1412: "... (1995)", "V"
            for row in np.flatnonzero(years.isna().to_numpy()):
                title, year = split_title_year(frame[schema.TITLE].iat[row])
                frame.iat[row, frame.columns.get_loc(schema.TITLE)] = title
                years.iat[row] = year
        frame[schema.YEAR] = years.fillna(0).astype(np.int32)
    if schema.AGE in frame.columns:
        ages = pd.to_numeric(frame[schema.AGE], errors="coerce")
        if ages.isna().any():
            row = int(np.flatnonzero(ages.isna().to_numpy())[0])
            raise DataError(f"age must be a number; row {row}", source=str(path),
                            column=schema.AGE, value=frame[schema.AGE].iloc[row])
        frame[schema.AGE] = ages.astype(np.int32)
    known = [c for c in _CANONICAL_ORDER if c in frame.columns]
    frame = frame[[id_field, *known, *(c for c in frame.columns
                                        if c != id_field and c not in known)]]
    return frame.set_index(id_field)
