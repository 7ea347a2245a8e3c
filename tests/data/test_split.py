import time

import numpy as np
import pandas as pd
import pytest

from tfdeeprec.data import schema
from tfdeeprec.data.encoded import encode
from tfdeeprec.data.errors import DataError
from tfdeeprec.data.interaction_frame import InteractionFrame
from tfdeeprec.data.split import (
    Split,
    _part_sizes,
    build_vocabularies,
    split_by_user_ratio,
    split_leave_one_out,
    split_random,
    split_temporal,
)


def _recbole_sizes(n, ratios):
    """RecBole's rule written out plainly, one group at a time (the reference)."""
    total = sum(ratios)
    ratios = [r / total for r in ratios]
    sizes = [int(r * n) for r in ratios]
    sizes[0] = n - sum(sizes[1:])
    for i in range(1, len(ratios)):
        if sizes[0] <= 1:
            break
        if 0 < ratios[-i] * n < 1:
            sizes[-i] += 1
            sizes[0] -= 1
    return sizes


def _frame_with_counts(counts):
    users = np.repeat([f"u{n}" for n in counts], counts)
    items = np.concatenate([np.arange(n) for n in counts]).astype(str)
    ts = np.arange(len(users))
    return InteractionFrame.from_pandas(pd.DataFrame(
        {"user_id": users, "item_id": items, "timestamp": ts}))


def _rows(frame):
    return sorted(map(tuple, frame.interactions.astype(str).to_numpy().tolist()))


def _per_user(part, user):
    return int((part.interactions[schema.USER_ID] == user).sum())


class TestSplitByUserRatio:
    def test_recbole_cut_counts(self):
        counts = [1, 2, 3, 5, 10]
        split = split_by_user_ratio(_frame_with_counts(counts), (0.8, 0.1, 0.1), seed=0)
        got = {n: tuple(_per_user(p, f"u{n}") for p in split) for n in counts}
        assert got == {1: (1, 0, 0), 2: (1, 0, 1), 3: (1, 1, 1), 5: (3, 1, 1), 10: (8, 1, 1)}

    @pytest.mark.parametrize("ratios", [(0.8, 0.1, 0.1), (0.7, 0.2, 0.1), (0.6, 0.2, 0.2),
                                        (0.9, 0.1), (0.5, 0.5)])
    def test_part_sizes_match_the_reference_rule(self, ratios):
        counts = np.arange(1, 200)
        got = _part_sizes(counts, np.asarray(ratios) / sum(ratios))
        assert got.tolist() == [_recbole_sizes(int(n), list(ratios)) for n in counts]

    def test_two_ratios_leave_valid_empty(self, random_frame):
        train, valid, test = split_by_user_ratio(random_frame, (0.8, 0.2), seed=0)
        assert valid.num_interactions == 0
        assert list(valid.interactions.columns) == list(random_frame.interactions.columns)
        assert train.num_interactions + test.num_interactions == random_frame.num_interactions

    def test_disjoint_and_covering(self, random_frame):
        split = split_by_user_ratio(random_frame, seed=3)
        rows = [set(_rows(p)) for p in split]
        assert not (rows[0] & rows[1] or rows[0] & rows[2] or rows[1] & rows[2])
        assert sorted(rows[0] | rows[1] | rows[2]) == _rows(random_frame)

    def test_deterministic_under_seed(self, random_frame):
        a, b = split_by_user_ratio(random_frame, seed=1), split_by_user_ratio(random_frame, seed=1)
        c = split_by_user_ratio(random_frame, seed=2)
        assert all(_rows(x) == _rows(y) for x, y in zip(a, b))
        assert _rows(a.test) != _rows(c.test)

    def test_fast_on_movielens_sized_data(self):
        rng = np.random.default_rng(0)
        users = rng.integers(0, 943, 100_000)
        frame = InteractionFrame.from_pandas(pd.DataFrame(
            {"user_id": users, "item_id": rng.integers(0, 1682, 100_000)}))
        start = time.perf_counter()
        split = split_by_user_ratio(frame, seed=0)
        assert time.perf_counter() - start < 1.0
        assert sum(p.num_interactions for p in split) == 100_000

    @pytest.mark.parametrize("ratios", [(0.8, 0.3), (0.8, 0.1, 0.1, 0.0), (1.2, -0.1, -0.1),
                                        (1.0,), "abc"])
    def test_bad_ratios_raise(self, tiny_frame, ratios):
        with pytest.raises(DataError, match="Received: ratios="):
            split_by_user_ratio(tiny_frame, ratios)


class TestSplitRandom:
    def test_sizes_and_coverage(self, random_frame):
        split = split_random(random_frame, (0.8, 0.1, 0.1), seed=0)
        assert [p.num_interactions for p in split] == [2400, 300, 300]
        assert sorted(row for p in split for row in _rows(p)) == _rows(random_frame)

    def test_deterministic_under_seed(self, random_frame):
        assert _rows(split_random(random_frame, seed=5).test) == \
            _rows(split_random(random_frame, seed=5).test)
        assert _rows(split_random(random_frame, seed=5).test) != \
            _rows(split_random(random_frame, seed=6).test)

    def test_two_ratios(self, tiny_frame):
        split = split_random(tiny_frame, (0.7, 0.3), seed=0)
        assert isinstance(split, Split)
        assert [p.num_interactions for p in split] == [7, 0, 3]


class TestSplitLeaveOneOut:
    def test_latest_is_test_and_short_users_stay_in_train(self, tiny_frame):
        train, valid, test = split_leave_one_out(tiny_frame)

        def pairs(f):
            return sorted(zip(f.interactions.user_id, f.interactions.item_id))

        assert pairs(test) == [("u1", "i3"), ("u3", "i5")]
        assert pairs(valid) == [("u1", "i2"), ("u3", "i4")]
        assert pairs(train) == [("u1", "i1"), ("u2", "i1"), ("u2", "i4"), ("u3", "i2"),
                                ("u3", "i3"), ("u4", "i5")]

    def test_ties(self):
        frame = InteractionFrame.from_pandas(pd.DataFrame(
            {"user_id": ["a"] * 4, "item_id": ["1", "2", "3", "4"], "timestamp": [1, 5, 5, 5]}))
        by_rows = split_leave_one_out(frame, seed=None)
        assert by_rows.test.interactions.item_id.tolist() == ["4"]
        assert by_rows.valid.interactions.item_id.tolist() == ["3"]
        seeded = [split_leave_one_out(frame, seed=s) for s in range(8)]
        assert all(s.train.interactions.item_id.iloc[0] == "1" for s in seeded)
        assert _rows(split_leave_one_out(frame, seed=4).test) == _rows(seeded[4].test)
        assert len({tuple(s.test.interactions.item_id) for s in seeded}) > 1

    def test_needs_timestamps(self):
        frame = InteractionFrame.from_pandas(pd.DataFrame({"user_id": ["a"], "item_id": ["x"]}))
        with pytest.raises(DataError, match="timestamp"):
            split_leave_one_out(frame)


class TestSplitTemporal:
    def test_quantile_cut(self, tiny_frame):
        train, valid, test = split_temporal(tiny_frame, (0.8, 0.1, 0.1))
        assert sorted(train.interactions.timestamp) == [5, 6, 7, 8, 10, 15, 20, 25]
        assert valid.interactions.timestamp.tolist() == [30]
        assert test.interactions.timestamp.tolist() == [40]

    def test_explicit_cut(self, tiny_frame):
        train, valid, test = split_temporal(tiny_frame, cut=(15, 30))
        assert sorted(train.interactions.timestamp) == [5, 6, 7, 8, 10]
        assert sorted(valid.interactions.timestamp) == [15, 20, 25]
        assert sorted(test.interactions.timestamp) == [30, 40]
        train, valid, test = split_temporal(tiny_frame, cut=(20,))
        assert (train.num_interactions, valid.num_interactions, test.num_interactions) == (6, 0, 4)

    def test_ties_go_to_the_later_part(self):
        frame = InteractionFrame.from_pandas(pd.DataFrame(
            {"user_id": list("abcd"), "item_id": list("wxyz"), "timestamp": [1, 2, 2, 3]}))
        train, _, test = split_temporal(frame, (0.5, 0.5))
        assert train.interactions.timestamp.tolist() == [1]
        assert test.interactions.timestamp.tolist() == [2, 2, 3]

    def test_bad_cut_raises(self, tiny_frame):
        with pytest.raises(DataError, match=r"Received: cut=\(30, 15\)"):
            split_temporal(tiny_frame, cut=(30, 15))


class TestVocabularies:
    def test_built_from_train_only(self):
        frame = InteractionFrame.from_pandas(pd.DataFrame({
            "user_id": ["a", "a", "b", "b", "late"],
            "item_id": ["x", "y", "x", "new", "y"],
            "timestamp": [1, 2, 3, 9, 10]}))
        split = split_temporal(frame, cut=(5, 10))
        users, items = split.vocabularies()
        assert users.tokens == ("a", "b") and items.tokens == ("x", "y")
        assert build_vocabularies(split.train) == (users, items)
        valid, test = encode(split.valid, users, items), encode(split.test, users, items)
        assert valid.item.tolist() == [0]  # "new" appears only in valid
        assert test.user.tolist() == [0]  # "late" appears only in test
        train = encode(split.train, users, items)
        assert (train.user > 0).all() and (train.item > 0).all()
