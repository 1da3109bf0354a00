"""A client's timeout bounds the whole attempt, response headers included, sync and async.

The server here sends its response headers one byte every DRIP_INTERVAL seconds:
each read arrives well within httpx's per-read timeout, so only a deadline on the
whole attempt ends the call. The drip is bounded (DRIP_BYTES bytes), stops as soon
as the client hangs up or the test ends, and its thread is joined.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

import parallel_account as pa

DRIP_INTERVAL = 0.5  # seconds between two bytes of the headers
DRIP_BYTES = 120  # the whole drip would take a minute
TIMEOUT = 1.0  # the client's timeout: every part, so the attempt's deadline too
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: " + b"x" * DRIP_BYTES


class DrippingServer:
    """One loopback listener; each connection gets HEAD one byte at a time."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/account"
        self.stop = threading.Event()
        self.sent = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            with connection, contextlib.suppress(OSError):
                connection.recv(65536)  # the request (small: a GET or a short POST)
                for byte in HEAD:
                    if self.stop.wait(DRIP_INTERVAL):
                        return
                    connection.sendall(bytes([byte]))
                    self.sent += 1

    def __enter__(self) -> DrippingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        self.listener.close()


@pytest.fixture
def server() -> Iterator[DrippingServer]:
    with DrippingServer() as running:
        yield running
    assert not running.thread.is_alive()  # nothing outlives the test


def _whole_drip() -> float:
    return len(HEAD) * DRIP_INTERVAL


def test_a_sync_call_ends_while_the_headers_still_drip(server: DrippingServer) -> None:
    started = time.monotonic()
    with (
        pa.AccountClient("t", base_url=server.url, timeout=TIMEOUT, max_retries=0) as client,
        pytest.raises(pa.APITimeoutError),
    ):
        client.get_balance()
    took = time.monotonic() - started
    # Generous: only that it ended long before the drip would have (a minute).
    assert took < _whole_drip() / 4, took
    assert server.sent < len(HEAD) // 4


def test_an_async_call_ends_while_the_headers_still_drip(server: DrippingServer) -> None:
    async def call() -> None:
        async with pa.AsyncAccountClient(
            "t", base_url=server.url, timeout=TIMEOUT, max_retries=0
        ) as client:
            await client.get_balance()

    started = time.monotonic()
    with pytest.raises(pa.APITimeoutError):
        asyncio.run(call())
    assert time.monotonic() - started < _whole_drip() / 4
