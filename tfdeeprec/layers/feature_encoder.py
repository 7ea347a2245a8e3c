"""FeatureEncoder: raw named feature values -> indices and standardised numbers, in-model."""

from __future__ import annotations

from tfdeeprec._keras import keras, tf
from tfdeeprec._registration import register
from tfdeeprec.features.specs import Numeric, check_specs
from tfdeeprec.features.statistics import FeatureStats

MISSING_INDEX = 0  # "" / NaN: the feature is missing (multi-valued: padding)
OOV_INDEX = 1      # a category not in the vocabulary


@register
class FeatureEncoder(keras.layers.Layer):
    """Encodes raw feature values with Keras preprocessing layers, so a saved model
    takes raw strings and numbers.

    Per kind of spec (``tfdeeprec.features``):

    * categorical with a vocabulary (``StringLookup``): ``""`` -> 0, unseen -> 1,
      the ``j``-th token -> ``j + 2``; hashed (``Hashing``): ``""`` -> 0, else
      ``1 + hash % hash_buckets``. int64 ``[B]``.
    * multi-valued: the string split on its separator, then as categorical, padded with
      0: int64 ``[B, L]`` (``L`` the most values in the batch, at least 1).
    * numeric: ``standardize`` / ``log1p`` (``Normalization`` with the training moments),
      float32 ``[B]``, NaN -> 0 (the training mean); ``none``: the value, NaN -> the
      training mean; ``bucketize``
      (``Discretization``): NaN -> 0, else ``1 +`` the bucket: int64 ``[B]``.

    Args:
        features (list): the feature specs (objects or their ``to_dict()``).
        stats (dict): :class:`~tfdeeprec.features.FeatureStats` (or its ``to_dict()``).

    Call arguments:
        inputs: dict name -> raw tensor ``[B]`` (or ``[B, 1]``); extra keys are ignored.

    Output: dict name -> encoded tensor (see above).

    Example:

    >>> from tfdeeprec.features import Categorical, Numeric, FeatureStats
    >>> stats = FeatureStats(vocabularies={"city": ["a", "b"]}, moments={"age": [30.0, 4.0]})
    >>> encoder = FeatureEncoder([Categorical("city"), Numeric("age")], stats)
    >>> out = encoder({"city": tf.constant(["b", "", "z"]), "age": tf.constant([32.0, float("nan"), 30.0])})
    >>> out["city"].numpy().tolist(), out["age"].numpy().tolist()
    ([3, 0, 1], [1.0, 0.0, 0.0])
    """

    def __init__(self, features, stats, **kwargs):
        super().__init__(**kwargs)
        self.specs = check_specs(features)
        self.stats = stats if isinstance(stats, FeatureStats) else FeatureStats.from_dict(stats)
        self.features = [s.to_dict() for s in self.specs]
        self._lookups = {}
        for spec in self.specs:
            if isinstance(spec, Numeric):
                if spec.transform == "bucketize":
                    edges = self.stats.boundaries.get(spec.name)
                    if edges is None:
                        raise ValueError(f"`stats` has no bucket edges for {spec.name!r}")
                    self._lookups[spec.name] = keras.layers.Discretization(
                        bin_boundaries=list(edges), name=f"{spec.name}_buckets")
                elif spec.transform != "none":
                    mean, variance = self._moments(spec.name)
                    self._lookups[spec.name] = keras.layers.Normalization(
                        axis=None, mean=mean, variance=variance, name=f"{spec.name}_normalize")
            elif spec.table not in self._lookups:
                if spec.hash_buckets:
                    self._lookups[spec.table] = keras.layers.Hashing(
                        spec.hash_buckets, name=f"{spec.table}_hashing")
                else:
                    vocabulary = self.stats.vocabularies.get(spec.table)
                    if not vocabulary:
                        raise ValueError(f"`stats` has no vocabulary for {spec.table!r}")
                    self._lookups[spec.table] = keras.layers.StringLookup(
                        vocabulary=list(vocabulary), mask_token="", num_oov_indices=1,
                        name=f"{spec.table}_lookup")

    def _moments(self, name):
        if name not in self.stats.moments:
            raise ValueError(f"`stats` has no mean and variance for {name!r}")
        return self.stats.moments[name]

    def table_sizes(self) -> dict:
        """Rows each embedding table needs: ``{table: rows}`` (numeric: bucketised only;
        other numeric features need one vector, ``{name: 1}``)."""
        sizes = {}
        for spec in self.specs:
            if isinstance(spec, Numeric):
                edges = self.stats.boundaries.get(spec.name, ())
                sizes[spec.name] = len(edges) + 2 if spec.transform == "bucketize" else 1
            elif spec.hash_buckets:
                sizes[spec.table] = spec.hash_buckets + 1
            else:
                sizes[spec.table] = len(self.stats.vocabularies[spec.table]) + 2
        return sizes

    def call(self, inputs):
        missing = [s.name for s in self.specs if s.name not in inputs]
        if missing:
            raise ValueError(f"missing feature input(s) {missing}")
        out = {}
        for spec in self.specs:
            x = tf.reshape(inputs[spec.name], [-1])
            if isinstance(spec, Numeric):
                out[spec.name] = self._numeric(spec, tf.cast(x, tf.float32))
            elif spec.kind == "multi_valued":
                parts = tf.strings.split(x, spec.separator).to_tensor("")  # "" splits to [""]
                out[spec.name] = self._categorical(spec, parts)
            else:
                out[spec.name] = self._categorical(spec, x)
        return out

    def _categorical(self, spec, x):
        x = tf.strings.as_string(x) if x.dtype != tf.string else x
        lookup = self._lookups[spec.table]
        if spec.hash_buckets:
            return tf.where(x == "", tf.constant(0, tf.int64), tf.cast(lookup(x), tf.int64) + 1)
        return tf.cast(lookup(x), tf.int64)

    def _numeric(self, spec, x):
        missing = tf.math.is_nan(x)
        if spec.transform == "bucketize":
            buckets = tf.cast(self._lookups[spec.name](tf.where(missing, 0.0, x)), tf.int64)
            return tf.where(missing, tf.constant(0, tf.int64), buckets + 1)
        if spec.transform == "log1p":
            x = tf.math.log1p(tf.maximum(x, 0.0))
        if spec.transform == "none":
            return tf.where(missing, self._moments(spec.name)[0], x)
        return tf.where(missing, 0.0, tf.reshape(self._lookups[spec.name](x), [-1]))

    def get_config(self):
        return super().get_config() | {"features": self.features,
                                       "stats": self.stats.to_dict()}
