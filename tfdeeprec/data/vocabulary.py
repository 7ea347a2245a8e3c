"""Vocabulary: raw string IDs <-> contiguous indices, with index 0 reserved for OOV."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from tfdeeprec.data.errors import DataError


class Vocabulary:
    """Maps raw string IDs to indices ``1..n``; index 0 is out-of-vocabulary (OOV).

    Index 0 also serves as padding in sequence pipelines: both mean "no known item".
    The order is deterministic: numeric IDs sort as numbers, other IDs as strings.
    ``len(vocab)`` counts the OOV slot, so it is the ``input_dim`` of an embedding.
    The same mapping is ``keras.layers.StringLookup(vocabulary=vocab.tokens,
    num_oov_indices=1)``, which is how exports put it inside a SavedModel.

    Example:

    >>> vocab = Vocabulary.from_ids(["10", "2", "2", "7"], name="item_id")
    >>> vocab.tokens, len(vocab)
    (('2', '7', '10'), 4)
    >>> vocab.lookup(["7", "unknown"]).tolist()
    [2, 0]
    >>> vocab.ids_of([3, 0]).tolist()
    ['10', '[OOV]']
    """

    OOV_INDEX = 0
    OOV_TOKEN = "[OOV]"

    def __init__(self, tokens: Iterable[str], name: str = "ids"):
        tokens = tuple(str(t) for t in tokens)
        index = pd.Index(tokens)
        if index.has_duplicates:
            raise DataError("vocabulary tokens must be unique", source=name,
                            value=index[index.duplicated()][0])
        if self.OOV_TOKEN in index:
            raise DataError(f"{self.OOV_TOKEN!r} is reserved", source=name,
                            value=self.OOV_TOKEN)
        self.name = name
        self._tokens = tokens
        self._index = index

    @classmethod
    def from_ids(cls, ids: Iterable, name: str = "ids") -> "Vocabulary":
        """Builds a vocabulary from the unique values of ``ids``."""
        unique = pd.unique(pd.Series(list(ids) if not hasattr(ids, "__len__") else ids,
                                     dtype=object).astype(str))
        if len(unique) and all(u.isdigit() for u in unique):
            unique = sorted(unique, key=int)
        else:
            unique = sorted(unique)
        return cls(unique, name=name)

    @property
    def tokens(self) -> tuple[str, ...]:
        """The known IDs, in index order (index ``i + 1`` for ``tokens[i]``)."""
        return self._tokens

    def __len__(self) -> int:
        return len(self._tokens) + 1

    @property
    def size(self) -> int:
        """Number of indices including the OOV slot."""
        return len(self)

    def __contains__(self, raw_id) -> bool:
        return str(raw_id) in self._index

    def lookup(self, ids) -> np.ndarray:
        """Raw IDs -> ``int32`` indices; unknown IDs map to 0."""
        positions = self._index.get_indexer(pd.Index(np.asarray(ids, dtype=object).astype(str)))
        return (positions + 1).astype(np.int32)

    def ids_of(self, indices) -> np.ndarray:
        """Indices -> raw IDs; index 0 becomes ``"[OOV]"``."""
        indices = np.asarray(indices, dtype=np.int64)
        if indices.size and (indices.min() < 0 or indices.max() >= len(self)):
            raise DataError(f"index out of range [0, {len(self)})", source=self.name,
                            value=int(indices[(indices < 0) | (indices >= len(self))][0]))
        table = np.asarray((self.OOV_TOKEN,) + self._tokens, dtype=object)
        return table[indices]

    def to_dict(self) -> dict:
        return {"name": self.name, "oov_index": self.OOV_INDEX, "tokens": list(self._tokens)}

    @classmethod
    def from_dict(cls, data: dict) -> "Vocabulary":
        return cls(data["tokens"], name=data.get("name", "ids"))

    def save(self, path) -> None:
        """Writes JSON atomically (temporary file, then rename)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict()))
        tmp.replace(path)

    @classmethod
    def load(cls, path) -> "Vocabulary":
        return cls.from_dict(json.loads(Path(path).read_text()))

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocabulary) and self._tokens == other._tokens

    def __repr__(self) -> str:
        return f"Vocabulary(name={self.name!r}, size={len(self)})"
