"""``assets/tfdeeprec.json``: what an export holds, how it was trained, what it answers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

import tfdeeprec
from tfdeeprec._keras import tf
from tfdeeprec.export import serving_module

FORMAT = "tfdeeprec.serving/1"
METADATA_FILE = "tfdeeprec.json"

SIGNATURE_NOTES = {
    "serving_default": "same as `score` (the query tower export: same as `embed`)",
    "score": "one score per (user_id, item_id) pair; `known` is false when either ID is "
             "out of vocabulary, and the score then follows `oov`",
    "recommend": "the top `k` items for each user, best first. `k` (int32 scalar) is "
                 "required and clipped to 1..max_k; `exclude` (string [batch, n], padded "
                 "with \"\", n may be 0) lists items not to return. Over REST, use the "
                 "columnar \"inputs\" format because `k` has no batch dimension. Rows with "
                 "fewer than k eligible items are padded with item_id \"\" and score -inf",
    "recommend_default": "`recommend` with k = max_k and no `exclude`",
    "recommend_from_items": "the top `k` items for an anonymous user or a session given by "
                            "its items (`item_ids` string [batch, n], padded with \"\", "
                            "unknown IDs ignored), best first; the given items are not "
                            "returned when the export excludes seen items; `k` and "
                            "`exclude` as in `recommend`",
    "score_features": "one click probability per row of raw named features (categorical "
                      "and multi-valued: strings, \"\" when missing, multi-valued values "
                      "joined by the feature's separator; numeric: float32, NaN when missing "
                      "and then imputed with the training mean); every feature is required; "
                      "an unseen category takes the out-of-vocabulary row",
    "embed": "the query tower's embedding of each user_id (zeros when `known` is false)",
    "item_embedding": "the candidate tower's embedding of each item_id (zeros when `known` "
                      "is false); a pair's score is the dot product of the two embeddings",
}

_SCORES = {"rating": "predicted rating",
           "implicit": "probability of interaction, sigmoid(logit)",
           "ctr": "probability of a click (label 1), sigmoid(logit)",
           "retrieval": "dot product of the query and candidate tower embeddings (their "
                        "cosine similarity: the towers L2-normalise their outputs)",
           "query_tower": "no score: `embed` returns query embeddings; score = dot product "
                          "with `item_embedding`"}


def score_meaning(task: str) -> str:
    return _SCORES[task]


def describe_signatures(signatures: dict) -> dict:
    """Input and output names, dtypes and shapes (``null`` = any size) of each signature."""
    described = {}
    for key, function in signatures.items():
        specs = tf.nest.flatten(function.structured_input_signature)
        described[key] = {
            "inputs": {spec.name: _tensor(spec) for spec in specs},
            "outputs": {out: _tensor(t) for out, t in sorted(function.structured_outputs.items())},
            "notes": SIGNATURE_NOTES.get(key, ""),
        }
    return described


def build_metadata(module, signatures: dict, *, model, family: str, user_vocab, item_vocab,
                   name: str, version: int, requested_max_k: int, score: str | None = None,
                   extra: dict | None = None) -> dict:
    """The JSON document written to ``assets/tfdeeprec.json``.

    ``family`` is the model's family (``pair``, ``embedding``, ...); ``score`` says what
    the scores mean (default: by the module's task). ``extra`` adds (or overrides)
    top-level keys, e.g. ``training`` (the run's config), ``metrics`` and ``run``.
    """
    extra = dict(extra or {})
    registry_name = (extra.get("training") or {}).get("model", model.name)
    document = {
        "format": FORMAT,
        "model": {"name": registry_name, "family": family,
                  "keras_name": model.name, "parameters": _count_params(model)},
        "task": module.task,
        "score": score or score_meaning(module.task),
        "versions": {"tfdeeprec": tfdeeprec.__version__, "tensorflow": tf.__version__},
        "vocab": None if user_vocab is None else {
            "users": len(user_vocab) - 1, "items": len(item_vocab) - 1, "oov_index": 0,
            "note": "sizes exclude the OOV slot"},
        "export": {"name": name, "version": version, "max_k": getattr(module, "max_k", None),
                   "requested_max_k": requested_max_k,
                   "exclude_seen": getattr(module, "exclude_seen", None),
                   "created_unix": int(time.time())},
        "oov": module.oov_behaviour | {"known": serving_module.OOV_BEHAVIOUR["known"]},
        "signatures": describe_signatures(signatures),
        "exports": {"main": f"{name}/{version}"},
        "training": None,
        "metrics": None,
    }
    document.update(extra)
    return document


def read_metadata(export_dir) -> dict:
    """Reads ``assets/tfdeeprec.json`` of a version folder (no TensorFlow needed)."""
    return json.loads((Path(export_dir) / "assets" / METADATA_FILE).read_text())


def _count_params(model) -> int:
    """Weights of the model (also for subclassed models that fit without being called)."""
    return int(sum(np.prod(w.shape) for w in model.weights))


def _tensor(value) -> dict:
    return {"dtype": value.dtype.name, "shape": value.shape.as_list()}
