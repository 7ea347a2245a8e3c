"""AutoRec: the score is the hand-computed reconstruction entry, the table holds the
training ratings alone, the ranker equals pair-by-pair scoring, and it learns ratings."""

import numpy as np
import pytest

from tfdeeprec.data import make_synthetic_ratings
from tfdeeprec.evaluation import model_score_fn
from tfdeeprec.families import get_family
from tfdeeprec.models import rankers
from tfdeeprec.models.autorec import build_autorec, rating_matrix
from tfdeeprec.models.registry import get_spec
from tfdeeprec.training import TrainingConfig
from tfdeeprec.training.experiment import ExperimentConfig, run_experiment

# 3 users x 4 items (index 0: OOV): user 1 rated item 2 with 4, user 2 rated items 2 and 3.
RATINGS = np.array([[0, 0, 0, 0],
                    [0, 0, 4, 0],
                    [0, 0, 2, 5]], np.float32)


def _pairs(users, items):
    return {"user_id": np.array(users, np.int32), "item_id": np.array(items, np.int32)}


def _set(model, encoder_kernel, encoder_bias, decoder, decoder_bias):
    model.get_layer("encoder").set_weights([np.array(encoder_kernel, np.float32),
                                            np.array(encoder_bias, np.float32)])
    model.get_layer("decoder").set_weights([np.array(decoder, np.float32)])
    model.get_layer("decoder_bias").set_weights([np.array(decoder_bias, np.float32)[:, None]])


def test_i_autorec_scores_the_item_rows_reconstruction_at_the_user():
    model = build_autorec(3, 4, ratings=RATINGS, hidden_units=2, global_mean=1.0)
    # Item 2's row is (0, 4, 2) over users 0..2: r V = (1, -1), + b = (0, 0): h = (.5, .5).
    _set(model, [[9, 9], [0.25, 0], [0, -0.5]], [-1, 1],
         decoder=[[0, 0], [2, 4], [-2, 0]], decoder_bias=[0, 0.5, 0.25])
    # user 1: .5 * 2 + .5 * 4 + .5 + 1 = 4.5; user 2: -1 + .25 + 1 = .25; OOV user: 1.
    scores = model.predict(_pairs([1, 2, 0], [2, 2, 2]), verbose=0)
    np.testing.assert_allclose(scores, [4.5, 0.25, 1.0], rtol=1e-6)
    # An item no one rated (item 1) is encoded from an empty row: h = sigmoid(-1, 1).
    h = 1 / (1 + np.exp(-np.array([-1.0, 1.0])))
    np.testing.assert_allclose(model.predict(_pairs([1], [1]), verbose=0),
                               [h @ [2, 4] + 0.5 + 1.0], rtol=1e-6)


def test_u_autorec_scores_the_user_rows_reconstruction_at_the_item():
    model = build_autorec(3, 4, ratings=RATINGS, side="user", hidden_units=1,
                          rating_range=(1.0, 5.0))
    # User 2's row is (0, 0, 2, 5) over items 0..3: r V = 2 * 1 + 5 * -0.4 = 0: h = .5.
    _set(model, [[9], [9], [1], [-0.4]], [0], decoder=[[0], [2], [6], [20]],
         decoder_bias=[0, 1, 1, 1])
    # item 1: 1 + 1 = 2; item 2: 3 + 1 = 4; item 3: 10 + 1 = 11, clipped to 5.
    np.testing.assert_allclose(model.predict(_pairs([2, 2, 2], [1, 2, 3]), verbose=0),
                               [2.0, 4.0, 5.0], rtol=1e-6)
    assert model.get_layer("user_ratings").embeddings.numpy().tolist() == RATINGS.tolist()
    assert not model.get_layer("user_ratings").trainable_weights


def test_the_table_is_frozen_and_the_oov_entries_are_zero():
    model = build_autorec(3, 4, ratings=RATINGS, hidden_units=2)
    np.testing.assert_array_equal(model.get_layer("item_ratings").embeddings.numpy(),
                                  RATINGS.T)
    np.testing.assert_array_equal(model.get_layer("decoder").embeddings.numpy()[0], [0, 0])
    assert all("ratings" not in w.name for w in model.trainable_weights)
    assert build_autorec(3, 4, hidden_units=2).get_layer(
        "item_ratings").embeddings.numpy().sum() == 0  # no ratings: an empty table


@pytest.mark.parametrize("kwargs, message", [
    ({"side": "items"}, "`side` must be one of"),
    ({"hidden_units": 0}, "`hidden_units` must be a positive integer. Received: hidden_units=0"),
    ({"l2": -1.0}, "`l2` must be a number >= 0. Received: l2=-1.0"),
    ({"task": "ctr"}, "`task` must be one of"),
    ({"ratings": np.zeros((4, 3))}, r"ratings of shape \[4, 3\]"),
    ({"ratings": np.pad(RATINGS[1:], ((1, 0), (0, 0)), constant_values=1)},
     "with 4 nonzero OOV entries"),
    ({"ratings": np.where(RATINGS > 4, np.nan, RATINGS)}, "with 1 non-finite entries"),
])
def test_bad_arguments_are_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_autorec(3, 4, **{"ratings": RATINGS, **kwargs})


def test_rating_matrix():
    matrix = rating_matrix(np.array([1, 2, 2]), np.array([2, 2, 3]), None, 3, 4)
    assert matrix.dtype == np.float32 and matrix.tolist() == (RATINGS > 0).tolist()


@pytest.mark.parametrize("task", ["rating", "implicit"])
def test_the_table_holds_the_training_ratings_alone(task):
    frame = make_synthetic_ratings(60, 40, seed=3).frame
    config = ExperimentConfig(model="autorec", task=task, seed=0)
    family = get_family("pair")
    data = family.prepare(config, frame)
    table = family.model_arguments(get_spec("autorec"), config, data)["ratings"]
    train = data.train.known()
    expected = rating_matrix(train.user, train.item, train.rating if task == "rating" else None,
                             train.num_users, train.num_items)
    np.testing.assert_array_equal(table, expected)
    assert np.count_nonzero(table) == len(train)
    held_out = set()
    for part in (data.valid.known(), data.test.known()):
        held_out |= set(zip(part.user.tolist(), part.item.tolist()))
    held_out -= set(zip(train.user.tolist(), train.item.tolist()))
    assert held_out  # the check below has something to check
    assert not any(table[u, i] for u, i in held_out)  # no validation or test rating leaks
    model = family.builder(get_spec("autorec"), config, data)()
    np.testing.assert_array_equal(model.get_layer("item_ratings").embeddings.numpy(), table.T)


@pytest.mark.parametrize("side", ["item", "user"])
@pytest.mark.parametrize("task", ["rating", "implicit"])
def test_ranker_equals_scoring_every_pair_fresh_and_reloaded(side, task, monkeypatch,
                                                             reload_check):
    monkeypatch.setattr(rankers, "PAIRS_PER_CALL", 64)  # several chunks of users
    rng = np.random.default_rng(0)
    ratings = rng.integers(1, 6, (7, 40)) * (rng.random((7, 40)) < 0.3)
    ratings[0], ratings[:, 0] = 0, 0
    extra = {"rating_range": (1.0, 5.0), "global_mean": 3.0} if task == "rating" else {}
    model = build_autorec(7, 40, ratings=ratings, side=side, hidden_units=5, task=task,
                          **extra)
    trainable = model.trainable_weights
    for weight in trainable:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))
    users = np.array([0, 1, 2, 3, 4, 5, 6, 3], np.int32)
    expected = model_score_fn(model, 40)(users)
    got = rankers.autorec_ranker(model, 40)(users)
    assert got.shape == (8, 40)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    family_scores = get_family("pair").score_fn(model, type("Train", (), {"num_items": 40}))
    np.testing.assert_allclose(family_scores(users), got, rtol=1e-6, atol=1e-6)
    reloaded = reload_check(model, _pairs(np.repeat(users, 40), np.tile(np.arange(40), 8)))
    np.testing.assert_allclose(rankers.autorec_ranker(reloaded, 40)(users), expected,
                               rtol=1e-5, atol=1e-5)


def test_learns_planted_ratings_beyond_the_global_mean():
    frame = make_synthetic_ratings(300, 200, seed=7).frame
    config = ExperimentConfig(model="autorec", task="rating", batch_size=256, seed=0,
                              model_kwargs={"hidden_units": 32, "l2": 1e-3},
                              training=TrainingConfig(epochs=10, learning_rate=1e-2,
                                                      optimizer="adam", verbose=0))
    result = run_experiment(config, frame=frame)
    data = result.data
    test = data.test.known()
    mean_rmse = np.sqrt(np.mean((test.rating - data.train.known().rating.mean()) ** 2))
    rmse = result.metrics["test"]["rmse_known"]
    print(f"planted ratings: I-AutoRec RMSE {rmse:.4f}, global mean {mean_rmse:.4f}")
    assert rmse < 0.9 * mean_rmse
