"""tfdeeprec.serving over HTTP on ephemeral ports: endpoints, formats, errors, batching,
hot-swap of versions and the body limit."""

import asyncio
import base64
import gc
import http.client
import json
import os
import socket
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from tfdeeprec._keras import tf
from tfdeeprec.serving import make_server
from tfdeeprec.serving import ApiError, ModelRegistry
from tfdeeprec.serving.batcher import Batcher
from tfdeeprec.serving.signature import PredictRequest, TensorInfo

USERS = ["u0", "u1", "u2", "u3", "u4"]  # the vocabularies of conftest's `toy` model
ITEMS = ["i0", "i1", "i2", "i3", "i4", "i5"]


def _ok(http, server):
    """The server still answers a normal predict."""
    status, body = http(server.url, "/v1/models/toy:predict",
                        {"instances": [{"user_id": "u1", "item_id": "i2"}]})
    assert status == 200, body
    assert set(body["predictions"][0]) == {"score", "known"}


def _expected_score(reference, users, items):
    out = reference["score"](user_id=tf.constant(users), item_id=tf.constant(items))
    return out["score"].numpy(), out["known"].numpy()


def _expected_recommend(reference, users, k, exclude):
    out = reference["recommend"](user_id=tf.constant(users), k=tf.constant(k, tf.int32),
                                 exclude=tf.constant(exclude, tf.string,
                                                     shape=(len(users), len(exclude[0])
                                                            if exclude else 0)))
    return ([[x.decode() for x in row] for row in out["item_ids"].numpy()],
            out["scores"].numpy())


class TestStatus:
    def test_model_status(self, server, http):
        status, body = http(server.url, "/v1/models/toy")
        assert status == 200
        assert body == {"model_version_status": [{
            "version": "1", "state": "AVAILABLE",
            "status": {"error_code": "OK", "error_message": ""}}]}

    def test_version_status(self, server, http):
        status, body = http(server.url, "/v1/models/toy/versions/1")
        assert status == 200
        assert body["model_version_status"][0]["version"] == "1"

    def test_unknown_model_and_version_are_404(self, server, http):
        for path in ("/v1/models/nope", "/v1/models/toy/versions/7",
                     "/v1/models/toy/versions/7/metadata", "/v1/models/nope/metadata",
                     "/v1/models/toy/labels/stable"):
            status, body = http(server.url, path)
            assert status == 404, path
            assert "error" in body
        _ok(http, server)


class TestMetadata:
    def test_metadata_lists_every_signature(self, server, http):
        status, body = http(server.url, "/v1/models/toy/metadata")
        assert status == 200
        assert body["model_spec"] == {"name": "toy", "signature_name": "", "version": "1"}
        defs = body["metadata"]["signature_def"]["signature_def"]
        assert set(defs) == {"serving_default", "score", "recommend"}
        score = defs["score"]
        assert score["method_name"] == "tensorflow/serving/predict"
        assert score["inputs"]["user_id"] == {
            "dtype": "DT_STRING", "name": "score_user_id:0",
            "tensor_shape": {"dim": [{"size": "-1", "name": ""}], "unknown_rank": False}}
        assert score["outputs"]["score"]["dtype"] == "DT_FLOAT"
        assert score["outputs"]["known"]["dtype"] == "DT_BOOL"
        rec = defs["recommend"]
        assert rec["inputs"]["k"]["dtype"] == "DT_INT32"
        assert rec["inputs"]["k"]["tensor_shape"]["dim"] == []
        assert [d["size"] for d in rec["inputs"]["exclude"]["tensor_shape"]["dim"]] == \
            ["-1", "-1"]
        assert rec["outputs"]["item_ids"]["dtype"] == "DT_STRING"

    def test_version_metadata(self, server, http):
        status, body = http(server.url, "/v1/models/single/versions/1/metadata")
        assert status == 200
        defs = body["metadata"]["signature_def"]["signature_def"]
        assert defs["serving_default"]["inputs"]["x"]["tensor_shape"]["dim"] == [
            {"size": "-1", "name": ""}, {"size": "3", "name": ""}]
        assert defs["typed"]["inputs"]["count"]["dtype"] == "DT_INT64"


class TestPredict:
    def test_row_format_gives_one_object_per_row(self, server, http, reference):
        users, items = ["u0", "u3", "ghost"], ["i1", "i5", "i1"]
        status, body = http(server.url, "/v1/models/toy:predict", {
            "signature_name": "score",
            "instances": [{"user_id": u, "item_id": i} for u, i in zip(users, items)]})
        assert status == 200, body
        scores, known = _expected_score(reference, users, items)
        assert [p["known"] for p in body["predictions"]] == known.tolist()
        # Floats come back as the same float32, to the last bit.
        np.testing.assert_array_equal(
            np.array([p["score"] for p in body["predictions"]], np.float32), scores)
        assert body["predictions"][2] == {"score": 0.0, "known": False}

    def test_columnar_format_gives_outputs(self, server, http, reference):
        status, body = http(server.url, "/v1/models/toy/versions/1:predict", {
            "inputs": {"user_id": ["u1", "u2"], "item_id": ["i0", "i4"]}})
        assert status == 200, body
        scores, known = _expected_score(reference, ["u1", "u2"], ["i0", "i4"])
        assert body["outputs"]["known"] == known.tolist()
        np.testing.assert_array_equal(np.array(body["outputs"]["score"], np.float32), scores)

    def test_single_input_and_output_use_bare_values(self, server, http):
        rows = [[1.0, 0.0, 0.0], [0.5, 1, 2]]
        assert http(server.url, "/v1/models/single:predict", {"instances": rows}) == \
            (200, {"predictions": [1.0, 8.5]})
        keyed = [{"x": r} for r in rows]
        assert http(server.url, "/v1/models/single:predict", {"instances": keyed}) == \
            (200, {"predictions": [1.0, 8.5]})
        assert http(server.url, "/v1/models/single:predict", {"inputs": rows}) == \
            (200, {"outputs": [1.0, 8.5]})
        assert http(server.url, "/v1/models/single:predict", {"inputs": {"x": rows}}) == \
            (200, {"outputs": [1.0, 8.5]})

    def test_recommend_row_format_takes_scalar_k_from_the_rows(self, server, http,
                                                               reference):
        status, body = http(server.url, "/v1/models/toy:predict", {
            "signature_name": "recommend",
            "instances": [{"user_id": "u1", "k": 3, "exclude": ["i0", "i2"]},
                          {"user_id": "u4", "k": 3, "exclude": ["i5", ""]}]})
        assert status == 200, body
        ids, scores = _expected_recommend(reference, ["u1", "u4"], 3,
                                          [["i0", "i2"], ["i5", ""]])
        assert [p["item_ids"] for p in body["predictions"]] == ids
        np.testing.assert_array_equal(
            np.array([p["scores"] for p in body["predictions"]], np.float32), scores)
        assert "i0" not in ids[0] and "i2" not in ids[0] and "i5" not in ids[1]

    def test_recommend_row_format_rejects_disagreeing_k(self, server, http):
        status, body = http(server.url, "/v1/models/toy:predict", {
            "signature_name": "recommend",
            "instances": [{"user_id": "u1", "k": 3, "exclude": []},
                          {"user_id": "u2", "k": 2, "exclude": []}]})
        assert status == 400
        assert "`k` is a scalar" in body["error"] and "columnar" in body["error"]

    def test_recommend_columnar_format_takes_scalar_k(self, server, http, reference):
        status, body = http(server.url, "/v1/models/toy:predict", {
            "signature_name": "recommend",
            "inputs": {"user_id": ["u0", "u2"], "k": 2, "exclude": [["i1"], ["i3"]]}})
        assert status == 200, body
        ids, scores = _expected_recommend(reference, ["u0", "u2"], 2, [["i1"], ["i3"]])
        assert body["outputs"]["item_ids"] == ids
        np.testing.assert_array_equal(np.array(body["outputs"]["scores"], np.float32),
                                      scores)
        status, body = http(server.url, "/v1/models/toy:predict", {
            "signature_name": "recommend",
            "inputs": {"user_id": ["u0"], "k": [2], "exclude": [[]]}})
        assert status == 400 and "`k`" in body["error"]

    def test_bool_int_and_b64(self, server, http):
        status, body = http(server.url, "/v1/models/single:predict", {
            "signature_name": "typed",
            "instances": [{"flag": True, "count": 2 ** 40}, {"flag": False, "count": 3}]})
        assert status == 200, body
        assert body["predictions"] == [2 ** 41, -3]  # one output: bare values
        text = "héllo".encode()
        status, body = http(server.url, "/v1/models/single:predict", {
            "signature_name": "echo",
            "inputs": [{"b64": base64.b64encode(text).decode()}, "plain"]})
        assert status == 200, body
        assert body["outputs"]["upper"] == ["HéLLO", "PLAIN"]
        # Outputs named *_bytes come back base64-encoded, as in TF Serving.
        assert body["outputs"]["raw_bytes"] == [
            {"b64": base64.b64encode(text).decode()}, {"b64": base64.b64encode(b"plain")
                                                       .decode()}]

    def test_keep_alive_connection_survives_errors(self, server):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        good = json.dumps({"instances": [{"user_id": "u1", "item_id": "i1"}]})
        for body, status in ((good, 200), ("{nope", 400), (good, 200), ("[]", 400),
                             (good, 200)):
            conn.request("POST", "/v1/models/toy:predict", body)
            response = conn.getresponse()
            assert response.status == status
            assert "error" in json.loads(response.read()) or status == 200
        conn.request("GET", "/v1/models/nope")
        response = conn.getresponse()
        assert response.status == 404 and json.loads(response.read())["error"]
        conn.close()


    def test_expect_100_continue_and_http_1_0(self, server):
        body = json.dumps({"instances": [{"user_id": "u1", "item_id": "i1"}]}).encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"POST /v1/models/toy:predict HTTP/1.1\r\nHost: x\r\n"
                         b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
            assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue")
            sock.sendall(body)
            answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200 OK") and b"predictions" in answer
        # HTTP/1.0 without keep-alive: one answer, then the server closes.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"POST /v1/models/toy:predict HTTP/1.0\r\nContent-Length: %d\r\n"
                         b"\r\n%s" % (len(body), body))
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        answer = b"".join(chunks)
        assert answer.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in answer


ERRORS = [
    # (method, path, body, status, part of the message)
    ("POST", "/v1/models/toy:predict", b"{not json", 400, "malformed JSON"),
    ("POST", "/v1/models/toy:predict", b"\xff\xfe", 400, "malformed JSON"),
    ("POST", "/v1/models/toy:predict", b"[1, 2]", 400, "JSON object"),
    ("POST", "/v1/models/toy:predict", {"rows": []}, 400, "unknown key"),
    ("POST", "/v1/models/toy:predict", {}, 400, "'instances'"),
    ("POST", "/v1/models/toy:predict", {"instances": [], }, 400, "non-empty"),
    ("POST", "/v1/models/toy:predict",
     {"instances": [{"user_id": "u1"}]}, 400, "missing input `item_id`"),
    ("POST", "/v1/models/toy:predict",
     {"instances": [{"user_id": "u1", "item_id": "i1", "age": 3}]}, 400,
     "unknown input `age`"),
    ("POST", "/v1/models/toy:predict",
     {"inputs": {"user_id": ["u1"], "item_id": ["i1"]}, "instances": []}, 400, "not both"),
    ("POST", "/v1/models/toy:predict",
     {"instances": [{"user_id": 17, "item_id": "i1"}]}, 400, "expects DT_STRING"),
    ("POST", "/v1/models/toy:predict",
     {"inputs": {"user_id": "u1", "item_id": ["i1"]}}, 400, "rank 1"),
    ("POST", "/v1/models/toy:predict",
     {"inputs": {"user_id": [["u1"]], "item_id": ["i1"]}}, 400, "too many dimensions"),
    ("POST", "/v1/models/toy:predict", {"signature_name": "recommend", "inputs": {
        "user_id": ["u1", "u2"], "k": 2, "exclude": [["i1"], ["i1", "i2"]]}}, 400, "ragged"),
    ("POST", "/v1/models/toy:predict", {"signature_name": "recommend", "inputs": {
        "user_id": ["u1"], "k": 2.5, "exclude": [[]]}}, 400, "expects DT_INT32"),
    ("POST", "/v1/models/toy:predict", {"signature_name": "recommend", "inputs": {
        "user_id": ["u1"], "k": True, "exclude": [[]]}}, 400, "expects DT_INT32"),
    ("POST", "/v1/models/toy:predict", {"signature_name": "recommend", "inputs": {
        "user_id": ["u1"], "k": 2 ** 40, "exclude": [[]]}}, 400, "out of range"),
    ("POST", "/v1/models/toy:predict", {"signature_name": "recommend", "inputs": {
        "user_id": ["u1"], "k": 99, "exclude": [[]]}}, 400, "rejected the input"),
    ("POST", "/v1/models/single:predict", {"instances": [[1, 2]]}, 400, "size 3"),
    ("POST", "/v1/models/single:predict", {"instances": [["1", 2, 3]]}, 400, "DT_FLOAT"),
    ("POST", "/v1/models/single:predict", {"signature_name": "typed", "instances": [
        {"flag": 1, "count": 1}]}, 400, "DT_BOOL"),
    ("POST", "/v1/models/single:predict", {"signature_name": "echo", "instances": [
        {"b64": "!!!"}]}, 400, "base64"),
    ("POST", "/v1/models/toy:predict", {"signature_name": 3, "instances": [1]}, 400,
     "'signature_name'"),
    ("POST", "/v1/models/toy:predict", {"signature_name": "nope", "instances": [1]}, 404,
     "signature 'nope'"),
    ("POST", "/v1/models/nope:predict", {"instances": [1]}, 404, "model 'nope'"),
    ("POST", "/v1/models/toy/versions/9:predict", {"instances": [1]}, 404, "version 9"),
    ("POST", "/v1/models/toy/versions/x1:predict", {"instances": [1]}, 400, "integer"),
    ("GET", "/v1/models/toy:predict", None, 405, "use POST"),
    ("POST", "/v1/models/toy", {}, 405, "use GET"),
    ("DELETE", "/v1/models/toy/metadata", None, 405, "use GET"),
    ("GET", "/v1/models", None, 404, "no such endpoint"),
    ("GET", "/", None, 404, "no such endpoint"),
    ("GET", "/v2/models/toy", None, 404, "no such endpoint"),
    ("POST", "/v1/models/toy:classify", {}, 501, "tf.Example"),
    ("GET", "/v1/models/..", None, 400, "invalid model name"),
    ("GET", "/v1/models/.hidden", None, 400, "invalid model name"),
    ("GET", "/v1/models/..%2Fetc/metadata", None, 400, "invalid model name"),
    ("POST", "/v1/models/toy%2F..%2F..:predict", {}, 400, "invalid model name"),
]


class TestError:
    @pytest.mark.parametrize("method,path,body,status,message", ERRORS,
                             ids=[f"{e[3]}-{i}" for i, e in enumerate(ERRORS)])
    def test_error_is_json_and_server_keeps_serving(self, server, http, method, path, body,
                                                    status, message):
        got, payload = http(server.url, path, body, method=method)
        assert got == status, payload
        assert set(payload) == {"error"} and message in payload["error"], payload
        _ok(http, server)

    def test_body_limit_is_checked_before_reading(self, server, http, raw_request):
        # Claims 1 GB and sends nothing: the 413 comes from Content-Length alone.
        answer = raw_request(server.port, b"POST /v1/models/toy:predict HTTP/1.1\r\n"
                             b"Host: x\r\nContent-Length: 1000000000\r\n\r\n")
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413") and b"Connection: close" in head
        assert "exceeds the limit of 4096 bytes" in json.loads(body)["error"]
        _ok(http, server)

    def test_body_over_the_limit_is_413(self, server, http):
        rows = [{"user_id": "u1", "item_id": "i1"}] * 200  # ~7 KB > 4096
        status, body = http(server.url, "/v1/models/toy:predict", {"instances": rows})
        assert status == 413 and "limit" in body["error"]
        _ok(http, server)

    def test_missing_content_length_is_411(self, server, http, raw_request):
        answer = raw_request(server.port, b"POST /v1/models/toy:predict HTTP/1.1\r\n"
                             b"Host: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 411")
        answer = raw_request(server.port, b"GARBAGE\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400") and b'"error"' in answer
        _ok(http, server)


class TestBatching:
    def test_concurrent_requests_match_unbatched_answers(self, model_base, http, reference):
        jobs = []
        rng = np.random.default_rng(3)
        for j in range(24):
            if j % 2:
                n = int(rng.integers(1, 4))
                users = [str(x) for x in rng.choice(USERS + ["ghost"], n)]
                items = [str(x) for x in rng.choice(ITEMS, n)]
                jobs.append(("score", users, items))
            else:
                k = int(rng.integers(2, 4))
                width = int(rng.integers(0, 4))
                users = [str(rng.choice(USERS))]
                exclude = [[str(x) for x in rng.choice(ITEMS, width, replace=False)]]
                jobs.append(("recommend", users, k, exclude))
        jobs.append(("bad",))
        results = [None] * len(jobs)

        def call(url, index, job):
            if job[0] == "score":
                body = {"signature_name": "score", "instances": [
                    {"user_id": u, "item_id": i} for u, i in zip(job[1], job[2])]}
            elif job[0] == "recommend":
                body = {"signature_name": "recommend", "instances": [
                    {"user_id": job[1][0], "k": job[2], "exclude": job[3][0]}]}
            else:
                body = {"signature_name": "score", "instances": [
                    {"user_id": 5, "item_id": "i1"}]}
            start.wait()
            results[index] = http(url, "/v1/models/toy:predict", body)

        with make_server(model_base, port=0, poll_seconds=0, max_batch_size=8,
                         batch_timeout_ms=200.0) as srv:
            start = threading.Barrier(len(jobs))
            threads = [threading.Thread(target=call, args=(srv.url, i, job))
                       for i, job in enumerate(jobs)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            stats = dict(srv.batcher.stats)
        for job, (status, body) in zip(jobs, results):
            if job[0] == "bad":
                assert status == 400 and "DT_STRING" in body["error"]
                continue
            assert status == 200, body
            if job[0] == "score":
                scores, known = _expected_score(reference, job[1], job[2])
                got = body["predictions"]
                assert [p["known"] for p in got] == known.tolist()
                np.testing.assert_array_equal(
                    np.array([p["score"] for p in got], np.float32), scores)
            else:
                ids, scores = _expected_recommend(reference, job[1], job[2], job[3])
                assert body["predictions"][0]["item_ids"] == ids[0]
                # A matmul over more rows may round differently in the last bit.
                np.testing.assert_allclose(
                    np.array(body["predictions"][0]["scores"], np.float32), scores[0],
                    rtol=1e-6, atol=1e-7)
        # Requests really shared calls: fewer signature calls than requests.
        assert stats["requests"] == len(jobs) - 1
        assert stats["calls"] < stats["requests"]
        assert 1 < stats["largest_batch"] <= 8

    def test_batcher_pads_string_inputs_and_splits(self, model_base, reference):
        registry = ModelRegistry(model_base, poll_seconds=0)
        registry.start()
        bodies = [{"inputs": {"user_id": ["u1", "u2"], "k": 2,
                              "exclude": [["i0", "i1", "i2"], ["i3", "i4", ""]]}},
                  {"inputs": {"user_id": ["u3"], "k": 2, "exclude": [[]]}},
                  {"inputs": {"user_id": ["u0"], "k": 2, "exclude": [["i5"]]}}]
        with registry.lease("toy") as servable, ThreadPoolExecutor(2) as pool:
            batcher = Batcher(pool, max_batch_size=100, batch_timeout_ms=300.0)
            signature = servable.signature("recommend")
            outputs = _gather(batcher.run(servable, signature, signature.parse(b))
                              for b in bodies)
        assert batcher.stats == {"calls": 1, "requests": 3, "rows": 4, "largest_batch": 4}
        for body, out in zip(bodies, outputs):
            ids, scores = _expected_recommend(reference, body["inputs"]["user_id"], 2,
                                              body["inputs"]["exclude"])
            assert [[x.decode() for x in row] for row in out["item_ids"]] == ids
            np.testing.assert_allclose(out["scores"], scores, rtol=1e-6, atol=1e-7)

    def test_different_k_and_oversized_requests_run_apart(self, model_base):
        registry = ModelRegistry(model_base, poll_seconds=0)
        registry.start()
        with registry.lease("toy") as servable, ThreadPoolExecutor(2) as pool:
            batcher = Batcher(pool, max_batch_size=2, batch_timeout_ms=100.0)
            rec = servable.signature("recommend")
            score = servable.signature("score")
            requests = [
                (rec, {"inputs": {"user_id": ["u1"], "k": 2, "exclude": [[]]}}),
                (rec, {"inputs": {"user_id": ["u1"], "k": 3, "exclude": [[]]}}),
                (score, {"inputs": {"user_id": ["u1"] * 3, "item_id": ["i1"] * 3}})]
            outputs = _gather(batcher.run(servable, sig, sig.parse(body))
                              for sig, body in requests)
        assert batcher.stats["calls"] == 3 and batcher.stats["largest_batch"] == 3
        assert outputs[0]["item_ids"].shape == (1, 2)
        assert outputs[1]["item_ids"].shape == (1, 3)
        assert outputs[2]["score"].shape == (3,)

    def test_requests_queue_into_one_batch_while_the_signature_runs(self):
        signature, owner = _SlowSignature(), object()

        def request(i):
            return PredictRequest({"x": np.array([i, i], np.float32)}, 2, False, ("slow",))

        async def scenario(batcher):
            first = asyncio.ensure_future(batcher.run(owner, signature, request(0)))
            await asyncio.sleep(0.1)  # the first runs alone, at once (timeout 0)
            others = [batcher.run(owner, signature, request(i)) for i in range(1, 6)]
            return await asyncio.gather(first, *others)

        with ThreadPoolExecutor(2) as pool:
            results = asyncio.run(scenario(Batcher(pool, max_batch_size=64)))
        # The five that came while the first ran were served by one call.
        assert signature.calls == [2, 10]
        assert [r["y"].tolist() for r in results] == [[2.0 * i, 2.0 * i] for i in range(6)]

    def test_a_failing_request_does_not_fail_its_batch(self):
        signature, owner = _SlowSignature(fail_on=3.0), object()

        async def scenario(batcher):
            calls = [batcher.run(owner, signature, PredictRequest(
                {"x": np.array([i], np.float32)}, 1, False, ("slow",))) for i in range(5)]
            return await asyncio.gather(*calls, return_exceptions=True)

        with ThreadPoolExecutor(2) as pool:
            results = asyncio.run(scenario(Batcher(pool, batch_timeout_ms=200.0)))
        assert signature.calls == [5, 1, 1, 1, 1, 1]  # the batch, then each alone
        assert isinstance(results[3], ApiError) and results[3].status == 400
        assert [r["y"].tolist() for i, r in enumerate(results) if i != 3] == [
            [0.0], [2.0], [4.0], [8.0]]


    def test_fast_signatures_run_on_the_loop_thread_in_batches(self):
        signature, owner = _SlowSignature(first_seconds=0.0), object()

        def request(i):
            return PredictRequest({"x": np.array([i], np.float32)}, 1, False, ("slow",))

        async def scenario(batcher):
            first = await batcher.run(owner, signature, request(0))  # timed on a thread
            # Requests read in the same loop turn form one batch, run inline.
            rest = await asyncio.gather(*(batcher.run(owner, signature, request(i))
                                          for i in range(1, 6)))
            return [first, *rest], threading.get_ident()

        with ThreadPoolExecutor(2) as pool:
            results, loop_thread = asyncio.run(scenario(Batcher(pool)))
        assert signature.calls == [1, 5]
        assert signature.threads[0] != loop_thread and signature.threads[1] == loop_thread
        assert [r["y"].tolist() for r in results] == [[2.0 * i] for i in range(6)]


def _gather(coroutines):
    async def gather():
        return await asyncio.gather(*coroutines)
    return asyncio.run(gather())


def _serving_version(registry, name="toy"):
    with registry.lease(name) as servable:
        return servable.version


class _SlowSignature:
    """A stand-in signature: ``y = 2 * x``; the first call takes ``first_seconds``; a row
    equal to ``fail_on`` makes a call fail with 400. Records each call's rows and thread."""

    name = "slow"

    def __init__(self, fail_on=None, first_seconds=0.3):
        self.inputs = {"x": TensorInfo("x", tf.float32, (None,))}
        self.calls, self.threads = [], []
        self.fail_on = fail_on
        self.first_seconds = first_seconds

    def run(self, inputs):
        self.calls.append(len(inputs["x"]))
        self.threads.append(threading.get_ident())
        if len(self.calls) == 1:
            time.sleep(self.first_seconds)
        if self.fail_on is not None and self.fail_on in inputs["x"]:
            raise ApiError(400, "bad row")
        return {"y": inputs["x"] * 2}


def _wait_for(predicate, seconds=20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


class TestVersion:
    def test_new_version_is_picked_up_and_old_one_unloaded(self, tmp_path, write_version,
                                                          http):
        base = str(tmp_path / "base")
        write_version(base, "toy", 1)
        body = {"instances": [{"user_id": "u1", "item_id": "i1"}]}
        with make_server(base, port=0, poll_seconds=0.1) as srv:
            v1 = srv.registry.acquire("toy")
            v1.release()
            v1_model = weakref.ref(v1.loaded)
            first = http(srv.url, "/v1/models/toy:predict", body)[1]["predictions"][0]
            write_version(base, "toy", 2)
            assert _wait_for(lambda: http(srv.url, "/v1/models/toy/versions/2")[0] == 200)
            status = http(srv.url, "/v1/models/toy")[1]["model_version_status"]
            assert [(s["version"], s["state"]) for s in status] == [
                ("2", "AVAILABLE"), ("1", "END")]
            second = http(srv.url, "/v1/models/toy:predict", body)[1]["predictions"][0]
            # Version 2's weights are twice version 1's: the dot product is 4x.
            assert second["score"] == pytest.approx(4 * first["score"], rel=1e-5)
            assert http(srv.url, "/v1/models/toy/versions/2:predict", body)[0] == 200
            status, err = http(srv.url, "/v1/models/toy/versions/1:predict", body)
            assert status == 404 and "serving version 2" in err["error"]
            assert http(srv.url, "/v1/models/toy/metadata")[1]["model_spec"]["version"] == "2"
            del v1
            gc.collect()
            assert v1_model() is None, "version 1 is still referenced after unloading"

            # A version that cannot load is reported; version 2 keeps serving.
            os.makedirs(os.path.join(base, "toy", "3"))
            with open(os.path.join(base, "toy", "3", "saved_model.pb"), "wb") as f:
                f.write(b"not a SavedModel")
            assert _wait_for(lambda: any(
                s["version"] == "3" for s in
                http(srv.url, "/v1/models/toy")[1]["model_version_status"]))
            status = http(srv.url, "/v1/models/toy")[1]["model_version_status"]
            assert status[0]["version"] == "3" and status[0]["state"] == "END"
            assert status[0]["status"]["error_code"] == "UNKNOWN"
            assert status[0]["status"]["error_message"]
            assert http(srv.url, "/v1/models/toy:predict", body)[1]["predictions"][0] == second

            # A new model folder is served too; temporary folders are ignored.
            os.makedirs(os.path.join(base, ".staging", "1"))
            write_version(base, "other", 5)
            assert _wait_for(lambda: http(srv.url, "/v1/models/other")[0] == 200)
            assert http(srv.url, "/v1/models/.staging")[0] == 400

    def test_old_version_unloads_only_after_its_requests_finish(self, tmp_path,
                                                                 write_version):
        base = str(tmp_path / "base")
        write_version(base, "toy", 1)
        with make_server(base, port=0, poll_seconds=0) as srv:
            held = srv.registry.acquire("toy")          # an in-flight request
            write_version(base, "toy", 2)
            srv.registry.poll()
            assert held.state == "UNLOADING" and held.in_flight == 1
            signature = held.signature("score")
            out = signature.run(signature.parse(
                {"inputs": {"user_id": ["u1"], "item_id": ["i1"]}}).inputs)
            assert out["known"].tolist() == [True]      # still answers
            with srv.registry.lease("toy") as new:
                assert new.version == 2
            held.release()
            assert held.state == "END" and held.loaded is None

    def test_requests_in_flight_during_swaps_all_succeed(self, tmp_path, write_version):
        base = str(tmp_path / "base")
        write_version(base, "toy", 1)
        failures, answered = [], [0]
        stop = threading.Event()

        def client(port, signature):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            if signature == "score":
                body = json.dumps({"signature_name": "score", "instances": [
                    {"user_id": "u1", "item_id": "i2"}, {"user_id": "u3", "item_id": "i0"}]})
            else:
                body = json.dumps({"signature_name": "recommend", "instances": [
                    {"user_id": "u2", "k": 3, "exclude": ["i1"]}]})
            for _ in range(2000):  # bounded; stops earlier when told
                if stop.is_set():
                    break
                conn.request("POST", "/v1/models/toy:predict", body)
                response = conn.getresponse()
                payload = response.read()
                if response.status != 200:
                    failures.append((response.status, payload))
                else:
                    answered[0] += 1
            conn.close()

        with make_server(base, port=0, poll_seconds=0.05, max_batch_size=8,
                         batch_timeout_ms=1.0) as srv:
            threads = [threading.Thread(target=client, args=(srv.port, sig))
                       for sig in ["score", "recommend"] * 4]
            for t in threads:
                t.start()
            for version in (2, 3):
                time.sleep(0.3)
                write_version(base, "toy", version)
                assert _wait_for(lambda v=version: _serving_version(srv.registry) == v)
            time.sleep(0.3)
            stop.set()
            for t in threads:
                t.join(timeout=60)
            status = srv.registry.status("toy")
        assert not failures, failures[:3]
        assert answered[0] > 0
        assert [(s["version"], s["state"]) for s in status] == [
            ("3", "AVAILABLE"), ("2", "END"), ("1", "END")]


class TestRealExport:
    """The server over a SavedModel written by tfdeeprec's own exporter."""

    @pytest.fixture(scope="class")
    def exported(self, tmp_path_factory):
        export = pytest.importorskip("tfdeeprec.export")
        from tfdeeprec.data import EncodedInteractions, Vocabulary
        from tfdeeprec.models.registry import build_model
        train = EncodedInteractions(user=np.array([1, 1, 2, 3, 3], np.int32),
                                    item=np.array([1, 2, 3, 4, 1], np.int32), num_users=4,
                                    num_items=6, rating=np.array([4, 3, 5, 2, 1], np.float32))
        base = tmp_path_factory.mktemp("real_exports")
        path = export.export_model(
            build_model("mf", 4, 6, task="rating", embedding_dim=3),
            Vocabulary(["u1", "u2", "u3"]), Vocabulary(["a", "b", "c", "d", "e"]),
            task="rating", base=base, name="mf", train=train, max_k=4)
        return str(base), tf.saved_model.load(str(path)).signatures

    def test_every_signature_answers_as_in_process(self, exported, http):
        base, signatures = exported
        with make_server(base, port=0, poll_seconds=0, enable_batching=False) as srv:
            meta = http(srv.url, "/v1/models/mf/metadata")[1]
            assert {"serving_default", "score", "recommend"} <= set(
                meta["metadata"]["signature_def"]["signature_def"])
            users, items = ["u1", "u3", "ghost"], ["b", "zz", "a"]
            status, body = http(srv.url, "/v1/models/mf:predict", {"instances": [
                {"user_id": u, "item_id": i} for u, i in zip(users, items)]})
            assert status == 200, body
            want = signatures["serving_default"](user_id=tf.constant(users),
                                                 item_id=tf.constant(items))
            np.testing.assert_array_equal(
                np.array([p["score"] for p in body["predictions"]], np.float32),
                want["score"].numpy())
            assert [p["known"] for p in body["predictions"]] == want["known"].numpy().tolist()

            status, body = http(srv.url, "/v1/models/mf:predict", {
                "signature_name": "recommend",
                "inputs": {"user_id": ["u1", "u2"], "k": 3, "exclude": [["c", ""], ["a", "b"]]}})
            assert status == 200, body
            want = signatures["recommend"](user_id=tf.constant(["u1", "u2"]),
                                           k=tf.constant(3),
                                           exclude=tf.constant([["c", ""], ["a", "b"]]))
            assert body["outputs"]["item_ids"] == [[x.decode() for x in row] for row in
                                                   want["item_ids"].numpy()]
            np.testing.assert_array_equal(np.array(body["outputs"]["scores"], np.float32),
                                          want["scores"].numpy())

    def test_batched_recommend_matches_in_process(self, exported, http):
        base, signatures = exported
        cases = [("u1", 2, []), ("u2", 2, ["a"]), ("u3", 2, ["b", "c", "d"]),
                 ("ghost", 2, ["e"]), ("u1", 4, ["a", "b"])]
        results = [None] * len(cases)
        with make_server(base, port=0, poll_seconds=0, max_batch_size=16,
                         batch_timeout_ms=200.0) as srv:
            barrier = threading.Barrier(len(cases))

            def call(i, user, k, exclude):
                barrier.wait()
                results[i] = http(srv.url, "/v1/models/mf:predict", {
                    "signature_name": "recommend",
                    "instances": [{"user_id": user, "k": k, "exclude": exclude}]})

            threads = [threading.Thread(target=call, args=(i, *c)) for i, c in enumerate(cases)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert srv.batcher.stats["calls"] < len(cases)
        for (user, k, exclude), (status, body) in zip(cases, results):
            assert status == 200, body
            want = signatures["recommend"](user_id=tf.constant([user]), k=tf.constant(k),
                                           exclude=tf.constant([exclude], tf.string,
                                                               shape=(1, len(exclude))))
            got = body["predictions"][0]
            assert got["item_ids"] == [x.decode() for x in want["item_ids"].numpy()[0]]
            np.testing.assert_allclose(np.array(got["scores"], np.float32),
                                       want["scores"].numpy()[0], rtol=1e-6, atol=1e-7)


FRESH_PROCESS = """
import json, sys, urllib.request
import tfdeeprec.serving as serving
with serving.make_server(sys.argv[1], port=0, poll_seconds=0) as srv:
    body = json.dumps({"instances": [{"user_id": "u1", "item_id": "i1"}]}).encode()
    answer = json.loads(urllib.request.urlopen(urllib.request.Request(
        srv.url + "/v1/models/toy:predict", data=body), timeout=30).read())
print(json.dumps({"answer": answer, "modules": sorted(
    m for m in sys.modules if m.split(".")[0] == "tfdeeprec")}))
"""


def test_serving_imports_no_training_code(model_base):
    import subprocess
    import sys
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", FRESH_PROCESS, model_base],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.splitlines()[-1])
    assert out["answer"]["predictions"][0]["known"] is True
    assert [m for m in out["modules"]
            if m != "tfdeeprec" and not m.startswith("tfdeeprec.serving")] == []
