"""Export tests' shared set-up: ``tfdeeprec serve`` in a child process, for tests that
compare its REST answers (the ``serve_exports`` fixture)::

    def test_x(serve_exports):
        with serve_exports(base) as server:
            server.predict("sessions", {"signature_name": "recommend", "inputs": {...}})
"""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager

import pytest


class Server:
    def __init__(self, process, root):
        self.process, self.root = process, root

    def url(self, name: str) -> str:
        return f"{self.root}/v1/models/{name}"

    def wait_available(self, name: str, timeout: float = 120) -> None:
        """Until the model's version is AVAILABLE; fails on END or a dead server."""
        deadline, status = time.time() + timeout, None
        while status is None or status["state"] != "AVAILABLE":
            if status is not None and status["state"] == "END":
                raise AssertionError(f"tfdeeprec serve could not load {name}: {status}")
            if self.process.poll() is not None or time.time() > deadline:
                self.process.kill()
                raise AssertionError("tfdeeprec serve did not make the model available: "
                                     f"{self.process.communicate()[0].decode()[-2000:]}")
            time.sleep(0.3)
            try:
                status = self.get(name)["model_version_status"][0]
            except OSError:
                pass

    def get(self, name: str, suffix: str = "") -> dict:
        with urllib.request.urlopen(self.url(name) + suffix, timeout=30) as response:
            return json.loads(response.read())

    def predict(self, name: str, body: dict) -> dict:
        self.wait_available(name)
        request = urllib.request.Request(self.url(name) + ":predict",
                                         data=json.dumps(body).encode())
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(base):
    """``tfdeeprec serve --model-base base`` on a free port, stopped on exit."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tfdeeprec.cli", "serve", "--model-base", str(base),
         "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield Server(process, f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def serve_exports():
    """:func:`served`: ``with serve_exports(base) as server: server.predict(...)``."""
    return served
