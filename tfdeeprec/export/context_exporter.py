"""export_context_model: a context (CTR) model -> ``BASE/NAME/VERSION`` for TF Serving.

Every context export serves ``score_features`` (and, as ``serving_default``, the same):
raw named features in, ``{"score": probability [B]}`` out; the encoding (vocabularies,
hashing, normalisation, buckets) is inside the graph. A model trained on user/item-keyed
rows also serves ``score(user_id, item_id)``, ``recommend`` and ``recommend_default``:
the user's and the item's features are joined from tables stored in the export, and
the features that belong to neither (hour, ...) are missing (``""`` / ``NaN``), as in
the model's full-ranking evaluation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data import schema
from tfdeeprec.data.encoded import EncodedInteractions, IdFeatures
from tfdeeprec.data.vocabulary import Vocabulary
from tfdeeprec.export.exporter import check_max_k, write_saved_model
from tfdeeprec.export.metadata import build_metadata
from tfdeeprec.export.serving_module import FallbackTables, ServingModule
from tfdeeprec.export.verify import ExportVerificationError, check_plain_tf, verify_scores
from tfdeeprec.export.versioning import atomic_version_dir, resolve_version

SCORE = "probability of a click (label 1), sigmoid(logit)"
VERIFY_ROWS = 256


class JoinedScorer(tf.Module):
    """``{"user_id", "item_id"} (int32 indices) -> logit``: gathers each pair's raw
    features from per-index tables and calls the context model on them."""

    def __init__(self, model, features: IdFeatures):
        super().__init__(name="joined_scorer")
        self.model = model
        self.user_tables = {k: _constant(v, f"user_{k}") for k, v in features.user.items()}
        self.item_tables = {k: _constant(v, f"item_{k}") for k, v in features.item.items()}
        self.context = dict(features.context)
        self.name_ = model.name

    def __call__(self, inputs, training=False):
        users = inputs[schema.USER_ID]
        items = inputs[schema.ITEM_ID]
        raw = {k: tf.gather(v, users) for k, v in self.user_tables.items()}
        raw.update({k: tf.gather(v, items) for k, v in self.item_tables.items()})
        for name, kind in self.context.items():
            raw[name] = tf.fill(tf.shape(users), np.nan if kind == "float32" else "")
            if kind == "float32":
                raw[name] = tf.cast(raw[name], tf.float32)
        return self.model(raw, training=training)


class FeaturesModule(tf.Module):
    """The ``score_features`` function over a context model's named raw inputs."""

    def __init__(self, model, task: str = "ctr", name="tfdeeprec_serving"):
        super().__init__(name=name)
        self.task = task
        self.oov_behaviour = {"unseen_category": "the feature's out-of-vocabulary row",
                              "missing": "\"\" and NaN take the feature's missing row or "
                                         "the training mean"}
        self.model_variables = list(model.variables)
        attach_score_features(self, model, task)

    def signatures(self) -> dict:
        score = self.score_features.get_concrete_function()
        return {"serving_default": score, "score_features": score}


def attach_score_features(module: tf.Module, model, task: str = "ctr") -> None:
    """Gives ``module`` a ``score_features`` tf.function with one named input per feature,
    and tracks the vocabulary tables of the model's ``StringLookup`` layers (the model
    itself is not tracked: the export holds TF graphs, no Keras objects)."""
    module.vocabulary_tables = [layer.lookup_table for layer in model.submodules
                                if getattr(layer, "lookup_table", None) is not None]
    names = list(model.input_names)
    specs = {name: tf.TensorSpec([None], model.inputs[i].dtype, name=name)
             for i, name in enumerate(names)}

    @tf.function(input_signature=[specs])
    def score_features(features):
        out = tf.reshape(tf.cast(model(features, training=False), tf.float32), [-1])
        return {"score": out if task == "rating" else tf.sigmoid(out)}

    module.score_features = score_features


def export_context_model(model, user_vocab: Vocabulary | None, item_vocab: Vocabulary | None,
                         *, task: str = "ctr", base, name: str, train: EncodedInteractions | None,
                         version: int | None = None, metadata: dict | None = None,
                         max_k: int = 100, exclude_seen: bool = True,
                         verify: bool = True) -> Path:
    """Writes a context model's serving SavedModel at ``base/name/version`` atomically.

    Args:
        model: raw named features -> logit ``[B]`` (task ``ctr``) or rating (``rating``).
        task (str): ``ctr``: scores are click probabilities and unknown IDs are scored
            by the model (their missing rows); ``rating``: predicted ratings, with the
            pair family's fallbacks for unknown IDs.
        user_vocab, item_vocab, train: the keyed run's vocabularies and training split
            (with its ``id_features``), or ``None`` for rows without IDs.
        base, name, version, metadata, max_k, exclude_seen, verify: as
            :func:`~tfdeeprec.export.export_model`.
    """
    version = resolve_version(base, name, version)
    check_max_k(max_k)
    keyed = user_vocab is not None
    if keyed:
        if train is None or train.id_features is None:
            raise ValueError("a keyed context export needs the training split with its "
                             "per-ID feature tables (EncodedInteractions.id_features)")
        scorer = JoinedScorer(model, train.id_features)
        module = ServingModule(scorer, user_vocab, item_vocab, task=task,
                               fallbacks=FallbackTables.from_train(train, task),
                               max_k=int(max_k), exclude_seen=exclude_seen)
        attach_score_features(module, model, task)
        signatures = module.signatures()
        signatures["score_features"] = module.score_features.get_concrete_function()
        signatures["serving_default"] = signatures["score_features"]
    else:
        module = FeaturesModule(model, task)
        signatures = module.signatures()
    document = build_metadata(module, signatures, model=model, family="context",
                              user_vocab=user_vocab, item_vocab=item_vocab, name=name,
                              version=version, requested_max_k=int(max_k),
                              score=SCORE if task == "ctr" else "predicted rating",
                              extra=metadata)
    document["signatures"]["serving_default"]["notes"] = "same as `score_features`"
    with atomic_version_dir(base, name, version) as tmp:
        write_saved_model(tmp, module, signatures, document)
        if verify:  # one reload checks both ways in
            check_plain_tf(tmp)
            loaded = tf.saved_model.load(str(tmp))
            if keyed:
                verify_scores(loaded, lambda u, i: _expected(scorer, u, i, task), user_vocab,
                              item_vocab, name=str(tmp))
            verify_score_features(loaded, model, train, task, name=str(tmp))
    return Path(base) / name / str(version)


def verify_score_features(loaded, model, train, task: str = "ctr", *, name: str = "export",
                          atol: float = 1e-5) -> None:
    """Checks a reloaded export's ``score_features`` against the model on joined training
    pairs (keyed) or on all-missing rows."""
    if train is not None and train.id_features is not None and len(train):
        rng = np.random.default_rng(0)
        pick = rng.integers(0, len(train), min(VERIFY_ROWS, len(train)))
        rows = train.id_features.join(train.user[pick], train.item[pick])
    else:
        rows = {name: np.full(4, np.nan, np.float32) if t.dtype == tf.float32
                else np.full(4, "", dtype=str) for name, t in zip(model.input_names,
                                                                  model.inputs)}
    tensors = {k: tf.constant(v) for k, v in rows.items()}
    got = loaded.signatures["score_features"](**tensors)["score"].numpy()
    want = tf.reshape(model(tensors, training=False), [-1])
    want = (want if task == "rating" else tf.sigmoid(want)).numpy()
    worst = float(np.max(np.abs(got - want)))
    if worst > atol:
        raise ExportVerificationError(f"{name}: `score_features` differs from the "
                                      f"model by up to {worst:.3g} (allowed {atol:g})")


def _expected(scorer, users, items, task):
    out = np.reshape(scorer({schema.USER_ID: users, schema.ITEM_ID: items}), [-1])
    return out if task == "rating" else 1.0 / (1.0 + np.exp(-out.astype(np.float64)))


def _constant(values: np.ndarray, name: str) -> tf.Variable:
    dtype = tf.float32 if values.dtype.kind == "f" else tf.string
    data = values.astype(np.float32) if dtype == tf.float32 else values.astype(str)
    return tf.Variable(data, trainable=False, dtype=dtype, name=name)
