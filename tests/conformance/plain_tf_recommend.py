"""Answers ``recommend`` for exports in a fresh process that can load TensorFlow only.

Run as ``python plain_tf_recommend.py REQUESTS.json ANSWERS.json``; ``keras``,
``tf_keras`` and ``tfdeeprec`` are made unimportable before TensorFlow loads.
REQUESTS.json: ``[{"path", "user_id": [...], "k": int, "from_items": [[...]]}]``;
ANSWERS.json: one ``{"item_ids", "scores", "signatures", "modules"}`` per request, plus
``"from_items": {"item_ids", "scores"}`` where the export has ``recommend_from_items``.
"""

import json
import sys

for blocked in ("keras", "tf_keras", "tfdeeprec"):
    sys.modules[blocked] = None  # `import blocked` now raises ImportError

import tensorflow as tf  # noqa: E402


def main(requests_path, answers_path):
    with open(requests_path) as f:
        requests = json.load(f)
    answers = []
    for request in requests:
        loaded = tf.saved_model.load(request["path"])
        users = request["user_id"]
        out = loaded.signatures["recommend"](
            user_id=tf.constant(users, tf.string), k=tf.constant(request["k"], tf.int32),
            exclude=tf.zeros([len(users), 0], tf.string))
        answer = {}
        if "recommend_from_items" in loaded.signatures:
            rows = request["from_items"]
            width = max(len(r) for r in rows)
            folded = loaded.signatures["recommend_from_items"](
                item_ids=tf.constant([r + [""] * (width - len(r)) for r in rows], tf.string),
                k=tf.constant(request["k"], tf.int32),
                exclude=tf.zeros([len(rows), 0], tf.string))
            answer["from_items"] = {"item_ids": folded["item_ids"].numpy().astype(str).tolist(),
                                    "scores": folded["scores"].numpy().tolist()}
        answers.append({**answer, "item_ids": out["item_ids"].numpy().astype(str).tolist(),
                        "scores": out["scores"].numpy().tolist(),
                        "signatures": sorted(loaded.signatures.keys()),
                        "modules": sorted(m for m in sys.modules if sys.modules[m] is not None
                                          and m.split(".")[0] in ("keras", "tf_keras",
                                                                  "tfdeeprec"))})
    with open(answers_path, "w") as f:
        json.dump(answers, f)


if __name__ == "__main__":
    main(*sys.argv[1:3])
