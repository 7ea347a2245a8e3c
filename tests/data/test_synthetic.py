import time

import numpy as np
import pandas as pd
import pytest

from tfdeeprec.data.errors import DataError
from tfdeeprec.data.synthetic import make_synthetic_ratings


def _rank_corr(a, b):
    return np.corrcoef(pd.Series(a).rank(), pd.Series(b).rank())[0, 1]


@pytest.fixture(scope="module")
def data():
    return make_synthetic_ratings()


class TestPlantedStructure:
    def test_shape_types_and_ranges(self, data):
        frame = data.frame
        df = frame.interactions
        assert (frame.num_users, frame.num_items) == (500, 300)
        assert df["rating"].dtype == np.float32 and df["timestamp"].dtype == np.int64
        assert set(df["rating"].unique()) == {1.0, 2.0, 3.0, 4.0, 5.0}
        assert not df.duplicated(["user_id", "item_id"]).any()
        assert df.groupby("user_id").size().min() >= 5
        assert list(frame.users.columns) == ["age", "gender", "occupation"]
        assert list(frame.items.columns) == ["title", "genres", "year"]
        assert frame.users["age"].dtype == np.int32 and frame.items["year"].dtype == np.int32
        assert all(isinstance(g, tuple) and len(g) >= 1 for g in frame.items["genres"])

    def test_seed_determinism(self, data):
        again = make_synthetic_ratings(seed=42)
        pd.testing.assert_frame_equal(again.frame.interactions, data.frame.interactions)
        pd.testing.assert_frame_equal(again.frame.items, data.frame.items)
        np.testing.assert_array_equal(again.truth.user_factors, data.truth.user_factors)
        other = make_synthetic_ratings(seed=43)
        assert not other.frame.interactions.equals(data.frame.interactions)

    def test_timestamps_increase_per_user(self, data):
        df = data.frame.interactions
        assert df.groupby("user_id")["timestamp"].apply(
            lambda t: t.is_monotonic_increasing and t.is_unique).all()

    def test_true_scores_explain_ratings(self, data):
        df = data.frame.interactions
        scores = data.truth.true_scores(df["user_id"], df["item_id"])
        assert np.corrcoef(scores, df["rating"])[0, 1] > 0.7
        # The interaction term matters, not only the biases.
        truth = data.truth
        no_interaction = (truth.global_mean + truth.user_bias[df["user_id"].astype(int) - 1]
                          + truth.item_bias[df["item_id"].astype(int) - 1])
        resid = df["rating"] - no_interaction
        dot = np.sum(truth.user_factors[df["user_id"].astype(int) - 1]
                     * truth.item_factors[df["item_id"].astype(int) - 1], axis=1)
        assert np.corrcoef(np.tanh(dot), resid)[0, 1] > 0.6

    def test_popular_items_are_more_frequent(self, data):
        counts = data.frame.interactions["item_id"].value_counts()
        counts = counts.reindex(data.truth.item_ids, fill_value=0).to_numpy()
        assert _rank_corr(counts, data.truth.item_popularity) > 0.8
        top = np.argsort(-data.truth.item_popularity)[:30]
        assert counts[top].mean() > 2 * counts.mean()

    def test_side_features_are_informative(self, data):
        users = data.frame.users
        factors = data.truth.user_factors
        assert np.corrcoef(users["age"], factors[:, 0])[0, 1] > 0.9
        assert ((users["gender"] == "M").to_numpy() == (factors[:, 1] > 0)).all()

    def test_true_scores_reject_unknown_ids(self, data):
        with pytest.raises(DataError, match="'9999'"):
            data.truth.true_scores(["1"], ["9999"])

    def test_fast(self):
        start = time.perf_counter()
        make_synthetic_ratings(seed=7)
        assert time.perf_counter() - start < 1.0

    @pytest.mark.parametrize("kwargs,fragment", [
        (dict(num_users=0), "num_users=0"),
        (dict(num_items=3), "num_items=3"),
        (dict(embedding_dim=2), "embedding_dim=2"),
        (dict(noise_std=-1.0), "noise_std=-1.0"),
    ])
    def test_bad_arguments(self, kwargs, fragment):
        with pytest.raises(ValueError, match=fragment):
            make_synthetic_ratings(**kwargs)


class TestSeedCompatible:
    def test_counts_and_ranges(self):
        data = make_synthetic_ratings(seed_compatible=True)
        assert data.truth is None
        df = data.frame.interactions
        sizes = df.groupby("user_id").size()
        assert len(sizes) == 500 and sizes.min() >= 5 and sizes.max() <= 19
        assert set(sizes.unique()) == set(range(5, 20))  # the whole range shows up
        assert df["item_id"].astype(int).between(1, 300).all()
        assert df["rating"].between(1, 5).all()
        assert np.allclose(df["rating"] * 10, np.rint(df["rating"] * 10), atol=1e-4)
        assert not data.frame.has_timestamps and data.frame.users is None

    def test_documented_draw_order(self):
        data = make_synthetic_ratings(3, 50, seed=5, seed_compatible=True)
        rs = np.random.RandomState(5)
        users, items, ratings = [], [], []
        for user in (1, 2, 3):
            n = rs.randint(5, 20)
            items += [str(i) for i in rs.randint(1, 51, size=n)]
            u, i, noise = rs.uniform(0, 10, n), rs.uniform(0, 10, n), rs.normal(0, 0.5, n)
            users += [str(user)] * n
            ratings += list(np.round(np.clip(3 + np.sin(u) * np.cos(i) + u * i / 50 + noise,
                                             1, 5), 1))
        df = data.frame.interactions
        assert df["user_id"].tolist() == users and df["item_id"].tolist() == items
        np.testing.assert_allclose(df["rating"], np.float32(ratings))

    def test_deterministic(self):
        a = make_synthetic_ratings(seed_compatible=True, seed=1).frame.interactions
        b = make_synthetic_ratings(seed_compatible=True, seed=1).frame.interactions
        pd.testing.assert_frame_equal(a, b)
