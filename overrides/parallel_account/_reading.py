"""Reading an answer's body within bounds: a size limit and a per-attempt deadline.

httpx's timeouts bound each read, not the whole answer: a server sending one byte
a second holds a call forever, and a body (or a gzip bomb that inflates) is read
whole into memory. Both drivers stream the body through `BoundedBody`, which
counts decoded bytes (so a bomb stops at the limit too) and checks the clock after
every chunk. Its failures are httpx.RequestError subclasses, so the attempt loop
treats them as an answer that could not be read (retry rules, unknown outcome).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024  # 10,000 apps are about 1.5 MB


class ResponseTooLarge(httpx.DecodingError):
    """The answer's body is larger than the client's `max_response_bytes`."""


def attempt_seconds(timeout: httpx.Timeout) -> float | None:
    """How long one attempt may take in all: the largest of the timeout's parts."""
    parts = [t for t in (timeout.connect, timeout.read, timeout.write, timeout.pool) if t]
    return max(parts) if parts else None


class BoundedBody:
    """Collects one answer's body; raises once it grows past `limit` or the deadline passes."""

    def __init__(
        self,
        response: httpx.Response,
        limit: int,
        deadline: float | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._response = response
        self._limit = limit
        self._deadline = deadline
        self._clock = clock
        self._chunks: list[bytes] = []
        self._size = 0
        declared = response.headers.get("content-length", "")
        encoded = response.headers.get("content-encoding", "identity").strip().lower()
        plain = encoded in ("", "identity")  # a compressed body's size says little
        if plain and declared.isdigit() and len(declared) < 20 and int(declared) > limit:
            self._too_large(f"declares {declared} bytes")

    def _too_large(self, what: str) -> None:
        raise ResponseTooLarge(
            f"the answer's body {what}, over the client's max_response_bytes={self._limit}",
            request=self._response.request,
        )

    def add(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._limit:
            self._too_large(f"passed {self._size} bytes")
        if self._deadline is not None and self._clock() > self._deadline:
            raise httpx.ReadTimeout(
                "the answer did not arrive whole within the attempt's timeout",
                request=self._response.request,
            )
        self._chunks.append(chunk)

    def finish(self) -> httpx.Response:
        """The response, its body in place as if read whole by httpx."""
        self._response._content = b"".join(self._chunks)
        return self._response
