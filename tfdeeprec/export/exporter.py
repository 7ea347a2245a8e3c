"""export_model: a trained (user, item) -> score model -> ``BASE/NAME/VERSION`` for TF Serving."""

from __future__ import annotations

import json
import numbers
import shutil
from pathlib import Path

from tfdeeprec._keras import tf
from tfdeeprec.data.encoded import EncodedInteractions
from tfdeeprec.data.vocabulary import Vocabulary
from tfdeeprec.export.metadata import METADATA_FILE, build_metadata
from tfdeeprec.export.serving_module import FallbackTables, ServingModule
from tfdeeprec.export.verify import verify_export
from tfdeeprec.export.versioning import atomic_version_dir, resolve_version

def export_model(model, user_vocab: Vocabulary, item_vocab: Vocabulary, *, task: str,
                 base, name: str, train: EncodedInteractions, version: int | None = None,
                 metadata: dict | None = None, max_k: int = 100, exclude_seen: bool = True,
                 verify: bool = True, family: str = "pair",
                 score_meaning: str | None = None) -> Path:
    """Writes a serving SavedModel of ``model`` at ``base/name/version`` atomically.

    The folder appears complete or not at all (written to a hidden temporary folder in
    ``base/name``, checked, then renamed); an existing version is never overwritten.
    Signatures, out-of-vocabulary behaviour and metadata are described in
    :mod:`tfdeeprec.export`.

    Args:
        model: a Keras model ``{"user_id", "item_id"} (int32 [B]) -> score [B]``
            (a rating for task ``rating``, a logit for task ``implicit``).
        user_vocab, item_vocab (Vocabulary): the vocabularies the model was trained with.
        task (str): ``rating`` or ``implicit``.
        base: the TF Serving base folder.
        name (str): the model name: letters, digits, ``_ - .``; not starting with ``.``.
        train (EncodedInteractions): the training split, for the OOV fallbacks and the
            seen items.
        version (int | None): a positive integer; ``None`` takes the next free one.
        metadata (dict | None): extra top-level keys for ``assets/tfdeeprec.json``
            (``training``, ``metrics``, ``run``, ...).
        max_k (int): the largest ``k`` of ``recommend``. Default 100.
        exclude_seen (bool): leave each user's training items out of ``recommend``.
            Default True.
        verify (bool): reload the export before it appears and compare ``score`` with
            ``model``. Default True.
        family (str): the model's family, for the metadata. Default ``"pair"``.
        score_meaning (str | None): what ``score`` means, for the metadata (default:
            by task; a BPR-trained model's is an uncalibrated ranking score).

    Returns:
        The version folder, ``base/name/version``.

    Raises:
        ValueError: for a bad name, version, ``max_k`` or task, or a training split that
            does not match the vocabularies.
        FileExistsError: when the version exists.
    """
    version = resolve_version(base, name, version)
    check_max_k(max_k)
    if (train.num_users, train.num_items) != (len(user_vocab), len(item_vocab)):
        raise ValueError("`train` was encoded with other vocabularies: "
                         f"{train.num_users} x {train.num_items} indices for vocabularies of "
                         f"{len(user_vocab)} x {len(item_vocab)}")
    module = ServingModule(model, user_vocab, item_vocab, task=task,
                           fallbacks=FallbackTables.from_train(train, task), max_k=int(max_k),
                           exclude_seen=exclude_seen)
    signatures = module.signatures()
    document = build_metadata(module, signatures, model=model, family=family,
                              user_vocab=user_vocab, item_vocab=item_vocab, name=name,
                              version=version, requested_max_k=int(max_k),
                              score=score_meaning, extra=metadata)
    with atomic_version_dir(base, name, version) as tmp:
        write_saved_model(tmp, module, signatures, document)
        if verify:
            verify_export(tmp, model, user_vocab, item_vocab, task=task)
    return Path(base) / name / str(version)


def check_max_k(max_k) -> int:
    """``max_k`` as an int; anything but a positive integer is refused by name."""
    if isinstance(max_k, bool) or not isinstance(max_k, numbers.Integral) or max_k < 1:
        raise ValueError(f"`max_k` must be a positive integer. Received: max_k={max_k!r}")
    return int(max_k)


def write_saved_model(folder: Path, module, signatures: dict, document: dict,
                      options: tf.saved_model.SaveOptions | None = None) -> None:
    """Saves ``module`` in ``folder`` with ``document`` as ``assets/tfdeeprec.json``."""
    staging = folder / ".staging"
    staging.mkdir()
    (staging / METADATA_FILE).write_text(json.dumps(document, indent=2, default=str))
    module.metadata_file = tf.saved_model.Asset(str(staging / METADATA_FILE))
    tf.saved_model.save(module, str(folder), signatures=signatures, options=options)
    shutil.rmtree(staging)
