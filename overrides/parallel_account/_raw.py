"""One call's final answer, before it is read: what `with_raw_response` returns.

The attempt loop ends every successful call with one of these; the plain methods
return its `parse()`, `client.with_raw_response.<method>(...)` the object itself.
It implements `parallel_account_api.operations.RawResponse` (the typed interface
the generated methods name).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Generic, TypeVar

import httpx

from parallel_account._request_id import request_id_of

T = TypeVar("T")


class RawHTTPResponse(Generic[T]):
    """The success answer of one call (after its retries), its body already read.

    `status_code`, `headers` (the answer's; a request's Authorization is never part
    of them) and `request_id` (see `parallel_account._request_id`) are the
    server's; `elapsed` is the last attempt's time from sending to the end of the
    body; `retries_taken` counts the attempts before it. `parse()` reads the body
    into what the plain method returns, once (later calls give the same object),
    raising what the plain method would (APIResponseValidationError, annotated
    with the idempotency key and `outcome_unknown` for a charge).
    """

    __slots__ = ("_parse", "_parsed", "_response", "elapsed", "operation", "retries_taken")

    def __init__(
        self,
        operation: str,
        response: httpx.Response,
        parse: Callable[[httpx.Response], T],
        *,
        retries_taken: int,
        elapsed: datetime.timedelta,
    ) -> None:
        self.operation = operation
        self._response = response
        self._parse = parse
        self._parsed: tuple[T] | None = None
        self.retries_taken = retries_taken
        self.elapsed = elapsed

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self._response.headers

    @property
    def request_id(self) -> str | None:
        return request_id_of(self._response.headers)

    @property
    def content(self) -> bytes:
        """The body as received (after any content encoding was undone)."""
        return self._response.content

    def parse(self) -> T:
        if self._parsed is None:
            self._parsed = (self._parse(self._response),)
        return self._parsed[0]

    def __repr__(self) -> str:
        return (
            f"<RawHTTPResponse {self.operation} [{self.status_code}] "
            f"request_id={self.request_id!r} retries_taken={self.retries_taken}>"
        )
