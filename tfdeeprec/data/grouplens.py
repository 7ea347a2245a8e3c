"""Reads a MovieLens folder as GroupLens ships it (ml-100k or ml-1m) into an InteractionFrame."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from tfdeeprec.data import schema
from tfdeeprec.data.errors import DataError
from tfdeeprec.data.interaction_frame import InteractionFrame

# The 19 genre flags of ml-100k's u.item, in file order (from the ml-100k README).
ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)

# ml-1m users.dat occupation codes 0..20 (from the ml-1m README).
ML1M_OCCUPATIONS = (
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer",
    "homemaker", "K-12 student", "lawyer", "programmer", "retired", "sales/marketing",
    "scientist", "self-employed", "technician/engineer", "tradesman/craftsman",
    "unemployed", "writer",
)

RATINGS_FILES = ("u.data", "ratings.dat")

_TITLE_YEAR = re.compile(r"^(.*?)\s*\((\d{4})\)\s*$")
_DATE_YEAR = re.compile(r"(\d{4})\s*$")


def read_grouplens(folder: str | os.PathLike) -> InteractionFrame:
    """Reads an unzipped GroupLens MovieLens folder: ml-100k or ml-1m.

    The layout is recognised by its ratings file: ``u.data`` (ml-100k: tab-separated
    ``user item rating timestamp``) or ``ratings.dat`` (ml-1m: ``::``-separated).
    The side files are optional; when one is missing the frame simply has no
    user (``u.user`` / ``users.dat``) or item (``u.item`` / ``movies.dat``) features.

    User features: ``age`` (``int32``; ml-1m stores the age-range code 1, 18, 25, 35,
    45, 50 or 56), ``gender`` (``"M"``/``"F"``), ``occupation`` (text; ml-1m codes are
    mapped to the names in :data:`ML1M_OCCUPATIONS`), ``zip_code`` (text).
    Item features: ``title`` without the trailing ``"(1995)"``, ``genres`` (tuple of
    genre names), ``year`` (``int32``, 0 when unknown). For ml-100k the year comes
    from the release date and falls back to the title's year; for ml-1m from the title.
    Side files are read as latin-1, as GroupLens wrote them.

    Args:
        folder: the folder holding ``u.data`` or ``ratings.dat``.

    Returns:
        An InteractionFrame with ``rating`` (``float32``) and ``timestamp`` (``int64``).

    Raises:
        DataError: when the folder has no ratings file, or a file is malformed
            (the message names the file, column and value).

    Example:

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "u.data").write_text("1\\t10\\t4\\t881250949\\n2\\t10\\t3\\t881250950\\n")
    >>> frame = read_grouplens(folder)
    >>> frame.interactions["rating"].tolist(), frame.users is None
    ([4.0, 3.0], True)
    """
    folder = Path(folder).expanduser()
    if (folder / "u.data").is_file():
        return _read_100k(folder)
    if (folder / "ratings.dat").is_file():
        return _read_1m(folder)
    raise DataError(
        f"not a GroupLens MovieLens folder: expected one of {list(RATINGS_FILES)} "
        f"(ml-100k or ml-1m) in {str(folder)!r}", source=str(folder), value=str(folder))


def split_title_year(title: str) -> tuple[str, int]:
    """Splits a MovieLens title into the title without ``"(YYYY)"`` and the year (0 if none).

    >>> split_title_year("Toy Story (1995)")
    ('Toy Story', 1995)
    >>> split_title_year("City of Lost Children, The (Cité des enfants perdus, La) (1995) ")
    ('City of Lost Children, The (Cité des enfants perdus, La)', 1995)
    >>> split_title_year("unknown")
    ('unknown', 0)
    """
    match = _TITLE_YEAR.match(title)
    if match is None:
        return title.strip(), 0
    return match.group(1), int(match.group(2))


def _read_100k(folder: Path) -> InteractionFrame:
    path = folder / "u.data"
    ratings = _read_table(path, "\t", ["user", "item", "rating", "timestamp"], "latin-1")
    users = items = None
    if (folder / "u.user").is_file():
        path_u = folder / "u.user"
        raw = _read_table(path_u, "|", ["user_id", "age", "gender", "occupation", "zip"],
                          "latin-1")
        users = pd.DataFrame({
            schema.AGE: _int_column(raw["age"], path_u, schema.AGE),
            schema.GENDER: raw["gender"],
            schema.OCCUPATION: raw["occupation"],
            schema.ZIP_CODE: raw["zip"],
        })
        users.index = pd.Index(raw["user_id"], name=schema.USER_ID)
    if (folder / "u.item").is_file():
        items = _read_100k_items(folder / "u.item")
    return InteractionFrame.from_pandas(
        ratings, user_col="user", item_col="item", rating_col="rating",
        timestamp_col="timestamp", users=users, items=items, source=str(path))


def _read_100k_items(path: Path) -> pd.DataFrame:
    names = ["item_id", "title", "release", "video", "url", *ML100K_GENRES]
    raw = _read_table(path, "|", names, "latin-1")
    flags = raw[list(ML100K_GENRES)]
    bad = ~flags.isin(["0", "1"])
    if bad.to_numpy().any():
        row, col = (int(x[0]) for x in np.nonzero(bad.to_numpy()))
        raise DataError(f"genre flags must be 0 or 1; line {row + 1}", source=str(path),
                        column=ML100K_GENRES[col], value=flags.iat[row, col])
    on = flags.to_numpy() == "1"
    genres = [tuple(g for g, f in zip(ML100K_GENRES, row) if f) for row in on]
    titles, years = [], []
    for title, release in zip(raw["title"], raw["release"]):
        clean, title_year = split_title_year(title)
        match = _DATE_YEAR.search(release)
        titles.append(clean)
        years.append(int(match.group(1)) if match else title_year)
    return pd.DataFrame(
        {schema.TITLE: titles, schema.GENRES: genres,
         schema.YEAR: np.asarray(years, dtype=np.int32)},
        index=pd.Index(raw["item_id"], name=schema.ITEM_ID))


def _read_1m(folder: Path) -> InteractionFrame:
    path = folder / "ratings.dat"
    ratings = _read_table(path, "::", ["user", "item", "rating", "timestamp"], "latin-1")
    users = items = None
    if (folder / "users.dat").is_file():
        path_u = folder / "users.dat"
        raw = _read_table(path_u, "::", ["user_id", "gender", "age", "occupation", "zip"],
                          "latin-1")
        codes = _int_column(raw["occupation"], path_u, schema.OCCUPATION)
        bad = (codes < 0) | (codes >= len(ML1M_OCCUPATIONS))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"occupation codes run from 0 to {len(ML1M_OCCUPATIONS) - 1}; "
                            f"line {row + 1}", source=str(path_u), column=schema.OCCUPATION,
                            value=raw["occupation"].iloc[row])
        users = pd.DataFrame({
            schema.AGE: _int_column(raw["age"], path_u, schema.AGE),
            schema.GENDER: raw["gender"],
            schema.OCCUPATION: np.asarray(ML1M_OCCUPATIONS, dtype=object)[codes],
            schema.ZIP_CODE: raw["zip"],
        })
        users[schema.OCCUPATION] = users[schema.OCCUPATION].astype(str)
        users.index = pd.Index(raw["user_id"], name=schema.USER_ID)
    if (folder / "movies.dat").is_file():
        raw = _read_table(folder / "movies.dat", "::", ["item_id", "title", "genres"],
                          "latin-1")
        split = [split_title_year(t) for t in raw["title"]]
        items = pd.DataFrame(
            {schema.TITLE: [t for t, _ in split],
             schema.GENRES: [tuple(g for g in s.split("|") if g) for s in raw["genres"]],
             schema.YEAR: np.asarray([y for _, y in split], dtype=np.int32)},
            index=pd.Index(raw["item_id"], name=schema.ITEM_ID))
    return InteractionFrame.from_pandas(
        ratings, user_col="user", item_col="item", rating_col="rating",
        timestamp_col="timestamp", users=users, items=items, source=str(path))


def _read_table(path: Path, sep: str, names: list[str], encoding: str) -> pd.DataFrame:
    """All fields as text; no line may have more than ``len(names)`` fields."""
    text = path.read_bytes().decode(encoding)
    if len(sep) > 1:  # the C parser takes one character: swap "::" for a unit separator
        text, sep = text.replace(sep, "\x1f"), "\x1f"
    if not text.strip():
        raise DataError("the file is empty", source=str(path))
    try:
        raw = pd.read_csv(io.StringIO(text), sep=sep, header=None, dtype=str,
                          keep_default_na=False, quoting=csv.QUOTE_NONE, engine="c")
    except pd.errors.ParserError as err:
        raise DataError(f"malformed line ({err})", source=str(path)) from err
    if raw.shape[1] != len(names):
        raise DataError(f"expected {len(names)} fields per line ({', '.join(names)}), "
                        f"found {raw.shape[1]}", source=str(path), value=text.split("\n")[0])
    raw.columns = names  # a short line reads as empty fields, which the caller rejects
    return raw


def _int_column(values: pd.Series, path: Path, column: str) -> np.ndarray:
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna().to_numpy() | (numeric.to_numpy() != np.floor(numeric.to_numpy()))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"expected an integer; line {row + 1}", source=str(path),
                        column=column, value=values.iloc[row])
    return numeric.to_numpy().astype(np.int32)
