"""export_items_model: a row or sequence model (a user's items -> all scores) ->
``BASE/NAME/VERSION``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfdeeprec._keras import tf
from tfdeeprec.data import schema
from tfdeeprec.data.encoded import EncodedInteractions
from tfdeeprec.data.sequences import build_histories
from tfdeeprec.data.vocabulary import Vocabulary
from tfdeeprec.export.exporter import check_max_k, write_saved_model
from tfdeeprec.export.items_module import ItemsServingModule
from tfdeeprec.export.metadata import build_metadata
from tfdeeprec.export.retrieval_module import RetrievalTables
from tfdeeprec.export.verify import ExportVerificationError, check_plain_tf, verify_recommend
from tfdeeprec.export.versioning import atomic_version_dir, resolve_version
from tfdeeprec.models._row import reads_user


def export_items_model(model, user_vocab: Vocabulary, item_vocab: Vocabulary, *, base,
                       name: str, train: EncodedInteractions, kind: str = "row",
                       max_length: int | None = None, version: int | None = None,
                       metadata: dict | None = None, max_k: int = 100,
                       exclude_seen: bool = True, verify: bool = True,
                       family: str | None = None, score_meaning: str | None = None) -> Path:
    """Writes ``model`` with ``recommend``, ``recommend_from_items`` and ``score``
    (:mod:`tfdeeprec.export.items_module`) at ``base/name/version``, atomically.

    ``kind`` is ``"row"`` (``{user_row} -> scores``) or ``"sequence"`` (``{history}
    -> scores``, with the model's ``max_length``); the other arguments are those of
    :func:`~tfdeeprec.export.export_model` (``family`` defaults to ``kind``). ``verify``
    reloads the export and checks that ``recommend`` equals the in-memory module's, and
    that ``recommend_from_items`` of each checked user's training items (in time order)
    equals ``recommend`` of that user (for a row model that reads the user, CDAE, whose
    folded-in rows are anonymous users: equals the in-memory ``recommend_from_items``).
    """
    version = resolve_version(base, name, version)
    check_max_k(max_k)
    tables = RetrievalTables.from_train(train)
    if (tables.num_users, tables.num_items) != (len(user_vocab), len(item_vocab)):
        raise ValueError("`train` was encoded with other vocabularies: "
                         f"{tables.num_users} x {tables.num_items} indices for vocabularies "
                         f"of {len(user_vocab)} x {len(item_vocab)}")
    histories = user_histories(train, max_length) if kind == "sequence" else None
    module = ItemsServingModule(model, user_vocab, item_vocab, tables, kind=kind,
                                histories=histories, max_length=max_length,
                                max_k=int(max_k), exclude_seen=exclude_seen)
    signatures = module.signatures()
    document = build_metadata(module, signatures, model=model, family=family or kind,
                              user_vocab=user_vocab, item_vocab=item_vocab, name=name,
                              version=version, requested_max_k=int(max_k),
                              score=score_meaning, extra=metadata)
    with atomic_version_dir(base, name, version) as tmp:
        write_saved_model(tmp, module, signatures, document)
        if verify:
            _verify(tmp, module, user_vocab, item_vocab, train,
                    anonymous_fold_in=kind == "row" and reads_user(model))
    return Path(base) / name / str(version)


def user_histories(train: EncodedInteractions, max_length: int | None = None):
    """Each user's training items in time order (the latest ``max_length``; all when
    ``None``) as CSR over every user index: ``(row starts int64 [num_users + 1], items)``.

    >>> train = EncodedInteractions(np.array([2, 1, 2]), np.array([3, 1, 2]), 3, 4,
    ...                             timestamp=np.array([5, 1, 2]))
    >>> [a.tolist() for a in user_histories(train)]
    [[0, 0, 1, 3], [1, 2, 3]]
    """
    known = train.known()
    longest = int(np.bincount(known.user).max()) if len(known) else 1
    histories = build_histories(train, max_length=max_length or longest, align="left")
    lengths = np.zeros(train.num_users, np.int64)
    lengths[histories[schema.USER_ID]] = histories[schema.HISTORY_LENGTH]
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    rows = histories[schema.HISTORY]
    items = rows[np.arange(rows.shape[1])[None, :] < histories[schema.HISTORY_LENGTH][:, None]]
    return starts, items.astype(np.int32)


def _verify(folder, module, user_vocab, item_vocab, train, anonymous_fold_in):
    check_plain_tf(folder)
    loaded = tf.saved_model.load(str(folder)).signatures
    users, got = verify_recommend(loaded, module, user_vocab, name=str(folder))
    none = tf.zeros([len(users), 0], tf.string)
    starts, items = user_histories(train)
    rows = [item_vocab.ids_of(items[starts[u]:starts[u + 1]]).astype(str) for u in users]
    width = max(len(r) for r in rows)
    padded = tf.constant([list(r) + [""] * (width - len(r)) for r in rows])
    folded = loaded["recommend_from_items"](item_ids=padded, k=tf.constant(10), exclude=none)
    if anonymous_fold_in:  # a folded-in row is an anonymous user: as in memory, then
        want = module.recommend_from_items(item_ids=padded, k=tf.constant(10), exclude=none)
        if not np.array_equal(folded["item_ids"].numpy(), want["item_ids"].numpy()):
            raise ExportVerificationError(f"{folder}: the reloaded `recommend_from_items` "
                                          "differs from the model's")
    elif not np.array_equal(folded["item_ids"].numpy(), got["item_ids"].numpy()):
        raise ExportVerificationError(f"{folder}: `recommend_from_items` of a user's training "
                                      "items differs from `recommend` of that user")
