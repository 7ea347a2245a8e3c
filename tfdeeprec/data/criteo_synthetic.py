"""Criteo-shaped TSV files with planted click signal, written in bounded memory.

Command line (prints the path and the rows per second)::

    python -m tfdeeprec.data.criteo_synthetic OUT.tsv --rows 1000000 --seed 0
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from tfdeeprec.data.criteo import CRITEO_CATEGORICAL, CRITEO_NUMERIC

# Vocabulary size of C1..C26: some tiny, some of 10^4..10^5 values.
CATEGORICAL_SIZES = (20, 30, 1_000, 50_000, 4, 12, 300, 100_000, 8, 20_000, 3_000, 80_000,
                     500, 25, 10_000, 60_000, 10, 5_000, 2_000, 5, 70_000, 15, 16, 30_000,
                     60, 100_000)
# Share of empty values of C1..C26 and I1..I13.
CATEGORICAL_EMPTY = (0.0, 0.0, 0.02, 0.03, 0.01, 0.05, 0.02, 0.04, 0.01, 0.03, 0.02, 0.05,
                     0.02, 0.01, 0.03, 0.04, 0.02, 0.03, 0.25, 0.25, 0.05, 0.02, 0.03, 0.04,
                     0.3, 0.05)
NUMERIC_EMPTY = (0.3, 0.0, 0.15, 0.15, 0.03, 0.2, 0.04, 0.01, 0.04, 0.3, 0.04, 0.6, 0.15)
# Which fields carry the planted effects (0-based positions in C1..C26 / I1..I13).
PAIR = (0, 1)                    # C1 x C2: latent-factor interaction
MAIN_EFFECTS = (0, 1, 2, 3, 4, 5, 8)   # C1, C2, C3, C4, C5, C6, C9: one weight per value
NUMERIC_EFFECTS = {1: 0.35, 4: -0.2}   # I2 up, I5 down, on log1p(value)

_FACTOR_DIM = 4
_MAIN_STD = 0.5
_CHUNK_ROWS = 65_536      # rows per generated chunk (and per random stream)
_THREADS = 2              # chunks generated at once
_INT_DIGITS = 10          # integer fields are capped at 10**10 - 1


def write_synthetic_criteo(
    path: str | os.PathLike,
    num_rows: int,
    *,
    seed: int = 0,
    ctr: float = 0.25,
    interaction_strength: float = 1.5,
) -> Path:
    """Writes ``num_rows`` lines in Criteo's format with a known click model.

    Each line is ``label, I1..I13, C1..C26`` joined by TAB, no header, exactly like
    Criteo's ``train.txt``; empty fields are empty strings. Deterministic for a
    ``seed``: the model comes from the seed alone and rows are drawn in fixed chunks of
    65,536 with one random stream per chunk and field, so a file is a prefix of any
    longer file with the same seed. Memory stays bounded (three chunks at most).

    **Fields.** ``C1..C26`` draw value ranks from Zipf-like laws (``p ∝ 1 / rank^s``,
    ``s`` in 1.05..1.3 per field) over vocabularies of :data:`CATEGORICAL_SIZES`
    (4 to 100,000 values), written as distinct 8-hex-digit strings, with the empty
    shares of :data:`CATEGORICAL_EMPTY` (none in C1 and C2). ``I1..I13`` are
    count-like: ``floor(lognormal(mu, sigma))`` (non-negative, heavy tailed, ``mu`` in
    0..3, ``sigma`` in 1..2 per field) with the empty shares of :data:`NUMERIC_EMPTY`.

    **Planted click model.** ``label ~ Bernoulli(sigmoid(logit))`` with::

        logit = bias
              + sum_{f in C1,C2,C3,C4,C5,C6,C9} w_f[value_f]          # first order
              + interaction_strength * <u[C1 value], v[C2 value]>      # the planted pair
              + 0.35 * (log1p(I2) - E log1p(I2)) - 0.2 * (log1p(I5) - E log1p(I5))

    where ``w_f ~ N(0, 0.5^2)`` per value, ``u, v ~ N(0, I / sqrt(4))`` in 4
    dimensions (so the dot product has unit variance), an empty field adds nothing
    and ``bias`` is solved on a calibration sample so that the mean click rate is
    ``ctr``. The C1 x C2 term is not additive in C1 and C2: models that learn pairwise
    interactions (FM, DeepFM) beat logistic regression on raw fields, and
    ``interaction_strength=0`` removes the term.

    Args:
        path: the file to write (parent folders are created).
        num_rows: lines to write (int, non-negative).
        seed: random seed (int, non-negative, default 0).
        ctr: target mean click rate (float in (0, 1), default 0.25).
        interaction_strength: weight of the planted C1 x C2 term (float >= 0,
            default 1.5).

    Returns:
        The path written.

    Example:

    >>> import tempfile, pathlib
    >>> path = write_synthetic_criteo(pathlib.Path(tempfile.mkdtemp()) / "c.tsv", 3)
    >>> lines = path.read_text().splitlines()
    >>> len(lines), len(lines[0].split("\\t")), lines[0].split("\\t")[0] in ("0", "1")
    (3, 40, True)
    """
    for name, value in (("num_rows", num_rows), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"`{name}` must be a non-negative integer. "
                             f"Received: {name}={value!r}")
    if not 0.0 < ctr < 1.0:
        raise ValueError(f"`ctr` must lie in (0, 1). Received: ctr={ctr!r}")
    if not interaction_strength >= 0:
        raise ValueError(f"`interaction_strength` must be non-negative. "
                         f"Received: interaction_strength={interaction_strength!r}")
    model = _plant_model(int(seed), float(ctr), float(interaction_strength))
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    sizes = [min(_CHUNK_ROWS, num_rows - start) for start in range(0, num_rows, _CHUNK_ROWS)]
    # numpy releases the GIL, so two threads nearly double the speed; a short queue of
    # pending chunks keeps memory bounded and the order fixed.
    with open(path, "wb") as handle, ThreadPoolExecutor(_THREADS) as pool:
        pending = collections.deque()
        for chunk, size in enumerate(sizes):
            pending.append(pool.submit(_chunk_bytes, model, int(seed), chunk, size))
            if len(pending) > _THREADS:
                handle.write(pending.popleft().result())
        while pending:
            handle.write(pending.popleft().result())
    return path


@dataclasses.dataclass(frozen=True, eq=False)
class _Model:
    cdfs: tuple            # per categorical field, the Zipf CDF over its ranks
    hex_tables: tuple      # per categorical field, uint8 [size + 1, 8]: rank -> 8 hex
                           # digits in ASCII; the last row (rank -1, empty) is all NUL
    main: dict             # categorical field -> weight per value
    u: np.ndarray          # [size C1, dim]
    v: np.ndarray          # [size C2, dim]
    mu: np.ndarray         # lognormal parameters of I1..I13
    sigma: np.ndarray
    numeric_mean: dict     # numeric field -> E log1p(value) (non-empty)
    bias: float


def _plant_model(seed: int, ctr: float, strength: float) -> _Model:
    rng = np.random.default_rng([seed, 0])
    cdfs, tables = [], []
    for size in CATEGORICAL_SIZES:
        weights = 1.0 / np.arange(1, size + 1) ** rng.uniform(1.05, 1.3)
        cdfs.append(np.cumsum(weights) / weights.sum())
        # An odd multiplier is a bijection modulo 2^32, so the codes are distinct.
        salt, multiplier = rng.integers(0, 1 << 32), rng.integers(0, 1 << 31) * 2 + 1
        codes = (np.arange(size, dtype=np.uint64) * np.uint64(multiplier)
                 + np.uint64(salt)) & np.uint64(0xFFFFFFFF)
        nibbles = (codes[:, None] >> np.arange(28, -4, -4, dtype=np.uint64)) & np.uint64(15)
        text = np.frombuffer(b"0123456789abcdef", np.uint8)[nibbles.astype(np.int64)]
        tables.append(np.concatenate([text, np.zeros((1, 8), np.uint8)]))
    main = {f: rng.normal(0.0, _MAIN_STD, CATEGORICAL_SIZES[f]) for f in MAIN_EFFECTS}
    scale = _FACTOR_DIM ** -0.25
    u = rng.normal(0.0, scale, (CATEGORICAL_SIZES[PAIR[0]], _FACTOR_DIM)) * np.sqrt(strength)
    v = rng.normal(0.0, scale, (CATEGORICAL_SIZES[PAIR[1]], _FACTOR_DIM)) * np.sqrt(strength)
    mu = rng.uniform(0.0, 3.0, len(CRITEO_NUMERIC))
    sigma = rng.uniform(1.0, 2.0, len(CRITEO_NUMERIC))
    numeric_mean = {f: _log1p_mean(mu[f], sigma[f], rng) for f in NUMERIC_EFFECTS}
    model = _Model(tuple(cdfs), tuple(tables), main, u, v, mu, sigma, numeric_mean, 0.0)
    # Solve the bias for the target click rate on a calibration sample.
    sample = _draw_fields(model, np.random.default_rng([seed, 1]), 100_000)
    logits = _logits(model, *sample)
    low, high = -20.0, 20.0
    for _ in range(60):
        middle = (low + high) / 2
        if _sigmoid(logits + middle).mean() < ctr:
            low = middle
        else:
            high = middle
    return dataclasses.replace(model, bias=(low + high) / 2)


def _log1p_mean(mu, sigma, rng) -> float:
    return float(np.log1p(np.floor(rng.lognormal(mu, sigma, 200_000))).mean())


def _draw_fields(model: _Model, rngs, size: int):
    """Categorical ranks (-1 = empty) and numeric values (-1 = empty) of ``size`` rows.

    ``rngs`` is one generator for everything or a callable ``key -> generator`` giving
    each field's values and empties their own stream, so a shorter draw is a prefix.
    """
    pick = rngs if callable(rngs) else (lambda _: rngs)
    cats = np.empty((len(CRITEO_CATEGORICAL), size), np.int64)
    for f, cdf in enumerate(model.cdfs):
        ranks = np.searchsorted(cdf, pick(("C", f, "value")).random(size))
        empty = pick(("C", f, "empty")).random(size) < CATEGORICAL_EMPTY[f]
        cats[f] = np.where(empty, -1, np.minimum(ranks, len(cdf) - 1))
    nums = np.empty((len(CRITEO_NUMERIC), size), np.int64)
    for f in range(len(CRITEO_NUMERIC)):
        values = pick(("I", f, "value")).lognormal(model.mu[f], model.sigma[f], size)
        values = np.minimum(np.floor(values), 10.0 ** _INT_DIGITS - 1).astype(np.int64)
        empty = pick(("I", f, "empty")).random(size) < NUMERIC_EMPTY[f]
        nums[f] = np.where(empty, -1, values)
    return cats, nums


def _logits(model: _Model, cats: np.ndarray, nums: np.ndarray) -> np.ndarray:
    logits = np.full(cats.shape[1], model.bias)
    for f, weights in model.main.items():
        logits += np.where(cats[f] >= 0, weights[cats[f]], 0.0)
    a, b = cats[PAIR[0]], cats[PAIR[1]]
    pair = np.sum(model.u[a] * model.v[b], axis=1)
    logits += np.where((a >= 0) & (b >= 0), pair, 0.0)
    for f, weight in NUMERIC_EFFECTS.items():
        effect = weight * (np.log1p(np.maximum(nums[f], 0)) - model.numeric_mean[f])
        logits += np.where(nums[f] >= 0, effect, 0.0)
    return logits


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _chunk_bytes(model: _Model, seed: int, chunk: int, size: int) -> bytes:
    def stream(key):
        kind, f, what = key
        index = f + (0 if kind == "C" else 100) + (0 if what == "value" else 1000)
        return np.random.default_rng([seed, 2, chunk, index])

    cats, nums = _draw_fields(model, stream, size)
    clicks = np.random.default_rng([seed, 3, chunk]).random(size) < _sigmoid(
        _logits(model, cats, nums))
    # One fixed-width row of bytes per line; NUL pads short fields and is dropped last.
    digits = [_digits(values) for values in nums]
    width = 1 + sum(1 + d.shape[1] for d in digits) + len(cats) * 9 + 1
    rows = np.zeros((size, width), np.uint8)
    rows[:, 0] = np.where(clicks, ord("1"), ord("0"))
    column = 1
    for text in digits:
        rows[:, column] = ord("\t")
        rows[:, column + 1:column + 1 + text.shape[1]] = text
        column += 1 + text.shape[1]
    for table, ranks in zip(model.hex_tables, cats):
        rows[:, column] = ord("\t")
        rows[:, column + 1:column + 9] = table[ranks]      # rank -1 -> the zero row
        column += 9
    rows[:, column] = ord("\n")
    flat = rows.ravel()
    return flat[flat != 0].tobytes()


def _digits(values: np.ndarray) -> np.ndarray:
    """Decimal ASCII of non-negative ``values``, right-aligned, NUL-padded; -1 -> all NUL."""
    values = values.astype(np.float64)        # exact below 2^53; float division is fast
    width = len(str(int(max(values.max(initial=0), 0))))
    powers = 10.0 ** np.arange(width - 1, -1, -1)
    shifted = np.floor(values[:, None] / powers)
    digits = shifted - 10.0 * np.floor(shifted / 10.0) + ord("0")
    shown = (shifted >= 1) | (powers == 1)              # no leading zeros; 0 -> "0"
    shown &= values[:, None] >= 0
    return np.where(shown, digits, 0).astype(np.uint8)


def main(argv=None) -> int:
    """Command line: writes a synthetic Criteo file and reports its speed."""
    parser = argparse.ArgumentParser(
        prog="python -m tfdeeprec.data.criteo_synthetic",
        description="Write a Criteo-format TSV with a planted click model.")
    parser.add_argument("out", help="the file to write")
    parser.add_argument("--rows", type=int, default=1_000_000, help="lines (default 1e6)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--ctr", type=float, default=0.25, help="mean click rate")
    parser.add_argument("--interaction-strength", type=float, default=1.5,
                        help="weight of the planted C1 x C2 term (0 = none)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    path = write_synthetic_criteo(args.out, args.rows, seed=args.seed, ctr=args.ctr,
                                  interaction_strength=args.interaction_strength)
    seconds = time.perf_counter() - start
    print(f"wrote {args.rows} rows to {path} in {seconds:.1f} s "
          f"({args.rows / max(seconds, 1e-9):,.0f} rows/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
