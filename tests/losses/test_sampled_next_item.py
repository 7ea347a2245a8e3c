"""SampledNextItemLoss: with every item drawn, each kind equals its hand-written full form
(the target drawn too is left out); gBCE's beta; bad arguments named; each kind trains
SASRec on planted walks."""

import numpy as np
import pytest

from tfdeeprec._keras import tf
from tfdeeprec.layers.item_embedding import ItemEmbedding
from tfdeeprec.losses.sampled_next_item import SampledNextItemLoss, gbce_beta

NUM_ITEMS = 6  # the padding index 0 and items 1..5


@pytest.fixture
def items():
    layer = ItemEmbedding(NUM_ITEMS, 3, output_bias=True)
    layer(tf.constant([1]))
    rng = np.random.default_rng(0)
    layer.embeddings.assign(rng.normal(size=(NUM_ITEMS, 3)).astype("float32"))
    layer.bias.assign(rng.normal(size=NUM_ITEMS).astype("float32"))
    return layer


@pytest.fixture
def batch():
    rng = np.random.default_rng(1)
    return (tf.constant(rng.normal(size=(4, 3)).astype("float32")),
            tf.constant([1, 3, 5, 3], tf.int32))


def _scores(items, states):
    """Every real item's score, ``[n, 5]`` (items 1..5)."""
    return (states.numpy() @ items.embeddings.numpy()[1:].T) + items.bias.numpy()[1:]


def _softplus(x):
    return np.logaddexp(0.0, x)


def test_sampled_softmax_of_every_item_is_the_full_softmax(items, batch):
    states, targets = batch
    loss = SampledNextItemLoss(items, "sampled_softmax", num_negatives=NUM_ITEMS - 1)
    scores = _scores(items, states)
    full = np.log(np.exp(scores).sum(1)) - scores[np.arange(4), targets.numpy() - 1]
    np.testing.assert_allclose(loss([states, targets]).numpy(), full, rtol=1e-5)
    np.testing.assert_allclose(float(loss.losses[0]), full.mean(), rtol=1e-5)


@pytest.mark.parametrize("kind", ["bce", "gbce"])
def test_bce_of_every_item_sums_the_other_items(items, batch, kind):
    states, targets = batch
    loss = SampledNextItemLoss(items, kind, num_negatives=NUM_ITEMS - 1, gbce_t=0.75)
    scores = _scores(items, states)
    rows = np.arange(4)
    positive = scores[rows, targets.numpy() - 1]
    others = _softplus(scores).sum(1) - _softplus(positive)  # the target left out
    # every item drawn: alpha = 1, so gBCE's beta is 1 and it is BCE
    np.testing.assert_allclose(loss([states, targets]).numpy(), _softplus(-positive) + others,
                               rtol=1e-5)


def test_gbce_beta_by_hand():
    # alpha = 1 / 100; beta = alpha * (t (1 - 1/alpha) + 1/alpha) = 0.01 * (0.75 * -99 + 100)
    assert gbce_beta(1, 101, 0.75) == pytest.approx(0.2575)
    assert gbce_beta(7, 101, 0.0) == pytest.approx(1.0)  # t = 0: plain BCE
    assert gbce_beta(10, 101, 1.0) == pytest.approx(0.1)  # t = 1: beta = alpha


def test_zero_count_items_are_never_drawn(items):
    # only items 2 and 4 may be drawn; with both drawn, a target's BCE sums exactly them
    states, targets = tf.constant([[1.0, -1.0, 0.5]]), tf.constant([1])
    loss = SampledNextItemLoss(items, "bce", num_negatives=2,
                               item_counts=[0, 0, 3, 0, 1, 0], distortion=1.0)
    scores = _scores(items, states)[0]
    want = _softplus(-scores[0]) + _softplus(scores[1]) + _softplus(scores[3])
    for _ in range(5):
        np.testing.assert_allclose(loss([states, targets]).numpy(), [want], rtol=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    ({"kind": "hinge", "num_negatives": 2}, "kind='hinge'"),
    ({"kind": "bce", "num_negatives": 6}, r"in \[1, 5\].*num_negatives=6"),
    ({"kind": "bce", "num_negatives": 0}, "num_negatives=0"),
    ({"kind": "bce", "num_negatives": 2, "item_counts": [1, 2]}, r"shape \(2,\)"),
    ({"kind": "bce", "num_negatives": 2, "item_counts": [0, 1, -1, 1, 1, 1]}, "non-negative"),
    ({"kind": "gbce", "num_negatives": 2, "gbce_t": 1.5}, "gbce_t=1.5"),
])
def test_bad_arguments_are_named(items, kwargs, match):
    with pytest.raises(ValueError, match=match):
        SampledNextItemLoss(items, **kwargs)
