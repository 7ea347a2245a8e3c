import numpy as np
import pytest

from tfdeeprec.data import schema
from tfdeeprec.data.encoded import EncodedInteractions, encode
from tfdeeprec.data.sequences import build_histories, make_sequence_dataset
from tfdeeprec.data.split import build_vocabularies


@pytest.fixture
def tiny_encoded(tiny_frame):
    # Rows out of time order, so the histories must come from the timestamps.
    frame = tiny_frame.with_interactions(tiny_frame.interactions.iloc[::-1])
    return encode(frame, *build_vocabularies(tiny_frame))


class TestBuildHistories:
    def test_right_aligned(self, tiny_encoded):
        out = build_histories(tiny_encoded, max_length=3, align="right")
        assert out[schema.USER_ID].tolist() == [1, 2, 3, 4]
        assert out[schema.HISTORY].tolist() == [[1, 2, 3], [0, 1, 4], [3, 4, 5], [0, 0, 5]]
        assert out[schema.HISTORY_LENGTH].tolist() == [3, 2, 3, 1]
        assert out[schema.HISTORY].dtype == np.int32

    def test_left_aligned(self, tiny_encoded):
        out = build_histories(tiny_encoded, max_length=3, align="left")
        assert out[schema.HISTORY].tolist() == [[1, 2, 3], [1, 4, 0], [3, 4, 5], [5, 0, 0]]

    def test_next_item(self, tiny_encoded):
        right = build_histories(tiny_encoded, max_length=3, align="right", next_item=True)
        assert right[schema.USER_ID].tolist() == [1, 2, 3]  # user 4 has one item only
        assert right[schema.HISTORY].tolist() == [[0, 1, 2], [0, 0, 1], [2, 3, 4]]
        assert right[schema.TARGET_ITEM_ID].tolist() == [3, 4, 5]
        assert right[schema.HISTORY_LENGTH].tolist() == [2, 1, 3]
        left = build_histories(tiny_encoded, max_length=5, align="left", next_item=True)
        assert left[schema.HISTORY].tolist() == [[1, 2, 0, 0, 0], [1, 0, 0, 0, 0],
                                                 [2, 3, 4, 0, 0]]

    def test_row_order_without_timestamps_and_oov_dropped(self):
        enc = EncodedInteractions(np.array([2, 2, 0, 2, 1], np.int32),
                                  np.array([3, 1, 4, 0, 2], np.int32), 3, 5)
        out = build_histories(enc, max_length=2, align="left")
        assert out[schema.USER_ID].tolist() == [1, 2]
        assert out[schema.HISTORY].tolist() == [[2, 0], [3, 1]]

    @pytest.mark.parametrize("kwargs, match", [
        ({"max_length": 0}, "Received: max_length=0"),
        ({"align": "center"}, "Received: align='center'"),
    ])
    def test_bad_arguments_raise(self, tiny_encoded, kwargs, match):
        with pytest.raises(ValueError, match=match):
            build_histories(tiny_encoded, **kwargs)


class TestMakeSequenceDataset:
    def test_exact_batches(self, tiny_encoded):
        dataset = make_sequence_dataset(tiny_encoded, max_length=3, align="left",
                                        batch_size=3, shuffle=False)
        first, second = list(dataset)
        assert first[schema.HISTORY].numpy().tolist() == [[1, 2, 3], [1, 4, 0], [3, 4, 5]]
        assert second[schema.USER_ID].numpy().tolist() == [4]
        assert set(first) == {schema.USER_ID, schema.HISTORY, schema.HISTORY_LENGTH}

    def test_next_item_and_shuffle(self, tiny_encoded):
        dataset = make_sequence_dataset(tiny_encoded, max_length=3, next_item=True,
                                        batch_size=8, seed=1)
        batch = next(iter(dataset))
        order = np.argsort(batch[schema.USER_ID].numpy())
        assert batch[schema.TARGET_ITEM_ID].numpy()[order].tolist() == [3, 4, 5]
        assert batch[schema.HISTORY].numpy()[order].tolist() == [[0, 1, 2], [0, 0, 1], [2, 3, 4]]
