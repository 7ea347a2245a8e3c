"""Side-feature tables: per-index categorical and multi-hot features aligned to a vocabulary."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tfdeeprec.data.errors import DataError
from tfdeeprec.data.vocabulary import Vocabulary

# Bucket edges for numeric MovieLens features (MovieLens-1M's age groups; decades).
DEFAULT_BOUNDARIES = {
    "age": (18, 25, 35, 45, 50, 56),
    "year": (1930, 1940, 1950, 1960, 1970, 1980, 1990, 1995, 2000, 2010),
}


@dataclass(frozen=True)
class FeatureTables:
    """Side features of every vocabulary index; row 0 (OOV) is "unknown" everywhere.

    ``categorical[name]`` is ``int32 [vocab_size]`` with values in
    ``0 .. cardinality - 1`` where 0 means unknown; ``multi_hot[name]`` is
    ``float32 [vocab_size, width]``. ``values[name]`` lists what each index means
    (index 0 = ``"[UNK]"``), so exports can document the features.

    Example:

    >>> side = pd.DataFrame({"gender": ["F", "M"], "genres": [("A",), ("A", "B")]},
    ...                     index=pd.Index(["u1", "u2"], name="user_id"))
    >>> tables = build_feature_tables(side, Vocabulary(["u1", "u2", "u3"]))
    >>> tables.categorical["gender"].tolist(), tables.multi_hot["genres"].tolist()
    ([0, 1, 2, 0], [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    """

    categorical: dict[str, np.ndarray] = field(default_factory=dict)
    multi_hot: dict[str, np.ndarray] = field(default_factory=dict)
    values: dict[str, list] = field(default_factory=dict)

    @property
    def cardinalities(self) -> dict[str, int]:
        return {name: len(self.values[name]) for name in self.categorical}

    @property
    def widths(self) -> dict[str, int]:
        return {name: table.shape[1] for name, table in self.multi_hot.items()}


def build_feature_tables(side: pd.DataFrame | None, vocab: Vocabulary, *,
                         columns=None, boundaries=None) -> FeatureTables:
    """Encodes a side-feature frame (indexed by raw ID) into tables for ``vocab``.

    Tuple/list columns become multi-hot; numeric columns with ``boundaries`` (default
    :data:`DEFAULT_BOUNDARIES`) are bucketised; other columns become categorical.
    IDs missing from ``side`` get "unknown" (0 / all-zero rows).

    Args:
        side: frame indexed by raw ID, or ``None`` (no features).
        vocab: the vocabulary the rows must align with.
        columns: the columns to use (default: all but ``title`` and ``zip_code``).
        boundaries: ``{column: bucket edges}`` for numeric columns.
    """
    if side is None:
        return FeatureTables()
    boundaries = {**DEFAULT_BOUNDARIES, **(boundaries or {})}
    if columns is None:
        columns = [c for c in side.columns if c not in ("title", "zip_code")]
    missing = [c for c in columns if c not in side.columns]
    if missing:
        raise DataError(f"unknown side-feature columns; available: {list(side.columns)}",
                        column=missing[0])
    rows = side.index.get_indexer(pd.Index(["\0oov"] + list(vocab.tokens)))
    present = rows >= 0
    tables = FeatureTables()
    for name in columns:
        column = side[name]
        if column.map(lambda v: isinstance(v, (tuple, list))).all():
            vocab_values = sorted({v for values in column for v in values})
            position = {v: j for j, v in enumerate(vocab_values)}
            table = np.zeros((len(vocab), len(vocab_values)), np.float32)
            for row, values in zip(np.flatnonzero(present), column.to_numpy()[rows[present]]):
                table[row, [position[v] for v in values]] = 1.0
            tables.multi_hot[name] = table
            tables.values[name] = vocab_values
            continue
        if name in boundaries and pd.api.types.is_numeric_dtype(column):
            edges = np.asarray(boundaries[name], dtype=np.float64)
            codes = np.searchsorted(edges, column.to_numpy(np.float64), side="right") + 1
            known = column.to_numpy(np.float64) > 0   # 0 marks "unknown" (e.g. year)
            codes = np.where(known, codes, 0)
            labels = [f"<{edges[0]:g}"] + [f"{a:g}-{b:g}" for a, b in zip(edges, edges[1:])] \
                + [f">={edges[-1]:g}"]
        else:
            labels_index = pd.Index(sorted(column.astype(str).unique()))
            codes = labels_index.get_indexer(column.astype(str)) + 1
            labels = list(labels_index)
        table = np.zeros(len(vocab), np.int32)
        table[present] = codes[rows[present]]
        tables.categorical[name] = table
        tables.values[name] = ["[UNK]"] + labels
    return tables
