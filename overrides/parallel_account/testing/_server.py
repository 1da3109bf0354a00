"""Way in 2: the fake over real HTTP/1.1 on loopback, served from a background thread."""

from __future__ import annotations

import contextlib
import http.server
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

from parallel_account.testing._answer import Answer, Respond, detail
from parallel_account.testing._spec import BASE_PATH, MAX_BODY_BYTES, too_large

# One logger for the whole fake, named "parallel_account.testing" as before it was a package.
_log = logging.getLogger(__package__)


#: Told of a request the server refused before `respond` saw it: method, path, status.
Refused = Callable[[str, str, int], None]


@contextlib.contextmanager
def serving(respond: Respond, port: int, host: str, refused: Refused) -> Iterator[str]:
    """Serve `respond` on host:port (0: any free port) until the block ends; yield the base URL.

    Raises:
        OSError: host:port cannot be listened on (EADDRINUSE: the port is taken).
    """
    server = _Server(respond, refused, host, port)
    # A short poll interval: shutdown() waits up to one of them, once per serve().
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="fake-account-api", daemon=True
    )
    thread.start()
    try:
        bound_port = server.server_address[1]
        shown = f"[{host}]" if _is_ipv6(host) else host
        yield f"http://{shown}:{bound_port}{BASE_PATH}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _is_ipv6(host: str) -> bool:
    return ":" in host


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True  # a handler sleeping out a delay must not hold up shutdown
    # socketserver's default listen backlog is 5: more clients connecting at once had
    # their SYNs dropped and waited a second for the retransmit (connect timeouts).
    request_queue_size = 128

    def __init__(self, respond: Respond, refused: Refused, host: str, port: int) -> None:
        self.respond = respond
        self.refused = refused
        if _is_ipv6(host):
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    """Hands every request, whatever its method, to the fake; answers in JSON even when the
    request cannot be parsed (the stdlib would send an HTML page); reads at most
    `MAX_BODY_BYTES` of a body."""

    protocol_version = "HTTP/1.1"  # keep-alive, as clients pool connections in production
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall
    server: _Server

    def __getattr__(self, name: str) -> Callable[[], None]:
        # http.server looks up `do_<METHOD>` and answers 501 with an HTML page when there is
        # none: every method, TRACE and FOO too, goes to the fake, which answers as FastAPI
        # does (405 with Allow on a known path, else 404).
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            answer = self.server.respond(self.command, self.path, headers, body)
        except Exception:  # a bug in the fake: answered as the real server's would be, and logged
            _log.exception("fake account API: %s failed", self.command)
            answer = detail(500, "Internal Server Error")
        if answer.drop:
            self.close_connection = True  # the socket closes with nothing written
            return
        if answer.delay:
            time.sleep(answer.delay)
        self._write(answer)

    def _read_body(self) -> bytes | None:
        """The request's body, or None once a refusal is written (the connection then closes)."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            self._refuse(detail(411, "send a Content-Length; chunked bodies are not supported"))
            return None
        declared = self.headers.get_all("content-length") or []
        text = declared[0].strip() if len(declared) == 1 else ""
        if declared and not (text.isascii() and text.isdigit()):
            self._refuse(detail(400, "Invalid HTTP request received."))  # uvicorn's words
            return None
        length = int(text[:16] or 0)  # more than 16 digits is too large anyway
        if length > MAX_BODY_BYTES:
            self._discard(length)
            self._refuse(too_large())
            return None
        return self.rfile.read(length) if length else b""

    def _discard(self, length: int) -> None:
        """Read and drop a refused body, so that closing the socket does not reset the
        connection before the client reads the answer; a body beyond 64 MiB is not waited for."""
        if length > 64 * MAX_BODY_BYTES:
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                return
            length -= len(chunk)

    def _refuse(self, answer: Answer) -> None:
        method, path = getattr(self, "command", None) or "", getattr(self, "path", "")
        self.server.refused(method, path, answer.status)
        self.close_connection = True
        answer.headers.append(("connection", "close"))
        self._write(answer)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's answer to a request it cannot parse (bad request line, headers too
        long or too many, HTTP/2.0): JSON in FastAPI's shape instead of an HTML page."""
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        # An unreadable version leaves HTTP/0.9, which has no status line or headers.
        self.request_version = self.protocol_version
        self._refuse(detail(code, message or phrase))

    def _write(self, answer: Answer) -> None:
        try:
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.send_header("content-length", str(len(answer.body)))
            self.end_headers()
            if self.command != "HEAD":  # an answer to HEAD has headers only
                self.wfile.write(answer.body)
        except OSError:  # the client gave up (e.g. timed out during a delay)
            self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Nothing: the fake logs each request itself, with its operation and fault
        (`_requests`), and refusals through `refused`."""

    def log_message(self, format: str, *args: Any) -> None:
        # The stdlib's other messages (errors); never headers, so never the token.
        _log.debug("fake account API %s: " + format, self.address_string(), *args)
