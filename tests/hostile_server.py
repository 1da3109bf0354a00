"""A loopback HTTP server that answers as a broken or hostile server would.

Each test registers an `Answer` (a function writing raw bytes to the connection) and
gets a base URL of its own, `http://127.0.0.1:PORT/<key><base path>`: the first path
segment picks the answer, so a slow answer still running for an earlier test never
meets a later test's request. Answers write the status line and headers themselves,
so any status, header or framing can be sent, and the connection is closed after
each answer. Every answer that waits is bounded in time (nothing outlives a test by
more than a few seconds), and the server's threads are daemons.
"""

from __future__ import annotations

import contextlib
import http.server
import itertools
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache

Answer = Callable[[http.server.BaseHTTPRequestHandler], None]
Headers = Sequence[tuple[str, str]]

CRLF = b"\r\n"


def _head(
    request: http.server.BaseHTTPRequestHandler,
    status: int | str,
    headers: Headers,
    reason: str = "Hostile",
) -> None:
    lines = [f"HTTP/1.1 {status} {reason}".encode()]
    lines += [f"{name}: {value}".encode() for name, value in headers]
    request.wfile.write(CRLF.join(lines) + CRLF + CRLF)


def reply(
    status: int,
    body: bytes = b"",
    *,
    content_type: str = "application/json",
    headers: Headers = (),
    length: int | None = None,
) -> Answer:
    """Status, headers and body; `length` declares another Content-Length (then closes)."""

    def answer(request: http.server.BaseHTTPRequestHandler) -> None:
        declared = len(body) if length is None else length
        base = [("Content-Type", content_type)] if content_type else []
        _head(request, status, [*base, *headers, ("Content-Length", str(declared))])
        request.wfile.write(body)

    return answer


def raw(data: bytes) -> Answer:
    """Exactly these bytes, whatever they are (a broken status line, no HTTP at all)."""

    def answer(request: http.server.BaseHTTPRequestHandler) -> None:
        request.wfile.write(data)

    return answer


def hang_up() -> Answer:
    """Read the request, close the connection without a word."""

    def answer(request: http.server.BaseHTTPRequestHandler) -> None:
        pass

    return answer


def silent(seconds: float) -> Answer:
    """Read the request and say nothing for `seconds`, then close."""

    def answer(request: http.server.BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)

    return answer


def chunked(status: int, chunks: Sequence[bytes], *, headers: Headers = ()) -> Answer:
    """A chunked body written as given: pass broken framing to test the reader."""

    def answer(request: http.server.BaseHTTPRequestHandler) -> None:
        _head(
            request,
            status,
            [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked"), *headers],
        )
        for chunk in chunks:
            request.wfile.write(chunk)

    return answer


def stream(
    status: int,
    prefix: bytes,
    filler: bytes,
    count: int,
    suffix: bytes,
    *,
    framing: str = "length",
    headers: Headers = (),
) -> Answer:
    """prefix + filler * count + suffix, written piece by piece, never built whole.

    framing "length" declares the whole size; "chunked" sends it chunked (no size known
    in advance). Stops quietly when the client hangs up.
    """

    def answer(request: http.server.BaseHTTPRequestHandler) -> None:
        size = len(prefix) + len(filler) * count + len(suffix)
        framing_header = (
            ("Content-Length", str(size))
            if framing == "length"
            else ("Transfer-Encoding", "chunked")
        )
        _head(request, status, [("Content-Type", "application/json"), framing_header, *headers])
        with contextlib.suppress(OSError):
            for piece in itertools.chain([prefix], itertools.repeat(filler, count), [suffix]):
                if framing == "length":
                    request.wfile.write(piece)
                else:
                    request.wfile.write(b"%x\r\n" % len(piece) + piece + CRLF)
            if framing != "length":
                request.wfile.write(b"0\r\n\r\n")

    return answer


def drip(status: int, body: bytes, *, interval: float, declared: int | None = None) -> Answer:
    """Headers at once, then the body one byte per `interval` (bounded: len(body) bytes)."""

    def answer(request: http.server.BaseHTTPRequestHandler) -> None:
        size = len(body) if declared is None else declared
        _head(
            request, status, [("Content-Type", "application/json"), ("Content-Length", str(size))]
        )
        with contextlib.suppress(OSError):
            for byte in body:
                time.sleep(interval)
                request.wfile.write(bytes([byte]))

    return answer


@cache
def gzip_bomb(inflated_mib: int) -> bytes:
    """A gzip member of zeros that inflates to `inflated_mib` MiB (about 1 KiB per MiB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    block = bytes(1024 * 1024)
    parts = [packer.compress(block) for _ in range(inflated_mib)]
    return b"".join([*parts, packer.flush()])


@dataclass
class HostileServer:
    """The running server: `route(answer)` gives a base URL served by that answer."""

    url: str
    base_path: str
    answers: dict[str, Answer] = field(default_factory=dict)
    # key -> (method, path after the key) of each request received
    seen: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    _keys: Iterator[int] = field(default_factory=itertools.count)

    def route(self, answer: Answer) -> tuple[str, str]:
        """(key, base URL) for a new route answered by `answer`."""
        key = f"case{next(self._keys)}"
        self.answers[key] = answer
        self.seen[key] = []
        return key, f"{self.url}/{key}{self.base_path}"


@contextlib.contextmanager
def running(base_path: str) -> Iterator[HostileServer]:
    """A threaded hostile server on 127.0.0.1 (a free port), stopped on exit."""
    state: list[HostileServer] = []

    class _Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _dispatch(self) -> None:
            self.close_connection = True
            length = self.headers.get("Content-Length", "0")
            if length.isdigit() and int(length) <= 1 << 20:
                self.rfile.read(int(length))
            _, _, rest = self.path.partition("/")
            key, slash, tail = rest.partition("/")
            server = state[0]
            answer = server.answers.get(key)
            if answer is None:
                reply(599, b'{"detail":"no such route"}')(self)
                return
            server.seen[key].append((self.command, slash + tail))
            with contextlib.suppress(OSError):
                answer(self)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    state.append(HostileServer(f"http://127.0.0.1:{httpd.server_address[1]}", base_path))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state[0]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
