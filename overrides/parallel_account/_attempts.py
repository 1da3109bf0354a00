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
    # Set once an attempt may have been carried out without us seeing the answer.
    may_have_happened = False
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
        if isinstance(outcome, httpx.Response) and _already_deleted(
            operation.method, outcome, may_have_happened
        ):
            logger.info(
                "%s %s: 404 after an unanswered attempt; already deleted",
                operation.method,
                operation.path,
            )
            return call.parse(outcome)
        may_have_happened = may_have_happened or _may_have_happened(outcome)
        decision = policy.decide(operation, attempt, outcome)
        if not decision.retry:
            # Unknown once any attempt may have been carried out, not only the last one:
            # a final 429 or refused connection does not undo an earlier lost answer.
            if isinstance(outcome, httpx.Response):
                raise status_error(
                    outcome,
                    idempotency_key=call.idempotency_key,
                    may_have_happened=may_have_happened,
                )
            raise connection_error(
                outcome,
                request,
                may_have_reached_server=may_have_happened,
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


def _may_have_happened(outcome: httpx.Response | httpx.TransportError) -> bool:
    """Whether the server may have carried out an attempt that gave us no success answer."""
    if isinstance(outcome, httpx.Response):
        return outcome.status_code >= 500
    return not isinstance(outcome, NEVER_SENT)


def _already_deleted(
    method: str, outcome: httpx.Response | httpx.TransportError, retried_blind: bool
) -> bool:
    """A DELETE whose earlier attempt may have worked, now answered 404: the goal is met."""
    return (
        retried_blind
        and method == "DELETE"
        and isinstance(outcome, httpx.Response)
        and outcome.status_code == 404
    )
