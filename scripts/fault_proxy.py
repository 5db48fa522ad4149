#!/usr/bin/env python3
"""A seeded, reproducible HTTP fault-injection reverse proxy (test tooling).

It sits between an AWS SDK client (the AWS SDK for Rust in iot-crr's integration tests)
and a moto server, forwards every request, and injects the faults a client of AWS IoT
Core has to survive: throttling, server errors, dropped connections and latency. It is
for tests of retry and rate control only; it is not a production proxy (plain HTTP, one
upstream, whole messages buffered in memory).

Usage:

    python3 scripts/fault_proxy.py --upstream http://127.0.0.1:MOTO_PORT \\
        [--host 127.0.0.1] [--port 0] [--seed 1] [--write-rate 20] [--read-rate 0] \\
        [--error-rate 0.05] [--drop-rate 0.01] [--latency-ms 0-20] [--stats-file PATH]

On start it prints exactly one line, `listening on http://HOST:PORT`, to stdout (so a
test can read the port when it passes --port 0); logs go to stderr (-v: one line per
request). SIGTERM or SIGINT writes the statistics to --stats-file (when given) and
exits 0. Standard library only (asyncio); Python 3.8 or later.

HTTP. Clients get an HTTP/1.1 server with keep-alive (the SDK pools connections).
Request bodies are read by Content-Length or chunked transfer coding. Each request goes
to the upstream over a fresh connection with `Connection: close`: same method, request
target, headers (Host included) and body, so a SigV4 signature stays valid; only the
hop-by-hop headers are replaced (a chunked body is sent with a Content-Length). The
upstream's answer is read whole (Content-Length, chunked or up to end of stream) and
returned with its status, reason, headers and body, framed by a Content-Length, on the
client's connection, which stays open.

Fault model. Every request, in the order the proxy finishes reading them (the n-th
request received), draws three numbers from one `random.Random(seed)`, whatever
happens to it afterwards: u_fault, u_side and u_latency, each uniform in [0, 1). So the
fault decision of the n-th request depends only on the seed and n: the same seed and
the same sequence of requests give the same faults. Then:

1. Rate limit, like AWS's: one token bucket per key, the HTTP method plus the first
   path segment (`POST /things`, `PUT /things` and `GET /things` are three buckets;
   `/things/a/principals` and `/things/b` share `/things`). A bucket holds one second
   of its rate (at least one token) and starts full. Writes (every method but GET and
   HEAD) are limited to --write-rate requests a second per bucket, reads to
   --read-rate; a rate of 0 is no limit. A request over the limit is answered as AWS
   IoT does, without being forwarded: HTTP 429, `x-amzn-ErrorType:
   ThrottlingException`, body `{"message":"Rate exceeded"}`. The limiter depends on
   time, so which requests it throttles is not reproducible (the draws above do not
   depend on it: a throttled request uses up its three numbers too).
2. Server error when u_fault < --error-rate: before forwarding when u_side < 0.5 (HTTP
   503, `x-amzn-ErrorType: ServiceUnavailableException`, `{"message":"Service
   unavailable"}`; the request is not applied), otherwise after forwarding (the upstream
   applied the request; the client gets HTTP 500, `x-amzn-ErrorType:
   InternalFailureException`, `{"message":"Internal failure"}`).
3. Dropped connection when --error-rate <= u_fault < --error-rate + --drop-rate: when
   u_side < 0.5 the client connection is closed right after the request was read (not
   forwarded), otherwise after forwarding (applied, the answer is lost); no response
   is written either way (an orderly close, FIN, not a reset).
4. Latency: requests that are forwarded wait lo + (hi - lo) * u_latency milliseconds
   first (--latency-ms lo-hi, or a single number).

Errors and drops are rates of the requests that passed the limiter, and never both.
The proxy's own answers carry `x-amzn-RequestId: fault-proxy-N` (N counts from 0). An
upstream that cannot be reached or fails mid-answer (or takes --upstream-timeout) gets
the client an HTTP 502 (`{"message":"Bad gateway: ..."}`), counted as upstream_errors.
At SIGTERM/SIGINT idle connections are closed at once; a request being answered gets
its answer (with `Connection: close`) if the upstream gives it within two seconds.

Control API. Requests under `/__fault_proxy/` are the proxy's own: they draw no random
number and are neither limited nor counted.
  GET  /__fault_proxy/stats  ->  {"buckets": {"POST /things": COUNTERS, ...},
                                  "totals": COUNTERS}
  POST /__fault_proxy/reset  ->  zeroes the statistics (not the token buckets)
COUNTERS are requests, throttled, errors_before, errors_after, dropped_before,
dropped_after, forwarded and upstream_errors, where requests = throttled +
errors_before + dropped_before + forwarded + upstream_errors, and forwarded (the
upstream answered: applied) includes errors_after and dropped_after.
"""

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import re
import signal
import socket
import sys
import time
from http import HTTPStatus
from urllib.parse import urlsplit

LOG = logging.getLogger("fault_proxy")

CONTROL_PREFIX = "/__fault_proxy/"
READ_METHODS = frozenset({"GET", "HEAD"})
# Headers that describe one connection, not the message (RFC 9110 7.6.1); replaced when
# the message is re-framed. Headers named in a Connection header are dropped too.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)
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
STREAM_LIMIT = 1 << 20  # longest start or header line
MAX_HEADERS = 256
CHUNK_SIZE_RE = re.compile(rb"[0-9A-Fa-f]+")


class ProtocolError(Exception):
    """A message that is not valid HTTP/1.x."""


class UpstreamError(Exception):
    """The upstream did not answer with a whole HTTP response."""


class Message:
    """A request or response: start line parts, headers in order, whole body."""

    def __init__(self, headers, body=b""):
        self.headers = headers  # [(name as received, value)]
        self.body = body

    def header_tokens(self, name):
        """The comma-separated tokens of every value of a header, lower-cased."""
        name = name.lower()
        tokens = []
        for key, val in self.headers:
            if key.lower() == name:
                tokens.extend(t.strip().lower() for t in val.split(",") if t.strip())
        return tokens


class Request(Message):
    def __init__(self, method, target, version, headers, body=b""):
        super().__init__(headers, body)
        self.method = method
        self.target = target
        self.version = version

    @property
    def path(self):
        target = self.target
        if "://" in target:  # absolute form
            target = urlsplit(target).path or "/"
        return target.split("?", 1)[0]

    def keep_alive(self):
        tokens = self.header_tokens("connection")
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens


class Response(Message):
    def __init__(self, status, reason, headers, body=b""):
        super().__init__(headers, body)
        self.status = status
        self.reason = reason


# Sentinel: close the client connection without an answer.
DROP = object()

# What an upstream that cannot be reached, times out or answers garbage raises.
UPSTREAM_FAILURES = (OSError, EOFError, asyncio.TimeoutError, UpstreamError, ProtocolError, ValueError)


# ---------------------------------------------------------------------------------------
# HTTP/1.x reading and writing


async def read_headers(reader):
    headers = []
    while True:
        line = await reader.readline()
        if not line.endswith(b"\n"):
            raise asyncio.IncompleteReadError(line, None)
        if line in (b"\r\n", b"\n"):
            return headers
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep or not name or name != name.strip():
            raise ProtocolError(f"bad header line {line[:80]!r}")
        headers.append((name, value.strip(" \t\r\n")))
        if len(headers) > MAX_HEADERS:
            raise ProtocolError("too many headers")


async def read_chunked(reader):
    parts = []
    while True:
        line = await reader.readline()
        if not line.endswith(b"\n"):
            raise asyncio.IncompleteReadError(line, None)
        size_text = line.split(b";", 1)[0].strip()
        if not CHUNK_SIZE_RE.fullmatch(size_text):
            raise ProtocolError(f"bad chunk size {line[:80]!r}")
        size = int(size_text, 16)
        if size == 0:
            break
        parts.append(await reader.readexactly(size))
        if (await reader.readline()).strip():
            raise ProtocolError("chunk not followed by CRLF")
    await read_headers(reader)  # trailer fields, discarded
    return b"".join(parts)


def content_length(message):
    values = {v.strip() for k, v in message.headers if k.lower() == "content-length"}
    if not values:
        return None
    if len(values) > 1 or not all(v.isdigit() for v in values):
        raise ProtocolError(f"bad Content-Length {sorted(values)}")
    return int(values.pop())


async def read_request(reader, writer):
    """The next request on a client connection; None at a clean end of the stream."""
    line = await reader.readline()
    while line in (b"\r\n", b"\n"):  # RFC 9112 2.2: ignore empty lines before a request
        line = await reader.readline()
    if not line:
        return None
    if not line.endswith(b"\n"):
        raise asyncio.IncompleteReadError(line, None)
    parts = line.decode("latin-1").strip("\r\n").split(" ")
    if len(parts) != 3 or not parts[0] or not parts[1] or parts[2] not in ("HTTP/1.0", "HTTP/1.1"):
        raise ProtocolError(f"bad request line {line[:80]!r}")
    request = Request(parts[0], parts[1], parts[2], await read_headers(reader))
    chunked = request.header_tokens("transfer-encoding")
    length = content_length(request)
    if chunked or length:
        if "100-continue" in request.header_tokens("expect") and request.version == "HTTP/1.1":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()
    if chunked:
        if chunked[-1] != "chunked":
            raise ProtocolError(f"unsupported Transfer-Encoding {chunked}")
        request.body = await read_chunked(reader)
    elif length:
        request.body = await reader.readexactly(length)
    return request


def connection_headers(message):
    """Lower-cased names of the headers that must not cross the proxy."""
    return HOP_BY_HOP | set(message.header_tokens("connection"))


def encode_request(request):
    """The request for the upstream: same target, headers and body; Connection: close."""
    drop = connection_headers(request)
    chunked = bool(request.header_tokens("transfer-encoding"))
    if chunked:  # re-framed by a Content-Length of its own
        drop = drop | {"content-length"}
    lines = [f"{request.method} {request.target} HTTP/1.1"]
    lines += [f"{k}: {v}" for k, v in request.headers if k.lower() not in drop]
    if chunked:
        lines.append(f"Content-Length: {len(request.body)}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + request.body


async def read_response(reader, method):
    while True:
        line = await reader.readline()
        if not line:
            raise UpstreamError("connection closed before a response")
        parts = line.decode("latin-1").strip("\r\n").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise UpstreamError(f"bad status line {line[:80]!r}")
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = await read_headers(reader)
        if 100 <= status < 200 and status != 101:
            continue  # interim response (100 Continue): the final one follows
        break
    response = Response(status, reason, headers)
    if method == "HEAD" or status in (204, 304) or status < 200:
        return response
    codings = response.header_tokens("transfer-encoding")
    if codings and codings[-1] == "chunked":
        response.body = await read_chunked(reader)
    elif codings:
        response.body = await reader.read()  # RFC 9112 6.3: delimited by the close
    else:
        length = content_length(response)
        response.body = await (reader.read() if length is None else reader.readexactly(length))
    return response


def encode_response(response, *, head, keep_alive):
    drop = connection_headers(response)
    # The body is sent whole: a Content-Length of our own, except where there is no body
    # to frame (a HEAD answer or a 304 keeps the upstream's, which describes a GET).
    keep_length = head or response.status == 304
    no_length = response.status < 200 or response.status == 204
    if not keep_length:
        drop = drop | {"content-length"}
    lines = [f"HTTP/1.1 {response.status} {response.reason}"]  # the space stays (RFC 9112 4)
    lines += [f"{k}: {v}" for k, v in response.headers if k.lower() not in drop]
    if not keep_length and not no_length:
        lines.append(f"Content-Length: {len(response.body)}")
    if not keep_alive:
        lines.append("Connection: close")
    body = b"" if head or no_length or response.status == 304 else response.body
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def json_response(status, payload, headers=()):
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = [("Content-Type", "application/json")] + list(headers)
    return Response(status, HTTPStatus(status).phrase, headers, body)


def aws_error(status, error_type, message, request_id):
    return json_response(
        status,
        {"message": message},
        [("x-amzn-ErrorType", error_type), ("x-amzn-RequestId", request_id)],
    )


# ---------------------------------------------------------------------------------------
# Rate limiting, statistics, faults


class TokenBucket:
    def __init__(self, rate, now):
        self.rate = rate
        self.capacity = max(rate, 1.0)  # one second of the rate
        self.tokens = self.capacity
        self.stamp = now

    def take(self, now):
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def bucket_key(request):
    segment = request.path.lstrip("/").split("/", 1)[0]
    return f"{request.method} /{segment}"


class Stats:
    def __init__(self):
        self.buckets = {}

    def bucket(self, key):
        counters = self.buckets.get(key)
        if counters is None:
            counters = self.buckets[key] = dict.fromkeys(COUNTERS, 0)
        return counters

    def snapshot(self):
        totals = dict.fromkeys(COUNTERS, 0)
        for counters in self.buckets.values():
            for name in COUNTERS:
                totals[name] += counters[name]
        buckets = {key: dict(self.buckets[key]) for key in sorted(self.buckets)}
        return {"buckets": buckets, "totals": totals}


class FaultProxy:
    def __init__(self, args):
        self.upstream_host = args.upstream_host
        self.upstream_port = args.upstream_port
        self.upstream_timeout = args.upstream_timeout
        self.write_rate = args.write_rate
        self.read_rate = args.read_rate
        self.error_rate = args.error_rate
        self.drop_rate = args.drop_rate
        self.latency = args.latency_ms
        self.rng = random.Random(args.seed)
        self.received = 0  # requests received, the control API's excepted
        self.limiters = {}
        # Reset replaces the object: a request in flight keeps counting in the old one,
        # so the new statistics only hold requests received after the reset.
        self.stats = Stats()
        self.clients = {}  # connection task -> [its writer, busy answering a request]
        self.stopping = False

    # One client connection: requests in turn until the client closes it.
    async def handle_client(self, reader, writer):
        peer = writer.get_extra_info("peername")
        task = asyncio.current_task()
        state = self.clients[task] = [writer, False]
        try:
            while True:
                try:
                    request = await read_request(reader, writer)
                except (asyncio.IncompleteReadError, ConnectionError):
                    LOG.debug("%s: client left mid-request", peer)
                    break
                except (ProtocolError, ValueError, asyncio.LimitOverrunError) as error:
                    LOG.warning("%s: bad request: %s", peer, error)
                    response = json_response(400, {"message": f"Bad request: {error}"})
                    writer.write(encode_response(response, head=False, keep_alive=False))
                    await writer.drain()
                    break
                if request is None:
                    break
                state[1] = True
                if request.path.startswith(CONTROL_PREFIX):
                    response = self.control(request)
                else:
                    response = await self.proxy(request)
                if response is DROP:
                    break
                keep_alive = request.keep_alive() and not self.stopping
                writer.write(
                    encode_response(response, head=request.method == "HEAD", keep_alive=keep_alive)
                )
                await writer.drain()
                state[1] = False
                if not keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            LOG.debug("%s: connection lost", peer)
        except asyncio.CancelledError:
            # Only at shutdown. This task is the top of its connection and ends here
            # either way; ending normally keeps Python 3.11's asyncio from logging the
            # cancellation as an error.
            LOG.debug("%s: connection cancelled", peer)
            writer.close()
            return
        except Exception:  # a bug must cost one connection, not the proxy
            LOG.exception("%s: unexpected error", peer)
        finally:
            self.clients.pop(task, None)
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()

    async def close_clients(self, grace=2.0):
        """Closes the idle client connections at once, the others after their answer
        (or after `grace` seconds)."""
        self.stopping = True
        for writer, busy in self.clients.values():
            if not busy:
                writer.close()  # its handler reads the end of the stream and returns
        tasks = list(self.clients)
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        for writer, _ in self.clients.values():
            writer.close()

    def control(self, request):
        path = request.path
        if path == CONTROL_PREFIX + "stats":
            if request.method not in READ_METHODS:
                return json_response(405, {"message": "use GET"})
            return json_response(200, self.stats.snapshot())
        if path == CONTROL_PREFIX + "reset":
            if request.method != "POST":
                return json_response(405, {"message": "use POST"})
            self.stats = Stats()
            LOG.info("statistics reset")
            return json_response(200, self.stats.snapshot())
        return json_response(404, {"message": f"no such control endpoint {path}"})

    def limited(self, key, method, now):
        rate = self.read_rate if method in READ_METHODS else self.write_rate
        if rate <= 0:
            return False
        bucket = self.limiters.get(key)
        if bucket is None:
            bucket = self.limiters[key] = TokenBucket(rate, now)
        return not bucket.take(now)

    async def proxy(self, request):
        # Everything random about this request is drawn here, at once, in arrival order.
        seq = self.received
        self.received += 1
        u_fault, u_side, u_latency = self.rng.random(), self.rng.random(), self.rng.random()
        key = bucket_key(request)
        counters = self.stats.bucket(key)
        counters["requests"] += 1
        request_id = f"fault-proxy-{seq}"

        if self.limited(key, request.method, time.monotonic()):
            counters["throttled"] += 1
            LOG.debug("#%d %s %s: throttled", seq, request.method, request.target)
            return aws_error(429, "ThrottlingException", "Rate exceeded", request_id)

        fault = None
        before = u_side < 0.5
        if u_fault < self.error_rate:
            fault = "error_before" if before else "error_after"
        elif u_fault < self.error_rate + self.drop_rate:
            fault = "dropped_before" if before else "dropped_after"
        if fault == "dropped_before":
            counters[fault] += 1
            LOG.debug("#%d %s %s: dropped before forwarding", seq, request.method, request.target)
            return DROP
        if fault == "error_before":
            counters["errors_before"] += 1
            LOG.debug("#%d %s %s: 503 before forwarding", seq, request.method, request.target)
            return aws_error(503, "ServiceUnavailableException", "Service unavailable", request_id)

        low, high = self.latency
        delay = (low + (high - low) * u_latency) / 1000.0
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            response = await asyncio.wait_for(self.forward(request), self.upstream_timeout)
        except UPSTREAM_FAILURES as error:
            counters["upstream_errors"] += 1
            detail = str(error) or type(error).__name__
            LOG.warning("#%d %s %s: upstream failed: %s", seq, request.method, request.target, detail)
            headers = [("x-amzn-RequestId", request_id)]
            return json_response(502, {"message": f"Bad gateway: {detail}"}, headers)
        counters["forwarded"] += 1
        if fault == "error_after":
            counters["errors_after"] += 1
            LOG.debug("#%d %s %s: 500 after forwarding", seq, request.method, request.target)
            return aws_error(500, "InternalFailureException", "Internal failure", request_id)
        if fault == "dropped_after":
            counters["dropped_after"] += 1
            LOG.debug("#%d %s %s: dropped after forwarding", seq, request.method, request.target)
            return DROP
        LOG.debug("#%d %s %s: %d", seq, request.method, request.target, response.status)
        return response

    async def forward(self, request):
        reader, writer = await asyncio.open_connection(
            self.upstream_host, self.upstream_port, limit=STREAM_LIMIT
        )
        try:
            writer.write(encode_request(request))
            await writer.drain()
            return await read_response(reader, request.method)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


# ---------------------------------------------------------------------------------------
# Command line


def rate_fraction(text):
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not in [0, 1]")
    return value


def requests_per_second(text):
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def latency_range(text):
    low, sep, high = text.partition("-")
    try:
        low_ms = float(low)
        high_ms = float(high) if sep else low_ms
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not MS or LOW-HIGH") from None
    if low_ms < 0 or high_ms < low_ms:
        raise argparse.ArgumentTypeError(f"{text!r}: need 0 <= LOW <= HIGH")
    return (low_ms, high_ms)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Seeded fault-injection reverse proxy for AWS SDK integration tests.",
    )
    parser.add_argument("--upstream", required=True, help="http://HOST:PORT of the server (moto)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: a free one)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the fault decisions (1)")
    parser.add_argument("--write-rate", type=requests_per_second, default=20.0,
                        help="writes a second per bucket (20; 0: unlimited)")
    parser.add_argument("--read-rate", type=requests_per_second, default=0.0,
                        help="GET/HEAD a second per bucket (0: unlimited)")
    parser.add_argument("--error-rate", type=rate_fraction, default=0.05,
                        help="fraction answered 503 before or 500 after forwarding (0.05)")
    parser.add_argument("--drop-rate", type=rate_fraction, default=0.01,
                        help="fraction whose connection is closed before or after forwarding (0.01)")
    parser.add_argument("--latency-ms", type=latency_range, default=(0.0, 20.0),
                        help="uniform delay before forwarding, LOW-HIGH or MS (0-20)")
    parser.add_argument("--upstream-timeout", type=float, default=60.0,
                        help="seconds for the upstream to answer before a 502 (60)")
    parser.add_argument("--stats-file", help="where SIGTERM/SIGINT writes the statistics (JSON)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if args.error_rate + args.drop_rate > 1.0:
        parser.error("--error-rate + --drop-rate must not exceed 1")
    upstream = urlsplit(args.upstream)
    if upstream.scheme != "http" or not upstream.hostname or upstream.path not in ("", "/"):
        parser.error(f"--upstream {args.upstream!r}: need http://HOST:PORT")
    try:
        args.upstream_host, args.upstream_port = upstream.hostname, upstream.port or 80
    except ValueError as error:
        parser.error(f"--upstream {args.upstream!r}: {error}")
    return args


def write_stats(path, snapshot):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(snapshot, out, indent=2)
        out.write("\n")
    os.replace(tmp, path)


async def serve(args):
    proxy = FaultProxy(args)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):  # before a test can read the port
        loop.add_signal_handler(signum, stop.set)
    # One address, so that --port 0 gives one port (localhost may resolve to two).
    infos = await loop.getaddrinfo(
        args.host, args.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    address = infos[0][4][0]
    server = await asyncio.start_server(proxy.handle_client, address, args.port, limit=STREAM_LIMIT)
    port = server.sockets[0].getsockname()[1]
    shown = f"[{address}]" if ":" in address else address
    print(f"listening on http://{shown}:{port}", flush=True)
    LOG.info(
        "forwarding to http://%s:%d: seed %d, write rate %g/s, read rate %g/s, error rate %g, "
        "drop rate %g, latency %g-%g ms",
        args.upstream_host, args.upstream_port, args.seed, args.write_rate, args.read_rate,
        args.error_rate, args.drop_rate, *args.latency_ms,
    )

    await stop.wait()
    LOG.info("stopping: %d client connections open", len(proxy.clients))
    server.close()
    await proxy.close_clients()  # what is left is cancelled when the loop ends
    snapshot = proxy.stats.snapshot()
    if args.stats_file:
        write_stats(args.stats_file, snapshot)
    LOG.info("stopped after %d requests: %s", proxy.received, json.dumps(snapshot["totals"]))


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(stream=sys.stderr, format="%(asctime)s fault_proxy %(levelname)s %(message)s")
    LOG.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
