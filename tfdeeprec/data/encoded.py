"""EncodedInteractions: an InteractionFrame turned into index arrays by two vocabularies."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tfdeeprec.data import schema
from tfdeeprec.data.interaction_frame import InteractionFrame
from tfdeeprec.data.vocabulary import Vocabulary


@dataclass(frozen=True, eq=False)
class EncodedInteractions:
    """Interactions as ``int32`` user/item indices (0 = OOV) ready for tf.data.

    ``num_users`` / ``num_items`` are the vocabulary sizes, OOV slot included, so
    valid indices are ``0 .. num_items - 1``. ``rating`` and ``timestamp`` are
    ``None`` when the source has none.

    Example:

    >>> import pandas as pd
    >>> frame = InteractionFrame.from_pandas(pd.DataFrame({"user_id": ["a", "b"],
    ...                                                    "item_id": ["x", "z"]}))
    >>> enc = encode(frame, Vocabulary(["a", "b"]), Vocabulary(["x", "y"]))
    >>> enc.user.tolist(), enc.item.tolist(), enc.num_items
    ([1, 2], [1, 0], 3)
    """

    user: np.ndarray
    item: np.ndarray
    num_users: int
    num_items: int
    rating: np.ndarray | None = None
    timestamp: np.ndarray | None = None
    id_features: "IdFeatures | None" = None


    def __len__(self) -> int:
        return len(self.user)

    def known(self) -> "EncodedInteractions":
        """Only the rows whose user and item are both in the vocabularies."""
        keep = (self.user != Vocabulary.OOV_INDEX) & (self.item != Vocabulary.OOV_INDEX)
        return EncodedInteractions(
            self.user[keep], self.item[keep], self.num_users, self.num_items,
            None if self.rating is None else self.rating[keep],
            None if self.timestamp is None else self.timestamp[keep], self.id_features)

    def distinct_pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The known rows' distinct ``(users, items, times)`` (int64, in row-major order;
        ``times``: how many rows hold the pair).

        >>> enc = EncodedInteractions(np.array([2, 1, 2, 0]), np.array([1, 3, 1, 2]), 3, 4)
        >>> [a.tolist() for a in enc.distinct_pairs()]
        [[1, 2], [3, 1], [1, 2]]
        """
        known = self.known()
        keys, times = np.unique(known.user.astype(np.int64) * self.num_items + known.item,
                                return_counts=True)
        return keys // self.num_items, keys % self.num_items, times


@dataclass(frozen=True, eq=False)
class IdFeatures:
    """Raw feature values per vocabulary index, for models that score a (user, item)
    pair from named features (the context family): ``user[name]`` has one value per
    user index (``num_users``), ``item[name]`` one per item index; index 0 (the OOV
    slot) holds missing values. ``context`` names the features that belong to neither
    (hour, ...): when a pair is scored they are missing (``""`` / ``NaN``).

    >>> f = IdFeatures({"user_id": np.array(["", "a"])}, {"item_id": np.array(["", "x"])},
    ...                {"hour": "str"})
    >>> {k: v.tolist() for k, v in f.join(np.array([1, 1]), np.array([1, 0])).items()}
    {'user_id': ['a', 'a'], 'item_id': ['x', ''], 'hour': ['', '']}
    """

    user: dict
    item: dict
    context: dict  # name -> "str" or "float32"

    def join(self, users: np.ndarray, items: np.ndarray) -> dict:
        """The raw feature rows of the pairs ``(users[j], items[j])``."""
        out = {name: values[users] for name, values in self.user.items()}
        out.update({name: values[items] for name, values in self.item.items()})
        for name, kind in self.context.items():
            out[name] = (np.full(len(users), np.nan, np.float32) if kind == "float32"
                         else np.full(len(users), "", dtype=object).astype(str))
        return out


def encode(frame: InteractionFrame, user_vocab: Vocabulary,
           item_vocab: Vocabulary) -> EncodedInteractions:
    """Looks up every interaction's user and item index; unknown IDs become 0."""
    df = frame.interactions
    return EncodedInteractions(
        user=user_vocab.lookup(df[schema.USER_ID].to_numpy()),
        item=item_vocab.lookup(df[schema.ITEM_ID].to_numpy()),
        num_users=len(user_vocab),
        num_items=len(item_vocab),
        rating=df[schema.RATING].to_numpy(np.float32) if frame.has_ratings else None,
        timestamp=df[schema.TIMESTAMP].to_numpy(np.int64) if frame.has_timestamps else None,
    )


def concatenate(*parts: EncodedInteractions) -> EncodedInteractions:
    """The rows of several splits of the same vocabularies, in order (timestamps kept
    when every part has them).

    >>> a = EncodedInteractions(np.array([1]), np.array([2]), 2, 3)
    >>> b = EncodedInteractions(np.array([1]), np.array([1]), 2, 3)
    >>> concatenate(a, b).item.tolist()
    [2, 1]
    """
    first = parts[0]
    stamps = [p.timestamp for p in parts]
    return EncodedInteractions(
        np.concatenate([p.user for p in parts]), np.concatenate([p.item for p in parts]),
        first.num_users, first.num_items,
        timestamp=None if any(t is None for t in stamps) else np.concatenate(stamps))
