"""Run folders (``tfdeeprec train --out``): write, read, export and recommend from them.

A run folder holds ``model/`` (the Keras model, reloadable with ``load_model``), both
vocabularies, ``train.npz`` (the encoded training split), ``config.json`` and
``metrics.json``. Everything here reaches a model's family through its registry spec.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import tempfile
from pathlib import Path

import numpy as np

import tfdeeprec
from tfdeeprec._keras import keras, tf
from tfdeeprec.config import ExperimentConfig, config_json
from tfdeeprec.data.encoded import EncodedInteractions, IdFeatures
from tfdeeprec.data.load import load_interactions
from tfdeeprec.data.prepared import PreparedData
from tfdeeprec.data.vocabulary import Vocabulary
from tfdeeprec.families import get_family
from tfdeeprec.models.registry import get_spec

TRAIN_FILE = "train.npz"
# metrics.json keys copied into an export's metadata ("run" section).
_RUN_KEYS = ("data", "split", "epochs", "seconds", "parameters", "num_users", "num_items",
             "tfdeeprec_version", "tensorflow_version")


def check_out_dir(out_dir, overwrite: bool = False) -> Path:
    """Refuses an existing non-empty ``out_dir`` unless ``overwrite`` (before training)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"{out_dir} exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise FileExistsError(f"{out_dir} exists and is not empty; pass --overwrite "
                              "(overwrite=True) to replace it")
    return out_dir


def save_run(result, out_dir, *, overwrite: bool = False) -> Path:
    """Writes an ``ExperimentResult``: the model (reloadable with ``load_model``),
    vocabularies, the encoded training split (``train.npz``), config and metrics.

    The folder appears whole or not at all: it is written beside ``out_dir`` and
    renamed. An existing non-empty ``out_dir`` is refused unless ``overwrite``.
    """
    out_dir = check_out_dir(out_dir, overwrite)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        # configs only, no traced call functions: ``load_run`` rebuilds the layers from
        # them (every layer is registered), and the save needs neither the time nor the
        # memory of tracing (a Criteo DeepFM of 2.2M weights: 22 s and +90 MiB -> 13 s).
        result.model.save(tmp / "model", save_traces=False)
        if result.data.user_vocab is not None:  # rows without IDs (a CTR file) have none
            result.data.user_vocab.save(tmp / "user_vocab.json")
            result.data.item_vocab.save(tmp / "item_vocab.json")
            save_train(result.data.train, tmp / TRAIN_FILE)
        (tmp / "config.json").write_text(config_json(result.config))
        (tmp / "metrics.json").write_text(json.dumps(run_summary(result), indent=2))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def save_train(train: EncodedInteractions, path) -> None:
    """The encoded training split: what an export needs for fallbacks and seen items."""
    arrays = {"user": train.user, "item": train.item,
              "sizes": np.array([train.num_users, train.num_items], np.int64)}
    if train.rating is not None:
        arrays["rating"] = train.rating
    if train.timestamp is not None:  # the time order of sequence models' histories
        arrays["timestamp"] = train.timestamp
    if train.id_features is not None:  # context models join these to score a pair
        for side in ("user", "item"):
            for name, values in getattr(train.id_features, side).items():
                arrays[f"{side}_feature:{name}"] = (values if values.dtype.kind == "f"
                                                    else values.astype(str))
        arrays["context_features"] = np.array(json.dumps(train.id_features.context))
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def load_train(model_dir) -> EncodedInteractions | None:
    """The training split saved by :func:`save_run`, or ``None`` for older run folders."""
    path = Path(model_dir) / TRAIN_FILE
    if not path.exists():
        return None
    with np.load(path) as arrays:
        num_users, num_items = (int(v) for v in arrays["sizes"])
        features = None
        if "context_features" in arrays:
            tables = {side: {key.split(":", 1)[1]: arrays[key] for key in arrays.files
                             if key.startswith(f"{side}_feature:")} for side in ("user", "item")}
            features = IdFeatures(tables["user"], tables["item"],
                                  json.loads(str(arrays["context_features"])))
        return EncodedInteractions(arrays["user"], arrays["item"], num_users, num_items,
                                   arrays["rating"] if "rating" in arrays else None,
                                   arrays["timestamp"] if "timestamp" in arrays else None,
                                   features)


def run_summary(result) -> dict:
    """The JSON-ready record of a run: metrics, per-epoch history, timings, sizes."""
    history = {k: [float(v) for v in vals] for k, vals in result.history.items()}
    return {
        "model": result.config.model, "task": result.config.task,
        "family": get_spec(result.config.model).family,
        "data": result.config.data, "split": result.config.split,
        "metrics": result.metrics, "history": history,
        "epochs": len(result.epoch_seconds), "epoch_seconds": result.epoch_seconds,
        # Per epoch, the full-ranking validation alone (epoch_seconds includes it).
        "validation_seconds": list(getattr(result, "validation_seconds", [])),
        "initial_epoch": getattr(result, "initial_epoch", 0),
        "seconds": result.seconds, "parameters": result.parameters,
        "num_users": None if result.data.user_vocab is None else len(result.data.user_vocab) - 1,
        "num_items": None if result.data.item_vocab is None else len(result.data.item_vocab) - 1,
        "peak_rss_mib": peak_rss_mib(),
        "tfdeeprec_version": tfdeeprec.__version__, "tensorflow_version": tf.__version__,
    }


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB: VmHWM on Linux (since this process's
    exec; ``ru_maxrss`` would carry over a large parent's peak through a fork), else
    ``ru_maxrss``."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_run(model_dir):
    """Reads a ``save_run`` folder: ``(model, user_vocab, item_vocab, config)``."""
    model_dir = Path(model_dir)
    if not (model_dir / "model").is_dir():
        raise FileNotFoundError(f"no trained model in {model_dir} (expected {model_dir}/model, "
                                "written by `tfdeeprec train --out`)")
    config = ExperimentConfig.from_dict(json.loads((model_dir / "config.json").read_text()))
    model = keras.models.load_model(model_dir / "model", compile=False)
    if not (model_dir / "user_vocab.json").exists():  # trained on rows without IDs
        return model, None, None, config
    return (model, Vocabulary.load(model_dir / "user_vocab.json"),
            Vocabulary.load(model_dir / "item_vocab.json"), config)


def prepare_config_data(config: ExperimentConfig, frame=None) -> PreparedData:
    """Loads (unless ``frame`` is given), splits and encodes the data as ``config`` says."""
    return get_family(get_spec(config.model).family).prepare(config, frame)


def rebuild_run_data(model_dir, config: ExperimentConfig, user_vocab: Vocabulary,
                     item_vocab: Vocabulary, data=None) -> PreparedData:
    """A run's split rebuilt from its config (from ``data`` when given, else
    ``config.data``); it must give the vocabularies the run saved."""
    frame = load_interactions(config.data if data is None else data)
    prepared = prepare_config_data(config, frame)
    if prepared.user_vocab != user_vocab or prepared.item_vocab != item_vocab:
        raise ValueError(f"the data from {frame.source!r} does not give the vocabularies "
                         f"the model in {model_dir} was trained with (other data or split); "
                         "pass the training data as `data` (--data)")
    return prepared


def run_training_split(model_dir, config: ExperimentConfig, user_vocab: Vocabulary,
                       item_vocab: Vocabulary, data=None) -> tuple[EncodedInteractions, str]:
    """The run's training split and where it came from: ``train.npz``, or (without it, or
    when ``data`` is given) :func:`rebuild_run_data`'s."""
    if user_vocab is None:  # rows without IDs: no user/item split to rebuild
        return None, str(config.data)
    train = load_train(model_dir) if data is None else None
    if train is not None:
        return train, f"{model_dir}/{TRAIN_FILE}"
    prepared = rebuild_run_data(model_dir, config, user_vocab, item_vocab, data)
    return prepared.train, prepared.frame.source


def export_run(model_dir, base, name: str, version: int | None = None, *, max_k: int = 100,
               exclude_seen: bool = True, data=None, **options) -> Path:
    """Exports a ``tfdeeprec train --out`` folder to ``base/name/version`` through the
    model's family; returns the main export's version folder.

    An embedding-family run (two-tower) also writes ``name_scann`` (``scann=None``:
    when ScaNN is installed; ``True``/``False`` to force) and ``name_query_tower``;
    every export's metadata lists them under ``exports``.

    The run's saved training split (``train.npz``) provides the OOV fallbacks and the
    seen items. Without it (or when ``data`` is given) the split is rebuilt from the
    run's config (same source, split and seed) and must give the saved vocabularies.

    Args:
        model_dir: the run folder.
        base, name, version, max_k, exclude_seen: as in :func:`~tfdeeprec.export.export_model`.
        data: the training source when it is not ``config.data``.
        **options: family export options (embedding: ``scann``, ``scann_options``).

    Example (shell): ``tfdeeprec export --model-dir out/run --base models --name neumf``.
    """
    from tfdeeprec.export.versioning import resolve_version

    resolve_version(base, name, version)  # fail before the slow part
    model_dir = Path(model_dir)
    model, user_vocab, item_vocab, config = load_run(model_dir)
    train, source = run_training_split(model_dir, config, user_vocab, item_vocab, data)
    summary_path = model_dir / "metrics.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    extra = {"training": config.to_dict(), "metrics": summary.get("metrics"),
             "run": {key: summary[key] for key in _RUN_KEYS if key in summary}
             | {"training_source": source}}
    family = get_family(get_spec(config.model).family)
    paths = family.export(model, user_vocab, item_vocab, config=config, base=base, name=name,
                          train=train, version=version, metadata=extra, max_k=max_k,
                          exclude_seen=exclude_seen, options=options)
    return paths["main"]


def recommend_top_k(family, model, config, train: EncodedInteractions, user_vocab: Vocabulary,
                    item_vocab: Vocabulary, user_ids, k: int = 10,
                    exclude_seen: bool = True) -> list[list[tuple[str, float]]]:
    """In-process top ``k`` ``(item_id, score)`` per raw user ID, on the export's scale.

    Known users are ranked by the model (their training items left out when
    ``exclude_seen``); unknown users get ``[]``, since the model has no row for them.
    Ties keep vocabulary order, as ``recommend`` does.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"`k` must be a positive integer. Received: k={k!r}")
    users = user_vocab.lookup(np.asarray(list(user_ids), dtype=object))
    unique = np.unique(users[users > 0])
    scores = np.zeros((0, train.num_items))
    if len(unique):
        scores = family.serving_score(family.score_fn(model, train)(unique).astype(np.float64),
                                      config)
    scores[:, 0] = -np.inf
    if exclude_seen:
        seen = train.known()
        rows = np.searchsorted(unique, seen.user)
        hit = (rows < len(unique)) & (unique[np.minimum(rows, len(unique) - 1)] == seen.user)
        scores[rows[hit], seen.item[hit]] = -np.inf
    tokens = item_vocab.ids_of(np.arange(train.num_items))
    out = []
    for user in users:
        if user == 0:
            out.append([])
            continue
        row = scores[np.searchsorted(unique, user)]
        order = np.argsort(-row, kind="stable")[:k]
        out.append([(str(tokens[i]), float(row[i])) for i in order if np.isfinite(row[i])])
    return out


def recommend_from_run(model_dir, user_ids, k: int = 10, *, exclude_seen: bool = True):
    """Top ``k`` ``(item_id, score)`` per user, straight from a run folder.

    Scores are on the export's scale (a probability for BCE-trained pair models, a
    rating, or a dot product). Unknown users get ``[]``.
    """
    model_dir = Path(model_dir)
    model, user_vocab, item_vocab, config = load_run(model_dir)
    train, _ = run_training_split(model_dir, config, user_vocab, item_vocab)
    family = get_family(get_spec(config.model).family)
    return recommend_top_k(family, model, config, train, user_vocab, item_vocab, user_ids,
                           k, exclude_seen)
