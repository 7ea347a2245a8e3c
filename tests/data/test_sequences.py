import numpy as np
import pytest

from tfdeeprec.data import schema
from tfdeeprec.data.encoded import EncodedInteractions, encode
from tfdeeprec.data.sequences import (build_histories, make_next_item_dataset,
                                     make_sequence_dataset, next_item_windows)
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


class TestNextItemWindows:
    def test_windows_cover_every_next_item_once(self):
        # user 1: items 1..7 (out of row order, by timestamp); user 2: one item, no window
        enc = EncodedInteractions(np.array([1] * 7 + [2], np.int32),
                                  np.array([7, 1, 2, 3, 4, 5, 6, 9], np.int32), 3, 10,
                                  timestamp=np.array([70, 10, 20, 30, 40, 50, 60, 5]))
        windows = next_item_windows(enc, max_length=3)
        assert windows.tolist() == [[1, 2, 3, 4], [4, 5, 6, 7]]
        targets = windows[:, 1:][windows[:, 1:] > 0]
        assert sorted(targets.tolist()) == [2, 3, 4, 5, 6, 7]

    def test_no_user_with_two_items_is_refused(self):
        enc = EncodedInteractions(np.array([1, 2], np.int32), np.array([1, 2], np.int32), 3, 3)
        with pytest.raises(ValueError, match="no user has two or more known items"):
            make_next_item_dataset(enc, max_length=2)


class TestMakeNextItemDataset:
    @pytest.fixture
    def long_user(self):
        return EncodedInteractions(np.ones(21, np.int32), np.arange(1, 22, dtype=np.int32),
                                   2, 22)

    def test_next_item_targets_are_the_history_shifted(self, long_user):
        features, targets, weights = next(iter(make_next_item_dataset(
            long_user, max_length=20, batch_size=4, shuffle=False)))
        history = features[schema.HISTORY].numpy()
        assert history.tolist() == [list(range(1, 21))]
        assert targets.numpy().tolist() == [list(range(2, 22))]
        assert weights.numpy().sum() == 20

    def test_cloze_masks_at_the_ratio_and_always_predicts_the_next_item(self, long_user):
        ratios, seen = [], set()
        dataset = make_next_item_dataset(long_user, max_length=20, objective="cloze",
                                         mask_token=22, mask_ratio=0.3, batch_size=4)
        for features, targets, weights in dataset.repeat(200):
            history = features[schema.HISTORY].numpy()[0]
            target = targets.numpy()[0]
            masked = history[1:] == 22
            # a masked item is the target of the position before it, others are not targets
            assert (target[:-1][masked] == np.arange(2, 21)[masked]).all()
            assert (target[:-1][~masked] == 0).all()
            assert target[-1] == 21 and history[0] == 1
            assert (weights.numpy()[0] == (target > 0)).all()
            ratios.append(masked.mean())
            seen.add(tuple(masked))
        assert abs(np.mean(ratios) - 0.3) < 0.03
        assert len(seen) > 150  # drawn again every epoch

    @pytest.mark.parametrize("kwargs, match", [
        ({"objective": "shuffle"}, "Received: objective='shuffle'"),
        ({"objective": "cloze"}, "Received: mask_token=None"),
        ({"objective": "cloze", "mask_token": 5}, "Received: mask_token=5"),
        ({"objective": "cloze", "mask_token": 22, "mask_ratio": 1.5}, "mask_ratio=1.5"),
    ])
    def test_bad_arguments_raise(self, long_user, kwargs, match):
        with pytest.raises(ValueError, match=match):
            make_next_item_dataset(long_user, **kwargs)

    def test_the_oldest_window_is_padded_in_front(self):
        enc = EncodedInteractions(np.ones(5, np.int32), np.arange(1, 6, dtype=np.int32), 2, 6)
        assert next_item_windows(enc, max_length=3).tolist() == [[0, 0, 1, 2], [2, 3, 4, 5]]

    def test_overlapping_windows_weigh_only_their_fresh_targets(self):
        enc = EncodedInteractions(np.ones(7, np.int32), np.arange(1, 8, dtype=np.int32), 2, 8)
        batch = next(iter(make_next_item_dataset(enc, max_length=4, stride=2, batch_size=8,
                                                 shuffle=False)))
        _, targets, weights = batch
        assert targets.numpy().tolist() == [[0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 6, 7]]
        assert weights.numpy().tolist() == [[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1]]
        with pytest.raises(ValueError, match="Received: stride=5"):
            make_next_item_dataset(enc, max_length=4, stride=5)

    @pytest.mark.parametrize("objective", ["next_item", "cloze"])
    def test_targets_only_keeps_the_weighted_targets_in_row_major_order(self, objective):
        enc = EncodedInteractions(np.repeat(np.arange(1, 4, dtype=np.int32), [7, 3, 5]),
                                  np.arange(1, 16, dtype=np.int32), 4, 16)
        kwargs = dict(max_length=4, objective=objective, mask_token=16, mask_ratio=0.5,
                      batch_size=8, shuffle=False)
        full = next(iter(make_next_item_dataset(enc, **kwargs)))
        features, targets = next(iter(make_next_item_dataset(enc, targets_only=True,
                                                             **kwargs)))
        weights = full[2].numpy()
        assert (features[schema.HISTORY].numpy() == full[0][schema.HISTORY].numpy()).all()
        assert (features[schema.TARGET_MASK].numpy() == weights).all()
        assert targets.numpy().tolist() == full[1].numpy()[weights > 0].tolist()
        assert 0 < len(targets) < weights.size


class TestLengthBucketing:
    @pytest.fixture
    def mixed(self):
        """40 users with 3 items and 40 with 20, interleaved."""
        counts = np.tile([3, 20], 40)
        user = np.repeat(np.arange(1, 81, dtype=np.int32), counts)
        item = (np.arange(len(user)) % 30 + 1).astype(np.int32)
        return EncodedInteractions(user, item, 81, 31)

    def test_a_short_window_drops_its_padding_but_one_column(self):
        enc = EncodedInteractions(np.ones(3, np.int32), np.array([1, 2, 3], np.int32), 2, 4)
        features, targets, weights = next(iter(make_next_item_dataset(
            enc, max_length=8, bucket_width=2, shuffle=False)))
        # the window [0 0 0 0 0 0 1 2 3] has 6 padding columns; 4 go, 5 would leave none
        assert features[schema.HISTORY].numpy().tolist() == [[0, 0, 1, 2]]
        assert targets.numpy().tolist() == [[0, 1, 2, 3]]
        assert weights.numpy().tolist() == [[0, 0, 1, 1]]

    @pytest.mark.parametrize("objective", ["next_item", "cloze"])
    def test_bucketed_batches_hold_the_same_windows_less_padding(self, mixed, objective):
        kwargs = dict(max_length=24, objective=objective, mask_token=31, mask_ratio=0.0,
                      batch_size=8, stride=12)
        plain = make_next_item_dataset(mixed, **kwargs)
        bucketed = make_next_item_dataset(mixed, bucket_width=4, **kwargs)

        def rows(dataset):
            out, width = [], 0
            for features, targets, weights in dataset:
                history = features[schema.HISTORY].numpy()
                pad = 24 - history.shape[1]
                assert pad % 4 == 0
                width += history.size
                for h, t, w in zip(history, targets.numpy(), weights.numpy()):
                    out.append((0,) * pad + tuple(h) + (0,) * pad + tuple(t)
                               + (0.0,) * pad + tuple(w))
            return sorted(out), width

        plain_rows, plain_width = rows(plain)
        bucketed_rows, bucketed_width = rows(bucketed)
        assert bucketed_rows == plain_rows
        assert bucketed_width < 0.75 * plain_width  # the short users' batches are narrow

    def test_batches_group_similar_lengths_and_change_every_epoch(self, mixed):
        dataset = make_next_item_dataset(mixed, max_length=24, bucket_width=4,
                                         batch_size=8, seed=3)
        epochs = [[tuple(f[schema.HISTORY].numpy()[:, -1]) for f, _, _ in dataset]
                  for _ in range(2)]
        widths = [f[schema.HISTORY].shape[1] for f, _, _ in dataset]
        # one pool of 80 windows, sorted: batches of 3-item users (windows of 25 columns,
        # 22 padding, 20 dropped) and of 20-item users (5 padding, 4 dropped), none mixed
        assert sorted(set(widths)) == [4, 20]
        assert epochs[0] != epochs[1]

    def test_bad_bucket_width_is_refused(self, mixed):
        with pytest.raises(ValueError, match="Received: bucket_width=0"):
            make_next_item_dataset(mixed, max_length=4, bucket_width=0)
