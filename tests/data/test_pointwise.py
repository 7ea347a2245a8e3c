import numpy as np
import pytest

from tfdeeprec._keras import tf
from tfdeeprec.data import schema
from tfdeeprec.data.encoded import EncodedInteractions, encode
from tfdeeprec.data.errors import DataError
from tfdeeprec.data.negative_sampler import NegativeSampler
from tfdeeprec.data.pointwise import (make_implicit_dataset, make_positive_dataset,
                                      make_rating_dataset)
from tfdeeprec.data.split import build_vocabularies


@pytest.fixture
def tiny_encoded(tiny_frame):
    return encode(tiny_frame, *build_vocabularies(tiny_frame))


def _epoch(dataset):
    features, labels = zip(*[(f, y) for f, y in dataset])
    return ({key: np.concatenate([f[key].numpy() for f in features]) for key in features[0]},
            np.concatenate([y.numpy() for y in labels]))


class TestMakeRatingDataset:
    def test_exact_batches_without_shuffle(self, tiny_encoded):
        batches = list(make_rating_dataset(tiny_encoded, batch_size=4, shuffle=False))
        assert [len(y) for _, y in batches] == [4, 4, 2]
        features, rating = batches[0]
        assert features[schema.USER_ID].numpy().tolist() == [1, 1, 1, 2]
        assert features[schema.ITEM_ID].numpy().tolist() == [1, 2, 3, 1]
        assert rating.numpy().tolist() == [5.0, 3.0, 4.0, 2.0]
        assert features[schema.USER_ID].dtype == tf.int32 and rating.dtype == tf.float32

    def test_shuffle_covers_every_row_and_reshuffles(self, random_frame):
        enc = encode(random_frame, *build_vocabularies(random_frame))
        dataset = make_rating_dataset(enc, batch_size=128, seed=3)
        first, second = _epoch(dataset), _epoch(dataset)
        def rows(e):
            return sorted(zip(e[0][schema.USER_ID], e[0][schema.ITEM_ID], e[1]))

        expected = sorted(zip(enc.user, enc.item, enc.rating))
        assert rows(first) == expected and rows(second) == expected
        assert not np.array_equal(first[1], second[1])
        again = _epoch(make_rating_dataset(enc, batch_size=128, seed=3))
        np.testing.assert_array_equal(again[1], first[1])

    def test_drop_remainder(self, tiny_encoded):
        dataset = make_rating_dataset(tiny_encoded, batch_size=4, drop_remainder=True)
        assert [len(y) for _, y in dataset] == [4, 4]

    def test_needs_ratings_and_a_positive_batch_size(self, tiny_encoded):
        no_ratings = EncodedInteractions(tiny_encoded.user, tiny_encoded.item, 5, 6)
        with pytest.raises(DataError, match="ratings"):
            make_rating_dataset(no_ratings)
        with pytest.raises(ValueError, match="Received: batch_size=0"):
            make_rating_dataset(tiny_encoded, batch_size=0)


class TestMakeImplicitDataset:
    def test_layout_labels_and_negatives(self, tiny_encoded):
        dataset = make_implicit_dataset(tiny_encoded, num_negatives=3, batch_size=4, seed=1)
        batches = list(dataset)
        assert [len(y) for _, y in batches] == [16, 16, 8]
        assert int(dataset.cardinality()) == 3  # known, so Keras can run several steps a call
        features, label = _epoch(dataset)
        users = features[schema.USER_ID].reshape(-1, 4)
        items = features[schema.ITEM_ID].reshape(-1, 4)
        np.testing.assert_array_equal(label.reshape(-1, 4), np.tile([1.0, 0, 0, 0], (10, 1)))
        assert (users == users[:, :1]).all()  # negatives belong to their positive's user
        assert sorted(zip(users[:, 0], items[:, 0])) == sorted(
            zip(tiny_encoded.user, tiny_encoded.item))
        positives = set(zip(tiny_encoded.user.tolist(), tiny_encoded.item.tolist()))
        for u, row in zip(users[:, 0].tolist(), items[:, 1:].tolist()):
            assert all((u, i) not in positives and 1 <= i <= 5 for i in row)

    def test_fresh_negatives_each_epoch_and_repeatable(self, random_frame):
        enc = encode(random_frame, *build_vocabularies(random_frame))
        dataset = make_implicit_dataset(enc, num_negatives=2, batch_size=256, seed=0)
        first, second = _epoch(dataset), _epoch(dataset)
        assert not np.array_equal(first[0][schema.ITEM_ID], second[0][schema.ITEM_ID])
        again = _epoch(make_implicit_dataset(enc, num_negatives=2, batch_size=256, seed=0))
        np.testing.assert_array_equal(again[0][schema.ITEM_ID], first[0][schema.ITEM_ID])

    def test_given_sampler_and_popularity(self, tiny_encoded):
        # Excluding every item but 5 for user 1 forces its negatives to be item 5.
        sampler = NegativeSampler([1, 1, 1, 1], [1, 2, 3, 4], 6)
        features, label = _epoch(make_implicit_dataset(tiny_encoded, sampler=sampler,
                                                       num_negatives=2, shuffle=False))
        user_one = (features[schema.USER_ID] == 1) & (label == 0)
        assert set(features[schema.ITEM_ID][user_one]) == {5}
        popular = make_implicit_dataset(tiny_encoded, distribution="popularity", alpha=1.0)
        assert len(_epoch(popular)[1]) == 50

    def test_trains_a_keras_model(self, tiny_encoded):
        from tfdeeprec._keras import keras
        user = keras.Input([], name=schema.USER_ID, dtype="int32")
        item = keras.Input([], name=schema.ITEM_ID, dtype="int32")
        u = keras.layers.Embedding(5, 4)(user)
        i = keras.layers.Embedding(6, 4)(item)
        score = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Multiply()([u, i]))
        model = keras.Model({schema.USER_ID: user, schema.ITEM_ID: item}, score)
        model.compile("adam", "binary_crossentropy")
        history = model.fit(make_implicit_dataset(tiny_encoded, batch_size=4), epochs=2,
                            verbose=0)
        assert len(history.history["loss"]) == 2

    @pytest.mark.parametrize("kwargs, match", [
        ({"num_negatives": 0}, "Received: num_negatives=0"),
        ({"batch_size": -1}, "Received: batch_size=-1"),
        ({"distribution": "zipf"}, "Received: distribution='zipf'"),
    ])
    def test_bad_arguments_raise(self, tiny_encoded, kwargs, match):
        with pytest.raises(ValueError, match=match):
            make_implicit_dataset(tiny_encoded, **kwargs)


class TestMakePositiveDataset:
    @staticmethod
    def _pairs(dataset):
        return [(int(u), int(i)) for batch in dataset
                for u, i in zip(batch[schema.USER_ID].numpy(), batch[schema.ITEM_ID].numpy())]

    def test_exact_batches_without_shuffle(self, tiny_encoded):
        dataset = make_positive_dataset(tiny_encoded, batch_size=4, shuffle=False)
        batches = list(dataset)
        assert int(dataset.cardinality()) == 3  # known, so Keras can run several steps a call
        assert [len(b[schema.USER_ID]) for b in batches] == [4, 4, 2]
        assert set(batches[0]) == {schema.USER_ID, schema.ITEM_ID}  # features only, no labels
        assert batches[0][schema.USER_ID].numpy().tolist() == [1, 1, 1, 2]
        assert batches[0][schema.ITEM_ID].numpy().tolist() == [1, 2, 3, 1]
        assert batches[0][schema.USER_ID].dtype == tf.int32
        assert batches[0][schema.ITEM_ID].dtype == tf.int32
        dropped = make_positive_dataset(tiny_encoded, batch_size=4, drop_remainder=True)
        assert [len(b[schema.ITEM_ID]) for b in dropped] == [4, 4]

    def test_every_known_pair_once_per_epoch_reshuffled_and_repeatable(self, random_frame):
        enc = encode(random_frame, *build_vocabularies(random_frame))
        dataset = make_positive_dataset(enc, batch_size=128, seed=3)
        first, second = self._pairs(dataset), self._pairs(dataset)
        assert [len(b[schema.ITEM_ID]) for b in dataset] == [128] * 23 + [56]
        expected = sorted(zip(enc.user.tolist(), enc.item.tolist()))
        assert sorted(first) == expected and sorted(second) == expected
        assert first != second
        assert self._pairs(make_positive_dataset(enc, batch_size=128, seed=3)) == first
        assert self._pairs(make_positive_dataset(enc, batch_size=128, seed=4)) != first

    def test_oov_rows_are_left_out(self, tiny_encoded):
        user = tiny_encoded.user.copy()
        item = tiny_encoded.item.copy()
        user[0], item[1] = 0, 0
        enc = EncodedInteractions(user, item, tiny_encoded.num_users, tiny_encoded.num_items)
        pairs = self._pairs(make_positive_dataset(enc, batch_size=3))
        assert sorted(pairs) == sorted(zip(user[2:].tolist(), item[2:].tolist()))

    def test_bad_batch_size_is_named(self, tiny_encoded):
        with pytest.raises(ValueError, match="Received: batch_size=0"):
            make_positive_dataset(tiny_encoded, batch_size=0)
