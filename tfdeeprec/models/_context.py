"""What every context (CTR) model shares: raw named inputs, their encoding, the output.

A context model is two functional models: ``core`` maps *encoded* features (indices and
standardised numbers, :class:`~tfdeeprec.layers.FeatureEncoder`'s output) to the logit,
and the model a builder returns wraps it as ``core(encoder(raw features))``, so a saved
or exported model takes raw values. Training fits ``core`` on rows encoded once (or in
the ``tf.data`` pipeline), which keeps string lookups out of every training step; both
share the same weights.
"""

from __future__ import annotations

from tfdeeprec._keras import keras, tf
from tfdeeprec.data import schema
from tfdeeprec.features import Categorical, FeatureStats, Numeric, check_specs
from tfdeeprec.layers.feature_encoder import FeatureEncoder
from tfdeeprec.layers.field_embedding import FieldEmbedding
from tfdeeprec.models._common import finish_score

TASKS = ("ctr", "rating")
ENCODER = "feature_encoder"
CORE = "core"


def check_ctr_task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"`task` must be one of {TASKS} for context models (a click "
                         f"logit, or a rating). Received: task={task!r}")
    return task


def context_features(num_users: int, num_items: int, features, feature_stats):
    """``(specs, stats)``: the given ones, or (``features=None``, e.g. to build a model
    on IDs alone) ``user_id`` and ``item_id`` hashed into ``num_users`` and ``num_items``
    buckets."""
    if features is None:
        specs = (Categorical(schema.USER_ID, hash_buckets=max(int(num_users), 1)),
                 Categorical(schema.ITEM_ID, hash_buckets=max(int(num_items), 1)))
        return specs, FeatureStats()
    specs = check_specs(features)
    if feature_stats is None:
        raise ValueError("`feature_stats` are needed with `features` (what the specs learned "
                         "from the training rows: tfdeeprec.features.fit_feature_stats)")
    stats = (feature_stats if isinstance(feature_stats, FeatureStats)
             else FeatureStats.from_dict(feature_stats))
    return specs, stats


def feature_inputs(specs) -> dict:
    """One raw ``keras.Input`` per feature: ``tf.string [B]`` (categorical, multi-valued)
    or ``tf.float32 [B]`` (numeric), named as the feature."""
    return {s.name: keras.Input(shape=(), dtype=tf.float32 if isinstance(s, Numeric)
                                else tf.string, name=s.name) for s in specs}


def encoded_inputs(specs) -> dict:
    """One ``keras.Input`` per encoded feature (what :class:`FeatureEncoder` returns)."""
    out = {}
    for s in specs:
        if isinstance(s, Numeric):
            dtype = tf.int64 if s.transform == "bucketize" else tf.float32
            out[s.name] = keras.Input(shape=(), dtype=dtype, name=s.name)
        else:
            shape = (None,) if s.kind == "multi_valued" else ()
            out[s.name] = keras.Input(shape=shape, dtype=tf.int64, name=s.name)
    return out


def context_inputs(num_users, num_items, features, feature_stats):
    """``(specs, encoder, encoded inputs)`` for a builder. ``feature_stats`` may also be a
    :class:`FeatureEncoder` built from them (named ``ENCODER``), which the model then
    shares: training's input pipeline and the model look values up in one set of tables."""
    if isinstance(feature_stats, FeatureEncoder):
        encoder = feature_stats
        if features is not None and [s.to_dict() for s in check_specs(features)] != \
                encoder.features:
            raise ValueError("`features` must be the specs of the given FeatureEncoder. "
                             f"Received: features={features!r}")
        return encoder.specs, encoder, encoded_inputs(encoder.specs)
    specs, stats = context_features(num_users, num_items, features, feature_stats)
    encoder = FeatureEncoder([s.to_dict() for s in specs], stats, name=ENCODER)
    return specs, encoder, encoded_inputs(specs)


def embed_fields(encoded: dict, specs, encoder: FeatureEncoder, *, embedding_dim: int,
                 linear: bool = True, l2: float = 0.0):
    """The field embeddings ``[B, F, k]`` (and the linear logit) of encoded inputs."""
    return FieldEmbedding([s.to_dict() for s in specs], encoder.table_sizes(),
                          embedding_dim=embedding_dim, linear=linear, l2=l2,
                          name="field_embedding")(encoded)


def logit_model(encoder: FeatureEncoder, encoded: dict, logits: list, name: str, *,
                task: str = "ctr", rating_range=None, global_mean: float = 0.0
                ) -> keras.Model:
    """``core`` (encoded features -> the sum of ``logits``, each ``[B, 1]``, as ``[B]``:
    a click logit for task ``ctr``; for ``rating``, plus the training mean and clipped
    to the training range), wrapped to take raw features."""
    total = logits[0] if len(logits) == 1 else keras.layers.Add(name="logit")(logits)
    out = finish_score(total, task=task, rating_range=rating_range, global_mean=global_mean)
    core = keras.Model(encoded, out, name=CORE)
    raw = feature_inputs(encoder.specs)
    return keras.Model(raw, core(encoder(raw)), name=name)


def core_of(model: keras.Model) -> keras.Model:
    """The encoded-features model inside a context model."""
    return model.get_layer(CORE)


def encoder_of(model: keras.Model) -> FeatureEncoder:
    return model.get_layer(ENCODER)


def flat(fields, name: str = "flatten_fields"):
    return keras.layers.Flatten(name=name)(fields)
