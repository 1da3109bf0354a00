"""Reading an answer's body within bounds: a size limit and a per-attempt deadline.

httpx's timeouts bound each read, not the whole answer: a server sending one byte
a second holds a call forever, and a body (or a gzip bomb that inflates) is read
whole into memory. Both drivers stream the body through `BoundedBody`, which
counts decoded bytes (so a bomb stops at the limit too) and checks the clock after
every chunk. It inflates gzip and deflate itself, a capped step at a time, since
httpx inflates a whole network chunk at once. Its failures are httpx.RequestError subclasses, so the attempt loop
treats them as an answer that could not be read (retry rules, unknown outcome).
The headers are bounded too: by asyncio.timeout in the async client, and in the
sync client by `reading_until` (every socket read of a client made by this package
ends by the attempt's deadline), so a server dripping its headers is cut off.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx

DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024  # 10,000 apps are about 1.5 MB


class ResponseTooLarge(httpx.DecodingError):
    """The answer's body is larger than the client's `max_response_bytes`."""


# ---- the headers too: every socket read of an attempt within its deadline (sync) -------
# The async client wraps the whole attempt in asyncio.timeout. A sync send cannot be
# interrupted from outside, and httpx's read timeout applies to each read, so a server
# sending its headers one byte a second holds it for ever. So the clients we create
# read through `_DeadlineBackend`: each socket read waits at most until the current
# attempt's deadline (`reading_until`), which httpx reports as a ReadTimeout. That
# backend is in `_socket_deadline`, imported when a client is made: it needs httpcore,
# which `import httpx` itself leaves for later.

READ_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "parallel_account_read_deadline", default=None
)


@contextlib.contextmanager
def reading_until(deadline: float | None) -> Iterator[None]:
    """Within this block, socket reads of clients made by `_socket_deadline.bound_reads`
    end by `deadline`."""
    token = READ_DEADLINE.set(deadline)
    try:
        yield
    finally:
        READ_DEADLINE.reset(token)


def attempt_seconds(timeout: httpx.Timeout) -> float | None:
    """How long one attempt may take in all: the largest of the timeout's parts."""
    parts = [t for t in (timeout.connect, timeout.read, timeout.write, timeout.pool) if t]
    return max(parts) if parts else None


# Encodings we inflate ourselves, with a cap on the output of every step: httpx's own
# decoders inflate a whole network chunk at once (64 KiB of a gzip bomb is 64 MiB).
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
# What our requests accept, so a server does not pick an encoding we would not cap.
ACCEPT_ENCODING = "gzip, deflate"


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
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding not in _WBITS and encoding not in ("", "identity"):
            # Stacked (`gzip, gzip`) or other encodings (br, zstd) would be inflated by
            # httpx without a cap; we asked for gzip or deflate only.
            raise httpx.DecodingError(
                f"the answer uses content-encoding {encoding[:40]!r}; this client reads "
                "gzip, deflate or none",
                request=response.request,
            )
        self._inflater: Any = None
        self._wbits = _WBITS.get(encoding)
        self._head = b""  # raw input kept until the first output, to retry raw deflate
        if self._wbits is not None:
            self._inflater = zlib.decompressobj(self._wbits)
        declared = response.headers.get("content-length", "")
        plain = encoding in ("", "identity")  # a compressed body's size says little
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

    def took_content_already_read(self) -> bool:
        """Take a body some transport (httpx.MockTransport, a test double) read already."""
        if not hasattr(self._response, "_content"):
            return False
        self.add(self._response.content)
        self._inflater = None
        return True

    def add_raw(self, chunk: bytes) -> None:
        """Bytes as they came over the wire: inflated here, a capped step at a time."""
        if self._inflater is None:
            self.add(chunk)
            return
        if self._size == 0 and self._wbits == zlib.MAX_WBITS:
            self._head += chunk  # until output starts, the whole input can be replayed
            if len(self._head) > self._limit:
                self._too_large(f"sent {len(self._head)} compressed bytes with no output")
        data = chunk
        while data:
            room = self._limit - self._size + 1
            try:
                out = self._inflater.decompress(data, room)
            except zlib.error as exc:
                if self._size == 0 and self._wbits == zlib.MAX_WBITS:
                    # Some servers send raw deflate for "deflate": once, from the start.
                    self._wbits = -zlib.MAX_WBITS
                    self._inflater = zlib.decompressobj(self._wbits)
                    data = self._head
                    continue
                raise httpx.DecodingError(
                    f"the answer's compressed body is corrupt ({exc})",
                    request=self._response.request,
                ) from None
            self.add(out)
            data = self._inflater.unconsumed_tail

    def finish(self) -> httpx.Response:
        """The response, its body in place as if read whole by httpx."""
        if self._inflater is not None:
            self.add(self._inflater.flush())
            if not self._inflater.eof:  # cut before its end (and the gzip checksum)
                raise httpx.DecodingError(
                    "the answer's compressed body ends early", request=self._response.request
                )
        self._response._content = b"".join(self._chunks)
        return self._response
