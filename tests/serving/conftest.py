"""Small SavedModels shaped like the export contract, and a running server over them.

``toy`` mirrors the contract: ``serving_default`` / ``score`` (``user_id``, ``item_id``
-> ``score``, ``known``) and ``recommend`` (``user_id``, scalar ``k``, 2-D ``exclude``
-> ``item_ids``, ``scores``), with ``""`` meaning "no item" in ``exclude``. Its weights
are multiplied by the version number, so each version answers differently. ``single``
has one input and one output (bare-value formats) plus ``typed`` (bool and int64
inputs) and ``echo`` (strings through ``{"b64": ...}``).
"""

import json
import os
import shutil
import socket
import tempfile
import urllib.error
import urllib.request

import numpy as np
import pytest

import tfdeeprec  # noqa: F401  (Keras 2 before TensorFlow)
from tfdeeprec._keras import tf

USERS = ["u0", "u1", "u2", "u3", "u4"]
ITEMS = ["i0", "i1", "i2", "i3", "i4", "i5"]


class _Toy(tf.Module):
    def __init__(self, scale: float):
        super().__init__()
        rng = np.random.default_rng(0)
        self.users = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
            tf.constant(USERS), tf.range(len(USERS), dtype=tf.int64)), -1)
        self.items = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
            tf.constant(ITEMS), tf.range(len(ITEMS), dtype=tf.int64)), -1)
        self.item_ids = tf.constant(ITEMS)
        self.user_emb = tf.Variable(scale * rng.normal(size=(len(USERS), 4)), dtype=tf.float32)
        self.item_emb = tf.Variable(scale * rng.normal(size=(len(ITEMS), 4)), dtype=tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user_id"),
                                  tf.TensorSpec([None], tf.string, name="item_id")])
    def score(self, user_id, item_id):
        u, i = self.users.lookup(user_id), self.items.lookup(item_id)
        known = (u >= 0) & (i >= 0)
        dot = tf.reduce_sum(tf.gather(self.user_emb, tf.maximum(u, 0))
                            * tf.gather(self.item_emb, tf.maximum(i, 0)), axis=-1)
        return {"score": tf.where(known, dot, 0.0), "known": known}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user_id"),
                                  tf.TensorSpec([], tf.int32, name="k"),
                                  tf.TensorSpec([None, None], tf.string, name="exclude")])
    def recommend(self, user_id, k, exclude):
        u = tf.maximum(self.users.lookup(user_id), 0)
        scores = tf.matmul(tf.gather(self.user_emb, u), self.item_emb, transpose_b=True)
        hit = tf.reduce_any(tf.equal(exclude[:, :, None], self.item_ids[None, None, :]), 1)
        scores = tf.where(hit, -1e9, scores)
        top = tf.math.top_k(scores, k=k)
        return {"item_ids": tf.gather(self.item_ids, top.indices), "scores": top.values}


class _Single(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable([1.0, 2.0, 3.0])

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def dot(self, x):
        return {"y": tf.reduce_sum(x * self.w, axis=-1)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.bool, name="flag"),
                                  tf.TensorSpec([None], tf.int64, name="count")])
    def typed(self, flag, count):
        return {"out": tf.where(flag, count * 2, -count)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def echo(self, text):
        return {"upper": tf.strings.upper(text), "raw_bytes": text}


def _write_version(base, name: str, version: int, module=None) -> str:
    """Writes ``base/name/version`` atomically (temporary folder, then rename)."""
    module = module or _Toy(scale=float(version))
    signatures = ({"serving_default": module.dot, "typed": module.typed, "echo": module.echo}
                  if isinstance(module, _Single) else
                  {"serving_default": module.score, "score": module.score,
                   "recommend": module.recommend})
    os.makedirs(os.path.join(base, name), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".tmp-", dir=os.path.join(base, name))
    shutil.rmtree(tmp)
    tf.saved_model.save(module, tmp, signatures=signatures)
    final = os.path.join(base, name, str(version))
    os.rename(tmp, final)
    return final


@pytest.fixture(scope="session")
def model_base(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("exports"))
    _write_version(base, "toy", 1)
    _write_version(base, "single", 1, _Single())
    return base


@pytest.fixture(scope="session")
def server(model_base):
    from tfdeeprec.serving import make_server
    srv = make_server(model_base, port=0, poll_seconds=0, max_batch_size=16,
                      batch_timeout_ms=5.0, max_body_bytes=4096)
    yield srv
    srv.shutdown()


@pytest.fixture(scope="session")
def reference(model_base):
    """The in-process signatures of ``toy`` version 1 (no HTTP): the expected answers."""
    loaded = tf.saved_model.load(os.path.join(model_base, "toy", "1"))
    return loaded.signatures


def _http(url: str, path: str, body=None, method=None, timeout: float = 30.0):
    """(status, parsed JSON body); ``body`` is a dict (sent as JSON) or raw bytes."""
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _raw_request(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Sends raw bytes; returns everything the server sends before it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


@pytest.fixture(scope="session")
def write_version():
    """``write_version(base, name, version)`` writes a ``toy`` version atomically."""
    return _write_version


@pytest.fixture(scope="session")
def http():
    """``http(url, path, body=None, method=None)`` -> (status, JSON)."""
    return _http


@pytest.fixture(scope="session")
def raw_request():
    """``raw_request(port, bytes)`` -> every byte the server sends before closing."""
    return _raw_request
