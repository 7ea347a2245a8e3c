import numpy as np
import pytest

from tfdeeprec.data import schema
from tfdeeprec.data.encoded import EncodedInteractions, encode
from tfdeeprec.data.errors import DataError
from tfdeeprec.data.split import build_vocabularies
from tfdeeprec.data.user_rows import make_user_row_dataset


@pytest.fixture
def tiny_encoded(tiny_frame):
    return encode(tiny_frame, *build_vocabularies(tiny_frame))


class TestMakeUserRowDataset:
    def test_multi_hot_rows(self, tiny_encoded):
        first, second = list(make_user_row_dataset(tiny_encoded, batch_size=3, shuffle=False))
        assert first[schema.USER_ID].numpy().tolist() == [1, 2, 3]
        assert first[schema.USER_ROW].numpy().tolist() == [[0, 1, 1, 1, 0, 0],
                                                            [0, 1, 0, 0, 1, 0],
                                                            [0, 0, 1, 1, 1, 1]]
        assert second[schema.USER_ROW].numpy().tolist() == [[0, 0, 0, 0, 0, 1]]
        assert first[schema.USER_ROW].dtype.name == "float32"

    def test_rating_rows(self, tiny_encoded):
        batch = next(iter(make_user_row_dataset(tiny_encoded, use_ratings=True, shuffle=False)))
        assert batch[schema.USER_ROW].numpy().tolist() == [[0, 5, 3, 4, 0, 0],
                                                            [0, 2, 0, 0, 5, 0],
                                                            [0, 0, 1, 4, 4, 3],
                                                            [0, 0, 0, 0, 0, 5]]

    def test_repeats_keep_the_latest_and_oov_is_dropped(self):
        enc = EncodedInteractions(
            np.array([1, 1, 1, 0, 2], np.int32), np.array([2, 2, 0, 1, 1], np.int32), 3, 3,
            rating=np.array([1.0, 4.0, 5.0, 5.0, 3.0], np.float32),
            timestamp=np.array([9, 2, 1, 1, 1], np.int64))
        batch = next(iter(make_user_row_dataset(enc, use_ratings=True, shuffle=False)))
        assert batch[schema.USER_ROW].numpy().tolist() == [[0, 0, 1], [0, 3, 0]]
        multi_hot = next(iter(make_user_row_dataset(enc, shuffle=False)))
        assert multi_hot[schema.USER_ROW].numpy().tolist() == [[0, 0, 1], [0, 1, 0]]

    def test_shuffled_epoch_covers_every_user(self, random_frame):
        enc = encode(random_frame, *build_vocabularies(random_frame))
        batches = list(make_user_row_dataset(enc, batch_size=64, seed=0))
        users = np.concatenate([b[schema.USER_ID].numpy() for b in batches])
        rows = np.concatenate([b[schema.USER_ROW].numpy() for b in batches])
        assert sorted(users) == list(range(1, 201)) and rows.shape == (200, 121)
        assert rows.sum() == 3000
        assert rows[np.argsort(users)].nonzero()[0].tolist() == sorted(enc.user - 1)

    def test_errors(self, tiny_encoded):
        no_ratings = EncodedInteractions(tiny_encoded.user, tiny_encoded.item, 5, 6)
        with pytest.raises(DataError, match="ratings"):
            make_user_row_dataset(no_ratings, use_ratings=True)
        with pytest.raises(ValueError, match="Received: batch_size=0"):
            make_user_row_dataset(tiny_encoded, batch_size=0)
