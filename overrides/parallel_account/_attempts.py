"""The attempt loop, written once, without I/O, for both clients.

`attempts()` is a generator: it yields `Send` (send this request) or `Sleep`
(wait this long) and is sent back the response or the transport error. The
sync client drives it with `httpx.Client.send` and `time.sleep`, the async one
with `await`. So validation, retry decisions, backoff, logging and error
mapping have a single implementation; only the two drivers differ.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TypeVar

import httpx

from parallel_account._errors import connection_error, status_error
from parallel_account._logging import logger
from parallel_account._operations import Call
from parallel_account._retry import NEVER_SENT, RetryPolicy

T = TypeVar("T")


@dataclass(frozen=True)
class Send:
    request: httpx.Request


@dataclass(frozen=True)
class Sleep:
    seconds: float


Step = Send | Sleep
Outcome = httpx.Response | httpx.TransportError | None


def attempts(
    call: Call[T],
    request: httpx.Request,
    policy: RetryPolicy,
    monotonic: Callable[[], float] = time.monotonic,
) -> Generator[Step, Outcome, T]:
    """Send `request` (the same one, body and idempotency key included) until done."""
    operation = call.operation
    attempt = 0
    while True:
        attempt += 1
        started = monotonic()
        outcome = yield Send(request)
        assert outcome is not None  # a driver always answers a Send
        elapsed_ms = (monotonic() - started) * 1000
        status = (
            outcome.status_code if isinstance(outcome, httpx.Response) else type(outcome).__name__
        )
        logger.debug(
            "%s %s -> %s (attempt %d, %.1f ms)",
            operation.method,
            operation.path,
            status,
            attempt,
            elapsed_ms,
        )
        if isinstance(outcome, httpx.Response) and outcome.is_success:
            return call.parse(outcome)
        decision = policy.decide(operation, attempt, outcome)
        if not decision.retry:
            if isinstance(outcome, httpx.Response):
                raise status_error(outcome, idempotency_key=call.idempotency_key)
            raise connection_error(
                outcome,
                request,
                may_have_reached_server=not isinstance(outcome, NEVER_SENT),
                idempotency_key=call.idempotency_key,
            ) from outcome
        logger.warning(
            "%s %s: retrying after %s in %.2f s (retry %d of %d)",
            operation.method,
            operation.path,
            decision.reason,
            decision.delay,
            attempt,
            policy.max_retries,
        )
        yield Sleep(decision.delay)
