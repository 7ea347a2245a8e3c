"""FeatureStats: what the specs learn from the training rows (vocabularies, moments, edges).

Computed in one streaming pass over batches of raw values, so a file larger than memory
is read once and never held whole. The model's preprocessing layers are built from them.

>>> import numpy as np
>>> from tfdeeprec.features.specs import Categorical, Numeric
>>> specs = (Categorical("city", min_count=2), Numeric("age"))
>>> batches = [{"city": np.array(["a", "b", "a", ""]), "age": np.array([20., 30., np.nan, 40.])}]
>>> stats = fit_feature_stats(specs, batches)
>>> stats.vocabularies["city"], stats.moments["age"]
(['a'], [30.0, 66.66666666666667])
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

import numpy as np

from tfdeeprec.features.specs import Numeric, check_specs

SAMPLE_SIZE = 100_000  # values kept (a uniform reservoir) to place learned bucket edges


@dataclass
class FeatureStats:
    """Learned from training rows.

    Attributes:
        vocabularies: table name -> tokens, most frequent first (ties by token); the
            tables of hashed features have none.
        moments: numeric feature -> ``[mean, variance]`` of its (transformed) value.
        boundaries: bucketised feature -> its edges (given, or training quantiles).
        rows (int): training rows seen.
    """

    vocabularies: dict = field(default_factory=dict)
    moments: dict = field(default_factory=dict)
    boundaries: dict = field(default_factory=dict)
    rows: int = 0

    def to_dict(self) -> dict:
        return {"vocabularies": self.vocabularies, "moments": self.moments,
                "boundaries": self.boundaries, "rows": self.rows}

    @classmethod
    def from_dict(cls, data: dict) -> "FeatureStats":
        return cls(**data)


def fit_feature_stats(specs, batches, *, seed: int = 0) -> FeatureStats:
    """One pass over ``batches`` (dicts of raw numpy arrays, e.g. from
    :func:`~tfdeeprec.features.raw_arrays` or a tf.data pipeline's ``as_numpy_iterator``).

    Missing values (``""``, ``NaN``) are not counted: they have their own row. Raises
    ``ValueError`` naming a feature that no batch holds, or one with no value at all.
    """
    specs = check_specs(specs)
    counts = {s.table: collections.Counter() for s in specs
              if not isinstance(s, Numeric) and not s.hash_buckets}
    sums = {s.name: np.zeros(3) for s in specs if isinstance(s, Numeric)
            and s.transform != "bucketize"}
    samples = {s.name: _Reservoir(SAMPLE_SIZE, seed) for s in specs
               if isinstance(s, Numeric) and s.transform == "bucketize" and not s.boundaries}
    rows = 0
    for batch in batches:
        missing = [s.name for s in specs if s.name not in batch]
        if missing:
            raise ValueError(f"the training rows have no feature(s) {missing}; they have "
                             f"{sorted(batch)}")
        rows += len(next(iter(batch.values())))
        for spec in specs:
            values = np.asarray(batch[spec.name])
            if spec.table in counts:
                _count_tokens(counts[spec.table], spec, values)
            elif spec.name in sums:
                x = transformed(spec, values.astype(np.float64))
                sums[spec.name] = _merge_moments(sums[spec.name], x[~np.isnan(x)])
            elif spec.name in samples:
                x = values.astype(np.float64)
                samples[spec.name].add(x[~np.isnan(x)])
    stats = FeatureStats(rows=rows)
    for spec in specs:
        if spec.table in counts and spec.table not in stats.vocabularies:
            least = min(s.min_count for s in specs if s.table == spec.table)
            kept = [(t, c) for t, c in counts[spec.table].items() if c >= least]
            if not kept:
                raise ValueError(f"feature {spec.name!r} has no value seen at least "
                                 f"{least} time(s) in the training rows")
            stats.vocabularies[spec.table] = [t for t, _ in sorted(
                kept, key=lambda tc: (-tc[1], tc[0]))]
        elif spec.name in sums:
            n, mean, m2 = sums[spec.name]
            if n == 0:
                raise ValueError(f"numeric feature {spec.name!r} has no value in the "
                                 "training rows (all NaN)")
            stats.moments[spec.name] = [float(mean), float(m2 / n)]
        elif isinstance(spec, Numeric) and spec.transform == "bucketize":
            stats.boundaries[spec.name] = list(spec.boundaries) or samples[spec.name].edges(
                spec.num_buckets, spec.name)
    return stats


def transformed(spec: Numeric, x: np.ndarray) -> np.ndarray:
    """The value a numeric spec standardises: ``log1p(max(x, 0))`` for ``log1p``, else x."""
    return np.log1p(np.maximum(x, 0.0)) if spec.transform == "log1p" else x


def _merge_moments(acc, x):
    """(count, mean, sum of squared deviations) of the rows so far and ``x`` (Chan et al.)."""
    n, mean, m2 = acc
    if len(x) == 0:
        return acc
    m, x_mean = len(x), x.mean()
    delta = x_mean - mean
    total = n + m
    return np.array([total, mean + delta * m / total,
                     m2 + np.square(x - x_mean).sum() + delta**2 * n * m / total])


def _count_tokens(counter: collections.Counter, spec, values: np.ndarray) -> None:
    """Adds the batch's non-empty tokens to ``counter``; single-valued text is counted
    with ``np.unique`` (a Python loop over every value costs minutes at 10^7 rows)."""
    values = values.astype(str) if values.dtype.kind not in "US" else values
    if spec.kind == "multi_valued":
        counter.update(t for v in values if v for t in str(v).split(spec.separator) if t)
    elif values.dtype.kind == "U":
        tokens, times = np.unique(values[values != ""], return_counts=True)
        counter.update(dict(zip(tokens.tolist(), times.tolist())))
    else:  # bytes: counted as their str(), as before
        counter.update(str(v) for v in values if v)


class _Reservoir:
    """A uniform sample of at most ``size`` values from a stream."""

    def __init__(self, size, seed):
        self.size, self.seen = size, 0
        self.values = np.empty(0)
        self.rng = np.random.default_rng(seed)

    def add(self, x):
        room = self.size - len(self.values)
        if room > 0:
            self.values = np.concatenate([self.values, x[:room]])
            self.seen += min(room, len(x))
            x = x[room:]
        if len(x):  # Algorithm R, vectorised: row t replaces a random slot w.p. size / t
            t = self.seen + 1 + np.arange(len(x))
            slots = (self.rng.random(len(x)) * t).astype(np.int64)
            keep = slots < self.size
            self.values[slots[keep]] = x[keep]
            self.seen += len(x)

    def edges(self, num_buckets, name):
        if len(self.values) == 0:
            raise ValueError(f"numeric feature {name!r} has no value in the training rows")
        qs = np.quantile(self.values, np.linspace(0, 1, num_buckets + 1)[1:-1])
        return sorted({float(q) for q in qs})
