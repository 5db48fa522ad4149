#!/usr/bin/env python3
"""Tests of scripts/fault_proxy.py, the fault-injection proxy of the integration tests.

Run: python3 scripts/tests/test_fault_proxy.py   (scripts/test.sh runs it too)

Standard library only. A small recording HTTP server stands in for moto; each test
starts the proxy as a subprocess in front of it (reading the port from its
`listening on` line) and talks to it with http.client, one keep-alive connection at a
time, so the order in which the proxy receives requests is the order they are sent.
"""

import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
PROXY = os.path.join(os.path.dirname(HERE), "fault_proxy.py")

THROTTLED_BODY = {"message": "Rate exceeded"}
COUNTERS = (
    "requests",
    "throttled",
    "errors_before",
    "errors_after",
    "dropped_before",
    "dropped_after",
    "forwarded",
    "upstream_errors",
)


class RecordingHandler(BaseHTTPRequestHandler):
    """Records every request; the path chooses how the answer is framed:
    /__eof... no Content-Length, the body ends with the connection;
    /__chunked... chunked transfer coding;
    /__status/NNN an error answer with that status, AWS style;
    /__block... answered when the test sets `release` (recorded at once);
    anything else: 201 for a POST, 200 otherwise, a JSON body with a Content-Length."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.server.record(
            {"method": self.command, "path": self.path, "headers": list(self.headers.items()), "body": body}
        )
        if self.path.startswith("/__eof"):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until the end of the stream")
            self.close_connection = True
            return
        if self.path.startswith("/__chunked"):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in (b"first ", b"second ", b"third"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\nX-Trailer: ignored\r\n\r\n")
            return
        if self.path.startswith("/__block"):
            self.server.release.wait(10)
        match = re.fullmatch(r"/__status/(\d{3})", self.path)
        if match:
            status = int(match.group(1))
            payload = json.dumps({"message": "upstream says no"}).encode()
            self.send_response(status)
            self.send_header("x-amzn-ErrorType", "ResourceNotFoundException")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        payload = json.dumps({"method": self.command, "path": self.path, "length": len(body)}).encode()
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Upstream-Method", self.command)
        self.send_header("x-amzn-RequestId", "upstream-request-id")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class Upstream(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), RecordingHandler)
        self._lock = threading.Lock()
        self._received = []
        self.release = threading.Event()
        self.release.set()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def record(self, entry):
        with self._lock:
            self._received.append(entry)

    def received(self):
        with self._lock:
            return list(self._received)

    def clear(self):
        with self._lock:
            self._received.clear()

    def stop(self):
        self.shutdown()
        self.server_close()


class Proxy:
    """fault_proxy.py as a subprocess; options default to no faults and no limits."""

    DEFAULTS = {
        "seed": "1",
        "write-rate": "0",
        "read-rate": "0",
        "error-rate": "0",
        "drop-rate": "0",
        "latency-ms": "0",
    }

    def __init__(self, upstream_url, **options):
        opts = dict(self.DEFAULTS)
        opts.update({k.replace("_", "-"): str(v) for k, v in options.items()})
        cmd = [sys.executable, PROXY, "--upstream", upstream_url, "--port", "0", "-v"]
        for name, value in opts.items():
            cmd += [f"--{name}", value]
        self.stderr = tempfile.TemporaryFile()
        self.log = ""
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        line = self.proc.stdout.readline()
        match = re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)\n", line)
        if not match:
            self.kill()
            raise AssertionError(f"no `listening on` line, got {line!r}; stderr:\n{self.log}")
        self.port = int(match.group(1))

    def stderr_text(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def connection(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def control(self, method, name):
        conn = self.connection()
        try:
            conn.request(method, f"/__fault_proxy/{name}")
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()

    def stats(self):
        status, body = self.control("GET", "stats")
        assert status == 200, (status, body)
        return body

    def stop(self, signum=signal.SIGTERM):
        """Signals the proxy; returns its exit code and what else it wrote to stdout."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        rest = self.proc.stdout.read()
        self.kill()
        return code, rest

    def kill(self):
        """Stops the proxy if it still runs; returns what it logged."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self.stderr.closed:
            self.log = self.stderr_text()
            self.stderr.close()
        if not self.proc.stdout.closed:
            self.proc.stdout.close()
        return self.log


def exchange(conn, method, path, body=None, headers=None, encode_chunked=False):
    """One request; (status, reason, headers {lower name: value}, body)."""
    conn.request(method, path, body=body, headers=headers or {}, encode_chunked=encode_chunked)
    response = conn.getresponse()
    data = response.read()
    return response.status, response.reason, {k.lower(): v for k, v in response.getheaders()}, data


def outcome(conn, method, path, body=None):
    """The status, or "closed" when the proxy closed the connection without an answer."""
    try:
        return exchange(conn, method, path, body)[0]
    except (http.client.RemoteDisconnected, ConnectionError):
        conn.close()  # the next request opens a new connection
        return "closed"


def expected_faults(seed, count, error_rate, drop_rate):
    """The fault model of the proxy's docstring: three draws a request, in order."""
    rng = random.Random(seed)
    faults = []
    for _ in range(count):
        u_fault, u_side, _u_latency = rng.random(), rng.random(), rng.random()
        side = "before" if u_side < 0.5 else "after"
        if u_fault < error_rate:
            faults.append(f"error_{side}")
        elif u_fault < error_rate + drop_rate:
            faults.append(f"dropped_{side}")
        else:
            faults.append(None)
    return faults


class FaultProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.upstream = Upstream()

    @classmethod
    def tearDownClass(cls):
        cls.upstream.stop()

    def setUp(self):
        self.upstream.clear()

    def start(self, upstream_url=None, **options):
        proxy = Proxy(upstream_url or self.upstream.url, **options)
        self.addCleanup(self.stop_and_check_log, proxy)
        return proxy

    def stop_and_check_log(self, proxy):
        log = proxy.kill()
        # Faults are expected; exceptions that escaped a handler are not.
        for bad in ("Traceback", "unexpected error", "Exception in callback", "never retrieved"):
            self.assertNotIn(bad, log)

    def assertStatsAddUp(self, stats):
        totals = dict.fromkeys(COUNTERS, 0)
        for key, counters in stats["buckets"].items():
            self.assertEqual(set(counters), set(COUNTERS), key)
            for name in COUNTERS:
                totals[name] += counters[name]
            self.assertEqual(
                counters["requests"],
                counters["throttled"]
                + counters["errors_before"]
                + counters["dropped_before"]
                + counters["forwarded"]
                + counters["upstream_errors"],
                key,
            )
            self.assertLessEqual(
                counters["errors_after"] + counters["dropped_after"], counters["forwarded"], key
            )
        self.assertEqual(stats["totals"], totals)

    def test_forwarding_preserves_request_and_response(self):
        proxy = self.start()
        conn = proxy.connection()
        self.addCleanup(conn.close)
        body = bytes(range(256)) * 5
        sent_headers = {
            "Content-Type": "application/octet-stream",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/iot/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, Signature=0123456789abcdef",
            "X-Amz-Date": "20250101T000000Z",
            "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
            "X-Custom-Mixed": "Value  with  spaces",
        }
        target = "/things/thing%201/principals?x=1&y=a%2Fb"
        status, reason, headers, data = exchange(conn, "POST", target, body, sent_headers)
        self.assertEqual((status, reason), (201, "Created"))
        self.assertEqual(headers["x-upstream-method"], "POST")
        self.assertEqual(headers["x-amzn-requestid"], "upstream-request-id")
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(json.loads(data), {"method": "POST", "path": target, "length": len(body)})

        [seen] = self.upstream.received()
        self.assertEqual((seen["method"], seen["path"], seen["body"]), ("POST", target, body))
        upstream_headers = {k.lower(): v for k, v in seen["headers"]}
        for name, value in sent_headers.items():
            self.assertEqual(upstream_headers[name.lower()], value, name)
        self.assertEqual(upstream_headers["host"], f"127.0.0.1:{proxy.port}")
        self.assertEqual(upstream_headers["content-length"], str(len(body)))
        self.assertEqual(upstream_headers["connection"], "close")

        # A chunked request body reaches the upstream whole, framed by a Content-Length.
        self.upstream.clear()
        status, _, _, data = exchange(
            conn,
            "PUT",
            "/things/c",
            iter([b"abc", b"defgh"]),
            {"Transfer-Encoding": "chunked"},
            encode_chunked=True,
        )
        self.assertEqual(status, 200)
        [seen] = self.upstream.received()
        upstream_headers = {k.lower(): v for k, v in seen["headers"]}
        self.assertEqual(seen["body"], b"abcdefgh")
        self.assertEqual(upstream_headers["content-length"], "8")
        self.assertNotIn("transfer-encoding", upstream_headers)

        # A chunked answer and one delimited by the end of the stream come back whole,
        # with a Content-Length, on the same connection.
        status, _, headers, data = exchange(conn, "GET", "/__chunked/x")
        self.assertEqual((status, data), (200, b"first second third"))
        self.assertEqual(headers["content-length"], str(len(data)))
        self.assertNotIn("transfer-encoding", headers)
        status, _, headers, data = exchange(conn, "GET", "/__eof/x")
        self.assertEqual((status, data), (200, b"until the end of the stream"))
        self.assertEqual(headers["content-length"], str(len(data)))
        self.assertNotIn("connection", headers)

        # HEAD: no body, the upstream's Content-Length; upstream errors pass through.
        status, _, headers, data = exchange(conn, "HEAD", "/things/h")
        self.assertEqual((status, data), (200, b""))
        get_body = json.dumps({"method": "HEAD", "path": "/things/h", "length": 0})
        self.assertEqual(headers["content-length"], str(len(get_body)))
        status, _, headers, data = exchange(conn, "GET", "/__status/404")
        self.assertEqual(status, 404)
        self.assertEqual(headers["x-amzn-errortype"], "ResourceNotFoundException")
        self.assertEqual(json.loads(data), {"message": "upstream says no"})

    def test_expect_100_continue(self):
        proxy = self.start()
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as s:
            s.sendall(
                b"PUT /things/e HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n"
                b"Expect: 100-continue\r\n\r\n"
            )
            reader = s.makefile("rb")
            self.assertEqual(reader.readline(), b"HTTP/1.1 100 Continue\r\n")
            self.assertEqual(reader.readline(), b"\r\n")
            s.sendall(b"body")
            # The upstream's own 100 Continue is not passed on: the next is the answer.
            self.assertEqual(reader.readline(), b"HTTP/1.1 200 OK\r\n")
            reader.close()
        [seen] = self.upstream.received()
        self.assertEqual((seen["method"], seen["body"]), ("PUT", b"body"))

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        proxy = self.start()
        conn = proxy.connection()
        self.addCleanup(conn.close)
        sock = None
        for i in range(10):
            method = "POST" if i % 2 else "GET"
            body = b"x" * i if method == "POST" else None
            status, _, headers, _ = exchange(conn, method, f"/things/k{i}", body)
            self.assertEqual(status, 201 if method == "POST" else 200)
            self.assertNotEqual(headers.get("connection"), "close")
            if sock is None:
                sock = conn.sock
            self.assertIs(conn.sock, sock, "http.client had to reconnect")
        received = self.upstream.received()
        self.assertEqual([r["path"] for r in received], [f"/things/k{i}" for i in range(10)])
        for r in received:  # one upstream connection a request
            self.assertEqual(dict((k.lower(), v) for k, v in r["headers"])["connection"], "close")
        # A client asking for Connection: close gets its connection closed after the answer.
        status, _, headers, _ = exchange(conn, "GET", "/things/last", headers={"Connection": "close"})
        self.assertEqual((status, headers.get("connection")), (200, "close"))

    def test_burst_of_writes_is_throttled_to_the_write_rate(self):
        rate = 20
        proxy = self.start(write_rate=rate)
        conn = proxy.connection()
        self.addCleanup(conn.close)
        statuses = []
        started = time.monotonic()
        for i in range(60):
            status, _, headers, data = exchange(conn, "POST", f"/things/burst-{i}", b"{}")
            statuses.append(status)
            if status == 429:
                self.assertEqual(headers["x-amzn-errortype"], "ThrottlingException")
                self.assertEqual(headers["content-type"], "application/json")
                self.assertEqual(json.loads(data), THROTTLED_BODY)
            else:
                self.assertEqual(status, 201)
        elapsed = time.monotonic() - started
        passed = statuses.count(201)
        # A full bucket (one second of the rate) plus what refilled during the burst.
        self.assertGreaterEqual(passed, rate)
        self.assertLessEqual(passed, rate + int(rate * elapsed) + 1, f"burst took {elapsed:.2f} s")
        self.assertEqual(statuses[:rate], [201] * rate)
        self.assertEqual(len([r for r in self.upstream.received() if r["method"] == "POST"]), passed)

        # Reads are not limited (--read-rate 0).
        for i in range(60):
            self.assertEqual(exchange(conn, "GET", f"/things/burst-{i}")[0], 200)
        stats = proxy.stats()
        self.assertEqual(stats["buckets"]["POST /things"]["throttled"], 60 - passed)
        self.assertEqual(stats["buckets"]["GET /things"]["throttled"], 0)
        self.assertEqual(stats["buckets"]["GET /things"]["forwarded"], 60)
        self.assertStatsAddUp(stats)

    def test_buckets_are_independent(self):
        rate = 5
        proxy = self.start(write_rate=rate, read_rate=rate)
        conn = proxy.connection()
        self.addCleanup(conn.close)
        started = time.monotonic()

        def passed(method, paths):
            statuses = [exchange(conn, method, p, b"{}")[0] for p in paths]
            return statuses.count(201 if method == "POST" else 200)

        things = passed("POST", [f"/things/a{i}" for i in range(8)])
        policies = passed("POST", [f"/policies/p{i}" for i in range(8)])
        put_things = passed("PUT", [f"/things/a{i}" for i in range(8)])
        get_things = passed("GET", [f"/things/a{i}" for i in range(8)])
        # Same method, same first segment: the POST /things bucket, already empty.
        principals = passed("POST", [f"/things/a{i}/principals" for i in range(8)])
        refill = int(rate * (time.monotonic() - started)) + 1
        for name, count in (("POST /things", things), ("POST /policies", policies),
                            ("PUT /things", put_things), ("GET /things", get_things)):
            self.assertGreaterEqual(count, rate, name)
            self.assertLessEqual(count, rate + refill, name)
        self.assertLessEqual(principals, refill)

        stats = proxy.stats()
        self.assertEqual(
            sorted(stats["buckets"]), ["GET /things", "POST /policies", "POST /things", "PUT /things"]
        )
        self.assertEqual(stats["buckets"]["POST /things"]["requests"], 16)
        self.assertEqual(stats["buckets"]["POST /things"]["throttled"], 16 - things - principals)
        self.assertStatsAddUp(stats)

    def run_sequence(self, seed, count=40, error_rate=0.5, drop_rate=0.2):
        """count POSTs, one after the other: (outcomes, indexes the upstream got, stats)."""
        self.upstream.clear()
        proxy = self.start(seed=seed, error_rate=error_rate, drop_rate=drop_rate, latency_ms="0-2")
        conn = proxy.connection()
        self.addCleanup(conn.close)
        outcomes = [outcome(conn, "POST", f"/things/r{i}", f"request {i}".encode()) for i in range(count)]
        received = [int(r["path"][len("/things/r"):]) for r in self.upstream.received()]
        stats = proxy.stats()
        self.assertEqual(proxy.stop()[0], 0)
        return outcomes, received, stats

    def test_fault_sequence_is_reproducible_for_a_seed(self):
        first = self.run_sequence(seed=7)
        second = self.run_sequence(seed=7)
        self.assertEqual(first[0], second[0])
        self.assertEqual(first[1], second[1])
        self.assertEqual(first[2], second[2])
        self.assertNotEqual(self.run_sequence(seed=8)[0], first[0])

        outcomes, received, stats = first
        self.assertEqual(set(outcomes), {201, 500, 503, "closed"})
        # The documented model: three draws a request from random.Random(seed).
        faults = expected_faults(7, 40, 0.5, 0.2)
        answer = {
            None: 201,
            "error_before": 503,
            "error_after": 500,
            "dropped_before": "closed",
            "dropped_after": "closed",
        }
        self.assertEqual(outcomes, [answer[f] for f in faults])
        applied = [i for i, f in enumerate(faults) if f in (None, "error_after", "dropped_after")]
        self.assertEqual(received, applied)
        totals = stats["totals"]
        self.assertEqual(totals["requests"], 40)
        self.assertEqual(totals["errors_before"], outcomes.count(503))
        self.assertEqual(totals["errors_after"], outcomes.count(500))
        self.assertEqual(totals["dropped_before"] + totals["dropped_after"], outcomes.count("closed"))
        self.assertEqual(totals["forwarded"], len(received))
        self.assertStatsAddUp(stats)

    def test_dropped_after_forwarding_reached_the_upstream(self):
        proxy = self.start(drop_rate=1, seed=3)
        conn = proxy.connection()
        self.addCleanup(conn.close)
        outcomes = [outcome(conn, "PUT", f"/things/d{i}", b"payload") for i in range(16)]
        self.assertEqual(outcomes, ["closed"] * 16)
        received = self.upstream.received()
        stats = proxy.stats()["totals"]
        self.assertGreater(len(received), 0)
        self.assertLess(len(received), 16)
        self.assertEqual(stats["dropped_after"], len(received))
        self.assertEqual(stats["dropped_before"], 16 - len(received))
        self.assertEqual(stats["forwarded"], len(received))
        self.assertTrue(all(r["body"] == b"payload" for r in received))

    def test_stats_add_up_reset_and_stats_file_on_sigterm(self):
        with tempfile.TemporaryDirectory() as tmp:
            stats_file = os.path.join(tmp, "stats.json")
            proxy = self.start(seed=3, write_rate=3, error_rate=0.3, drop_rate=0.1, stats_file=stats_file)
            conn = proxy.connection()
            self.addCleanup(conn.close)
            outcomes = [outcome(conn, "POST", "/things/s", b"{}") for _ in range(12)]
            outcomes += [outcome(conn, "GET", "/things/s") for _ in range(12)]
            outcomes += [outcome(conn, "PUT", "/jobs/x", b"{}") for _ in range(5)]
            self.assertEqual(proxy.control("GET", "nope")[0], 404)  # not counted either

            stats = proxy.stats()
            self.assertStatsAddUp(stats)
            buckets = stats["buckets"]
            self.assertEqual({k: v["requests"] for k, v in buckets.items()},
                             {"POST /things": 12, "GET /things": 12, "PUT /jobs": 5})
            totals = stats["totals"]
            self.assertEqual(totals["throttled"], outcomes.count(429))
            self.assertGreater(totals["throttled"], 0)
            self.assertEqual(buckets["GET /things"]["throttled"], 0)
            self.assertEqual(totals["errors_before"], outcomes.count(503))
            self.assertEqual(totals["errors_after"], outcomes.count(500))
            self.assertEqual(totals["dropped_before"] + totals["dropped_after"], outcomes.count("closed"))
            self.assertEqual(totals["forwarded"], len(self.upstream.received()))

            status, after_reset = proxy.control("POST", "reset")
            self.assertEqual(status, 200)
            self.assertEqual(after_reset, {"buckets": {}, "totals": dict.fromkeys(COUNTERS, 0)})
            self.assertEqual(proxy.stats(), after_reset)
            self.assertEqual(proxy.control("POST", "stats")[0], 405)
            self.assertEqual(proxy.control("GET", "reset")[0], 405)

            while outcome(conn, "GET", "/policies/one") == "closed":
                pass
            stats = proxy.stats()
            self.assertEqual(stats["totals"]["requests"], stats["buckets"]["GET /policies"]["requests"])
            code, rest = proxy.stop(signal.SIGTERM)
            self.assertEqual((code, rest), (0, ""))
            with open(stats_file, encoding="utf-8") as f:
                self.assertEqual(json.load(f), stats)

    def test_sigint_writes_the_stats_file_and_exits_0(self):
        with tempfile.TemporaryDirectory() as tmp:
            stats_file = os.path.join(tmp, "stats.json")
            proxy = self.start(stats_file=stats_file)
            conn = proxy.connection()  # an open keep-alive connection does not hold it up
            self.addCleanup(conn.close)
            self.assertEqual(exchange(conn, "GET", "/things")[0], 200)
            self.assertEqual(proxy.stop(signal.SIGINT), (0, ""))
            with open(stats_file, encoding="utf-8") as f:
                self.assertEqual(json.load(f)["totals"]["forwarded"], 1)

    def test_sigterm_lets_a_request_in_flight_finish(self):
        proxy = self.start()
        self.upstream.release.clear()
        self.addCleanup(self.upstream.release.set)
        answers = []
        conn = proxy.connection()
        self.addCleanup(conn.close)
        client = threading.Thread(
            target=lambda: answers.append(exchange(conn, "POST", "/__block/late", b"{}"))
        )
        client.start()
        idle = proxy.connection()  # an idle keep-alive connection does not hold it up
        self.addCleanup(idle.close)
        self.assertEqual(exchange(idle, "GET", "/things/idle")[0], 200)

        def wait_for(condition):
            deadline = time.monotonic() + 5
            while not condition():
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.01)

        wait_for(lambda: any(r["path"] == "/__block/late" for r in self.upstream.received()))
        proxy.proc.send_signal(signal.SIGTERM)
        wait_for(lambda: "stopping" in proxy.stderr_text())
        self.upstream.release.set()  # the upstream answers only now
        self.assertEqual(proxy.stop(signal.SIGTERM), (0, ""))
        client.join(5)
        [(status, _, headers, _)] = answers
        self.assertEqual((status, headers.get("connection")), (201, "close"))

    def test_upstream_failure_answers_502_and_the_proxy_survives(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed_port = s.getsockname()[1]
        proxy = self.start(f"http://127.0.0.1:{closed_port}")
        conn = proxy.connection()
        self.addCleanup(conn.close)
        for _ in range(2):
            status, _, headers, data = exchange(conn, "POST", "/things/x", b"{}")
            self.assertEqual(status, 502)
            self.assertEqual(headers["content-type"], "application/json")
            self.assertIn("Bad gateway", json.loads(data)["message"])
        totals = proxy.stats()["totals"]
        self.assertEqual((totals["requests"], totals["upstream_errors"], totals["forwarded"]), (2, 2, 0))

    def test_client_leaving_mid_request_does_not_kill_the_proxy(self):
        proxy = self.start()
        for partial in (
            b"POST /things/x HTT",
            b"POST /things/x HTTP/1.1\r\nHost: a\r\nContent-Le",
            b"POST /things/x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789",
            b"POST /things/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        ):
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as s:
                s.sendall(partial)
        # Not HTTP: answered 400, connection closed.
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as s:
            s.sendall(b"HELLO\r\n\r\n")
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
            self.assertTrue(answer.startswith(b"HTTP/1.1 400 "), answer)

        conn = proxy.connection()
        self.addCleanup(conn.close)
        self.assertEqual(exchange(conn, "POST", "/things/whole", b"{}")[0], 201)
        self.assertEqual([r["path"] for r in self.upstream.received()], ["/things/whole"])
        self.assertEqual(proxy.stats()["totals"]["requests"], 1)
        self.assertIsNone(proxy.proc.poll())

    def test_latency_is_applied_before_forwarding(self):
        proxy = self.start(latency_ms="60-80")
        conn = proxy.connection()
        self.addCleanup(conn.close)
        for _ in range(3):
            started = time.monotonic()
            self.assertEqual(exchange(conn, "GET", "/things/slow")[0], 200)
            self.assertGreaterEqual(time.monotonic() - started, 0.06)


if __name__ == "__main__":
    unittest.main()
