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

    def __len__(self) -> int:
        return len(self.user)

    def known(self) -> "EncodedInteractions":
        """Only the rows whose user and item are both in the vocabularies."""
        keep = (self.user != Vocabulary.OOV_INDEX) & (self.item != Vocabulary.OOV_INDEX)
        return EncodedInteractions(
            self.user[keep], self.item[keep], self.num_users, self.num_items,
            None if self.rating is None else self.rating[keep],
            None if self.timestamp is None else self.timestamp[keep])


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
