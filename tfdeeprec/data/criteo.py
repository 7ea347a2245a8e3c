"""Criteo display-advertising logs (label, I1..I13, C1..C26 in TSV) streamed with tf.data.

Nothing is loaded whole: lines are read in blocks, split into train/valid/test parts by a
stateless hash, and parsed with ``tf.io.decode_csv`` batch by batch.
"""

from __future__ import annotations

import gzip
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data.errors import DataError

CRITEO_LABEL = "label"
CRITEO_NUMERIC = tuple(f"I{i}" for i in range(1, 14))
CRITEO_CATEGORICAL = tuple(f"C{i}" for i in range(1, 27))
CRITEO_COLUMNS = (CRITEO_LABEL, *CRITEO_NUMERIC, *CRITEO_CATEGORICAL)
PARTS = ("train", "valid", "test")

_BLOCK_LINES = 8192          # lines per block when splitting into parts
_CHECKED_LINES = 1000        # lines per file checked eagerly in Python
_HASH_BUCKETS = 1 << 40      # resolution of the part split


def criteo_dataset(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    batch_size: int = 4096,
    part: str | None = None,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    shuffle_buffer: int = 0,
    shuffle_seed: int | None = None,
    repeat: bool = False,
) -> tf.data.Dataset:
    """Streams Criteo TSV files as ``(features, label)`` batches.

    Each line is ``label, I1..I13, C1..C26`` separated by TAB, without a header; any
    field but the label may be empty. Files ending in ``.gz`` are read as gzip. Batches
    hold ``batch_size`` rows (the last may be smaller): ``features`` maps ``I1..I13``
    to float32 ``[b]`` (NaN where empty) and ``C1..C26`` to string ``[b]`` (``""``
    where empty); ``label`` is float32 ``[b]``.

    **Parts.** With ``part`` set, each row belongs to exactly one of ``"train"``,
    ``"valid"`` and ``"test"``, chosen by a stateless hash (FarmHash Fingerprint64) of
    ``(seed, file index, line number)`` against the cumulative ``ratios``: the parts
    are disjoint, cover every row, hold about ``ratios`` of the rows, and are the same
    on every pass, every run and every machine (they do not depend on ``batch_size``
    or shuffling). Keep the order of ``paths`` fixed, since the file index is hashed.

    **Checks.** The first 1,000 lines of each file are checked in Python when the
    dataset is built: a line without 40 fields, a label other than 0/1 or an integer
    field that is not an integer raises :class:`DataError` naming the file and the
    line. Later lines are checked while streaming: a label other than ``0``/``1``
    raises ``tf.errors.InvalidArgumentError`` naming the file and line; a later line
    with the wrong number of fields fails in ``tf.io.decode_csv`` with
    ``InvalidArgumentError: Expect 40 fields but have N in record K`` (``K`` counts
    within the batch).

    Args:
        paths: one file or a list of files, read in this order.
        batch_size: rows per batch (int, default 4096).
        part: ``None`` (every row, default) or ``"train"``, ``"valid"``, ``"test"``.
        ratios: relative sizes of train, valid and test (3 non-negative floats with a
            positive sum, default ``(0.8, 0.1, 0.1)``).
        seed: seed of the split (non-negative int, default 0).
        shuffle_buffer: rows in the shuffle buffer; 0 keeps file order (int, default 0).
        shuffle_seed: seed of the shuffle (int or None = random, default None); the
            order changes every pass either way.
        repeat: cycle through the files forever (bool, default False).

    Raises:
        DataError: a missing file, or a malformed line among the first 1,000 of a file.
        ValueError: a bad argument (the message names it).

    Example:

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "day_0.tsv"
    >>> line = ["1", "5", ""] + ["0"] * 11 + ["68fd1e64", ""] + ["a"] * 24
    >>> _ = path.write_text("\\t".join(line) + "\\n")
    >>> features, label = next(iter(criteo_dataset(path)))
    >>> label.numpy(), features["I1"].numpy(), features["I2"].numpy()
    (array([1.], dtype=float32), array([5.], dtype=float32), array([nan], dtype=float32))
    >>> features["C1"].numpy(), features["C2"].numpy()
    (array([b'68fd1e64'], dtype=object), array([b''], dtype=object))
    >>> count_rows(path)
    1
    """
    files = _as_files(paths)
    _check_integer("batch_size", batch_size, minimum=1)
    _check_integer("seed", seed, minimum=0)
    _check_integer("shuffle_buffer", shuffle_buffer, minimum=0)
    if shuffle_seed is not None:
        _check_integer("shuffle_seed", shuffle_seed, minimum=0)
    bounds = _part_bounds(part, ratios)
    for path in files:
        _check_head(path)
    lines = None
    for index, path in enumerate(files):
        file_lines = _file_lines(path, index, seed, bounds)
        lines = file_lines if lines is None else lines.concatenate(file_lines)
    if shuffle_buffer:
        lines = lines.shuffle(shuffle_buffer, seed=shuffle_seed, reshuffle_each_iteration=True)
    if repeat:
        lines = lines.repeat()
    batches = lines.batch(batch_size).map(_decode, num_parallel_calls=tf.data.AUTOTUNE,
                                          deterministic=True)
    return batches.prefetch(tf.data.AUTOTUNE)


def count_rows(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> int:
    """Lines in Criteo files (a last line without a newline counts), read in 1 MiB chunks.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "part.tsv"
    >>> _ = path.write_text("0\\tx\\n1\\ty")
    >>> count_rows(path), count_rows([path, path])
    (2, 4)
    """
    total = 0
    for path in _as_files(paths):
        last = b"\n"
        with _open_binary(path) as handle:
            while chunk := handle.read(1 << 20):
                total += chunk.count(b"\n")
                last = chunk[-1:]
        total += last != b"\n"
    return total


def criteo_line_parts(num_lines: int, *, file_index: int = 0,
                      ratios: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0,
                      start: int = 0) -> np.ndarray:
    """The part of each line, as :func:`criteo_dataset` assigns it with ``part`` set.

    Lines ``start .. start + num_lines - 1`` (0-based) of the file at ``file_index`` in
    the ``paths`` given to :func:`criteo_dataset`, with its ``ratios`` and ``seed``. A
    line's part depends on nothing else, so the file need not be read: pair the result
    with :func:`count_rows` (or with the rows of ``criteo_dataset(paths)``, in order) to
    write the parts elsewhere, e.g. for another library, row for row the same.

    Returns:
        int8 ``[num_lines]``: the index of the line's part in :data:`PARTS` (0 train,
        1 valid, 2 test).

    Example:

    >>> parts = criteo_line_parts(100_000)
    >>> [round(float((parts == k).mean()), 2) for k in range(3)]
    [0.8, 0.1, 0.1]
    >>> criteo_line_parts(3, start=5).tolist() == criteo_line_parts(8)[5:].tolist()
    True
    """
    _check_integer("num_lines", num_lines, minimum=0)
    _check_integer("file_index", file_index, minimum=0)
    _check_integer("seed", seed, minimum=0)
    _check_integer("start", start, minimum=0)
    inner = np.array(_cuts(_check_ratios(ratios))[1:3], np.int64)
    out = np.empty(num_lines, np.int8)
    step = 1 << 20
    for low in range(0, num_lines, step):
        numbers = tf.range(start + low, start + min(low + step, num_lines), dtype=tf.int64)
        buckets = _line_buckets(f"{seed}:{file_index}:", numbers).numpy()
        out[low:low + len(buckets)] = np.searchsorted(inner, buckets, side="right")
    return out


def _as_files(paths) -> list[Path]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files = [Path(p).expanduser() for p in paths]
    if not files:
        raise ValueError("`paths` must name at least one file. Received: paths=[]")
    for path in files:
        if not path.is_file():
            raise DataError("no such file", source=str(path), value=str(path))
    return files


def _check_integer(name: str, value, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. "
                         f"Received: {name}={value!r}")


def _check_ratios(ratios) -> tuple:
    ratios = tuple(ratios)
    if (len(ratios) != 3
            or not all(isinstance(r, (int, float, np.number)) and math.isfinite(r) and r >= 0
                       for r in ratios)
            or sum(ratios) <= 0):
        raise ValueError(f"`ratios` must be 3 non-negative numbers (train, valid, test) "
                         f"with a positive sum. Received: ratios={ratios}")
    return ratios


def _part_bounds(part, ratios) -> tuple[int, int] | None:
    """The ``[low, high)`` hash buckets of ``part``; None for every row."""
    ratios = _check_ratios(ratios)
    if part is None:
        return None
    if part not in PARTS:
        raise ValueError(f"`part` must be None or one of {PARTS}. Received: part={part!r}")
    cuts = _cuts(ratios)
    k = PARTS.index(part)
    return cuts[k], cuts[k + 1]


def _cuts(ratios) -> list[int]:
    """The hash-bucket edges ``[0, train end, valid end, 2^40]`` of checked ``ratios``."""
    edges = np.concatenate([[0.0], np.cumsum(ratios) / sum(ratios)])
    cuts = [round(e * _HASH_BUCKETS) for e in edges]
    cuts[-1] = _HASH_BUCKETS
    return cuts


def _line_buckets(prefix: str, line_numbers):
    """The split hash of 0-based line numbers (int64 tensor) of the file ``prefix`` names
    (``"seed:file index:"``)."""
    keys = tf.strings.join([prefix, tf.strings.as_string(line_numbers)])
    return tf.strings.to_hash_bucket_fast(keys, _HASH_BUCKETS)


def _open_binary(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _check_head(path: Path) -> None:
    """Checks the first lines of a file in Python; raises DataError naming the line."""
    with _open_binary(path) as handle:
        for number, raw in enumerate(handle, start=1):
            if number > _CHECKED_LINES:
                break
            fields = raw.rstrip(b"\r\n").split(b"\t")
            where = f"{path}, line {number}"
            if len(fields) != len(CRITEO_COLUMNS):
                raise DataError(f"a Criteo line must have {len(CRITEO_COLUMNS)} TAB-separated "
                                f"fields (label, I1..I13, C1..C26); line {number} has "
                                f"{len(fields)}", source=where)
            if fields[0] not in (b"0", b"1"):
                raise DataError("the label must be 0 or 1", source=where,
                                column=CRITEO_LABEL, value=fields[0].decode(errors="replace"))
            for name, value in zip(CRITEO_NUMERIC, fields[1:1 + len(CRITEO_NUMERIC)]):
                if value and not value.lstrip(b"-").isdigit():
                    raise DataError("an integer field must be an integer or empty",
                                    source=where, column=name,
                                    value=value.decode(errors="replace"))


def _file_lines(path: Path, index: int, seed: int, bounds) -> tf.data.Dataset:
    """The lines of one file (of one part), label-checked, as a dataset of strings."""
    compression = "GZIP" if path.suffix == ".gz" else ""
    prefix = f"{seed}:{index}:"
    where = f"{path}, line"

    def block(number, lines):
        first = number * _BLOCK_LINES + 1                     # 1-based line number
        label = tf.strings.substr(lines, 0, 2)
        ok = (label == "0\t") | (label == "1\t")
        bad = tf.argmin(tf.cast(ok, tf.int32))
        check = tf.debugging.Assert(tf.reduce_all(ok), [
            "criteo_dataset: a line must start with a label 0 or 1 and a TAB. Source:",
            where, first + bad,
            "starts:", tf.strings.substr(lines[bad], 0, 40)], summarize=1)
        with tf.control_dependencies([check]):
            lines = tf.identity(lines)
        if bounds is None:
            return lines
        line_numbers = first - 1 + tf.range(tf.shape(lines, out_type=tf.int64)[0])
        bucket = _line_buckets(prefix, line_numbers)
        return tf.boolean_mask(lines, (bucket >= bounds[0]) & (bucket < bounds[1]))

    blocks = tf.data.TextLineDataset(str(path), compression_type=compression)
    blocks = blocks.batch(_BLOCK_LINES).enumerate()
    return blocks.map(block, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).unbatch()


def _decode(lines):
    defaults = ([tf.constant([], tf.float32)]                      # the label: required
                + [tf.constant([np.nan], tf.float32)] * len(CRITEO_NUMERIC)
                + [tf.constant([""], tf.string)] * len(CRITEO_CATEGORICAL))
    fields = tf.io.decode_csv(lines, defaults, field_delim="\t", use_quote_delim=False)
    return dict(zip(CRITEO_COLUMNS[1:], fields[1:])), fields[0]
