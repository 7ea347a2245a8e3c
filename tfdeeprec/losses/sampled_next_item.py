"""SampledNextItemLoss: next-item losses over sampled negatives instead of every item."""

from __future__ import annotations

import numpy as np

from tfdeeprec._keras import keras, tf

KINDS = ("sampled_softmax", "bce", "gbce")


def gbce_beta(num_negatives: int, num_items: int, t: float) -> float:
    """gSASRec's power on the positive's probability: ``alpha (t (1 - 1/alpha) +
    1/alpha)`` with ``alpha = num_negatives / (num_items - 1)``, ``num_items`` counting
    the real items (not the padding index). ``t = 0`` gives plain BCE (``beta = 1``);
    ``t = 1`` gives ``beta = alpha``.

    >>> round(gbce_beta(1, 101, 0.75), 6)
    0.2575
    """
    alpha = num_negatives / (num_items - 1)
    return alpha * (t * (1 - 1 / alpha) + 1 / alpha)


class SampledNextItemLoss(keras.layers.Layer):
    """``[states [n, d], targets [n]] -> per-target loss [n]``, their mean added as the
    layer's loss, against ``num_negatives`` items sampled once per batch (shared by
    every target, so scoring them is one ``[n, d] x [d, S]`` product) from the items
    of ``item_counts`` raised to ``distortion`` (0: uniform; items with no count, such as
    the padding index, are never drawn). A sampled item equal to a target is left out
    of that target's loss.

    * ``"sampled_softmax"``: cross-entropy of the target against the sampled items,
      every score corrected by ``-log`` of its expected count in the sample (logQ;
      ``tf.nn.sampled_softmax_loss``). With every item sampled it is the full softmax.
    * ``"bce"``: ``softplus(-s_target) + sum_j softplus(s_j)``, the loss of the SASRec
      paper (which draws one negative per position).
    * ``"gbce"``: gSASRec's ``beta * softplus(-s_target) + sum_j softplus(s_j)``
      (:func:`gbce_beta` with ``gbce_t``), which undoes the overconfidence BCE learns
      from few negatives (Petrov & Macdonald, RecSys 2023).

    It belongs to a training model (never saved: the model it trains is), so it has no
    config.

    Args:
        items: the model's :class:`~tfdeeprec.layers.item_embedding.ItemEmbedding`
            (its table and bias score the target and the sampled items).
        kind: one of ``"sampled_softmax"``, ``"bce"``, ``"gbce"``.
        num_negatives: items sampled per batch, fewer than the items with a count.
        item_counts: ``[num_items]`` non-negative weights (default: 1 for every item but
            the padding index 0).
        distortion: the power on ``item_counts``. Default 0 (uniform).
        gbce_t: gBCE's calibration ``t`` in ``[0, 1]``. Default 0.75 (gSASRec's).
        seed: the sampler's seed.

    Example (every item sampled, so the sampled softmax is the full one):

    >>> from tfdeeprec.layers.item_embedding import ItemEmbedding
    >>> items = ItemEmbedding(4, 2)
    >>> _ = items(tf.constant([1]))
    >>> _ = items.embeddings.assign([[0., 0.], [1., 0.], [0., 1.], [1., 1.]])
    >>> loss = SampledNextItemLoss(items, "sampled_softmax", num_negatives=3)
    >>> states, targets = tf.constant([[2.0, 0.0]]), tf.constant([1])
    >>> full = tf.nn.sparse_softmax_cross_entropy_with_logits(
    ...     [0], tf.constant([[2.0, 0.0, 2.0]]))       # items 1, 2, 3
    >>> bool(abs(loss([states, targets])[0] - full[0]) < 1e-5)
    True
    """

    def __init__(self, items, kind: str, num_negatives: int, item_counts=None,
                 distortion: float = 0.0, gbce_t: float = 0.75, seed: int | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        if kind not in KINDS:
            raise ValueError(f"`kind` must be one of {KINDS}. Received: kind={kind!r}")
        counts = (np.r_[0.0, np.ones(items.num_items - 1)] if item_counts is None
                  else np.asarray(item_counts, np.float64))
        if counts.shape != (items.num_items,) or (counts < 0).any():
            raise ValueError(f"`item_counts` must hold {items.num_items} non-negative "
                             f"numbers. Received: shape {counts.shape}")
        drawable = int((counts > 0).sum())
        if isinstance(num_negatives, bool) or not isinstance(num_negatives, (int, np.integer)) \
                or not 1 <= num_negatives <= drawable:
            raise ValueError(f"`num_negatives` must be an integer in [1, {drawable}] (the "
                             f"items that can be drawn). Received: "
                             f"num_negatives={num_negatives!r}")
        if not 0.0 <= float(gbce_t) <= 1.0:
            raise ValueError(f"`gbce_t` must lie in [0, 1]. Received: gbce_t={gbce_t!r}")
        self.items = items
        self.kind = kind
        self.num_negatives = int(num_negatives)
        self.distortion = float(distortion)
        self.gbce_t = float(gbce_t)
        self.seed = seed
        # the power applied here, not by the sampler: its 0 ** 0 would draw zero counts
        self.unigrams = np.where(counts > 0, counts ** self.distortion, 0.0).tolist()
        self.beta = gbce_beta(self.num_negatives, items.num_items, self.gbce_t) \
            if kind == "gbce" else 1.0

    def call(self, inputs):
        states, targets = inputs
        states = tf.cast(states, tf.float32)
        labels = tf.reshape(tf.cast(targets, tf.int64), [-1, 1])
        sampled = tf.random.fixed_unigram_candidate_sampler(
            labels, num_true=1, num_sampled=self.num_negatives, unique=True,
            range_max=self.items.num_items, unigrams=self.unigrams, seed=self.seed)
        table = self.items.embeddings[:self.items.num_items]
        bias = (self.items.bias if self.items.bias is not None
                else tf.zeros([self.items.num_items]))
        if self.kind == "sampled_softmax":
            per_target = tf.nn.sampled_softmax_loss(
                table, bias, labels, states, self.num_negatives, self.items.num_items,
                sampled_values=sampled, remove_accidental_hits=True)
        else:
            negatives = tf.stop_gradient(sampled.sampled_candidates)
            target = labels[:, 0]
            positive = tf.reduce_sum(states * tf.gather(table, target), -1) \
                + tf.gather(bias, target)
            scores = tf.matmul(states, tf.gather(table, negatives), transpose_b=True) \
                + tf.gather(bias, negatives)[None, :]
            hit = tf.equal(negatives[None, :], target[:, None])
            per_target = self.beta * tf.math.softplus(-positive) + tf.reduce_sum(
                tf.where(hit, 0.0, tf.math.softplus(scores)), -1)
        count = tf.cast(tf.size(per_target), tf.float32)
        self.add_loss(tf.math.divide_no_nan(tf.reduce_sum(per_target), count))
        return per_target

    def compute_output_shape(self, input_shape):
        return tf.TensorShape([None])
