"""Load test of `tfdeeprec serve`: latency and throughput over HTTP, with and without
dynamic batching, and a 30 s run during which a new model version is hot-swapped in.

Usage: .venv/bin/python bench/serving_load.py [--seconds 6] [--recommend-seconds 10]
       [--swap-seconds 30] [--client-procs 2] [--quick]

The export is written by tfdeeprec's own exporter (``tfdeeprec.export.export_model``): a
NeuMF (GMF 64 + MLP 64 embeddings, MLP 128-64, implicit task) over MovieLens-100k-sized
vocabularies (943 users, 1,682 items), untrained (random weights cost the same to serve),
with 100,000 random training pairs for the out-of-vocabulary fallbacks and seen items.
If the exporter cannot be imported, a plain ``tf.Module`` of the same size with the same
signatures is saved instead; the output says which.

The server runs in its own process (``tfdeeprec.serving.serve`` on 127.0.0.1, an
ephemeral port); the load comes from ``--client-procs`` client processes, each with one
thread and one keep-alive ``http.client`` connection per client, so the clients' GIL is
split across processes (2 processes measured best on 2 cores: 1 starves the clients, 4
or 8 take CPU from the server). Closed loop: each client sends its next request when the previous
answer arrives. Every run is bounded: requests started within the window are measured to
completion. Workloads: ``score`` (4 random (user, item) rows per request, row format) and
``recommend`` (1 user, k=10, 0-4 excluded items, columnar format), at 1, 8 and 32
concurrent clients, without batching and with dynamic batching at its defaults (64 rows,
0 ms timeout: a batch runs as soon as its signature is free), plus ``score`` with a 2 ms
timeout. The floor is the signature called in-process (no HTTP, no JSON), and the same
plus tfdeeprec.serving's JSON parsing and answer encoding; for ``recommend`` also one
call for 64 users. Last, 32 clients (24 ``score``, 8
``recommend``) for 30 s while version 2 is exported a third of the way in.

CPU columns: the server's and the clients' CPU seconds per wall second (2.0 = both cores)
show which side is the bottleneck. Other jobs on the machine are not controlled; the load
average is recorded.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NUM_USERS, NUM_ITEMS = 943, 1682
SCORE_ROWS, K = 4, 10
CONCURRENCY = (1, 8, 32)
REQUEST_TIMEOUT = 120.0


# ---------------------------------------------------------------- client processes (stdlib)

def _client_thread(port, label, path, bodies, start_at, stop_at, out):
    latencies, failures, errors = [], 0, []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    i = random.randrange(len(bodies))
    time.sleep(max(0.0, start_at - time.time()))
    while time.time() < stop_at:
        body = bodies[i % len(bodies)]
        i += 1
        t0 = time.perf_counter()
        try:
            conn.request("POST", path, body)
            response = conn.getresponse()
            payload = response.read()
            ok = response.status == 200
        except OSError as err:
            ok, payload = False, repr(err).encode()
            conn.close()
        latencies.append((time.perf_counter() - t0, time.time(), ok, label))
        if not ok:
            failures += 1
            if len(errors) < 3:
                errors.append(payload[:200].decode("utf-8", "replace"))
    conn.close()
    out.append((latencies, failures, errors))


def _client_process(port, jobs, start_at, stop_at, queue):
    """``jobs``: (label, path, bodies) per thread. Sends one summary through ``queue``."""
    out, threads = [], []
    cpu0 = time.process_time()
    for label, path, bodies in jobs:
        t = threading.Thread(target=_client_thread,
                             args=(port, label, path, bodies, start_at, stop_at, out))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    queue.put({"results": out, "cpu": time.process_time() - cpu0})


def run_load(port, jobs, seconds, procs, on_tick=None, server_pid=None):
    """Closed-loop load: ``jobs`` is one (label, path, bodies) per concurrent client.

    Requests started in ``[start, start + seconds)`` are measured, to completion."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = max(1, min(procs, len(jobs)))
    start_at = time.time() + 2.5  # time to spawn the client processes
    stop_at = start_at + seconds
    children = [ctx.Process(target=_client_process,
                            args=(port, jobs[p::procs], start_at, stop_at, queue))
                for p in range(procs)]
    for child in children:
        child.start()
    while time.time() < start_at:
        time.sleep(0.01)
    cpu_server0 = _proc_cpu(server_pid)
    if on_tick is not None:
        on_tick(start_at, stop_at)
    summaries = [queue.get(timeout=seconds + REQUEST_TIMEOUT + 60) for _ in children]
    cpu_server = _proc_cpu(server_pid) - cpu_server0
    for child in children:
        child.join(timeout=30)
    samples, failures, errors = [], 0, []
    for summary in summaries:
        for latencies, fails, errs in summary["results"]:
            samples += latencies
            failures += fails
            errors += errs
    end = max([s[1] for s in samples] + [stop_at])
    wall = end - start_at
    return {
        **_summary(samples, wall), "errors": errors[:3],
        "server_cpu": round(cpu_server / wall, 2) if server_pid else None,
        "client_cpu": round(sum(s["cpu"] for s in summaries) / wall, 2),
        "start_at": start_at, "samples": samples,
    }


def _summary(samples, wall):
    ok = sorted(s[0] for s in samples if s[2])
    return {"requests": len(samples), "failed": len(samples) - len(ok),
            "wall_s": round(wall, 2), "requests_per_s": round(len(ok) / wall, 1),
            "p50_ms": _pct(ok, 50), "p99_ms": _pct(ok, 99), "max_ms": _pct(ok, 100)}


def _pct(sorted_seconds, q):
    if not sorted_seconds:
        return None
    index = min(len(sorted_seconds) - 1, max(0, int(round(q / 100 * len(sorted_seconds))) - 1))
    return round(1000 * sorted_seconds[index], 2)


def _proc_cpu(pid):
    if not pid:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- requests

def score_bodies(rng, n=64):
    return [json.dumps({"signature_name": "score", "instances": [
        {"user_id": str(rng.randint(1, NUM_USERS)), "item_id": str(rng.randint(1, NUM_ITEMS))}
        for _ in range(SCORE_ROWS)]}).encode() for _ in range(n)]


def recommend_bodies(rng, n=64):
    return [json.dumps({"signature_name": "recommend", "inputs": {
        "user_id": [str(rng.randint(1, NUM_USERS))], "k": K,
        "exclude": [[str(rng.randint(1, NUM_ITEMS)) for _ in range(rng.randint(0, 4))]]}}
    ).encode() for _ in range(n)]


# ---------------------------------------------------------------- export and server

def write_export(base, version, seed):
    """Returns a description of what was exported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(ROOT))
    import numpy as np

    import tfdeeprec  # noqa: F401  (Keras 2 before TensorFlow)
    from tfdeeprec._keras import keras, tf
    rng = np.random.default_rng(seed)
    users = rng.integers(1, NUM_USERS + 1, 100_000).astype(np.int32)
    items = rng.integers(1, NUM_ITEMS + 1, 100_000).astype(np.int32)
    try:
        from tfdeeprec.data import EncodedInteractions, Vocabulary
        from tfdeeprec.export import export_model
        from tfdeeprec.models.registry import build_model
    except ImportError as err:
        return _write_stand_in(base, version, seed, tf, np, err)
    keras.utils.set_random_seed(seed)
    model = build_model("neumf", NUM_USERS + 1, NUM_ITEMS + 1, task="implicit", gmf_dim=64,
                        mlp_dim=64, hidden_units=(128, 64))
    train = EncodedInteractions(user=users, item=items, num_users=NUM_USERS + 1,
                                num_items=NUM_ITEMS + 1)
    export_model(model, Vocabulary([str(u) for u in range(1, NUM_USERS + 1)]),
                 Vocabulary([str(i) for i in range(1, NUM_ITEMS + 1)]), task="implicit",
                 base=base, name="neumf", train=train, version=version, max_k=100)
    return (f"tfdeeprec.export.export_model: NeuMF (GMF 64 + MLP 64, MLP 128-64, implicit), "
            f"{NUM_USERS} users x {NUM_ITEMS} items, {model.count_params():,} parameters, "
            "untrained")


def _write_stand_in(base, version, seed, tf, np, err):
    rng = np.random.default_rng(seed)

    class StandIn(tf.Module):
        def __init__(self):
            super().__init__()
            self.users = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
                tf.constant([str(u) for u in range(1, NUM_USERS + 1)]),
                tf.range(1, NUM_USERS + 1, dtype=tf.int64)), 0)
            self.items = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
                tf.constant([str(i) for i in range(1, NUM_ITEMS + 1)]),
                tf.range(1, NUM_ITEMS + 1, dtype=tf.int64)), 0)
            self.tokens = tf.constant([""] + [str(i) for i in range(1, NUM_ITEMS + 1)])
            self.ue = tf.Variable(rng.normal(size=(NUM_USERS + 1, 128)), dtype=tf.float32)
            self.ie = tf.Variable(rng.normal(size=(NUM_ITEMS + 1, 128)), dtype=tf.float32)
            self.w1 = tf.Variable(rng.normal(size=(128, 128)) / 11, dtype=tf.float32)
            self.w2 = tf.Variable(rng.normal(size=(128, 64)) / 11, dtype=tf.float32)
            self.w3 = tf.Variable(rng.normal(size=(128, 1)) / 11, dtype=tf.float32)

        def _scores(self, u, i):
            ue, ie = tf.gather(self.ue, u), tf.gather(self.ie, i)
            h = tf.nn.relu(tf.concat([ue[:, 64:], ie[:, 64:]], 1) @ self.w1) @ self.w2
            x = tf.concat([ue[:, :64] * ie[:, :64], tf.nn.relu(h)], 1)
            return tf.sigmoid(tf.reshape(x @ self.w3, [-1]))

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user_id"),
                                      tf.TensorSpec([None], tf.string, name="item_id")])
        def score(self, user_id, item_id):
            u, i = self.users.lookup(user_id), self.items.lookup(item_id)
            return {"score": self._scores(u, i), "known": (u > 0) & (i > 0)}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="user_id"),
                                      tf.TensorSpec([], tf.int32, name="k"),
                                      tf.TensorSpec([None, None], tf.string, name="exclude")])
        def recommend(self, user_id, k, exclude):
            u = self.users.lookup(user_id)
            n = tf.shape(u)[0]
            all_items = tf.range(1, NUM_ITEMS + 1, dtype=tf.int64)
            s = tf.reshape(self._scores(tf.repeat(u, NUM_ITEMS), tf.tile(all_items, [n])),
                           [n, NUM_ITEMS])
            hit = tf.reduce_any(tf.equal(self.items.lookup(exclude)[:, :, None],
                                         all_items[None, None, :]), 1)
            top = tf.math.top_k(tf.where(hit, -np.inf, s), k=k)
            return {"item_ids": tf.gather(self.tokens, top.indices + 1), "scores": top.values}

    module = StandIn()
    tmp = Path(base) / "neumf" / f".tmp-{version}"
    tf.saved_model.save(module, str(tmp), signatures={
        "serving_default": module.score, "score": module.score,
        "recommend": module.recommend})
    tmp.rename(Path(base) / "neumf" / str(version))
    return (f"stand-in tf.Module (tfdeeprec.export not importable: {err}): NeuMF-sized, "
            f"{NUM_USERS} x {NUM_ITEMS} embedding tables of 128, MLP 128-64")


def start_server(base, **options):
    code = ("import sys, tfdeeprec.serving as s; "
            f"s.serve(sys.argv[1], host='127.0.0.1', port=0, **{options!r})")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", code, str(base)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    deadline = time.time() + 180
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the server exited before it was ready")
        if line.startswith("tfdeeprec serve:"):
            port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
            return proc, port
    proc.kill()
    raise RuntimeError("the server did not start in 180 s")


def stop_server(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


# ---------------------------------------------------------------- floors

def in_process_floor(base, seconds=3.0):
    """Sequential in-process calls: the signature alone, then with JSON parse/encode;
    for ``recommend`` also one call for 64 users (what a full batch costs)."""
    from tfdeeprec._keras import tf
    from tfdeeprec.serving.signature import Signature
    loaded = tf.saved_model.load(str(Path(base) / "neumf" / "1"))
    rng = random.Random(1)
    out = {}
    wide = {"user_id": tf.constant([str(rng.randint(1, NUM_USERS)) for _ in range(64)]),
            "k": tf.constant(K), "exclude": tf.constant([["1", "2"]] * 64)}
    for name, bodies in (("score", score_bodies(rng)), ("recommend", recommend_bodies(rng))):
        function = loaded.signatures[name]
        signature = Signature(name, function)
        parsed = [signature.parse(json.loads(b)) for b in bodies]
        tensors = [{k: tf.constant(v, signature.inputs[k].dtype) for k, v in p.inputs.items()}
                   for p in parsed]
        for t in tensors[:3]:
            function(**t)
        steps = [("signature call", lambda i: function(**tensors[i % len(tensors)])),
                 ("+ JSON parse/encode", lambda i: signature.respond(
                     parsed[i % len(parsed)], signature.run(signature.parse(
                         json.loads(bodies[i % len(bodies)])).inputs)))]
        if name == "recommend":
            steps.append(("signature call, 64 users per call", lambda i: function(**wide)))
        for label, step in steps:
            step(0)
            times, i, stop = [], 0, time.perf_counter() + seconds
            while time.perf_counter() < stop or i < 5:
                t0 = time.perf_counter()
                step(i)
                times.append(time.perf_counter() - t0)
                i += 1
            times.sort()
            out[(name, label)] = {"calls": len(times), "p50_ms": _pct(times, 50),
                                  "p99_ms": _pct(times, 99),
                                  "calls_per_s": round(len(times) / sum(times), 1)}
    return out


# ---------------------------------------------------------------- main

# (label, server options, signatures measured)
CONFIGS = [
    ("no batching", {"enable_batching": False}, ("score", "recommend")),
    ("dynamic batching (defaults: 64 rows, 0 ms)", {"enable_batching": True},
     ("score", "recommend")),
    ("dynamic batching, 2 ms timeout", {"enable_batching": True, "batch_timeout_ms": 2.0},
     ("score",)),
]


def _post(port, path, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request("POST", path, body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _peak_rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0,
                        help="measured window per `score` run")
    parser.add_argument("--recommend-seconds", type=float, default=10.0,
                        help="measured window per `recommend` run")
    parser.add_argument("--swap-seconds", type=float, default=30.0)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--quick", action="store_true",
                        help="1-2 s windows, 8 s swap run (a smoke run; writes no result)")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.recommend_seconds, args.swap_seconds = 1.0, 2.0, 8.0
    sys.path.insert(0, str(ROOT))
    t_start = time.time()
    work = Path(tempfile.mkdtemp(prefix="serving_load_"))
    base = work / "models"
    path = "/v1/models/neumf:predict"
    try:
        export = write_export(base, 1, seed=1)
        print(f"export: {export}", flush=True)
        floor = in_process_floor(base)
        for (sig, label), row in floor.items():
            print(f"floor {sig:9s} {label:22s} {row}", flush=True)
        rng = random.Random(0)
        bodies = {"score": score_bodies(rng), "recommend": recommend_bodies(rng)}
        runs = []
        for label, options, signatures in CONFIGS:
            proc, port = start_server(base, **options)
            try:
                for sig in signatures:  # warm-up, not measured
                    for body in bodies[sig][:2]:
                        assert _post(port, path, body)[0] == 200
                for sig in signatures:
                    seconds = args.seconds if sig == "score" else args.recommend_seconds
                    for concurrency in CONCURRENCY:
                        jobs = [(sig, path, bodies[sig])] * concurrency
                        result = run_load(port, jobs, seconds, args.client_procs,
                                          server_pid=proc.pid)
                        result.pop("samples"), result.pop("start_at")
                        row = {"signature": sig, "config": label,
                               "batching": options["enable_batching"],
                               "concurrency": concurrency, **result}
                        runs.append(row)
                        print({k: v for k, v in row.items() if k != "errors"}, flush=True)
                for row in runs:
                    if row["config"] == label:
                        row["server_peak_rss_mb"] = _peak_rss_mb(proc.pid)
            finally:
                stop_server(proc)
        swap = swap_run(base, bodies, args)
        print({k: v for k, v in swap.items() if k != "per_signature"}, flush=True)
        print(swap["per_signature"], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    payload = {"export": export, "floor": [{"signature": s, "path": label, **row}
                                           for (s, label), row in floor.items()],
               "runs": runs, "swap": swap, "load_average": os.getloadavg(),
               "seconds_per_run": {"score": args.seconds, "recommend": args.recommend_seconds},
               "client_procs": args.client_procs,
               "total_seconds": round(time.time() - t_start, 1)}
    print(f"total {payload['total_seconds']} s", flush=True)
    if args.quick:
        return
    from bench.report import write_result
    out = write_result("serving_load", payload, _table(payload),
                       command=".venv/bin/python bench/serving_load.py")
    print(f"wrote {out}")


def swap_run(base, bodies, args):
    """32 clients (24 score, 8 recommend) for --swap-seconds with batching at its defaults;
    version 2 is exported a third into the run and must be picked up, with no failure."""
    proc, port = start_server(base, enable_batching=True, poll_seconds=1.0)
    path = "/v1/models/neumf:predict"
    for sig in ("score", "recommend"):
        assert _post(port, path, bodies[sig][0])[0] == 200
    events = {}

    def swapper(start_at, stop_at):
        def work():
            time.sleep(max(0.0, start_at + (stop_at - start_at) / 3 - time.time()))
            events["export_started_s"] = round(time.time() - start_at, 2)
            write_export(base, 2, seed=2)
            events["export_written_s"] = round(time.time() - start_at, 2)
            while time.time() < stop_at + 30:
                status = _get(port, "/v1/models/neumf")[1]["model_version_status"]
                states = {s["version"]: s["state"] for s in status}
                if states.get("2") == "AVAILABLE" and "served_s" not in events:
                    events["served_s"] = round(time.time() - start_at, 2)
                if states.get("1") == "END":
                    events["old_unloaded_s"] = round(time.time() - start_at, 2)
                    events["final_status"] = status
                    break
                time.sleep(0.1)
        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        events["_thread"] = thread

    jobs = [("score", path, bodies["score"])] * 24 + [("recommend", path, bodies["recommend"])] * 8
    try:
        result = run_load(port, jobs, args.swap_seconds, args.client_procs,
                          on_tick=swapper, server_pid=proc.pid)
        events.pop("_thread").join(timeout=90)
        result["server_peak_rss_mb"] = _peak_rss_mb(proc.pid)
    finally:
        stop_server(proc)
    samples, start_at = result.pop("samples"), result.pop("start_at")
    per_signature = {sig: _summary([s for s in samples if s[3] == sig], result["wall_s"])
                     for sig in ("score", "recommend")}
    served_at = start_at + events.get("served_s", float("inf"))
    return {"concurrency": 32, "mix": "24 score + 8 recommend clients", **result, **events,
            "per_signature": per_signature,
            "answered_after_v2_served": sum(1 for s in samples if s[2] and s[1] > served_at)}


def _table(payload):
    from bench.report import markdown_table
    rows = []
    floor = {(f["signature"], f["path"]): f for f in payload["floor"]}
    runs = payload["runs"]
    for sig in ("score", "recommend"):
        for (fsig, path), f in floor.items():
            if fsig != sig:
                continue
            rate = f"{f['calls_per_s']:,} calls"
            if "64 users" in path:
                rate += f" ({64 * f['calls_per_s']:,.0f} users)"
            rows.append([f"`{sig}`", f"in-process {path} (floor)", 1, rate,
                         f["p50_ms"], f["p99_ms"], "-", "-", "-", "-"])
        for concurrency in CONCURRENCY:
            plain = next(r for r in runs if r["signature"] == sig and not r["batching"]
                         and r["concurrency"] == concurrency)
            for r in runs:
                if r["signature"] != sig or r["concurrency"] != concurrency:
                    continue
                rate = f"{r['requests_per_s']:,}"
                if r["batching"] and plain["requests_per_s"]:
                    rate += f" ({r['requests_per_s'] / plain['requests_per_s']:.1f}x)"
                rows.append([f"`{sig}`", f"HTTP, {r['config']}", concurrency, rate,
                             r["p50_ms"], r["p99_ms"], f"{r['failed']} / {r['requests']:,}",
                             r["server_cpu"], r["client_cpu"], r.get("server_peak_rss_mb")])
    table = markdown_table(["signature", "path", "clients", "requests/s (vs no batching)",
                            "p50 ms", "p99 ms", "failed / requests", "server CPU",
                            "client CPU", "server peak RSS MB"], rows)
    s = payload["swap"]
    timeline = (f"version 2 export started at {s.get('export_started_s', '-')} s, written at "
                f"{s.get('export_written_s', '-')} s, served at {s.get('served_s', '-')} s; "
                f"version 1 unloaded at {s.get('old_unloaded_s', '-')} s; "
                f"{s.get('answered_after_v2_served', 0):,} requests answered by version 2")
    swap_rows = [[f"all ({s['mix']})", s["wall_s"], f"{s['failed']} / {s['requests']:,}",
                  f"{s['requests_per_s']:,}", s["p50_ms"], s["p99_ms"]]]
    for sig, r in s["per_signature"].items():
        swap_rows.append([f"`{sig}`", r["wall_s"], f"{r['failed']} / {r['requests']:,}",
                          f"{r['requests_per_s']:,}", r["p50_ms"], r["p99_ms"]])
    swap = markdown_table(["hot-swap run: 32 clients, dynamic batching, new version mid-run",
                           "seconds", "failed / requests", "requests/s", "p50 ms", "p99 ms"],
                          swap_rows)
    swap += f"\n\nTimeline (seconds from the start of the run): {timeline}."
    by = {(r["signature"], r["config"], r["concurrency"]): r for r in runs}
    default = CONFIGS[1][0]
    ratio = (by[("score", default, 32)]["requests_per_s"]
             / max(by[("score", "no batching", 32)]["requests_per_s"], 1e-9))
    load = ", ".join(f"{x:.1f}" for x in payload["load_average"])
    secs = payload["seconds_per_run"]
    note = (f"`score` at 32 clients: dynamic batching (defaults) gives {ratio:.1f}x the "
            "requests/s of no batching (target: at least 2x). "
            f"Export: {payload['export']}. `score`: 4 random (user, item) rows per request "
            f"(row format); `recommend`: 1 user, k={K}, 0-4 excluded items (columnar). The "
            "floor rows compare one `recommend` call for 1 user with one for 64 users: a "
            "request is scored in one model call of its own size (up to 2**17 (user, item) "
            "pairs per call), so batching shares the per-call overhead. "
            f"Closed loop ({secs['score']:g} s per `score` run, {secs['recommend']:g} s per "
            f"`recommend` run; requests started in the window are measured to completion), "
            f"{payload['client_procs']} client processes with one keep-alive connection per "
            "client; the server in its own process on 127.0.0.1. CPU columns: CPU seconds "
            "per wall second (2.0 = both cores); peak RSS is per server process (one per "
            "row group). The machine was shared with other jobs (load average at the end: "
            f"{load}); figures vary from run to run.")
    return f"{table}\n\n{swap}\n\n{note}"


if __name__ == "__main__":
    main()
