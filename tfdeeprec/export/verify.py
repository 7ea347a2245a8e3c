"""Reload checks for an export: plain-TF object graph, and ``score`` equal to the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data import schema
from tfdeeprec.data.vocabulary import Vocabulary

# Op types whose presence would tie the graph to this Python process.
_PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})


class ExportVerificationError(RuntimeError):
    """An export does not reload as plain TensorFlow or disagrees with its model."""


def check_plain_tf(export_dir, *, allow_scann: bool = False) -> None:
    """Raises unless the SavedModel has no Keras objects, no Keras metadata, no Python ops.

    Such an export loads with ``tf.saved_model.load`` without Keras or tfdeeprec. Unless
    ``allow_scann``, ScaNN's ops (``Scann*``) are refused too, so the export needs stock
    TensorFlow only.
    """
    from tensorflow.core.protobuf import saved_model_pb2

    export_dir = Path(export_dir)
    if (export_dir / "keras_metadata.pb").exists():
        raise ExportVerificationError(f"{export_dir} holds keras_metadata.pb")
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((export_dir / "saved_model.pb").read_bytes())
    for meta_graph in proto.meta_graphs:
        for node in meta_graph.object_graph_def.nodes:
            identifier = node.user_object.identifier if node.HasField("user_object") else ""
            if "keras" in identifier.lower():
                raise ExportVerificationError(f"{export_dir} holds a Keras object "
                                              f"({identifier})")
        functions = list(meta_graph.graph_def.library.function)
        ops = {n.op for n in meta_graph.graph_def.node}
        ops.update(n.op for f in functions for n in f.node_def)
        if ops & _PYTHON_OPS:
            raise ExportVerificationError(f"{export_dir} calls Python: {sorted(ops & _PYTHON_OPS)}")
        scann = sorted(op for op in ops if op.startswith("Scann"))
        if scann and not allow_scann:
            raise ExportVerificationError(f"{export_dir} needs ScaNN's ops: {scann}")


def verify_export(export_dir, model, user_vocab: Vocabulary, item_vocab: Vocabulary, *,
                  task: str, num_pairs: int = 256, seed: int = 0, atol: float = 1e-5) -> None:
    """Reloads ``export_dir`` and checks ``score`` against ``model`` on random known pairs.

    Raises:
        ExportVerificationError: with the largest difference found.
    """
    def expected(users, items):
        out = np.reshape(model({schema.USER_ID: users, schema.ITEM_ID: items},
                               training=False), [-1]).astype(np.float32)
        return 1.0 / (1.0 + np.exp(-out)) if task in ("implicit", "ctr") else out

    check_plain_tf(export_dir)
    verify_scores(tf.saved_model.load(str(export_dir)), expected, user_vocab, item_vocab,
                  name=str(export_dir), num_pairs=num_pairs, seed=seed, atol=atol)


def verify_scores(loaded, expected, user_vocab: Vocabulary, item_vocab: Vocabulary, *,
                  name: str, num_pairs: int = 256, seed: int = 0, atol: float = 1e-5) -> None:
    """Checks a loaded export's ``score`` against ``expected(users, items)`` (indices).

    Raises:
        ExportVerificationError: with the largest difference found.
    """
    rng = np.random.default_rng(seed)
    users = rng.integers(1, len(user_vocab), size=num_pairs).astype(np.int32)
    items = rng.integers(1, len(item_vocab), size=num_pairs).astype(np.int32)
    out = loaded.signatures["score"](
        user_id=tf.constant(user_vocab.ids_of(users).astype(str)),
        item_id=tf.constant(item_vocab.ids_of(items).astype(str)))
    got, known = out["score"].numpy(), out["known"].numpy()
    if not known.all():
        raise ExportVerificationError(f"{name}: known IDs reported unknown")
    worst = float(np.max(np.abs(got - expected(users, items)))) if num_pairs else 0.0
    if worst > atol:
        raise ExportVerificationError(f"{name}: `score` differs from the model by up "
                                      f"to {worst:.3g} (allowed {atol:g})")


def verify_recommend(signatures, module, user_vocab: Vocabulary, *, name: str,
                     num_users: int = 64, k: int = 10) -> tuple[np.ndarray, dict]:
    """Checks a reloaded export's ``recommend`` against the in-memory ``module`` for the
    first ``num_users`` known users; returns their indices and the reloaded answer.

    Raises:
        ExportVerificationError: when the top ``k`` item IDs differ.
    """
    users = np.arange(1, min(len(user_vocab), num_users + 1))
    user_ids = tf.constant(user_vocab.ids_of(users).astype(str))
    none = tf.zeros([len(users), 0], tf.string)
    got = signatures["recommend"](user_id=user_ids, k=tf.constant(k), exclude=none)
    want = module.recommend(user_ids, k, none)
    if not np.array_equal(got["item_ids"].numpy(), want["item_ids"].numpy()):
        raise ExportVerificationError(f"{name}: the reloaded `recommend` differs from the "
                                      "exported one")
    return users, got
