"""Synthetic ratings: planted latent structure with its truth, or the tutorial generator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tfdeeprec.data import schema
from tfdeeprec.data.errors import DataError
from tfdeeprec.data.interaction_frame import InteractionFrame

# Side-feature vocabularies; latent dimension k drives genre k and occupation k.
_GENRES = ("Action", "Comedy", "Drama", "Romance", "Thriller", "Sci-Fi", "Animation",
           "Documentary")
_OCCUPATIONS = ("student", "engineer", "educator", "artist", "programmer", "writer")
_START_TIME = 1_577_836_800  # 2020-01-01T00:00:00Z
_DAY = 86_400


@dataclass(frozen=True, eq=False)
class SyntheticTruth:
    """The planted model behind :func:`make_synthetic_ratings` (default mode).

    ``true_scores`` is the noise-free expected rating
    ``global_mean + user_bias[u] + item_bias[i] + interaction_scale * tanh(p_u . q_i)``;
    observed ratings are it plus Gaussian noise, rounded and clipped to 1..5. Row ``k``
    of every array belongs to ``user_ids[k]`` / ``item_ids[k]``. ``item_popularity`` is
    the Zipf weight (summing to 1) that drives which items get interactions.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    user_factors: np.ndarray
    item_factors: np.ndarray
    user_bias: np.ndarray
    item_bias: np.ndarray
    global_mean: float
    interaction_scale: float
    item_popularity: np.ndarray

    def true_scores(self, user_ids, item_ids) -> np.ndarray:
        """Noise-free scores for pairs of raw IDs (strings, as in the frame)."""
        u = _positions(self.user_ids, user_ids, schema.USER_ID)
        i = _positions(self.item_ids, item_ids, schema.ITEM_ID)
        dot = np.sum(self.user_factors[u] * self.item_factors[i], axis=-1)
        return (self.global_mean + self.user_bias[u] + self.item_bias[i]
                + self.interaction_scale * np.tanh(dot))


@dataclass(frozen=True, eq=False)
class SyntheticData:
    """A generated frame and, in the default mode, the :class:`SyntheticTruth` behind it."""

    frame: InteractionFrame
    truth: SyntheticTruth | None


def make_synthetic_ratings(
    num_users: int = 500,
    num_items: int = 300,
    *,
    seed: int = 42,
    seed_compatible: bool = False,
    embedding_dim: int = 8,
    mean_interactions: float = 30.0,
    popularity_exponent: float = 0.6,
    affinity_strength: float = 3.0,
    noise_std: float = 0.5,
) -> SyntheticData:
    """Generates explicit ratings; deterministic for a given ``seed``.

    **Default (planted structure).** Users and items get latent factors ``p_u, q_i ~
    N(0, I / sqrt(embedding_dim))`` (so ``p_u . q_i`` has unit variance), biases
    ``~ N(0, 0.3^2)`` and a global mean of 3.0; the true score is
    ``3.0 + b_u + b_i + 1.5 * tanh(p_u . q_i)``. Each user gets
    ``clip(lognormal(log(mean_interactions), 0.6), 5, num_items)`` distinct items,
    drawn without replacement with weights ``popularity_i * exp(affinity_strength *
    tanh(p_u . q_i))`` where popularity is Zipf (``1 / rank ** popularity_exponent``,
    ranks shuffled over items): popular items are frequent and users mostly meet items
    they like, as on MovieLens. Ratings are ``clip(rint(score + N(0, noise_std^2)), 1,
    5)`` (whole stars). Timestamps increase along each user's (shuffled) items, from a
    start in 2020 with exponential gaps of about a day. Side features are read off the
    factors, so they carry signal: users ``age`` (factor 0), ``gender`` (sign of factor
    1), ``occupation`` (the largest of factors 2..7); items ``genres`` (factors above
    0.8 std, the largest always, factor k = genre k), ``year`` (the last factor) and a
    ``title``. IDs are ``"1".."num_users"`` and ``"1".."num_items"``.

    **seed_compatible=True (tutorial generator).** A ``np.random.RandomState(seed)``
    (the same stream as ``np.random.seed(seed)``) draws, for each user ``1..num_users``
    in turn: the count ``n = randint(5, 20)`` (5..19), then ``n`` items
    ``randint(1, num_items + 1)`` (with replacement, so a user can rate an item twice;
    those duplicates are kept), then ``u = uniform(0, 10, n)``, ``i = uniform(0, 10,
    n)`` and ``noise = normal(0, 0.5, n)``; the rating is ``clip(3 + sin(u) cos(i) +
    u i / 50 + noise, 1, 5)`` rounded to one decimal. ``u`` and ``i`` are fresh random
    numbers per rating, unrelated to the user or item, so the data has **no learnable
    user or item structure**: use it to reproduce old tutorial numbers, not to judge a
    model. No timestamps and no side features; ``truth`` is None. The other keyword
    arguments are ignored in this mode.

    Args:
        num_users, num_items: sizes (int, default 500 and 300).
        seed: random seed (int, default 42).
        seed_compatible: use the tutorial generator (bool, default False).
        embedding_dim: latent dimension, at least 4 (int, default 8).
        mean_interactions: median interactions per user (float, default 30).
        popularity_exponent: Zipf exponent of item popularity (float, default 0.6).
        affinity_strength: how much users pick items they like (float, default 3).
        noise_std: rating noise before rounding (float, default 0.5).

    Example:

    >>> data = make_synthetic_ratings(50, 40, seed=0)
    >>> sorted(data.frame.interactions["rating"].unique().tolist())
    [1.0, 2.0, 3.0, 4.0, 5.0]
    >>> data.truth.true_scores(["1"], ["2"]).shape
    (1,)
    >>> make_synthetic_ratings(seed_compatible=True).frame.num_users
    500
    """
    _check_positive(num_users=num_users, num_items=num_items)
    if seed_compatible:
        return SyntheticData(_tutorial_frame(num_users, num_items, seed), None)
    if embedding_dim < 4:
        raise ValueError(f"`embedding_dim` must be at least 4. Received: "
                         f"embedding_dim={embedding_dim}")
    if num_items < 5:
        raise ValueError(f"`num_items` must be at least 5 (each user rates 5 or more "
                         f"distinct items). Received: num_items={num_items}")
    _check_positive(mean_interactions=mean_interactions)
    if noise_std < 0:
        raise ValueError(f"`noise_std` must be non-negative. Received: noise_std={noise_std}")
    rng = np.random.default_rng(seed)
    truth = _plant_truth(rng, num_users, num_items, embedding_dim, popularity_exponent)
    frame = _sample_frame(rng, truth, mean_interactions, affinity_strength, noise_std)
    return SyntheticData(frame, truth)


def _plant_truth(rng, num_users, num_items, dim, exponent) -> SyntheticTruth:
    scale = dim ** -0.25
    ranks = rng.permutation(num_items) + 1
    weights = 1.0 / ranks.astype(float) ** exponent
    return SyntheticTruth(
        user_ids=np.arange(1, num_users + 1).astype(str),
        item_ids=np.arange(1, num_items + 1).astype(str),
        user_factors=rng.normal(0.0, scale, (num_users, dim)),
        item_factors=rng.normal(0.0, scale, (num_items, dim)),
        user_bias=rng.normal(0.0, 0.3, num_users),
        item_bias=rng.normal(0.0, 0.3, num_items),
        global_mean=3.0,
        interaction_scale=1.5,
        item_popularity=weights / weights.sum(),
    )


def _sample_frame(rng, truth: SyntheticTruth, mean_interactions, affinity, noise_std):
    num_users, num_items = len(truth.user_ids), len(truth.item_ids)
    counts = np.rint(rng.lognormal(np.log(mean_interactions), 0.6, num_users))
    counts = np.clip(counts, 5, num_items).astype(np.int64)
    like = np.tanh(truth.user_factors @ truth.item_factors.T)
    # Gumbel top-k: the first `count` items of each row are a weighted draw without
    # replacement with weights popularity * exp(affinity * like).
    keys = np.log(truth.item_popularity)[None, :] + affinity * like
    keys = keys + rng.gumbel(size=keys.shape)
    order = np.argsort(-keys, axis=1)
    taken = np.arange(num_items)[None, :] < counts[:, None]
    users = np.repeat(np.arange(num_users), counts)
    items = order[taken]
    # Shuffle each user's items, then give them increasing timestamps.
    shuffle = np.lexsort((rng.random(len(users)), users))
    users, items = users[shuffle], items[shuffle]
    gaps = rng.exponential(_DAY, len(users)).astype(np.int64) + 1
    starts = _START_TIME + rng.integers(0, 365 * _DAY, num_users)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    elapsed = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[first] - gaps[first], counts)
    scores = truth.true_scores(truth.user_ids[users], truth.item_ids[items])
    ratings = np.clip(np.rint(scores + rng.normal(0.0, noise_std, len(users))), 1, 5)
    interactions = pd.DataFrame({
        schema.USER_ID: truth.user_ids[users], schema.ITEM_ID: truth.item_ids[items],
        schema.RATING: ratings, schema.TIMESTAMP: starts[users] + elapsed})
    return InteractionFrame.from_pandas(interactions, users=_user_features(truth),
                                        items=_item_features(truth), source="synthetic")


def _user_features(truth: SyntheticTruth) -> pd.DataFrame:
    f = truth.user_factors / truth.user_factors.std()
    occupation_dims = f[:, 2:2 + len(_OCCUPATIONS)]
    return pd.DataFrame({
        schema.AGE: np.clip(np.rint(35 + 10 * f[:, 0]), 15, 75).astype(np.int32),
        schema.GENDER: np.where(f[:, 1] > 0, "M", "F"),
        schema.OCCUPATION: np.asarray(_OCCUPATIONS)[np.argmax(occupation_dims, axis=1)],
    }, index=pd.Index(truth.user_ids, name=schema.USER_ID))


def _item_features(truth: SyntheticTruth) -> pd.DataFrame:
    f = truth.item_factors / truth.item_factors.std()
    genre_dims = f[:, :len(_GENRES)]
    top = np.argmax(genre_dims, axis=1)
    genres = [tuple(g for k, g in enumerate(_GENRES[:genre_dims.shape[1]])
                    if row[k] > 0.8 or k == best) for row, best in zip(genre_dims, top)]
    return pd.DataFrame({
        schema.TITLE: [f"Synthetic movie {i}" for i in truth.item_ids],
        schema.GENRES: genres,
        schema.YEAR: np.clip(np.rint(1985 + 10 * f[:, -1]), 1930, 2020).astype(np.int32),
    }, index=pd.Index(truth.item_ids, name=schema.ITEM_ID))


def _tutorial_frame(num_users: int, num_items: int, seed: int) -> InteractionFrame:
    rs = np.random.RandomState(seed)
    users, items, ratings = [], [], []
    for user in range(1, num_users + 1):
        n = rs.randint(5, 20)
        rated = rs.randint(1, num_items + 1, size=n)
        u = rs.uniform(0, 10, n)
        i = rs.uniform(0, 10, n)
        noise = rs.normal(0, 0.5, n)
        users.append(np.full(n, user))
        items.append(rated)
        ratings.append(np.round(np.clip(3 + np.sin(u) * np.cos(i) + u * i / 50 + noise,
                                        1, 5), 1))
    interactions = pd.DataFrame({
        schema.USER_ID: np.concatenate(users), schema.ITEM_ID: np.concatenate(items),
        schema.RATING: np.concatenate(ratings)})
    return InteractionFrame.from_pandas(interactions, source="synthetic:compatible")


def _positions(known: np.ndarray, ids, column: str) -> np.ndarray:
    ids = np.asarray(ids).astype(str)
    pos = pd.Index(known).get_indexer(ids.ravel()).reshape(ids.shape)
    if (pos < 0).any():
        raise DataError("unknown ID", source="synthetic", column=column,
                        value=ids.ravel()[np.flatnonzero(pos.ravel() < 0)[0]])
    return pos


def _check_positive(**values) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"`{name}` must be positive. Received: {name}={value}")
