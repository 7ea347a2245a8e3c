"""CTR metrics against cases worked out by hand and against brute-force pair counts."""

import math
import re

import numpy as np
import pytest

import tfdeeprec.evaluation as evaluation
from tfdeeprec.evaluation.ctr import auc, ctr_metrics, gauc, log_loss


def _pairwise_auc(labels, scores):
    """Brute force: every (positive, negative) pair, 1 if ordered right, 0.5 on a tie."""
    pos = [s for y, s in zip(labels, scores) if y == 1]
    neg = [s for y, s in zip(labels, scores) if y == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


class TestAuc:
    def test_hand_computed_with_ties(self):
        # positives 0.9, 0.5, 0.3; negatives 0.5, 0.2.
        # 0.9 beats both (2); 0.5 ties 0.5 (0.5) and beats 0.2 (1); 0.3 loses to 0.5 (0)
        # and beats 0.2 (1): 4.5 wins of 3 * 2 = 6 pairs -> 0.75.
        assert auc([1, 0, 1, 1, 0], [0.9, 0.5, 0.5, 0.3, 0.2]) == 0.75

    def test_extremes(self):
        assert auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
        assert auc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4]) == 0.0
        assert auc([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]) == 0.5   # all ties: half each

    def test_agrees_with_brute_force_on_random_data_with_ties(self):
        rng = np.random.default_rng(7)
        for _ in range(5):
            labels = rng.integers(0, 2, 300)
            scores = np.round(rng.normal(size=300) + 0.5 * labels, 1)   # many ties
            assert auc(labels, scores) == pytest.approx(_pairwise_auc(labels, scores),
                                                        abs=1e-12)

    def test_chunked_search_equals_the_rank_statistic(self):
        # 300k rows: the positives span several 65,536-row chunks; the ranks of gauc's
        # one group (Mann-Whitney) must give the same pairs, ties included.
        rng = np.random.default_rng(3)
        labels = rng.random(300_000) < 0.6
        scores = np.round(rng.normal(size=300_000) + labels, 2).astype(np.float32)
        assert auc(labels, scores) == pytest.approx(
            gauc(np.zeros(300_000, int), labels, scores), abs=1e-12)

    def test_bool_labels_column_vectors_and_float32(self):
        labels = np.array([[True], [False], [True]])
        scores = np.array([[0.7], [0.6], [0.6]], np.float32)
        # 0.7 beats 0.6 (1), 0.6 ties 0.6 (0.5): 1.5 / 2
        assert auc(labels, scores) == 0.75

    def test_one_class_is_nan(self):
        assert math.isnan(auc([1, 1], [0.2, 0.4]))


class TestLogLoss:
    def test_hand_computed(self):
        # -(ln 0.9 + ln(1 - 0.2) + ln 0.6) / 3 = (0.1053605 + 0.2231436 + 0.5108256) / 3
        assert log_loss([1, 0, 1], [0.9, 0.2, 0.6]) == pytest.approx(0.2797766, abs=1e-7)

    def test_clips_certain_mistakes(self):
        # p = 0 for a positive costs -ln(eps); p = 1 for a positive costs ~0.
        assert log_loss([1, 1], [0.0, 1.0], eps=1e-3) == pytest.approx(
            (-math.log(1e-3) - math.log(1 - 1e-3)) / 2)

    @pytest.mark.parametrize("probabilities, bad", [([0.5, 1.5], "probabilities[1]=1.5"),
                                                    ([-0.1, 0.5], "probabilities[0]=-0.1")])
    def test_probabilities_outside_unit_interval(self, probabilities, bad):
        with pytest.raises(ValueError, match=re.escape(bad)):
            log_loss([1, 0], probabilities)

    def test_from_logits_equals_the_probabilities(self):
        rng = np.random.default_rng(5)
        labels = rng.integers(0, 2, 200_000)
        logits = (rng.normal(size=200_000) * 3).astype(np.float32)
        probabilities = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
        assert log_loss(labels, logits, from_logits=True) == pytest.approx(
            log_loss(labels, probabilities), rel=1e-12)
        assert ctr_metrics(labels, logits, from_logits=True) == pytest.approx(
            ctr_metrics(labels, probabilities), rel=1e-12)

    def test_bad_eps(self):
        with pytest.raises(ValueError, match="eps=0.7"):
            log_loss([1], [0.5], eps=0.7)


class TestGauc:
    def test_hand_computed_weights_and_skipped_groups(self):
        groups = ["u1", "u1", "u1", "u2", "u2", "u3", "u3", "u4"]
        labels = [1, 0, 0, 1, 0, 1, 1, 0]
        scores = [0.9, 0.3, 0.9, 0.1, 0.4, 0.5, 0.6, 0.2]
        # u1: positive 0.9 vs negatives 0.3 (1) and 0.9 (0.5) -> 1.5 / 2 = 0.75, 3 rows
        # u2: positive 0.1 vs 0.4 -> 0, 2 rows
        # u3 (no negative) and u4 (no positive) are skipped.
        # GAUC = (3 * 0.75 + 2 * 0) / (3 + 2) = 0.45
        assert gauc(groups, labels, scores) == pytest.approx(0.45)

    def test_agrees_with_weighted_brute_force(self):
        rng = np.random.default_rng(3)
        groups = rng.integers(0, 12, 400)
        labels = rng.integers(0, 2, 400)
        scores = np.round(rng.normal(size=400) + labels, 1)
        total = weight = 0.0
        for g in np.unique(groups):
            mask = groups == g
            if 0 < labels[mask].sum() < mask.sum():
                total += mask.sum() * _pairwise_auc(labels[mask], scores[mask])
                weight += mask.sum()
        assert gauc(groups, labels, scores) == pytest.approx(total / weight, abs=1e-12)

    def test_one_group_equals_auc(self):
        labels, scores = [1, 0, 1, 0, 0], [0.3, 0.3, 0.8, 0.1, 0.9]
        assert gauc([5] * 5, labels, scores) == auc(labels, scores)

    def test_no_group_with_both_classes_is_nan(self):
        assert math.isnan(gauc([1, 1, 2], [1, 1, 0], [0.5, 0.2, 0.1]))

    def test_groups_length_must_match(self):
        with pytest.raises(ValueError, match=r"groups.shape=\(2,\)"):
            gauc([1, 2], [1, 0, 1], [0.1, 0.2, 0.3])


class TestCtrMetrics:
    def test_keys_and_values(self):
        labels, probabilities = [1, 0, 1, 0], [0.9, 0.2, 0.6, 0.6]
        # auc: 0.9 beats 0.2 and 0.6, 0.6 beats 0.2 and ties 0.6 -> 3.5 / 4
        # logloss: -(ln 0.9 + ln 0.8 + ln 0.6 + ln 0.4) / 4
        #        = (0.1053605 + 0.2231436 + 0.5108256 + 0.9162907) / 4 = 0.4389051
        # gauc: group 1 -> 1, group 2 (0.6 vs 0.6) -> 0.5, equal weights -> 0.75
        out = ctr_metrics(labels, probabilities, groups=[1, 1, 2, 2])
        assert list(out) == ["auc", "logloss", "gauc"]
        assert out["auc"] == 0.875 and out["gauc"] == 0.75
        assert out["logloss"] == pytest.approx(0.4389051, abs=1e-7)
        assert list(ctr_metrics(labels, probabilities)) == ["auc", "logloss"]

    def test_exported_from_the_evaluation_package(self):
        for name in ("auc", "log_loss", "gauc", "ctr_metrics"):
            assert name in evaluation.__all__ and callable(getattr(evaluation, name))


class TestValidation:
    @pytest.mark.parametrize("metric", [auc, log_loss])
    def test_mismatched_lengths(self, metric):
        with pytest.raises(ValueError, match=r"shape=\(3,\)"):
            metric([1, 0], [0.1, 0.2, 0.3])

    @pytest.mark.parametrize("metric", [auc, log_loss])
    def test_labels_must_be_binary(self, metric):
        with pytest.raises(ValueError, match=re.escape("labels[2]=2")):
            metric([1, 0, 2], [0.1, 0.2, 0.3])

    def test_text_labels_are_rejected(self):
        with pytest.raises(ValueError, match=re.escape("labels[0]='1'")):
            auc(np.array(["1", "0"]), [0.1, 0.2])

    @pytest.mark.parametrize("metric", [auc, log_loss])
    def test_empty(self, metric):
        with pytest.raises(ValueError, match="labels.size=0"):
            metric([], [])

    def test_nan_scores(self):
        with pytest.raises(ValueError, match=re.escape("scores[1]=nan")):
            auc([1, 0], [0.2, float("nan")])

    def test_two_dimensional_scores(self):
        with pytest.raises(ValueError, match=r"scores.shape=\(2, 2\)"):
            auc([1, 0], [[0.1, 0.2], [0.3, 0.4]])

