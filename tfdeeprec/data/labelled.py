"""LabelledRows: one part (train, valid or test) of labelled feature rows, in memory or streamed.

In memory, the rows are raw arrays (``tfdeeprec.features.raw_arrays``) and labels; streamed,
a function returns a fresh ``tf.data`` pipeline over files each time it is called, so
nothing is held whole. Both give the same thing: batches of ``(features, label)``.

>>> import numpy as np
>>> rows = LabelledRows.from_arrays({"city": np.array(["a", "b", "c"])},
...                                 np.array([1, 0, 1], np.float32))
>>> [labels.numpy().tolist() for _, labels in rows.dataset(2)]
[[1.0, 0.0], [1.0]]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data._batching import index_batches


@dataclass(frozen=True, eq=False)
class LabelledRows:
    """Labelled feature rows.

    Attributes:
        arrays (dict | None): name -> raw values (in memory).
        labels (np.ndarray | None): float32 0/1 per row (in memory).
        stream (callable | None): ``(batch_size, shuffle_buffer, seed) -> dataset`` of
            ``(features, label)`` batches (streamed).
    """

    arrays: dict | None = None
    labels: np.ndarray | None = None
    stream: Callable | None = None

    @classmethod
    def from_arrays(cls, arrays: dict, labels: np.ndarray) -> "LabelledRows":
        sizes = {name: len(values) for name, values in arrays.items()}
        if any(size != len(labels) for size in sizes.values()):
            raise ValueError(f"every feature needs one value per label ({len(labels)}). "
                             f"Received: {sizes}")
        return cls(arrays=dict(arrays), labels=np.asarray(labels, np.float32))

    @property
    def in_memory(self) -> bool:
        return self.arrays is not None

    def __len__(self) -> int:
        if not self.in_memory:
            raise TypeError("streamed rows have no known length")
        return len(self.labels)

    def dataset(self, batch_size: int, *, shuffle: bool = False, seed: int = 0,
                shuffle_buffer: int = 1 << 16) -> tf.data.Dataset:
        """``(features, label)`` batches; ``shuffle`` reshuffles every pass (in memory:
        all rows; streamed: within ``shuffle_buffer`` rows)."""
        if not self.in_memory:
            return self.stream(batch_size, shuffle_buffer if shuffle else 0, seed)
        # Batches gather rows of a per-epoch permutation: no per-row tf.data work.
        arrays = {k: tf.constant(v) for k, v in self.arrays.items()}
        labels = tf.constant(self.labels)
        batches = index_batches(len(self.labels), batch_size=batch_size, shuffle=shuffle,
                                seed=seed)
        return batches.map(lambda rows, _: ({k: tf.gather(v, rows) for k, v in arrays.items()},
                                            tf.gather(labels, rows))
                           ).prefetch(tf.data.AUTOTUNE)

    def batches(self, batch_size: int = 1 << 16) -> Iterator[dict]:
        """Feature batches as numpy dicts, in order (for learning feature statistics)."""
        if self.in_memory:
            for start in range(0, len(self.labels), batch_size):
                yield {k: v[start:start + batch_size] for k, v in self.arrays.items()}
            return
        for features, _ in self.dataset(batch_size).as_numpy_iterator():
            yield {k: (v.astype(str) if v.dtype == object else v) for k, v in features.items()}
