"""load_interactions: recognises a source (file, folder, name, frame) and reads it."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from tfdeeprec.data.csv_file import read_csv_interactions
from tfdeeprec.data.errors import DataError
from tfdeeprec.data.grouplens import RATINGS_FILES, read_grouplens
from tfdeeprec.data.interaction_frame import InteractionFrame
from tfdeeprec.data.recbole_atomic import read_recbole_atomic
from tfdeeprec.data.synthetic import make_synthetic_ratings

DELIMITED_SUFFIXES = (".csv", ".tsv", ".txt")

_LOOKED_FOR = (
    "'synthetic' or 'synthetic:compatible'; a TFDS name 'movielens/<config>'; a pandas "
    "DataFrame; a delimited file (" + ", ".join(DELIMITED_SUFFIXES) + "); a RecBole "
    "'.inter' file; a GroupLens folder (with " + " or ".join(RATINGS_FILES) + "); a "
    "RecBole atomic folder (with NAME.inter)")


def load_interactions(source, **options) -> InteractionFrame:
    """Reads ``source`` into an InteractionFrame, recognising what it is.

    ============================================  ===========================================
    ``source``                                    read by
    ============================================  ===========================================
    an ``InteractionFrame``                       returned as is (no options)
    a ``pandas.DataFrame``                        ``InteractionFrame.from_pandas``
    ``"synthetic"`` / ``"synthetic:compatible"``  ``make_synthetic_ratings(...).frame``
                                                  (``seed_compatible=True`` for the second)
    ``"movielens/<config>"`` (not a local path)   ``read_tfds_movielens``
    a ``.csv`` / ``.tsv`` / ``.txt`` file         ``read_csv_interactions``
    a ``NAME.inter`` file                         ``read_recbole_atomic(its folder, NAME)``
    a folder with ``u.data`` or ``ratings.dat``   ``read_grouplens``
    a folder with ``*.inter``                     ``read_recbole_atomic``
    ============================================  ===========================================

    Args:
        source: what to read (see the table).
        **options: keyword arguments for the reader chosen.

    Raises:
        DataError: for a path that does not exist or a source of no known kind; the
            message names it and lists what was looked for.

    Example:

    >>> frame = load_interactions("synthetic", num_users=20, num_items=30, seed=1)
    >>> frame.num_users, frame.has_timestamps
    (20, True)
    """
    if isinstance(source, InteractionFrame):
        if options:
            raise DataError(f"an InteractionFrame takes no options; received {sorted(options)}",
                            source=source.source)
        return source
    if isinstance(source, pd.DataFrame):
        return InteractionFrame.from_pandas(source, **options)
    if not isinstance(source, (str, os.PathLike)):
        raise DataError(f"unknown kind of source {type(source).__name__}; expected one of: "
                        f"{_LOOKED_FOR}", value=repr(source)[:80])
    text = os.fspath(source)
    if text == "synthetic":
        return make_synthetic_ratings(**options).frame
    if text == "synthetic:compatible":
        return make_synthetic_ratings(seed_compatible=True, **options).frame
    path = Path(text).expanduser()
    if text.startswith("movielens/") and not path.exists():
        from tfdeeprec.data.tfds_movielens import read_tfds_movielens  # imports TFDS

        return read_tfds_movielens(text, **options)
    if not path.exists():
        raise DataError(f"no such file or folder; looked for {_LOOKED_FOR}",
                        source=text, value=text)
    if path.is_file():
        if path.suffix == ".inter":
            return read_recbole_atomic(path.parent, dataset_name=path.stem, **options)
        if path.suffix.lower() in DELIMITED_SUFFIXES:
            return read_csv_interactions(path, **options)
        raise DataError(f"unknown file type {path.suffix!r}; looked for {_LOOKED_FOR}",
                        source=text, value=path.name)
    if any((path / name).is_file() for name in RATINGS_FILES):
        return read_grouplens(path, **options)
    if any(path.glob("*.inter")):
        return read_recbole_atomic(path, **options)
    raise DataError(f"the folder holds no known data set; looked for {_LOOKED_FOR}",
                    source=text, value=text)
