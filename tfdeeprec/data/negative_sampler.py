"""NegativeSampler: in-graph, vectorised, exact rejection sampling of items a user has not seen."""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data.encoded import EncodedInteractions
from tfdeeprec.data.errors import DataError

_DISTRIBUTIONS = ("uniform", "popularity")
_RETRIES = 8  # candidates drawn per still-rejected entry in each later round


class NegativeSampler:
    """Draws, per user, items that are not among the user's positives.

    Items are drawn from ``1 .. num_items - 1`` (index 0, OOV/padding, never), either
    uniformly or with probability proportional to ``count ** alpha`` where ``count`` is
    the item's number of positives (``"popularity"``; items never seen get probability
    0 when ``alpha > 0``). A draw that hits one of the user's positives is rejected and
    redrawn, so the result follows the chosen distribution restricted to the user's
    non-positives, exactly. Everything runs as TF ops: candidates are drawn for the
    whole batch at once, membership is tested with ``tf.searchsorted`` on the sorted
    ``int64`` keys ``user * num_items + item``, and a ``tf.while_loop`` redraws only the
    rejected entries (8 candidates each per round, keeping the first acceptable one)
    until none is left. It works eagerly, in ``tf.function`` and in ``tf.data`` maps.
    A user with almost every item positive needs more rounds but still gets exact
    draws. Repeated (user, item) positives count once for exclusion and every time
    for popularity.

    Args:
        user: int array ``[n]``, the positives' user indices.
        item: int array ``[n]``, the positives' item indices (``< num_items``).
        num_items: int, item vocabulary size including the OOV slot 0.
        distribution: ``"uniform"`` (default) or ``"popularity"``.
        alpha: float ``>= 0``, popularity exponent (default 0.75, word2vec's).
        seed: int, seeds the generator used when :meth:`sample` gets no ``seed``.

    Raises:
        DataError: when some user has every item that can be drawn as a positive
            (sampling would never end); the message names the user index.

    Example:

    >>> sampler = NegativeSampler([1, 1, 2], [1, 2, 3], num_items=5, seed=0)
    >>> negatives = sampler.sample(tf.constant([1, 2]), num_negatives=3)
    >>> negatives.shape, bool(tf.reduce_all(negatives[0] >= 3))
    (TensorShape([2, 3]), True)
    """

    def __init__(self, user, item, num_items: int, *, distribution: str = "uniform",
                 alpha: float = 0.75, seed: int = 0):
        if not isinstance(num_items, (int, np.integer)) or num_items < 2:
            raise ValueError("`num_items` must be an integer >= 2 (OOV slot plus one item). "
                             f"Received: num_items={num_items!r}")
        if distribution not in _DISTRIBUTIONS:
            raise ValueError(f"`distribution` must be one of {_DISTRIBUTIONS}. "
                             f"Received: distribution={distribution!r}")
        if not np.isfinite(alpha) or alpha < 0:
            raise ValueError(f"`alpha` must be a finite number >= 0. Received: alpha={alpha!r}")
        user = np.asarray(user, dtype=np.int64).ravel()
        item = np.asarray(item, dtype=np.int64).ravel()
        if user.shape != item.shape:
            raise DataError(f"`user` and `item` must have the same length. Received: "
                            f"{len(user)} users and {len(item)} items")
        if item.size and (item.min() < 0 or item.max() >= num_items):
            raise DataError(f"item indices must lie in [0, {num_items})", column="item",
                            value=int(item[(item < 0) | (item >= num_items)][0]))
        if user.size and user.min() < 0:
            raise DataError("user indices must be >= 0", column="user", value=int(user.min()))

        self.num_items = int(num_items)
        self.distribution = distribution
        self.alpha = float(alpha)
        self.seed = seed
        keys = np.unique(user * self.num_items + item)
        weights = self._weights(item)
        _check_not_exhausted(keys, weights, self.num_items)
        # A sentinel larger than every key keeps searchsorted's answer a valid index.
        self._keys = tf.constant(np.append(keys, np.iinfo(np.int64).max))
        if distribution == "popularity":
            self._cdf = tf.constant(np.cumsum(weights))
            self._last = int(np.flatnonzero(weights)[-1])
        self._generator = tf.random.Generator.from_seed(seed)

    @classmethod
    def from_encoded(cls, positives: EncodedInteractions, **kwargs) -> NegativeSampler:
        """A sampler over ``positives`` (e.g. the encoded training split)."""
        return cls(positives.user, positives.item, positives.num_items, **kwargs)

    def sample(self, users, num_negatives: int, seed=None) -> tf.Tensor:
        """Negatives ``int32 [n, num_negatives]`` for ``users`` (``int [n]``).

        ``seed``: optional ``int [2]`` tensor for stateless, repeatable draws (the
        pipelines pass one per batch); without it the sampler's own seeded
        ``tf.random.Generator`` advances, so repeated calls differ but a sampler
        built with the same ``seed`` repeats the same sequence.
        """
        if (not isinstance(num_negatives, (int, np.integer)) or isinstance(num_negatives, bool)
                or num_negatives < 1):
            raise ValueError("`num_negatives` must be an integer >= 1. "
                             f"Received: num_negatives={num_negatives!r}")
        users = tf.cast(tf.reshape(users, [-1]), tf.int64)
        if seed is None:
            seed = self._generator.make_seeds(1)[:, 0]
        seed = tf.cast(seed, tf.int64)
        n = tf.shape(users)[0]
        base = tf.reshape(tf.tile(users[:, None] * self.num_items, [1, num_negatives]), [-1])
        drawn = self._draw(tf.size(base), seed)
        rejected = tf.cast(tf.where(self._is_positive(base, drawn))[:, 0], tf.int32)

        def redraw(round_, items, rejected):
            # _RETRIES draws per rejected entry; the first acceptable one is kept, which
            # is still exact rejection sampling but needs far fewer rounds.
            fresh = tf.reshape(self._draw(tf.size(rejected) * _RETRIES,
                                          tf.random.experimental.stateless_fold_in(seed, round_)),
                               [-1, _RETRIES])
            base_rejected = tf.gather(base, rejected)[:, None]
            accepted = tf.logical_not(self._is_positive(base_rejected, fresh))
            pick = tf.argmax(tf.cast(accepted, tf.int32), axis=1, output_type=tf.int32)
            done = tf.reduce_any(accepted, axis=1)
            chosen = tf.gather(fresh, pick, batch_dims=1)
            items = tf.tensor_scatter_nd_update(items, tf.boolean_mask(rejected, done)[:, None],
                                                tf.boolean_mask(chosen, done))
            return round_ + 1, items, tf.boolean_mask(rejected, tf.logical_not(done))

        _, items, _ = tf.while_loop(
            lambda round_, items, rejected: tf.size(rejected) > 0, redraw,
            (tf.constant(1, tf.int64), drawn, rejected),
            shape_invariants=(tf.TensorShape([]), drawn.shape, tf.TensorShape([None])))
        return tf.reshape(items, [n, num_negatives])

    def _weights(self, item: np.ndarray) -> np.ndarray:
        """Unnormalised draw weights of items ``1 .. num_items - 1``."""
        if self.distribution == "uniform":
            return np.ones(self.num_items - 1)
        counts = np.bincount(item, minlength=self.num_items)[1:].astype(np.float64)
        return counts ** self.alpha if self.alpha > 0 else np.ones_like(counts)

    def _draw(self, count, seed) -> tf.Tensor:
        if self.distribution == "uniform":
            return tf.random.stateless_uniform([count], seed, minval=1, maxval=self.num_items,
                                               dtype=tf.int32)
        total = self._cdf[-1]
        point = tf.random.stateless_uniform([count], seed, dtype=tf.float64) * total
        index = tf.searchsorted(self._cdf, point, side="right")
        return tf.minimum(index, self._last) + 1

    def _is_positive(self, base: tf.Tensor, items: tf.Tensor) -> tf.Tensor:
        """Exact membership of ``base + items`` in the sorted keys (any shape)."""
        keys = base + tf.cast(items, tf.int64)
        flat = tf.reshape(keys, [-1])
        found = tf.gather(self._keys, tf.searchsorted(self._keys, flat)) == flat
        return tf.reshape(found, tf.shape(keys))

    def __repr__(self) -> str:
        return (f"NegativeSampler(num_items={self.num_items}, distribution="
                f"{self.distribution!r}, alpha={self.alpha}, positives={self._keys.shape[0] - 1})")


def _check_not_exhausted(keys: np.ndarray, weights: np.ndarray, num_items: int) -> None:
    drawable = weights > 0
    if not drawable.any():
        raise DataError("no item can be drawn: every item has weight 0")
    users, items = keys // num_items, keys % num_items
    hit = (items > 0) & drawable[np.maximum(items - 1, 0)]
    per_user = np.bincount(users[hit])
    full = np.flatnonzero(per_user >= drawable.sum())
    if full.size:
        raise DataError(f"user {int(full[0])} has every item that can be drawn as a positive, "
                        "so no negative exists for it", column="user", value=int(full[0]))


def resolve_sampler(encoded, sampler: NegativeSampler | None = None, *,
                    distribution: str = "uniform", alpha: float = 0.75,
                    seed: int = 0) -> NegativeSampler:
    """The given sampler, checked against ``encoded``, or a new one built from it."""
    if sampler is None:
        return NegativeSampler.from_encoded(encoded, distribution=distribution, alpha=alpha,
                                            seed=seed)
    if sampler.num_items != encoded.num_items:
        raise ValueError("`sampler` must cover the same items as `encoded`. Received: "
                         f"sampler.num_items={sampler.num_items}, "
                         f"encoded.num_items={encoded.num_items}")
    return sampler
