"""export_row_model: a row model (user's items -> all scores) -> ``BASE/NAME/VERSION``."""

from __future__ import annotations

import numbers
from pathlib import Path

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data.encoded import EncodedInteractions
from tfdeeprec.data.vocabulary import Vocabulary
from tfdeeprec.export.exporter import write_saved_model
from tfdeeprec.export.metadata import build_metadata
from tfdeeprec.export.retrieval_module import RetrievalTables
from tfdeeprec.export.row_module import RowServingModule
from tfdeeprec.export.verify import ExportVerificationError, check_plain_tf
from tfdeeprec.export.versioning import atomic_version_dir, resolve_version


def export_row_model(model, user_vocab: Vocabulary, item_vocab: Vocabulary, *, base,
                     name: str, train: EncodedInteractions, version: int | None = None,
                     metadata: dict | None = None, max_k: int = 100,
                     exclude_seen: bool = True, verify: bool = True, family: str = "row",
                     score_meaning: str | None = None) -> Path:
    """Writes ``model`` (``{"user_row": [B, n]} -> [B, n]``) with ``recommend``,
    ``recommend_from_items`` and ``score`` (:mod:`tfdeeprec.export.row_module`) at
    ``base/name/version``, atomically; the arguments are those of
    :func:`~tfdeeprec.export.export_model`. ``verify`` reloads the export and checks
    that ``recommend`` equals the model's, and that ``recommend_from_items`` of each
    checked user's training items equals ``recommend`` of that user.
    """
    version = resolve_version(base, name, version)
    if isinstance(max_k, bool) or not isinstance(max_k, numbers.Integral) or max_k < 1:
        raise ValueError(f"`max_k` must be a positive integer. Received: max_k={max_k!r}")
    tables = RetrievalTables.from_train(train)
    if (tables.num_users, tables.num_items) != (len(user_vocab), len(item_vocab)):
        raise ValueError("`train` was encoded with other vocabularies: "
                         f"{tables.num_users} x {tables.num_items} indices for vocabularies "
                         f"of {len(user_vocab)} x {len(item_vocab)}")
    module = RowServingModule(model, user_vocab, item_vocab, tables, max_k=int(max_k),
                              exclude_seen=exclude_seen)
    signatures = module.signatures()
    document = build_metadata(module, signatures, model=model, family=family,
                              user_vocab=user_vocab, item_vocab=item_vocab, name=name,
                              version=version, requested_max_k=int(max_k),
                              score=score_meaning, extra=metadata)
    with atomic_version_dir(base, name, version) as tmp:
        write_saved_model(tmp, module, signatures, document)
        if verify:
            _verify(tmp, module, user_vocab, item_vocab, tables)
    return Path(base) / name / str(version)


def _verify(folder, module, user_vocab, item_vocab, tables):
    check_plain_tf(folder)
    loaded = tf.saved_model.load(str(folder)).signatures
    users = np.arange(1, min(len(user_vocab), 65))
    user_ids = tf.constant(user_vocab.ids_of(users).astype(str))
    none = tf.zeros([len(users), 0], tf.string)
    got = loaded["recommend"](user_id=user_ids, k=tf.constant(10), exclude=none)
    want = module.recommend(user_ids, 10, none)
    if not np.array_equal(got["item_ids"].numpy(), want["item_ids"].numpy()):
        raise ExportVerificationError(f"{folder}: the reloaded `recommend` differs from the "
                                      "exported one")
    rows = [item_vocab.ids_of(tables.seen_items[tables.seen_row_starts[u]:
                                                tables.seen_row_starts[u + 1]]).astype(str)
            for u in users]
    width = max(len(r) for r in rows)
    padded = tf.constant([list(r) + [""] * (width - len(r)) for r in rows])
    folded = loaded["recommend_from_items"](item_ids=padded, k=tf.constant(10), exclude=none)
    if not np.array_equal(folded["item_ids"].numpy(), got["item_ids"].numpy()):
        raise ExportVerificationError(f"{folder}: `recommend_from_items` of a user's training "
                                      "items differs from `recommend` of that user")
