"""``serve`` (blocking, for the CLI) and ``make_server`` (started in the background).

An asyncio HTTP/1.1 server (one event-loop thread for I/O, JSON and batching; a thread
pool for the signature calls) in front of a ``ModelRegistry`` (load, poll, hot-swap) and
an optional ``Batcher``.

Example:

```python
from tfdeeprec.serving import make_server

with make_server("exports", port=0) as server:       # port 0: an ephemeral port
    print(server.url)                                  # http://127.0.0.1:PORT
```
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

from tfdeeprec.serving.batcher import Batcher
from tfdeeprec.serving.model_registry import ModelRegistry
from tfdeeprec.serving.rest_api import HEADER_LIMIT, RestApi, serve_connection

log = logging.getLogger("tfdeeprec.serving")

DEFAULT_MAX_BATCH_SIZE = 64
DEFAULT_BATCH_TIMEOUT_MS = 0.0
DEFAULT_MAX_BODY_BYTES = 8 << 20
DEFAULT_POLL_SECONDS = 1.0


class ServingServer:
    """A running server: ``.port``, ``.url``, ``.registry``, ``.batcher``, ``.shutdown()``.

    Built by ``make_server``; the event loop runs on its own daemon thread.
    """

    def __init__(self, registry: ModelRegistry, api: RestApi, executor, host: str,
                 port: int):
        self.registry = registry
        self.api = api
        self.batcher = api.batcher
        self._executor = executor
        self._loop = asyncio.new_event_loop()
        self._connections: set = set()
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, args=(host, port), daemon=True,
                                        name="tfdeeprec-serving-http")
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error
        self.host, self.port = host, self._server.sockets[0].getsockname()[1]
        self.url = f"http://{host}:{self.port}" if ":" not in host else \
            f"http://[{host}]:{self.port}"

    def _run(self, host: str, port: int) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._server = self._loop.run_until_complete(asyncio.start_server(
                self._connection, host, port, limit=HEADER_LIMIT, backlog=1024,
                reuse_address=True))
        except BaseException as err:  # noqa: BLE001  (reported by __init__)
            self._error = err
            self._loop.close()
            self._started.set()
            return
        self._started.set()
        self._loop.run_forever()
        self._loop.close()

    async def _connection(self, reader, writer) -> None:
        task = asyncio.current_task()
        self._connections.add(task)
        try:
            await serve_connection(self.api, reader, writer)
        finally:
            self._connections.discard(task)

    async def _close(self) -> None:
        self._server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def shutdown(self) -> None:
        """Stops accepting, closes open connections, stops polling."""
        if self._stopped:
            return
        self._stopped = True
        try:
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=15)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=15)
            self._executor.shutdown(wait=False, cancel_futures=True)
            self.registry.stop()

    def __enter__(self) -> "ServingServer":
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()


def make_server(model_base, host: str = "127.0.0.1", port: int = 8501, *,
                max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
                batch_timeout_ms: float = DEFAULT_BATCH_TIMEOUT_MS,
                enable_batching: bool = True,
                max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                poll_seconds: float = DEFAULT_POLL_SECONDS,
                concurrent_batches: int = 1) -> ServingServer:
    """Loads every model under ``model_base`` and starts serving in background threads.

    Args:
        model_base: (str | Path) folder with ``NAME/VERSION/`` SavedModels.
        host: (str) address to bind. Default ``"127.0.0.1"`` (this machine only).
        port: (int) TCP port; 0 picks a free one (read ``.port``). Default 8501.
        max_batch_size: (int) rows that close a dynamic batch. Default 64.
        batch_timeout_ms: (float) how long a batch waits for more requests before it may
            run; 0 runs it as soon as its signature is free (batches then form from the
            requests that arrive while the previous batch runs). Default 0.0.
        concurrent_batches: (int) batches of one signature running at once. Default 1.
        enable_batching: (bool) dynamic batching on or off. Default True.
        max_body_bytes: (int) larger request bodies get 413. Default 8 MiB.
        poll_seconds: (float) how often to look for new versions; 0 never. Default 1.0.

    Returns:
        A started ``ServingServer``; call ``.shutdown()`` (or use it as a context manager).
    """
    registry = ModelRegistry(model_base, poll_seconds=poll_seconds)
    # Threads for signature calls: TF releases the GIL while it computes.
    executor = ThreadPoolExecutor(max_workers=min(64, 4 * (os.cpu_count() or 1)),
                                  thread_name_prefix="tfdeeprec-serving-call")
    batcher = (Batcher(executor, max_batch_size, batch_timeout_ms, concurrent_batches)
               if enable_batching else None)
    api = RestApi(registry, executor, batcher, max_body_bytes)
    registry.start()
    try:
        return ServingServer(registry, api, executor, host, port)
    except BaseException:
        executor.shutdown(wait=False)
        registry.stop()
        raise


def serve(model_base, host: str = "127.0.0.1", port: int = 8501, *,
          max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
          batch_timeout_ms: float = DEFAULT_BATCH_TIMEOUT_MS,
          enable_batching: bool = True,
          max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
          poll_seconds: float = DEFAULT_POLL_SECONDS,
          concurrent_batches: int = 1) -> None:
    """Serves ``model_base`` until SIGINT / SIGTERM; arguments as ``make_server``."""
    server = make_server(model_base, host, port, max_batch_size=max_batch_size,
                         batch_timeout_ms=batch_timeout_ms, enable_batching=enable_batching,
                         max_body_bytes=max_body_bytes, poll_seconds=poll_seconds,
                         concurrent_batches=concurrent_batches)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    names = server.registry.model_names()
    batching = (f"dynamic batching: {max_batch_size} rows, {batch_timeout_ms} ms timeout"
                if enable_batching else "no batching")
    print(f"tfdeeprec serve: {len(names)} model(s) {names} from {model_base} at "
          f"{server.url}/v1/models/NAME ({batching}); Ctrl-C stops", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
