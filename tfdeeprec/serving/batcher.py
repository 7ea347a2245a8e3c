"""Dynamic batching: concurrent requests for one signature run as one call.

Requests share a batch when they target the same loaded version and signature and their
non-batch inputs agree (equal scalar inputs such as ``k``, equal non-batch dimensions for
non-string inputs). String inputs whose non-batch dimensions vary (``exclude``) are padded
on the right with ``""`` to the widest request; the export contract reads ``""`` as "no
item". Inputs are concatenated along the first dimension, the signature runs once (on an
executor thread), and each output is split back by row ranges.

Scheduling, as TF Serving's batch scheduler: a batch is *ready* when ``max_batch_size``
rows are queued or ``batch_timeout_ms`` has passed since its first request, and runs as
soon as its signature has a free slot (``concurrent_batches`` per loaded version and
signature); until then it keeps taking requests, up to ``max_batch_size`` rows. With
``batch_timeout_ms=0`` (the default, as TF Serving advises for CPUs) a request on an idle
signature runs at once, so batching adds no latency at low load, while under load the
requests that arrive during one batch's run form the next batch. One slot per signature
suits CPUs, where one call already uses every core; different signatures (a slow
``recommend``, a fast ``score``) never wait for each other. A request with
``max_batch_size`` rows or more runs alone, at once.

Requests are validated before they are queued; if a batch still fails, or its outputs do
not split by rows, each of its requests is rerun alone, so one request's error never
reaches another. A batched answer equals the unbatched one up to floating-point rounding:
kernels such as matmul may round differently for another number of rows (a last-bit
difference); without batching, answers are bit-identical to an in-process call.

The batcher lives on the server's event loop (``run`` is a coroutine; all bookkeeping
runs on the loop's thread, so no locks are needed). A batch is dispatched on the loop turn
after its requests arrive, so every request read in one turn can join it. Signature
calls run on executor threads, except for signatures whose calls have averaged under
``inline_ms`` (e.g. ``score`` on a small MLP, ~0.3 ms): those run on the loop thread,
which saves two thread hand-offs and their GIL waits per batch, the largest cost left
once requests are batched. A slow signature (``recommend``) never blocks the loop.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import deque
from concurrent.futures import Executor

import numpy as np

from tfdeeprec.serving.errors import ApiError
from tfdeeprec.serving.signature import PredictRequest, Signature


class Batcher:
    """Merges concurrent predict calls.

    Args:
        executor: (Executor) where signature calls run (threads: TF releases the GIL).
        max_batch_size: (int) rows that make a batch ready at once. Default 64.
        batch_timeout_ms: (float) how long a batch waits for more requests, from its first
            request, before it may run. Default 0.0 (as soon as its signature is free).
        concurrent_batches: (int) batches of one loaded version's signature that may run
            at the same time. Default 1.
        inline_ms: (float) a signature whose calls take less than this (moving average)
            runs on the event loop's thread instead of an executor thread, which saves two
            thread hand-offs per batch; 0 never does. Default 1.0.
    """

    def __init__(self, executor: Executor, max_batch_size: int = 64,
                 batch_timeout_ms: float = 0.0, concurrent_batches: int = 1,
                 inline_ms: float = 1.0):
        for name, value, low in (("max_batch_size", max_batch_size, 1),
                                 ("batch_timeout_ms", batch_timeout_ms, 0),
                                 ("concurrent_batches", concurrent_batches, 1),
                                 ("inline_ms", inline_ms, 0)):
            if value < low:
                raise ValueError(f"`{name}` must be >= {low}. Received: {name}={value}")
        self.executor = executor
        self.max_batch_size = max_batch_size
        self.batch_timeout_ms = batch_timeout_ms
        self.concurrent_batches = concurrent_batches
        self.inline_ms = inline_ms
        self._queues: dict = {}  # (id(owner), signature name) -> _Queue
        self._seconds = weakref.WeakKeyDictionary()  # Signature -> average call seconds
        self.stats = {"calls": 0, "requests": 0, "rows": 0, "largest_batch": 0}

    async def run(self, owner, signature: Signature, request: PredictRequest) -> dict:
        """Runs ``request`` (maybe with others); returns its numpy outputs.

        ``owner`` is the loaded version; it must stay alive (leased) until this returns.
        """
        loop = asyncio.get_running_loop()
        if request.batch_key is None or request.rows >= self.max_batch_size:
            outputs = await loop.run_in_executor(self.executor, signature.run, request.inputs)
            self._count(1, 1, request.rows or 0)
            return outputs
        queue_key = (id(owner), signature.name)
        queue = self._queues.get(queue_key)
        if queue is None:
            queue = self._queues[queue_key] = _Queue(signature)
        future = loop.create_future()
        batch = queue.open.get(request.batch_key)
        if batch is not None and batch.rows + request.rows > self.max_batch_size:
            queue.make_ready(batch)
            batch = None
        if batch is None:
            batch = queue.open[request.batch_key] = _Batch(request.batch_key)
            if self.batch_timeout_ms > 0:
                batch.timer = loop.call_later(self.batch_timeout_ms / 1000.0,
                                              self._timed_out, queue_key, batch)
            else:
                queue.make_ready(batch, still_open=True)
        batch.tasks.append((request, future))
        batch.rows += request.rows
        if batch.rows >= self.max_batch_size:
            queue.make_ready(batch)
        self._schedule(queue_key, queue)
        return await future

    def _schedule(self, queue_key, queue) -> None:
        """Dispatches on the next loop turn, so the requests read in this turn join."""
        if not queue.scheduled:
            queue.scheduled = True
            asyncio.get_running_loop().call_soon(self._dispatch, queue_key, queue)

    def _timed_out(self, queue_key, batch) -> None:
        queue = self._queues.get(queue_key)
        if queue is not None and not batch.started:
            queue.make_ready(batch, still_open=True)
            self._schedule(queue_key, queue)

    def _dispatch(self, queue_key, queue) -> None:
        loop = asyncio.get_running_loop()
        queue.scheduled = False
        while queue.running < self.concurrent_batches and queue.ready:
            batch = queue.ready.popleft()
            if queue.open.get(batch.key) is batch:
                del queue.open[batch.key]
            if batch.timer is not None:
                batch.timer.cancel()
            batch.started = True
            queue.running += 1
            average = self._seconds.get(queue.signature)
            if average is not None and average * 1000 < self.inline_ms:
                work = loop.create_future()
                try:
                    work.set_result(_execute(queue.signature, batch.tasks))
                except BaseException as err:  # noqa: BLE001  (reported by _finished)
                    work.set_exception(err)
                self._finished(queue_key, queue, batch, work)
                continue
            work = loop.run_in_executor(self.executor, _execute, queue.signature, batch.tasks)
            work.add_done_callback(
                lambda done, b=batch: self._finished(queue_key, queue, b, done))

    def _finished(self, queue_key, queue, batch, done) -> None:
        queue.running -= 1
        try:
            answers, calls, seconds = done.result()
            average = self._seconds.get(queue.signature)
            self._seconds[queue.signature] = (seconds if average is None
                                              else 0.8 * average + 0.2 * seconds)
        except BaseException as err:  # noqa: BLE001  (never leave a request hanging)
            answers = [(None, ApiError(500, f"internal error: {err!r}"))] * len(batch.tasks)
            calls = 0
        self._count(calls, len(batch.tasks), batch.rows)
        for (_, future), (result, error) in zip(batch.tasks, answers):
            if future.done():  # the client went away
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
        if queue.running == 0 and not queue.ready and not queue.open:
            if self._queues.get(queue_key) is queue:
                del self._queues[queue_key]  # forget idle queues (and old versions)
        elif queue.ready:
            self._schedule(queue_key, queue)

    def _count(self, calls: int, requests: int, rows: int) -> None:
        self.stats["calls"] += calls
        self.stats["requests"] += requests
        self.stats["rows"] += rows
        self.stats["largest_batch"] = max(self.stats["largest_batch"], rows)


class _Queue:
    """The batches of one loaded version's signature."""

    def __init__(self, signature: Signature):
        self.signature = signature
        self.open: dict = {}        # batch key -> _Batch still taking requests
        self.ready: deque = deque()  # batches allowed to run, oldest first
        self.running = 0
        self.scheduled = False

    def make_ready(self, batch, still_open: bool = False) -> None:
        if not still_open and self.open.get(batch.key) is batch:
            del self.open[batch.key]
        if not batch.is_ready:
            batch.is_ready = True
            self.ready.append(batch)


class _Batch:
    __slots__ = ("key", "tasks", "rows", "timer", "is_ready", "started")

    def __init__(self, key):
        self.key = key
        self.tasks = []
        self.rows = 0
        self.timer = None
        self.is_ready = False
        self.started = False


def _execute(signature: Signature, tasks: list) -> tuple:
    """One call for all ``tasks`` (each alone if that fails).

    Returns ``([(outputs, None) | (None, error)] per task, number of calls, seconds)``.
    """
    start = time.perf_counter()
    if len(tasks) > 1:
        try:
            outputs = signature.run(_merge(signature, [r for r, _ in tasks]))
            return _split(outputs, [r.rows for r, _ in tasks]), 1, time.perf_counter() - start
        except Exception:  # noqa: BLE001  (rerun each alone: errors stay private)
            pass
    answers = []
    for request, _ in tasks:
        try:
            answers.append((signature.run(request.inputs), None))
        except ApiError as err:
            answers.append((None, err))
        except Exception as err:  # noqa: BLE001
            answers.append((None, ApiError(500, f"internal error: {err!r}")))
    return answers, len(tasks), (time.perf_counter() - start) / len(tasks)


def _merge(signature: Signature, requests: list) -> dict:
    merged = {}
    for name, info in signature.inputs.items():
        parts = [r.inputs[name] for r in requests]
        if info.rank == 0:
            merged[name] = parts[0]
            continue
        if info.padded:
            inner = tuple(max(p.shape[axis] for p in parts) for axis in range(1, info.rank))
            parts = [_pad(p, inner) for p in parts]
        merged[name] = np.concatenate(parts, axis=0)
    return merged


def _pad(array: np.ndarray, inner: tuple) -> np.ndarray:
    if array.shape[1:] == inner:
        return array
    out = np.full((array.shape[0], *inner), b"", dtype=object)
    out[tuple(slice(0, n) for n in array.shape)] = array
    return out


def _split(outputs: dict, rows: list) -> list:
    total = sum(rows)
    for name, value in outputs.items():
        if value.ndim == 0 or value.shape[0] != total:
            raise ValueError(f"output `{name}` does not have {total} rows")
    answers, start = [], 0
    for n in rows:
        answers.append(({k: v[start:start + n] for k, v in outputs.items()}, None))
        start += n
    return answers
