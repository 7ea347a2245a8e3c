import numpy as np
import pytest

from tfdeeprec._keras import tf
from tfdeeprec.data.encoded import EncodedInteractions
from tfdeeprec.data.errors import DataError
from tfdeeprec.data.negative_sampler import NegativeSampler


def _positive_sets(user, item):
    sets = {}
    for u, i in zip(user.tolist(), item.tolist()):
        sets.setdefault(u, set()).add(i)
    return sets


def _chi_square(observed, expected_probability):
    expected = observed.sum() * np.asarray(expected_probability)
    return float(((observed - expected) ** 2 / expected).sum())


class TestNegativeSampler:
    def test_never_a_positive_nor_oov(self):
        rng = np.random.default_rng(0)
        num_items = 40
        user = rng.integers(1, 30, 600)
        item = rng.integers(1, num_items, 600)
        dense_one = np.arange(1, num_items - 1)  # user 30: only item 39 is left
        dense_two = np.arange(3, num_items)  # user 31: items 1 and 2 are left
        user = np.concatenate([user, np.full(len(dense_one), 30), np.full(len(dense_two), 31)])
        item = np.concatenate([item, dense_one, dense_two])
        sets = _positive_sets(user, item)
        for distribution in ("uniform", "popularity"):
            sampler = NegativeSampler(user, item, num_items, distribution=distribution, seed=1)
            users = np.tile(np.arange(1, 32), 60)
            negatives = sampler.sample(tf.constant(users, tf.int32), 7).numpy()
            assert negatives.shape == (len(users), 7) and negatives.dtype == np.int32
            assert negatives.min() >= 1 and negatives.max() < num_items
            for u, row in zip(users.tolist(), negatives.tolist()):
                assert not sets.get(u, set()) & set(row)
            assert set(negatives[users == 30].ravel()) == {39}
            assert set(negatives[users == 31].ravel()) == {1, 2}

    def test_uniform_over_the_non_positives(self):
        num_items = 31  # items 1..30; user 1 has 1..10, so 11..30 remain
        sampler = NegativeSampler(np.ones(10), np.arange(1, 11), num_items, seed=0)
        draws = sampler.sample(tf.ones([2000], tf.int32), 10).numpy().ravel()
        counts = np.bincount(draws, minlength=num_items)
        assert counts[:11].sum() == 0
        # 19 degrees of freedom: the 0.999 quantile of chi-square is 43.8.
        assert _chi_square(counts[11:], np.full(20, 1 / 20)) < 43.8

    def test_popularity_follows_count_to_the_alpha(self):
        num_items = 7
        counts = np.array([0, 1, 4, 9, 16, 25, 0])  # item 6 is never seen
        item = np.repeat(np.arange(num_items), counts)
        user = np.arange(len(item)) + 10  # one positive per user; user 1 has none
        sampler = NegativeSampler(user, item, num_items, distribution="popularity", alpha=0.5,
                                  seed=3)
        draws = sampler.sample(tf.ones([4000], tf.int32), 5).numpy().ravel()
        observed = np.bincount(draws, minlength=num_items)
        assert observed[0] == 0 and observed[6] == 0
        expected = np.sqrt(counts[1:6]) / np.sqrt(counts[1:6]).sum()  # 1:2:3:4:5
        # 4 degrees of freedom: the 0.999 quantile of chi-square is 18.5.
        assert _chi_square(observed[1:6], expected) < 18.5

    def test_popularity_excludes_the_users_positives(self):
        item = np.repeat([1, 2, 3], [1, 1, 2])
        user = np.array([5, 6, 7, 5])  # user 5 has items 1 and 3
        sampler = NegativeSampler(user, item, 4, distribution="popularity", alpha=1.0, seed=0)
        draws = sampler.sample(tf.fill([500], 5), 2).numpy()
        assert set(draws.ravel()) == {2}

    def test_user_with_every_item_raises(self):
        user = np.array([1, 1, 3, 3, 3, 3])
        item = np.array([1, 2, 1, 2, 3, 3])
        with pytest.raises(DataError, match="user 3"):
            NegativeSampler(user, item, 4)

    def test_user_with_every_drawable_item_raises_for_popularity(self):
        # Item 3 is never positive, so popularity can draw only items 1 and 2.
        user, item = np.array([1, 1, 2]), np.array([1, 2, 1])
        NegativeSampler(user, item, 4)  # uniform is fine: item 3 is free
        with pytest.raises(DataError, match="user 1"):
            NegativeSampler(user, item, 4, distribution="popularity")

    def test_deterministic_under_seed(self):
        user, item = np.array([1, 2, 2]), np.array([1, 2, 3])
        users = tf.constant([1, 2, 1, 2, 0])
        a = NegativeSampler(user, item, 50, seed=4)
        b = NegativeSampler(user, item, 50, seed=4)
        first, second = a.sample(users, 6), a.sample(users, 6)
        np.testing.assert_array_equal(first, b.sample(users, 6))
        np.testing.assert_array_equal(second, b.sample(users, 6))
        assert not np.array_equal(first, second)
        seed = tf.constant([7, 8], tf.int64)
        np.testing.assert_array_equal(a.sample(users, 6, seed=seed), b.sample(users, 6, seed=seed))
        assert not np.array_equal(a.sample(users, 6, seed=seed), NegativeSampler(
            user, item, 50, seed=5).sample(users, 6))

    def test_inside_tf_function(self):
        enc = EncodedInteractions(np.array([1, 1, 2], np.int32), np.array([1, 2, 2], np.int32),
                                  3, 4)
        sampler = NegativeSampler.from_encoded(enc, seed=0)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.int32),
                                      tf.TensorSpec([2], tf.int64)])
        def draw(users, seed):
            return sampler.sample(users, 3, seed=seed)

        out = draw(tf.constant([1, 2, 1]), tf.constant([1, 2], tf.int64)).numpy()
        assert out.shape == (3, 3)
        assert set(out[[0, 2]].ravel()) == {3} and set(out[1].ravel()) <= {1, 3}
        assert draw(tf.constant([2] * 5), tf.constant([3, 4], tf.int64)).shape == (5, 3)
        generated = tf.function(lambda users: sampler.sample(users, 2))(tf.constant([1, 1]))
        assert set(generated.numpy().ravel()) == {3}

    def test_empty_batch(self):
        sampler = NegativeSampler([1], [1], 3)
        assert sampler.sample(tf.zeros([0], tf.int32), 4).shape == (0, 4)

    @pytest.mark.parametrize("kwargs, match", [
        ({"num_items": 1}, "Received: num_items=1"),
        ({"distribution": "zipf"}, "Received: distribution='zipf'"),
        ({"alpha": -1.0}, "Received: alpha=-1.0"),
    ])
    def test_bad_arguments_raise(self, kwargs, match):
        args = {"user": [1], "item": [1], "num_items": 5, **kwargs}
        with pytest.raises(ValueError, match=match):
            NegativeSampler(args.pop("user"), args.pop("item"), args.pop("num_items"), **args)

    def test_bad_num_negatives_and_items_raise(self):
        sampler = NegativeSampler([1], [1], 5)
        with pytest.raises(ValueError, match="Received: num_negatives=0"):
            sampler.sample(tf.constant([1]), 0)
        with pytest.raises(DataError, match="value: 5"):
            NegativeSampler([1], [5], 5)
