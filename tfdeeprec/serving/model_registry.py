"""Finds, loads, hot-swaps and unloads the SavedModels under a model base folder.

Layout (TF Serving's): ``BASE/NAME/VERSION/saved_model.pb`` with integer ``VERSION``
folders. Names and versions starting with ``.`` (temporary folders) are ignored, as is a
version folder without ``saved_model.pb``. For each model the newest loadable version is
served (TF Serving's default "latest" policy); explicit ``/versions/N`` requests reach any
version that is still loaded.

A poll thread rescans BASE every ``poll_seconds``: it loads a new version off the request
path, then swaps it in atomically. The old version is retired: new requests no longer
reach it, and it is unloaded (its state goes ``UNLOADING`` -> ``END``) when the last
request holding it finishes; every request holds the version it started with through a
reference count. A version that fails to load is reported in the model's status and
retried only when its folder changes; the previous version keeps serving meanwhile. A
version whose folder disappears is unloaded, as is a model whose folder disappears.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path

import tensorflow as tf
from google.protobuf import text_format
from tensorflow.core.protobuf import saved_model_pb2

from tfdeeprec.serving.errors import bad_request, not_found
from tfdeeprec.serving.signature import Signature

log = logging.getLogger("tfdeeprec.serving")

_HISTORY = 8  # finished versions kept per model for /v1/models/NAME


def check_model_name(name: str) -> str:
    """Returns ``name`` if it is a plain folder name under BASE; otherwise a 400 error."""
    if (not name or name.startswith(".") or "/" in name or "\\" in name or "\0" in name
            or ".." in name):
        raise bad_request(f"invalid model name {name!r}: names are folder names under the "
                          "model base (no '/', '..' or leading '.')")
    return name


class Servable:
    """One loaded version of one model, with a reference count of its requests."""

    def __init__(self, name: str, version: int, path: str, loaded, signatures: dict):
        self.name = name
        self.version = version
        self.path = path
        self.loaded = loaded
        self.signatures = signatures
        self.state = "AVAILABLE"
        self._refs = 0
        self._retired = False
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            if self._retired:
                return False
            self._refs += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._refs -= 1
            if self._retired and self._refs == 0:
                self._unload()

    def retire(self) -> None:
        """No new requests; unload once the in-flight ones are done."""
        with self._lock:
            if self._retired:
                return
            self._retired = True
            self.state = "UNLOADING"
            if self._refs == 0:
                self._unload()

    @property
    def in_flight(self) -> int:
        return self._refs

    def signature(self, name: str) -> Signature:
        try:
            return self.signatures[name]
        except KeyError:
            raise not_found(f"signature {name!r} not found in model {self.name!r} version "
                            f"{self.version}; it has: {', '.join(sorted(self.signatures))}"
                            ) from None

    def metadata(self) -> dict:
        return {
            "model_spec": {"name": self.name, "signature_name": "",
                           "version": str(self.version)},
            "metadata": {"signature_def": {"signature_def": {
                k: s.metadata() for k, s in sorted(self.signatures.items())}}},
        }

    def _unload(self) -> None:
        self.loaded = None
        self.signatures = {}
        self.state = "END"
        log.info("unloaded %s version %d", self.name, self.version)


class _Model:
    def __init__(self):
        self.current: Servable | None = None
        self.versions: dict[int, Servable] = {}   # loaded, unloading and unloaded
        self.failures: dict[int, tuple] = {}      # version -> (folder stamp, message)


class ModelRegistry:
    """Every model under ``model_base``, kept at its newest version.

    Args:
        model_base: (str | Path) the folder holding ``NAME/VERSION/`` SavedModels.
        poll_seconds: (float) rescan period; 0 scans once at ``start``. Default 1.0.
    """

    def __init__(self, model_base, poll_seconds: float = 1.0):
        if poll_seconds < 0:
            raise ValueError(f"`poll_seconds` must be >= 0. Received: "
                             f"poll_seconds={poll_seconds}")
        self.model_base = Path(model_base)
        if not self.model_base.is_dir():
            raise FileNotFoundError(f"model base folder not found: {self.model_base}")
        self.poll_seconds = poll_seconds
        self._models: dict[str, _Model] = {}
        self._lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Loads every model now (blocking), then polls in the background."""
        self.poll()
        if self.poll_seconds > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._poll_loop, daemon=True,
                                            name="tfdeeprec-serving-poll")
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def model_names(self) -> list[str]:
        with self._lock:
            return sorted(n for n, m in self._models.items() if m.current is not None)

    @contextlib.contextmanager
    def lease(self, name: str, version: int | None = None):
        """Holds a loaded version for the duration of a request (404 when absent)."""
        servable = self.acquire(name, version)
        try:
            yield servable
        finally:
            servable.release()

    def acquire(self, name: str, version: int | None = None) -> Servable:
        """Like ``lease`` without the context manager; call ``release()`` when done."""
        check_model_name(name)
        while True:
            with self._lock:
                model = self._models.get(name)
                if model is None:
                    raise not_found(f"model {name!r} not found under the model base")
                if version is None:
                    servable = model.current
                    if servable is None:
                        raise not_found(f"model {name!r} has no loaded version")
                else:
                    servable = model.versions.get(version)
                    if servable is None or servable.state != "AVAILABLE":
                        raise not_found(f"model {name!r} version {version} is not loaded"
                                        f"{self._serving_note(model)}")
            if servable.acquire():
                return servable
            # Retired between the look-up and the acquire: look again.

    def status(self, name: str, version: int | None = None) -> list[dict]:
        """``model_version_status`` entries, newest version first."""
        check_model_name(name)
        with self._lock:
            model = self._models.get(name)
            if model is None:
                raise not_found(f"model {name!r} not found under the model base")
            entries = {v: (s.state, "OK", "") for v, s in model.versions.items()}
            for v, (_, message) in model.failures.items():
                if v not in entries:
                    entries[v] = ("END", "UNKNOWN", message)
        if version is not None:
            if version not in entries:
                raise not_found(f"model {name!r} has no version {version}"
                                f"{self._serving_note(model)}")
            entries = {version: entries[version]}
        return [{"version": str(v), "state": state,
                 "status": {"error_code": code, "error_message": message}}
                for v, (state, code, message) in sorted(entries.items(), reverse=True)]

    @staticmethod
    def _serving_note(model: _Model) -> str:
        current = model.current
        return f" (serving version {current.version})" if current is not None else ""

    def poll(self) -> None:
        """One rescan of the model base: load, swap and unload as the folders say."""
        with self._poll_lock:
            on_disk = _scan(self.model_base)
            for name, versions in sorted(on_disk.items()):
                self._refresh(name, versions)
            with self._lock:
                gone = [n for n in self._models if n not in on_disk]
            for name in gone:
                self._refresh(name, {})

    def _poll_loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.poll()
            except Exception:  # noqa: BLE001  (a bad scan must not end polling)
                log.exception("model base poll failed")

    def _refresh(self, name: str, versions: dict) -> None:
        with self._lock:
            model = self._models.setdefault(name, _Model())
            current = model.current
        for version in sorted(versions, reverse=True):
            if current is not None and version == current.version:
                return
            stamp = _stamp(versions[version])
            failure = model.failures.get(version)
            if failure is not None and failure[0] == stamp:
                continue
            try:
                servable = _load(name, version, versions[version])
            except Exception as err:  # noqa: BLE001  (report it, keep serving the old one)
                message = f"{type(err).__name__}: {err}".strip()[:500]
                log.error("cannot load %s version %d: %s", name, version, message)
                with self._lock:
                    model.failures[version] = (stamp, message)
                continue
            self._swap(name, model, servable)
            return
        # No loadable version on disk newer than (or equal to) the current one.
        if current is not None and current.version not in versions:
            self._swap(name, model, None)
        if not versions:
            with self._lock:
                if model.current is None and self._models.get(name) is model:
                    del self._models[name]

    def _swap(self, name: str, model: _Model, servable: Servable | None) -> None:
        with self._lock:
            old = model.current
            model.current = servable
            if servable is not None:
                model.versions[servable.version] = servable
                model.failures.pop(servable.version, None)
            if old is not None:  # in the same step, so no one sees both as AVAILABLE
                old.retire()
            for version in sorted(model.versions)[:-_HISTORY]:
                if model.versions[version].state == "END":
                    del model.versions[version]
        if servable is not None:
            log.info("serving %s version %d", name, servable.version)


def _scan(base: Path) -> dict:
    found = {}
    try:
        entries = list(os.scandir(base))
    except FileNotFoundError:
        return found
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        versions = {}
        try:
            children = list(os.scandir(entry.path))
        except OSError:
            continue
        for child in children:
            if (child.name.isascii() and child.name.isdigit() and child.is_dir()
                    and _has_saved_model(child.path)):
                versions[int(child.name)] = child.path
        found[entry.name] = versions
    return found


def _has_saved_model(path: str) -> bool:
    return any(os.path.isfile(os.path.join(path, f))
               for f in ("saved_model.pb", "saved_model.pbtxt"))


def _stamp(path: str) -> tuple:
    """Changes when the version folder is replaced or rewritten (to retry a failed load)."""
    stamp = []
    for p in (path, os.path.join(path, "saved_model.pb"),
              os.path.join(path, "saved_model.pbtxt")):
        try:
            s = os.stat(p)
        except OSError:
            continue
        stamp.append((s.st_mtime_ns, s.st_size, s.st_ino))
    return tuple(stamp)


def _load(name: str, version: int, path: str) -> Servable:
    log.info("loading %s version %d from %s", name, version, path)
    proto = _saved_model_proto(path)
    if _uses_scann(proto):
        _load_scann_ops()
    loaded = tf.saved_model.load(path)
    defs = _signature_defs(proto)
    signatures = {}
    for key, function in loaded.signatures.items():
        try:
            signatures[key] = Signature(key, function, defs.get(key))
        except ValueError as err:
            log.warning("%s version %d: skipping signature %s: %s", name, version, key, err)
    if not signatures:
        raise ValueError("the SavedModel has no signature that REST can call")
    return Servable(name, version, path, loaded, signatures)


def _saved_model_proto(path: str) -> saved_model_pb2.SavedModel:
    proto = saved_model_pb2.SavedModel()
    pb = os.path.join(path, "saved_model.pb")
    if os.path.isfile(pb):
        with open(pb, "rb") as f:
            proto.ParseFromString(f.read())
    else:
        with open(os.path.join(path, "saved_model.pbtxt")) as f:
            text_format.Parse(f.read(), proto)
    return proto


def _uses_scann(proto: saved_model_pb2.SavedModel) -> bool:
    """Whether any graph or function of the SavedModel calls ScaNN's ops (``Scann>...``)."""
    for meta_graph in proto.meta_graphs:
        nodes = list(meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            nodes.extend(function.node_def)
        if any(node.op.startswith("Scann") for node in nodes):
            return True
    return False


def _signature_defs(proto: saved_model_pb2.SavedModel) -> dict:
    for meta_graph in proto.meta_graphs:
        if "serve" in meta_graph.meta_info_def.tags:
            return dict(meta_graph.signature_def)
    return dict(proto.meta_graphs[0].signature_def) if proto.meta_graphs else {}


def _load_scann_ops() -> None:
    """Registers ScaNN's TF ops (for ScaNN-backed exports), or raises a clear error."""
    try:
        import scann.scann_ops.py.scann_ops  # noqa: F401  (registers the ops on import)
    except Exception as err:  # ImportError, or ops built for another TensorFlow
        raise RuntimeError(
            "the SavedModel calls ScaNN's TF ops (Scann>...), which are not available here "
            f"({type(err).__name__}: {err}); install them with `pip install scann==1.4.2` "
            "(built for TF 2.20), or serve the export's brute-force twin, which has the "
            "same signatures") from err
