"""FieldEmbedding: encoded features -> one k-dimensional vector per field, and a linear term."""

from __future__ import annotations

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register
from tfdeeprec.features.specs import Numeric, check_specs

INIT_STDDEV = 0.05


@register
class FieldEmbedding(keras.layers.Layer):
    """The shared input of every feature-interaction model: field embeddings ``[B, F, k]``
    and the first-order (linear) logit ``[B, 1]``.

    Field ``f`` (in spec order) is:

    * categorical: its table's row ``e[index]`` (row 0: missing, row 1: unseen);
    * multi-valued: the ``mean`` (or ``sum``) of its values' rows, padding left out;
    * bucketised numeric: its bucket's row;
    * other numeric: ``x * v_f``, the standardised value times the field's vector.

    The linear term is ``b + sum_f w_f(x_f)`` with one weight per row (``x * w_f`` for
    a plain numeric field), pooled the same way.

    Args:
        features (list): the feature specs (as :class:`FeatureEncoder` took them).
        table_sizes (dict): rows per table, :meth:`FeatureEncoder.table_sizes`.
        embedding_dim (int): ``k``; 0 makes no field embeddings and returns the linear
            term alone (logistic regression). Default 10.
        linear (bool): also return the linear term. Default True.
        l2 (float): L2 penalty on the embedding rows a batch uses. Default 0.

    Call arguments:
        encoded: the :class:`FeatureEncoder` output.

    Output: ``fields`` float32 ``[B, F, k]``, or ``(fields, linear [B, 1])`` when
    ``linear``, or ``linear`` alone when ``embedding_dim`` is 0.

    Example:

    >>> from tfdeeprec.features import Categorical
    >>> layer = FieldEmbedding([Categorical("a"), Categorical("b")], {"a": 4, "b": 3},
    ...                        embedding_dim=2)
    >>> fields, linear = layer({"a": tf.constant([1, 3]), "b": tf.constant([0, 2])})
    >>> fields.shape, linear.shape
    (TensorShape([2, 2, 2]), TensorShape([2, 1]))

    References:
        Rendle, Factorization Machines, ICDM 2010 (the linear and field terms).
    """

    def __init__(self, features, table_sizes: dict, embedding_dim: int = 10,
                 linear: bool = True, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.specs = check_specs(features)
        self.features = [s.to_dict() for s in self.specs]
        if isinstance(embedding_dim, bool) or not isinstance(embedding_dim, int) \
                or embedding_dim < 0:
            raise ValueError("`embedding_dim` must be an integer >= 0. "
                             f"Received: embedding_dim={embedding_dim!r}")
        if l2 < 0:
            raise ValueError(f"`l2` must be >= 0. Received: l2={l2!r}")
        absent = sorted({s.table for s in self.specs} - set(table_sizes))
        if absent:
            raise ValueError(f"`table_sizes` has no size for table(s) {absent}")
        self.table_sizes = {k: int(v) for k, v in table_sizes.items()}
        if embedding_dim == 0 and not linear:
            raise ValueError("`embedding_dim=0` returns the linear term alone; it needs "
                             "linear=True. Received: linear=False")
        self.embedding_dim = embedding_dim
        self.linear = linear
        self.l2 = float(l2)

    def build(self, input_shape):
        # One table for every feature, each feature's rows at its table's offset (as
        # RecBole's token embedding): one gather and one sparse update a step, not one
        # per feature.
        self.offsets, total = {}, 0
        for spec in self.specs:
            if spec.table not in self.offsets:
                self.offsets[spec.table] = total
                total += self.table_sizes[spec.table]
        # Small rows, as libFM and DeepCTR start: with many fields, larger ones make
        # the sum of pairwise products (FM, CIN) start far from 0.
        self.embeddings = None if not self.embedding_dim else self.add_weight(
            name="embeddings", shape=(total, self.embedding_dim),
            initializer=keras.initializers.RandomNormal(stddev=INIT_STDDEV))
        if self.linear:
            self.linear_weights = self.add_weight(name="linear_weights", shape=(total, 1),
                                                  initializer="zeros")
            self.bias = self.add_weight(name="bias", shape=(1,), initializer="zeros")
        singles = [s for s in self.specs if self._kind(s) == "single"]
        plains = [s for s in self.specs if self._kind(s) == "plain"]
        multis = [s for s in self.specs if self._kind(s) == "multi"]
        block_order = [s.name for s in singles + plains + multis]
        self._singles, self._plains, self._multis = singles, plains, multis
        self._order = [block_order.index(s.name) for s in self.specs]
        super().build(input_shape)

    @staticmethod
    def _kind(spec) -> str:
        if isinstance(spec, Numeric) and spec.transform != "bucketize":
            return "plain"
        return "multi" if spec.kind == "multi_valued" else "single"

    def call(self, encoded):
        fields, terms, penalty = [], [], []
        if self._singles:
            ids = tf.stack([tf.cast(encoded[s.name], tf.int64) + self.offsets[s.table]
                            for s in self._singles], axis=1)  # [B, S]
            if self.embeddings is not None:
                rows = tf.gather(self.embeddings, ids)
                fields.append(rows)
                if self.l2:
                    penalty.append(tf.reduce_sum(tf.square(rows)))
            if self.linear:
                weights = tf.gather(self.linear_weights, ids)[..., 0]
                terms.append(tf.reduce_sum(weights, axis=1, keepdims=True))
                if self.l2 and self.embeddings is None:
                    penalty.append(tf.reduce_sum(tf.square(weights)))
        if self._plains:
            # The plain numeric fields' rows in one gather, whose gradient stays sparse
            # (``embeddings[offset]`` would give each a dense gradient the size of the
            # whole table, every step: memory and time growing with the vocabulary).
            values = tf.stack([tf.reshape(tf.cast(encoded[s.name], tf.float32), [-1])
                               for s in self._plains], axis=1)[..., None]  # [B, P, 1]
            ids = tf.constant([self.offsets[s.table] for s in self._plains], tf.int64)
            if self.embeddings is not None:
                fields.append(values * tf.gather(self.embeddings, ids)[None])
            if self.linear:
                weights = tf.gather(self.linear_weights, ids)[None]  # [1, P, 1]
                terms.append(tf.reduce_sum(values * weights, axis=1))
        for spec in self._multis:
            x = encoded[spec.name]
            ids = tf.cast(x, tf.int64) + self.offsets[spec.table]
            mask = tf.cast(x > 0, tf.float32)[..., None]  # 0: padding
            if self.embeddings is not None:
                rows = tf.gather(self.embeddings, ids)
                if self.l2:
                    penalty.append(tf.reduce_sum(tf.square(rows * mask)))
                fields.append(self._pool(spec, rows * mask, mask)[:, None, :])
            if self.linear:
                weights = tf.gather(self.linear_weights, ids)
                terms.append(self._pool(spec, weights * mask, mask))
        if penalty:
            self.add_loss(self.l2 * tf.add_n(penalty))
        linear = tf.add_n(terms) + self.bias if self.linear else None
        if not self.embedding_dim:
            return linear
        out = tf.concat(fields, axis=1) if len(fields) > 1 else fields[0]
        if self._order != sorted(self._order):  # back to the specs' order
            out = tf.gather(out, self._order, axis=1)
        return (out, linear) if self.linear else out

    def table_rows(self, table: str) -> slice:
        """The rows of ``table`` in :attr:`embeddings` and :attr:`linear_weights`."""
        start = self.offsets[table]
        return slice(start, start + self.table_sizes[table])

    @staticmethod
    def _pool(spec, values, mask):
        total = tf.reduce_sum(values, axis=1)
        if spec.pooling == "sum":
            return total
        return total / tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)

    def compute_output_shape(self, input_shape):
        if not self.embedding_dim:
            return tf.TensorShape([None, 1])
        fields = tf.TensorShape([None, len(self.specs), self.embedding_dim])
        return (fields, tf.TensorShape([None, 1])) if self.linear else fields

    def get_config(self):
        return super().get_config() | {"features": self.features,
                                       "table_sizes": self.table_sizes,
                                       "embedding_dim": self.embedding_dim,
                                       "linear": self.linear, "l2": self.l2}
