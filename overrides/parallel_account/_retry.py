"""When to retry, and how long to wait: one policy for the sync and async clients.

Why not httpx-retries or stamina: both decide by HTTP method or exception type,
while the rule here is per operation and per failure phase. An operation that
is safe to repeat (an idempotent method, or a body carrying an idempotency key,
as `spec_facts` says) may be retried after any retryable failure. `create_app`
and `create_key` may be retried only when the request surely never left (the
connection could not be made, or no pooled connection was free), because a
second app or a second live API key is worse than an error. Retry-After in
milliseconds, seconds or as an HTTP date, capped, and an injectable random
source for jitter do not fit their hooks either; the loop itself is tiny.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import httpx

from parallel_account_api.spec_facts import OperationFacts

# ---- The retry table -----------------------------------------------------------------
# Plain literals only: `make generate` reads them from this file, without importing the
# package, and writes them (with prose made from them) into facts.json's `retry_policy`
# and `retry_rules`, so clients in other languages retry as this one does.

#: Error statuses worth retrying (when the operation may be repeated).
RETRY_STATUSES = (408, 429, 500, 502, 503, 504)
#: Statuses retried only when the server says when to come back (a delay header):
#: a 409 for a key reused with another amount never succeeds.
RETRY_AFTER_ONLY_STATUSES = (409,)
#: The server's `true` / `false` here decides whether an error answer is retried.
SHOULD_RETRY_HEADER = "x-should-retry"
#: Server-requested delays, first found wins: milliseconds, then seconds or an HTTP date.
DELAY_HEADERS = ("retry-after-ms", "retry-after")
MAX_RETRIES = 2  # retries after the first attempt
INITIAL_DELAY = 0.5  # seconds before the first retry
BACKOFF_FACTOR = 2.0  # each later retry waits this many times longer
MAX_DELAY = 8.0  # the cap of that doubling
MAX_RETRY_AFTER = 60.0  # the longest server-requested delay honoured
JITTER_FLOOR = 0.5  # each backoff is scaled by a factor drawn from [JITTER_FLOOR, 1]
# Failures that prove the request never reached the server: no connection, or one
# refused on our side before a byte was sent (a bad header value, an unknown scheme).
NEVER_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.LocalProtocolError,
    httpx.UnsupportedProtocol,
)


class Decision(NamedTuple):  # not a dataclass: made at import, a tenth of the time
    """What to do after an attempt that did not succeed."""

    retry: bool
    delay: float = 0.0
    reason: str = ""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: 0.5 s doubling, capped at 8 s; Retry-After up to 60 s.

    Args:
        max_retries: retries after the first attempt (the client's `max_retries`
            overrides it when given).
        initial_delay: seconds before the first retry, before jitter; doubles each retry.
        max_delay: the cap of that doubling, in seconds.
        max_retry_after: the longest server-requested wait (Retry-After) honoured.
        jitter_floor: each delay is scaled by a factor drawn from [jitter_floor, 1].
        random: the source of that factor, in [0, 1) (tests pass a constant).
        clock: the wall clock, in epoch seconds, to read HTTP-date Retry-After values.

    For instant retries in tests, pass a no-op `sleep` to the client (or
    `RetryPolicy(initial_delay=0, max_retry_after=0)`).
    """

    max_retries: int = MAX_RETRIES
    initial_delay: float = INITIAL_DELAY
    max_delay: float = MAX_DELAY
    max_retry_after: float = MAX_RETRY_AFTER
    # Jitter factor drawn from [jitter_floor, 1]: spreads clients that failed together.
    jitter_floor: float = JITTER_FLOOR
    random: Callable[[], float] = field(default=random.random, repr=False)
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def backoff(self, retry_number: int) -> float:
        """Delay in seconds before retry number `retry_number` (1 for the first retry)."""
        base = min(self.max_delay, self.initial_delay * BACKOFF_FACTOR ** (retry_number - 1))
        return base * (self.jitter_floor + (1 - self.jitter_floor) * self.random())

    def retry_after(self, response: httpx.Response) -> float | None:
        """The delay the `response` asks for (retry-after-ms, then Retry-After), capped.

        Returns seconds, or None when absent or unreadable (not a number, NaN,
        negative): our own backoff then applies. An HTTP date in the past means "now".
        Never raises.
        """
        in_millis, in_seconds = DELAY_HEADERS
        millis = _seconds(response.headers.get(in_millis), scale=1000)
        if millis is not None:
            return self._cap(millis)
        value = response.headers.get(in_seconds)
        if value is None:
            return None
        seconds = _seconds(value)
        if seconds is not None:
            return self._cap(seconds)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        return self._cap(when.timestamp() - self.clock())

    def retryable_answer(self, response: httpx.Response) -> bool:
        """Whether this error `response` may go away on its own (True: worth retrying).

        The server's `x-should-retry: true|false` decides when present. Otherwise the
        transient statuses; a 409 only when the server says when to come back
        (Retry-After): a 409 for a key reused with another amount never succeeds.
        """
        should = str(response.headers.get(SHOULD_RETRY_HEADER, "")).strip().lower()
        if should in ("true", "false"):
            return should == "true"
        if response.status_code in RETRY_AFTER_ONLY_STATUSES:
            return any(name in response.headers for name in DELAY_HEADERS)
        return response.status_code in RETRY_STATUSES

    def _cap(self, seconds: float) -> float:
        return max(0.0, min(seconds, self.max_retry_after))

    def decide(
        self,
        operation: OperationFacts,
        attempt: int,
        outcome: httpx.Response | httpx.RequestError,
    ) -> Decision:
        """Whether attempt number `attempt` (1-based) should be followed by another, and when.

        Args:
            operation: the operation's facts (`idempotent` decides what may be repeated).
            attempt: how many attempts were made, 1 for the first.
            outcome: the error answer, or the transport error, of that attempt.

        Returns:
            A Decision: `retry`, the `delay` in seconds, and the `reason` (for logs).
        """
        if isinstance(outcome, httpx.Response):
            if not self.retryable_answer(outcome):
                return Decision(False)
            if not operation.idempotent:
                return Decision(
                    False, reason=f"HTTP {outcome.status_code} on a non-idempotent call"
                )
            reason = f"HTTP {outcome.status_code}"
            server_delay = self.retry_after(outcome)
        else:
            if not isinstance(outcome, NEVER_SENT) and not operation.idempotent:
                return Decision(False, reason="may have reached the server; not idempotent")
            reason = type(outcome).__name__
            server_delay = None
        if attempt > self.max_retries:
            return Decision(False, reason=f"{reason}; retries exhausted")
        delay = server_delay if server_delay is not None else self.backoff(attempt)
        return Decision(True, delay, reason)


def _seconds(value: str | None, scale: float = 1.0) -> float | None:
    """A non-negative, finite number of seconds from a header value, else None."""
    if value is None:
        return None
    try:
        number = float(value) / scale
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None
