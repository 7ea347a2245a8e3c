"""export_model / export_run: a trained model -> ``BASE/NAME/VERSION`` for TF Serving."""

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

# metrics.json keys copied into the metadata's "run" section.
_RUN_KEYS = ("data", "split", "epochs", "seconds", "parameters", "num_users", "num_items",
             "tfdeeprec_version", "tensorflow_version")


def export_model(model, user_vocab: Vocabulary, item_vocab: Vocabulary, *, task: str,
                 base, name: str, train: EncodedInteractions, version: int | None = None,
                 metadata: dict | None = None, max_k: int = 100, exclude_seen: bool = True,
                 verify: bool = True) -> Path:
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

    Returns:
        The version folder, ``base/name/version``.

    Raises:
        ValueError: for a bad name, version, ``max_k`` or task, or a training split that
            does not match the vocabularies.
        FileExistsError: when the version exists.
    """
    version = resolve_version(base, name, version)
    if isinstance(max_k, bool) or not isinstance(max_k, numbers.Integral) or max_k < 1:
        raise ValueError(f"`max_k` must be a positive integer. Received: max_k={max_k!r}")
    if (train.num_users, train.num_items) != (len(user_vocab), len(item_vocab)):
        raise ValueError("`train` was encoded with other vocabularies: "
                         f"{train.num_users} x {train.num_items} indices for vocabularies of "
                         f"{len(user_vocab)} x {len(item_vocab)}")
    module = ServingModule(model, user_vocab, item_vocab, task=task,
                           fallbacks=FallbackTables.from_train(train, task), max_k=int(max_k),
                           exclude_seen=exclude_seen)
    signatures = module.signatures()
    document = build_metadata(module, signatures, model=model, user_vocab=user_vocab,
                              item_vocab=item_vocab, name=name, version=version,
                              requested_max_k=int(max_k), extra=metadata)
    with atomic_version_dir(base, name, version) as tmp:
        write_saved_model(tmp, module, signatures, document)
        if verify:
            verify_export(tmp, model, user_vocab, item_vocab, task=task)
    return Path(base) / name / str(version)


def write_saved_model(folder: Path, module, signatures: dict, document: dict,
                      options: tf.saved_model.SaveOptions | None = None) -> None:
    """Saves ``module`` in ``folder`` with ``document`` as ``assets/tfdeeprec.json``."""
    staging = folder / ".staging"
    staging.mkdir()
    (staging / METADATA_FILE).write_text(json.dumps(document, indent=2, default=str))
    module.metadata_file = tf.saved_model.Asset(str(staging / METADATA_FILE))
    tf.saved_model.save(module, str(folder), signatures=signatures, options=options)
    shutil.rmtree(staging)


def export_run(model_dir, base, name: str, version: int | None = None, *, max_k: int = 100,
               exclude_seen: bool = True, data=None, scann: bool | None = None) -> Path:
    """Exports a ``tfdeeprec train --out`` folder (``save_run``) to ``base/name/version``.

    A two-tower run goes through :func:`~tfdeeprec.export.export_retrieval`: ``name``
    is then its brute-force export, written with ``name_scann`` (when ``scann`` allows,
    see there) and ``name_query_tower``; the returned path is the brute-force one.

    The run's saved training split (``train.npz``) provides the OOV fallbacks and the
    seen items. Without it (or when ``data`` is given) the split is rebuilt from the
    run's config (same source, split and seed) and must give the saved vocabularies.

    Args:
        model_dir: the run folder (``model/``, ``*_vocab.json``, ``config.json``, ...).
        base, name, version, max_k, exclude_seen: as in :func:`export_model`.
        data: the training source when it is not ``config.data`` (anything
            ``load_interactions`` reads: a path, a name, a DataFrame, an
            ``InteractionFrame``). Default: the run's own ``config.data``.
        scann (bool | None): two-tower runs only: write the ScaNN twin (``None``: when
            ScaNN is installed).

    Example (shell): ``tfdeeprec export --model-dir out/run --base models --name neumf``.
    """
    from tfdeeprec.data import load_interactions
    from tfdeeprec.training.experiment import load_run, load_train, prepare_data

    resolve_version(base, name, version)  # fail before the slow part
    model_dir = Path(model_dir)
    model, user_vocab, item_vocab, config = load_run(model_dir)
    train = load_train(model_dir) if data is None else None
    source = f"{model_dir}/train.npz"
    if train is None:  # a run folder without train.npz, or other data asked for
        frame = load_interactions(config.data if data is None else data)
        prepared = prepare_data(config, frame)
        if prepared.user_vocab != user_vocab or prepared.item_vocab != item_vocab:
            raise ValueError(f"the data from {frame.source!r} does not give the vocabularies "
                             f"the model in {model_dir} was trained with (other data or "
                             "split); pass the training data as `data`")
        train, source = prepared.train, frame.source
    summary_path = model_dir / "metrics.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    extra = {"training": config.to_dict(), "metrics": summary.get("metrics"),
             "run": {key: summary[key] for key in _RUN_KEYS if key in summary}
             | {"training_source": source}}
    if hasattr(model, "query_tower") and hasattr(model, "candidate_tower"):
        from tfdeeprec.export.retrieval_exporter import export_retrieval
        paths = export_retrieval(model, user_vocab, item_vocab, base=base, name=name,
                                 train=train, version=version, metadata=extra, max_k=max_k,
                                 exclude_seen=exclude_seen, scann=scann)
        return paths["brute_force"]
    return export_model(model, user_vocab, item_vocab, task=config.task, base=base, name=name,
                        train=train, version=version, metadata=extra, max_k=max_k,
                        exclude_seen=exclude_seen)
