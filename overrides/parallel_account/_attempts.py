"""The attempt loop, written once, without I/O, for both clients.

`attempts()` is a generator: it yields `Send` (send this request) or `Sleep`
(wait this long) and is sent back the response or the transport error; it
returns the success answer, unread, as a `RawHTTPResponse`. The
sync client drives it with `httpx.Client.send` and `time.sleep`, the async one
with `await`. So validation, retry decisions, backoff, logging and error
mapping have a single implementation; only the two drivers differ.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable, Generator
from typing import NamedTuple, TypeVar

import httpx

from parallel_account._errors import (
    APIError,
    ParallelAccountError,
    annotate,
    connection_error,
    status_error,
)
from parallel_account._logging import logger
from parallel_account._raw import RawHTTPResponse
from parallel_account._request import Call
from parallel_account._retry import NEVER_SENT, RetryPolicy
from parallel_account_api.spec_facts import OperationFacts

T = TypeVar("T")
E = TypeVar("E", bound=ParallelAccountError)


# NamedTuples rather than frozen dataclasses: as immutable, and made in a tenth of the
# time when the module loads (every command line start pays for it).
class Send(NamedTuple):
    request: httpx.Request


class Sleep(NamedTuple):
    seconds: float


Step = Send | Sleep
#: What a driver sends back for a `Send`: the response, or the transport error.
SendResult = httpx.Response | httpx.RequestError | None


def attempts(
    call: Call[T],
    request: httpx.Request,
    policy: RetryPolicy,
    monotonic: Callable[[], float] = time.monotonic,
) -> Generator[Step, SendResult, RawHTTPResponse[T]]:
    """Send `request` (the same one, body and idempotency key included) until done.

    A driver answers each Send with the response or the httpx.RequestError, and
    throws anything else (a token provider's failure, Ctrl-C) into the generator,
    which annotates it with the idempotency key before it propagates.
    """
    operation = call.operation
    key = call.idempotency_key
    attempt = 0
    # Set once an attempt may have been carried out without us seeing the answer.
    may_have_happened = False

    def annotated(error: E, outcome_unknown: bool) -> E:
        return annotate(
            error,
            idempotency_key=key,
            outcome_unknown=outcome_unknown,
            operation=operation.name,
            moves_money=operation.moves_money,
        )

    def read(response: httpx.Response) -> T:
        try:
            return call.parse(response)
        except ParallelAccountError as exc:
            # A 2xx whose answer is unreadable: a charge (keyed) or a create was carried out;
            # a read or another idempotent call changed nothing that repeating could double.
            if key is None and operation.idempotent:
                raise _safe_to_repeat(exc, operation.name) from None
            raise annotated(exc, True) from None

    def unknown() -> bool:
        # Only where repeating matters: a charge (keyed) or a non-idempotent create.
        return may_have_happened and (key is not None or not operation.idempotent)

    try:
        while True:
            attempt += 1
            started = monotonic()
            try:
                outcome = yield Send(request)
            except ParallelAccountError as exc:
                raise annotated(exc, unknown()) from None
            except Exception as exc:
                error = APIError(
                    f"{operation.method} {operation.path}: {type(exc).__name__} before attempt "
                    f"{attempt} could be sent",
                    request=request,
                )
                raise annotated(error, unknown()) from exc
            assert outcome is not None  # a driver always answers a Send
            seconds = monotonic() - started
            if logger.isEnabledFor(logging.DEBUG):  # skip building the line when nobody reads it
                _log_attempt(operation, outcome, attempt, seconds)
            if isinstance(outcome, httpx.Response) and (
                outcome.is_success or _already_deleted(operation.method, outcome, may_have_happened)
            ):
                return RawHTTPResponse(
                    operation.name,
                    outcome,
                    read,
                    retries_taken=attempt - 1,
                    elapsed=datetime.timedelta(seconds=seconds),
                )
            may_have_happened = may_have_happened or _may_have_happened(outcome)
            decision = policy.decide(operation, attempt, outcome)
            if not decision.retry:
                # Unknown once any attempt may have been carried out, not only the last one:
                # a final 429 or refused connection does not undo an earlier lost answer.
                if isinstance(outcome, httpx.Response):
                    sent = request.headers.get("authorization", "").partition(" ")[2]
                    raise annotated(status_error(outcome, secret=sent or None), unknown())
                error = annotated(connection_error(outcome, request), unknown())
                # A local protocol error can quote a header value, such as the token.
                raise error from (
                    None if isinstance(outcome, httpx.LocalProtocolError) else outcome
                )
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
    except BaseException as exc:
        if key is not None and not isinstance(exc, Exception):  # Ctrl-C, task cancelled
            exc.add_note(f"{operation.name} interrupted; retry with idempotency_key={key!r}")
        raise
    finally:
        # Errors keep the request (and responses point at it): drop the token from it.
        request.headers.pop("Authorization", None)


def _safe_to_repeat(error: E, operation: str) -> E:
    """`error` saying the answer, not the call, was the problem (outcome_unknown stays False)."""
    note = (
        f"the API answered something this client cannot read; {operation} is idempotent, "
        "so repeating it is safe (a newer client may read the answer)"
    )
    error.args = (f"{error.args[0] if error.args else type(error).__name__} [{note}]",)
    if isinstance(error, APIError):
        error.message = error.args[0]
    return error


def _log_attempt(
    operation: OperationFacts,
    outcome: httpx.Response | httpx.RequestError,
    attempt: int,
    seconds: float,
) -> None:
    status = outcome.status_code if isinstance(outcome, httpx.Response) else type(outcome).__name__
    logger.debug(
        "%s %s -> %s (attempt %d, %.1f ms)",
        operation.method,
        operation.path,
        status,
        attempt,
        seconds * 1000,
    )


def _may_have_happened(outcome: httpx.Response | httpx.RequestError) -> bool:
    """Whether the server may have carried out an attempt that gave us no success answer."""
    if isinstance(outcome, httpx.Response):
        return outcome.status_code >= 500
    return not isinstance(outcome, NEVER_SENT)


def _already_deleted(method: str, response: httpx.Response, retried_blind: bool) -> bool:
    """A DELETE whose earlier attempt may have worked, now answered 404: the goal is met."""
    return retried_blind and method == "DELETE" and response.status_code == 404
