"""TF Serving's REST API over asyncio: routes, status codes, JSON bodies, HTTP/1.1.

Endpoints (``NAME`` is a folder under the model base, ``V`` an integer version):

- ``GET  /v1/models/NAME[/versions/V]``            -> ``{"model_version_status": [...]}``
- ``GET  /v1/models/NAME[/versions/V]/metadata``   -> ``{"model_spec", "metadata"}``
- ``POST /v1/models/NAME[/versions/V]:predict``    -> ``{"predictions"}`` | ``{"outputs"}``

Errors are ``{"error": "..."}``: 400 malformed JSON, bad inputs, invalid names or
versions, malformed HTTP; 404 unknown model, version, label, signature or path; 405 wrong
method (with ``Allow``); 411 a body without ``Content-Length`` (chunked bodies are not
supported); 413 a body over ``max_body_bytes``, judged from ``Content-Length`` before
anything is read (the connection then closes); 431 headers over 64 KiB; 501
``:classify`` / ``:regress``, which need tf.Example protos; 500 anything unexpected.

One event loop thread reads requests, parses and validates JSON, batches and writes
answers; signature calls run on executor threads (TensorFlow releases the GIL). HTTP/1.1
keep-alive (HTTP/1.0 with ``Connection: keep-alive``), ``Expect: 100-continue``, one
write per response; an idle connection closes after ``IDLE_SECONDS``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from concurrent.futures import Executor
from http import HTTPStatus
from urllib.parse import unquote, urlsplit

from tfdeeprec.serving.errors import ApiError, bad_request, not_found
from tfdeeprec.serving.model_registry import ModelRegistry, check_model_name

log = logging.getLogger("tfdeeprec.serving")

IDLE_SECONDS = 300.0
HEADER_LIMIT = 64 << 10
_PREFIX = "/v1/models/"
_ROUTE = re.compile(r"^/v1/models/(?P<name>[^/:]+)"
                    r"(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
                    r"(?P<verb>/metadata|:predict|:classify|:regress)?$")
_BODY_KEYS = {"signature_name", "instances", "inputs"}
_BODY_METHODS = {"POST", "PUT", "PATCH"}


class RestApi:
    """The endpoints, independent of the HTTP transport.

    Args:
        registry: (ModelRegistry) the loaded models.
        executor: (Executor) threads for signature calls without batching.
        batcher: (Batcher | None) dynamic batching; ``None`` runs every request alone.
        max_body_bytes: (int) the largest request body accepted.
    """

    def __init__(self, registry: ModelRegistry, executor: Executor, batcher=None,
                 max_body_bytes: int = 8 << 20):
        if max_body_bytes < 1:
            raise ValueError(f"`max_body_bytes` must be positive. "
                             f"Received: max_body_bytes={max_body_bytes}")
        self.registry = registry
        self.executor = executor
        self.batcher = batcher
        self.max_body_bytes = max_body_bytes

    def route(self, method: str, target: str) -> tuple:
        """``(endpoint, name, version)`` for a request line; raises 400/404/405/501."""
        path = urlsplit(target).path
        if path.startswith(_PREFIX):
            check_model_name(unquote(re.split(r"[/:]", path[len(_PREFIX):], maxsplit=1)[0]))
        match = _ROUTE.match(path)
        if match is None:
            raise not_found(f"no such endpoint: {path}; use /v1/models/NAME"
                            "[/versions/V][/metadata | :predict]")
        name = unquote(match["name"])
        if match["label"] is not None:
            raise not_found(f"model {name!r} has no version label "
                            f"{unquote(match['label'])!r}: tfdeeprec serve has no labels")
        version = _version(match["version"])
        verb = match["verb"] or ""
        endpoint = {"": "status", "/metadata": "metadata"}.get(verb, verb[1:])
        allowed = "GET" if endpoint in ("status", "metadata") else "POST"
        if method != allowed:
            raise ApiError(405, f"{method} is not allowed on {path}; use {allowed}",
                           {"Allow": allowed})
        if endpoint in ("classify", "regress"):
            raise ApiError(501, f":{endpoint} needs tf.Example inputs, which tfdeeprec serve "
                           "does not support; use :predict")
        return endpoint, name, version

    async def handle(self, method: str, target: str, body: bytes) -> tuple:
        """``(status, JSON payload, extra headers)`` for one request; never raises."""
        try:
            endpoint, name, version = self.route(method, target)
            if endpoint == "status":
                payload = {"model_version_status": self.registry.status(name, version)}
            elif endpoint == "metadata":
                with self.registry.lease(name, version) as servable:
                    payload = servable.metadata()
            else:
                payload = await self.predict(name, version, body)
            return 200, payload, {}
        except ApiError as err:
            return err.status, {"error": err.message}, err.headers
        except Exception as err:  # noqa: BLE001  (answer 500, keep serving)
            log.exception("internal error on %s %s", method, target)
            return 500, {"error": f"internal error: {type(err).__name__}: {err}"}, {}

    async def predict(self, name: str, version: int | None, body: bytes) -> dict:
        try:
            request = json.loads(body)
        except (ValueError, UnicodeDecodeError) as err:
            raise bad_request(f"malformed JSON body: {err}") from None
        if not isinstance(request, dict):
            raise bad_request("the body must be a JSON object with 'instances' or 'inputs'")
        unknown = sorted(set(request) - _BODY_KEYS)
        if unknown:
            raise bad_request(f"unknown key(s) {unknown} in the body; expected "
                              "'signature_name' and one of 'instances' / 'inputs'")
        signature_name = request.get("signature_name", "")
        if not isinstance(signature_name, str):
            raise bad_request("'signature_name' must be a string")
        signature_name = signature_name or "serving_default"
        with self.registry.lease(name, version) as servable:
            signature = servable.signature(signature_name)
            parsed = signature.parse(request)
            if self.batcher is None:
                outputs = await asyncio.get_running_loop().run_in_executor(
                    self.executor, signature.run, parsed.inputs)
            else:
                outputs = await self.batcher.run(servable, signature, parsed)
            return signature.respond(parsed, outputs)


def _version(text: str | None) -> int | None:
    if text is None:
        return None
    text = unquote(text)
    if not (text.isascii() and text.isdigit()):
        raise bad_request(f"version must be a non-negative integer. Received: {text!r}")
    return int(text)


async def serve_connection(api: RestApi, reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter) -> None:
    """Answers the requests of one connection, in order, until it closes."""
    try:
        while True:
            try:
                async with asyncio.timeout(IDLE_SECONDS):
                    head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                return
            except asyncio.LimitOverrunError:
                await _answer(writer, "GET", 431, {"error": "request headers exceed "
                                                   f"{HEADER_LIMIT} bytes"}, {}, False)
                return
            try:
                method, target, keep_alive, length, expect = _parse_head(head,
                                                                         api.max_body_bytes)
            except ApiError as err:
                await _answer(writer, "GET", err.status, {"error": err.message}, err.headers,
                              False)
                if err.status == 413:
                    if writer.can_write_eof():
                        writer.write_eof()
                    await _linger(reader, err.headers.pop("_unread", 0))
                return
            if expect:
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            if length:
                async with asyncio.timeout(IDLE_SECONDS):
                    body = await reader.readexactly(length)
            else:
                body = b""
            status, payload, headers = await api.handle(method, target, body)
            await _answer(writer, method, status, payload, headers, keep_alive)
            if not keep_alive:
                return
    except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
        return
    finally:
        writer.close()


def _parse_head(head: bytes, limit: int) -> tuple:
    """``(method, target, keep_alive, body length, expects 100-continue)``.

    Raises ApiError (400, 411, 413) for requests that cannot be answered normally."""
    lines = head[:-4].decode("latin-1").split("\r\n")
    while lines and not lines[0]:  # tolerate stray CRLFs between requests
        lines.pop(0)
    parts = lines[0].split(" ") if lines else []
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise bad_request(f"malformed request line: {(lines or [''])[0][:100]!r}")
    method, target, version = parts
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise bad_request(f"malformed header line: {line[:100]!r}")
        headers[name.lower()] = value.strip()
    connection = headers.get("connection", "").lower()
    keep_alive = ("close" not in connection if version == "HTTP/1.1"
                  else "keep-alive" in connection)
    if "transfer-encoding" in headers:
        raise ApiError(411, "chunked request bodies are not supported; send Content-Length")
    length = headers.get("content-length")
    if length is None:
        if method in _BODY_METHODS:
            raise ApiError(411, "a request body needs a Content-Length header")
        return method, target, keep_alive, 0, False
    if not (length.isascii() and length.isdigit()):
        raise bad_request(f"invalid Content-Length: {length[:40]!r}")
    size = int(length)
    if size > limit:
        raise ApiError(413, f"request body of {size} bytes exceeds the limit of {limit} "
                       "bytes (--max-body-bytes)", {"_unread": size})
    expect = size > 0 and headers.get("expect", "").lower() == "100-continue"
    return method, target, keep_alive, size, expect


async def _answer(writer, method: str, status: int, payload, headers: dict,
                  keep_alive: bool) -> None:
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    lines = [f"HTTP/1.1 {status} {phrase}", "Content-Type: application/json",
             f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if not k.startswith("_")]
    if not keep_alive:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    writer.write(head if method == "HEAD" else head + body)
    await writer.drain()


async def _linger(reader, unread: int, seconds: float = 2.0) -> None:
    """Reads and drops an unread body for a while, so the client sees the 413 before the
    connection closes (closing with unread data would reset it)."""
    remaining = min(unread, 64 << 20)
    try:
        async with asyncio.timeout(seconds):
            while remaining > 0:
                chunk = await reader.read(min(remaining, 1 << 16))
                if not chunk:
                    break
                remaining -= len(chunk)
    except (TimeoutError, ConnectionError):
        pass
