"""PreparedData: a frame split, its vocabularies (from train only) and the encoded parts.

Also the rating fallbacks every consumer shares: what a (user, item) pair with an
unknown ID is predicted to rate, in evaluation and in exports alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tfdeeprec.data.encoded import EncodedInteractions, encode
from tfdeeprec.data.interaction_frame import InteractionFrame
from tfdeeprec.data.split import (Split, build_vocabularies, split_by_user_ratio,
                                  split_leave_one_out, split_random, split_temporal)
from tfdeeprec.data.vocabulary import Vocabulary


@dataclass
class PreparedData:
    """A split, its vocabularies (from train only) and the encoded parts."""

    frame: InteractionFrame
    split: Split
    user_vocab: Vocabulary
    item_vocab: Vocabulary
    train: EncodedInteractions
    valid: EncodedInteractions
    test: EncodedInteractions


def prepare_data(frame: InteractionFrame, *, split: str, ratios: Sequence[float] = (0.8, 0.1, 0.1),
                 seed: int = 0, validation_fraction: float = 0.1) -> PreparedData:
    """Splits ``frame`` (every split kind seeded; leave-one-out's seed orders ties), holds
    out ``validation_fraction`` of train when the split has no validation part, builds
    the vocabularies from train and encodes all three parts.

    >>> from tfdeeprec.data import make_synthetic_ratings
    >>> data = prepare_data(make_synthetic_ratings(30, 20, seed=0).frame, split="random")
    >>> data.train.num_users == len(data.user_vocab)
    True
    """
    if split == "leave_one_out":
        parts = split_leave_one_out(frame, seed=seed)
    elif split == "temporal":
        parts = split_temporal(frame, ratios)
    elif split == "random":
        parts = split_random(frame, ratios, seed=seed)
    elif split == "user_ratio":
        parts = split_by_user_ratio(frame, ratios, seed=seed)
    else:
        raise ValueError("`split` must be one of ('user_ratio', 'random', 'leave_one_out', "
                         f"'temporal'). Received: split={split!r}")
    if len(parts.valid.interactions) == 0:
        inner = split_random(parts.train, (1 - validation_fraction, validation_fraction),
                             seed=seed + 1)
        parts = Split(inner.train, inner.test, parts.test)
    user_vocab, item_vocab = build_vocabularies(parts.train)
    train, valid, test = (encode(p, user_vocab, item_vocab) for p in parts)
    return PreparedData(frame, parts, user_vocab, item_vocab, train, valid, test)


@dataclass(frozen=True, eq=False)
class RatingFallbacks:
    """Mean training ratings: the prediction for a pair with an unknown ID.

    ``user[u]`` is the score of (known user ``u``, unknown item): the user's mean;
    ``item[i]`` the score of (unknown user, known item ``i``): the item's mean, with
    ``item[0]`` (both unknown) the global mean. IDs without training ratings get the
    global mean.

    >>> train = EncodedInteractions(np.array([1, 1, 2]), np.array([1, 2, 1]), 3, 3,
    ...                             rating=np.array([4.0, 2.0, 5.0]))
    >>> f = RatingFallbacks.from_train(train)
    >>> f.user.tolist(), f.item.tolist()
    ([3.6666667461395264, 3.0, 5.0], [3.6666667461395264, 4.5, 2.0])
    >>> f.predict(np.array([0, 2, 0]), np.array([2, 0, 0])).tolist()
    [2.0, 5.0, 3.6666667461395264]
    """

    user: np.ndarray
    item: np.ndarray

    @classmethod
    def from_train(cls, train: EncodedInteractions) -> "RatingFallbacks":
        known = train.known()
        if known.rating is None or len(known) == 0:
            raise ValueError("rating fallbacks need training ratings, but there are none")
        rating = known.rating.astype(np.float64)
        overall = rating.mean()
        user = _mean_by(known.user, rating, train.num_users, overall)
        item = _mean_by(known.item, rating, train.num_items, overall)
        user[0] = item[0] = overall
        return cls(user.astype(np.float32), item.astype(np.float32))

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """The fallback of each pair (meant for pairs where an index is 0, the OOV slot)."""
        return np.where(users > 0, self.user[users], self.item[items])


def _mean_by(index: np.ndarray, values: np.ndarray, size: int, default: float) -> np.ndarray:
    sums = np.bincount(index, weights=values, minlength=size)
    counts = np.bincount(index, minlength=size)
    return np.where(counts > 0, sums / np.maximum(counts, 1), default)
