"""Reads a TFDS MovieLens ratings data set (movielens/*-ratings) into an InteractionFrame."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow_datasets as tfds
from tensorflow_datasets.core.download.download_manager import NonMatchingChecksumError

from tfdeeprec.data import schema
from tfdeeprec.data.errors import DataError
from tfdeeprec.data.grouplens import split_title_year
from tfdeeprec.data.interaction_frame import InteractionFrame

_BATCH_SIZE = 65_536

# TFDS renames two genres of ml-100k / ml-1m; these restore the GroupLens spelling.
_GROUPLENS_GENRES = {"Children": "Children's", "Unknown": "unknown"}
# TFDS names ml-1m occupation code 0 "other/not specified"; GroupLens readers say "other".
_GROUPLENS_OCCUPATIONS = {"other/not specified": "other"}


def read_tfds_movielens(
    name: str = "movielens/100k-ratings",
    data_dir: str | os.PathLike | None = None,
    manual_dir: str | os.PathLike | None = None,
    download: bool = False,
) -> InteractionFrame:
    """Reads a TFDS ``movielens/*-ratings`` data set into an InteractionFrame.

    The rows give the interactions (``user_id``, ``movie_id`` -> ``item_id``,
    ``user_rating`` -> ``rating`` as ``float32``, ``timestamp`` as ``int64``) and the
    side frames, one row per ID: ``items`` with ``title`` (without ``"(1995)"``),
    ``genres`` (tuple of names) and ``year`` (from the title, 0 when it has none);
    for 100k/1m also ``users`` with ``age`` (``raw_user_age`` for 100k, the
    ``bucketized_user_age`` code for 1m, ``int32``), ``gender`` (``user_gender``:
    True -> ``"M"``, False -> ``"F"``), ``occupation`` (``user_occupation_text``) and
    ``zip_code``. Values follow the GroupLens files, as :func:`read_grouplens` reads
    them: TFDS's genre ``"Children"`` becomes ``"Children's"`` and ``"Unknown"``
    becomes ``"unknown"`` (100k/1m only), and ml-1m's ``"other/not specified"``
    occupation becomes ``"other"``. One difference remains: TFDS keeps no release
    date, so an ml-100k year comes from the title, where :func:`read_grouplens` uses
    the release date.

    Preparing without the network: TFDS 4.9 ``DownloadManager`` looks in
    ``DownloadConfig(manual_dir=...)`` for a file named like the registered archive
    (``ml-100k.zip``, ``ml-1m.zip``, ...) before downloading anything, even for
    data sets that do not require a manual download. Put the official GroupLens zip
    there and pass ``manual_dir``: it is extracted into ``<data_dir>/downloads`` and
    prepared into ``data_dir``. TFDS still checks the zip's size and SHA-256 against
    its registered checksums, so only the unmodified official archive is accepted.
    The GCS copy of prepared data sets is never tried. Preparing (not reading) also
    needs the ``importlib_resources`` package, which tensorflow-datasets 4.9.10 uses
    on Python 3.11 without declaring it (tensorflow/datasets#11212).

    Args:
        name: a TFDS MovieLens ratings config, e.g. ``"movielens/1m-ratings"``.
        data_dir: TFDS data folder; defaults to TFDS's (``~/tensorflow_datasets``).
        manual_dir: folder holding the official GroupLens zip, used when the data
            set is not prepared yet.
        download: allow TFDS to download the zip from GroupLens when the data set
            is not prepared and ``manual_dir`` holds no zip. When False (default)
            nothing touches the network.

    Raises:
        DataError: for a name that is not a MovieLens ratings config, when the data
            set is not prepared and cannot be without downloading, or when the
            manual zip fails TFDS's checksum.

    Example (needs the prepared data set or the zip, so not run here)::

        frame = read_tfds_movielens("movielens/100k-ratings", manual_dir="~/Downloads")
    """
    builder = _builder(name, data_dir)
    _prepare(builder, name, manual_dir, download)
    dataset = builder.as_dataset(split="train")
    regrouplens = builder.builder_config.format_version in ("100k", "1m")
    return _to_frame(dataset, builder.info.features, source=f"tfds:{name}",
                     genre_renames=_GROUPLENS_GENRES if regrouplens else {})


def _builder(name: str, data_dir):
    if not isinstance(name, str) or not name.startswith("movielens/") \
            or "-ratings" not in name:
        raise DataError("expected a TFDS MovieLens ratings data set such as "
                        "'movielens/100k-ratings' or 'movielens/1m-ratings'",
                        source="tfds", value=name)
    try:
        return tfds.builder(name, data_dir=None if data_dir is None else os.fspath(data_dir))
    except (ValueError, KeyError) as err:
        raise DataError(f"TFDS does not know this data set ({err})", source="tfds",
                        value=name) from err


def _prepare(builder, name: str, manual_dir, download: bool) -> None:
    if builder.is_prepared():
        return
    if importlib.util.find_spec("importlib_resources") is None:
        raise ImportError(
            "tensorflow-datasets 4.9.10 needs the importlib_resources package to prepare "
            "a data set but does not declare it (tensorflow/datasets#11212). Fix: "
            "pip install importlib_resources")
    url = builder.builder_config.download_url
    archive = builder.url_infos[url].filename
    config = tfds.download.DownloadConfig(try_download_gcs=False)
    if manual_dir is not None:
        manual_dir = Path(manual_dir).expanduser()
        config.manual_dir = os.fspath(manual_dir)
        if (manual_dir / archive).is_file():
            try:
                builder.download_and_prepare(download_config=config)
            except NonMatchingChecksumError as err:
                raise DataError(
                    f"{archive} in manual_dir is not the official GroupLens archive: TFDS "
                    f"checks its size and SHA-256 against the registered ones ({url})",
                    source=str(manual_dir / archive), value=archive) from err
            return
        if not download:
            raise DataError(f"manual_dir has no {archive}; download it from {url} and "
                            "put it there, or pass download=True",
                            source=str(manual_dir), value=archive)
    if not download:
        raise DataError(
            f"{name} is not prepared in {builder.data_dir_root}. Either pass "
            f"download=True to let TFDS fetch {url}, or download {archive} yourself, put "
            "it in a folder and pass manual_dir=<that folder>", source=f"tfds:{name}",
            value=name)
    builder.download_and_prepare(download_config=config)


def _to_frame(dataset, features, *, source: str, genre_renames: dict) -> InteractionFrame:
    """The TFDS rows as one frame; side features are taken from each ID's first row."""
    has_users = "user_gender" in features
    age_key = "raw_user_age" if "raw_user_age" in features else "bucketized_user_age"
    scalar_keys = ["user_id", "movie_id", "user_rating", "timestamp", "movie_title"]
    if has_users:
        scalar_keys += ["user_gender", age_key, "user_occupation_text", "user_zip_code"]
    parts = {key: [] for key in scalar_keys}
    genre_values, genre_lengths = [], []
    for batch in dataset.ragged_batch(_BATCH_SIZE):
        for key in scalar_keys:
            parts[key].append(batch[key].numpy())
        genres = batch["movie_genres"]
        genre_values.append(genres.flat_values.numpy())
        genre_lengths.append(genres.row_lengths().numpy())
    if not parts["user_id"]:
        raise DataError("no interactions: the data set is empty", source=source)
    col = {key: np.concatenate(values) for key, values in parts.items()}
    for key in ("user_id", "movie_id", "movie_title", "user_occupation_text",
                "user_zip_code"):
        if key in col:
            col[key] = _decode(col[key])
    interactions = pd.DataFrame({
        schema.USER_ID: col["user_id"], schema.ITEM_ID: col["movie_id"],
        schema.RATING: col["user_rating"], schema.TIMESTAMP: col["timestamp"]})

    names = np.array([genre_renames.get(n, n) for n in features["movie_genres"].feature.names],
                     dtype=object)
    flat = np.concatenate(genre_values).astype(np.int64)
    splits = np.concatenate([[0], np.cumsum(np.concatenate(genre_lengths))])
    first_item = np.flatnonzero(~pd.Series(col["movie_id"]).duplicated().to_numpy())
    split = [split_title_year(t) for t in col["movie_title"][first_item]]
    items = pd.DataFrame({
        schema.TITLE: [t for t, _ in split],
        schema.GENRES: [tuple(names[flat[splits[r]:splits[r + 1]]]) for r in first_item],
        schema.YEAR: np.asarray([y for _, y in split], dtype=np.int32),
    }, index=pd.Index(col["movie_id"][first_item], name=schema.ITEM_ID))

    users = None
    if has_users:
        first_user = np.flatnonzero(~pd.Series(col["user_id"]).duplicated().to_numpy())
        occupations = [_GROUPLENS_OCCUPATIONS.get(o, o)
                       for o in col["user_occupation_text"][first_user]]
        users = pd.DataFrame({
            schema.AGE: np.rint(col[age_key][first_user]).astype(np.int32),
            schema.GENDER: np.where(col["user_gender"][first_user], "M", "F"),
            schema.OCCUPATION: occupations,
            schema.ZIP_CODE: col["user_zip_code"][first_user],
        }, index=pd.Index(col["user_id"][first_user], name=schema.USER_ID))
        users = _sorted_by_id(users)
    return InteractionFrame.from_pandas(interactions, users=users,
                                        items=_sorted_by_id(items), source=source)


def _decode(values: np.ndarray) -> np.ndarray:
    return np.array([v.decode("utf-8") for v in values], dtype=object)


def _sorted_by_id(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric IDs in numeric order (as GroupLens lists them), others as text."""
    ids = frame.index.to_series()
    if ids.str.fullmatch(r"\d+").all():
        return frame.iloc[np.argsort(ids.astype(np.int64).to_numpy(), kind="stable")]
    return frame.sort_index()
