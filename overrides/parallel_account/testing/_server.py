"""Way in 2: the fake over real HTTP/1.1 on loopback, served from a background thread."""

from __future__ import annotations

import contextlib
import http.server
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from parallel_account.testing._outcome import Outcome, Respond, detail
from parallel_account.testing._spec import BASE_PATH

# One logger for the whole fake, named "parallel_account.testing" as before it was a package.
_log = logging.getLogger(__package__)


@contextlib.contextmanager
def serving(respond: Respond, port: int, host: str) -> Iterator[str]:
    """Serve `respond` on host:port (0: any free port) until the block ends; yield the base URL."""
    server = _Server(respond, host, port)
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

    def __init__(self, respond: Respond, host: str, port: int) -> None:
        self.respond = respond
        if _is_ipv6(host):
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients pool connections in production
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall
    server: _Server

    def _serve(self) -> None:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            self._write(detail(411, "send a Content-Length; chunked bodies are not supported"))
            return
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        outcome = self.server.respond(self.command, self.path, headers, body)
        if outcome.drop:
            self.close_connection = True  # the socket closes with nothing written
            return
        if outcome.delay:
            time.sleep(outcome.delay)
        self._write(outcome)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def _write(self, outcome: Outcome) -> None:
        try:
            self.send_response(outcome.status)
            for name, value in outcome.headers:
                self.send_header(name, value)
            self.send_header("content-length", str(len(outcome.body)))
            self.end_headers()
            self.wfile.write(outcome.body)
        except OSError:  # the client gave up (e.g. timed out during a delay)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        # The request line only: never headers, so never the token.
        _log.debug("fake account API %s: " + format, self.address_string(), *args)
