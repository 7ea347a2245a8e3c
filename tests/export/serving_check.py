"""Loads exports in a fresh process with TensorFlow only and answers requests as JSON.

Run as ``python serving_check.py REQUESTS.json ANSWERS.json``. With ``"block": true``
in the requests, ``keras``, ``tf_keras`` and ``tfdeeprec`` are made unimportable
before TensorFlow loads, so any need for them at load or call time fails loudly.

REQUESTS.json: ``{"block": bool, "exports": [{"path", "score": {"user_id", "item_id"},
"recommend": [{"user_id", "k", "exclude"}], "recommend_default": {"user_id"}}]}``.
"""

import json
import os
import sys

WATCHED = ("keras", "tf_keras", "tfdeeprec")


def _watched_modules():
    return sorted(m for m in sys.modules if m.split(".")[0] in WATCHED
                  and sys.modules[m] is not None)


def _lists(outputs):
    return {key: (value.numpy().astype(str).tolist() if value.dtype.name == "string"
                  else value.numpy().tolist()) for key, value in outputs.items()}


def _describe(function):
    args, kwargs = function.structured_input_signature
    specs = list(args) + list(kwargs.values())
    return {"inputs": {s.name: {"dtype": s.dtype.name, "shape": s.shape.as_list()}
                       for s in specs},
            "outputs": {k: {"dtype": v.dtype.name, "shape": v.shape.as_list()}
                        for k, v in function.structured_outputs.items()}}


def main(requests_path, answers_path):
    with open(requests_path) as f:
        requests = json.load(f)
    if requests.get("block"):
        for name in WATCHED:
            sys.modules[name] = None  # `import name` now raises ImportError
    import numpy as np  # noqa: F401  (the only other import allowed)
    import tensorflow as tf

    after_tf_import = _watched_modules()
    answers = {"env_legacy_keras": os.environ.get("TF_USE_LEGACY_KERAS"), "exports": []}
    for request in requests["exports"]:
        loaded = tf.saved_model.load(request["path"])
        sigs = loaded.signatures
        answer = {"signatures": {name: _describe(fn) for name, fn in sigs.items()}}
        answer["score"] = _lists(sigs["score"](
            user_id=tf.constant(request["score"]["user_id"], tf.string),
            item_id=tf.constant(request["score"]["item_id"], tf.string)))
        answer["serving_default"] = _lists(sigs["serving_default"](
            user_id=tf.constant(request["score"]["user_id"], tf.string),
            item_id=tf.constant(request["score"]["item_id"], tf.string)))
        answer["recommend"] = []
        for call in request["recommend"]:
            exclude = tf.constant(call["exclude"], tf.string)  # [[], []] is [2, 0]
            answer["recommend"].append(_lists(sigs["recommend"](
                user_id=tf.constant(call["user_id"], tf.string),
                k=tf.constant(call["k"], tf.int32), exclude=exclude)))
        answer["recommend_default"] = _lists(sigs["recommend_default"](
            user_id=tf.constant(request["recommend_default"]["user_id"], tf.string)))
        with open(loaded.metadata_file.asset_path.numpy().decode()) as f:
            answer["metadata"] = json.load(f)
        answers["exports"].append(answer)
    answers["modules_after_tf_import"] = after_tf_import
    answers["modules_at_end"] = _watched_modules()
    with open(answers_path, "w") as f:
        json.dump(answers, f)


if __name__ == "__main__":
    main(*sys.argv[1:3])
