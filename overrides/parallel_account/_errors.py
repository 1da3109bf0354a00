"""Every public exception of the package, and the one mapping from HTTP answers and failures.

    ParallelAccountError
    ├── InvalidRequestError (also ValueError)  bad input caught before sending
    ├── APIError
    │   ├── APIResponseValidationError         a 2xx answer unreadable or not as the spec says
    │   ├── APIConnectionError                 no HTTP answer
    │   │   └── APITimeoutError                no HTTP answer in time
    │   └── APIStatusError                     an HTTP answer that is not a success
    │       ├── BadRequestError                400
    │       ├── AuthenticationError            401, or no credentials at all
    │       │   ├── NotSignedInError           no stored sign-in for the profile
    │       │   └── SignInExpiredError         a stored sign-in that needs a new login
    │       ├── PermissionDeniedError          403
    │       ├── NotFoundError                  404
    │       ├── ConflictError                  409
    │       ├── UnprocessableEntityError       422
    │       ├── RateLimitError                 429
    │       └── InternalServerError            500 or above
    ├── DeviceFlowError                        the sign-in platform refused a device-flow step
    │   ├── AccessDeniedError                  the user declined the sign-in
    │   ├── DeviceCodeExpiredError             nobody approved the code in time
    │   └── InvalidClientError                 the platform does not know our client id
    ├── TokenStoreError                        a sign-in file cannot be used as it is
    │   ├── InsecureTokenFileError             the file or its directory is open to others
    │   ├── CorruptTokenFileError              not a sign-in file this package can read
    │   └── UnsupportedSignInFileError         Parallel CLI's file in a layout not read here
    ├── OperationGone                          a CLI command's operation left the spec
    ├── Cancelled                              the CLI's confirmation was answered no
    ├── Interrupted                            the CLI was stopped during a top-up
    ├── OutputLost                             the CLI could not write what the server did
    ├── CannotServe                            the fake cannot listen where asked
    └── ScenarioError                          a conformance scenario this spec cannot run

Every error raised while adding balance carries `.idempotency_key`; `.outcome_unknown`
is True when the request may have been carried out (calling again with the same
key is then the safe way to find out). Each class here is exported from
`parallel_account` (a test walks the subclasses and checks both, and this tree).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import httpx

from parallel_account._json import UnreadableJSON, loads
from parallel_account._request_id import request_id_of

# What an error keeps when pickled (process pools, task queues): the facts a caller
# decides on. The request and response stay behind: they hold connections, and the
# request is where a token would be.
_PICKLED = (
    "message",
    "status_code",
    "request_id",
    "idempotency_key",
    "outcome_unknown",
    "body",
    "detail",
    "path",  # TokenStoreError: the sign-in file
    "error",  # DeviceFlowError: the platform's OAuth error code
    "terminated",  # Interrupted: SIGTERM rather than Ctrl-C
    "__notes__",
)


def _rebuild(cls: type[ParallelAccountError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    for name in ("request", "response"):
        if name in getattr(cls, "__annotations__", {}) or issubclass(cls, APIError):
            setattr(error, name, None)
    error.__dict__.update(state)
    return error


class ParallelAccountError(Exception):
    """Base of every error this package raises. Pickles without its request and response.

    Attributes:
        idempotency_key: the key a top-up used (None for other operations); calling
            again with it cannot charge twice.
        outcome_unknown: True when the request may have been carried out.
    """

    idempotency_key: str | None = None
    outcome_unknown: bool = False

    def __reduce__(self) -> tuple[Any, ...]:
        state = {k: v for k, v in self.__dict__.items() if k in _PICKLED}
        return (_rebuild, (type(self), self.args, state))


class InvalidRequestError(ParallelAccountError, ValueError):
    """Bad input caught on this side; no request was made."""


class APIError(ParallelAccountError):
    """The API could not be used: no answer, or an answer that is not a success.

    Args:
        message: what went wrong (never a token); also `.message` and `str(error)`.
        request: the request that failed (`.request`); None once unpickled.
    """

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request = request


class APIResponseValidationError(APIError):
    """A success answer (2xx) that cannot be read or does not match the spec.

    The server did the work: for a charge `.outcome_unknown` is True and calling again
    with `.idempotency_key` is safe.
    """


class APIConnectionError(APIError):
    """No HTTP answer: the connection failed or broke."""


class APITimeoutError(APIConnectionError):
    """No HTTP answer in time."""


class APIStatusError(APIError):
    """The server answered with a status that is not a success.

    Args:
        message: what went wrong, with the server's reason (the token masked out).
        response: the answer (`.response`); None when there was none (no credentials)
            or once unpickled.
        body: the answer's body as JSON, else a bounded piece of its text (`.body`).
        status_code: the status when there is no response (`.status_code`, else the
            response's).

    Attributes:
        request_id: the server's `x-request-id` (or `request-id`) header, if sent.
    """

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response | None,
        body: Any = None,
        status_code: int | None = None,
    ) -> None:
        request = response.request if response is not None else None
        super().__init__(message, request=request)
        self.response = response
        self.body = body
        self.status_code = response.status_code if response is not None else status_code
        headers = response.headers if response is not None else httpx.Headers()
        self.request_id: str | None = request_id_of(headers)


class BadRequestError(APIStatusError):
    """400; the arguments are `APIStatusError`'s."""


class AuthenticationError(APIStatusError):
    """401, or no credentials at all (then `.response` is None)."""


class PermissionDeniedError(APIStatusError):
    """403; the arguments are `APIStatusError`'s."""


class NotFoundError(APIStatusError):
    """404; the arguments are `APIStatusError`'s."""


class ConflictError(APIStatusError):
    """409: e.g. an idempotency key reused with other arguments; see `APIStatusError`."""


class UnprocessableEntityError(APIStatusError):
    """422: the server rejected the request body; `.detail` lists the validation errors.

    Args:
        message: what went wrong, with the server's reasons.
        response: the answer.
        body: the answer's body; its `detail` list becomes `.detail` (else []).

    Attributes:
        detail: the server's validation errors (a list; empty when it sent none).
    """

    def __init__(self, message: str, *, response: httpx.Response | None, body: Any = None) -> None:
        super().__init__(message, response=response, body=body)
        detail = body.get("detail") if isinstance(body, dict) else None
        self.detail: list[Any] = detail if isinstance(detail, list) else []


class RateLimitError(APIStatusError):
    """429; the arguments are `APIStatusError`'s."""


class InternalServerError(APIStatusError):
    """500 or above; the arguments are `APIStatusError`'s."""


class NotSignedInError(AuthenticationError):
    """No stored sign-in for the profile (never signed in, or signed out meanwhile).

    The `message` says to run `parallel-account login`.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, response=None)


class SignInExpiredError(AuthenticationError):
    """The stored sign-in can no longer be refreshed; the `message` says to log in again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, response=None)


class DeviceFlowError(ParallelAccountError):
    """The platform refused a device-flow step.

    Args:
        message: what went wrong (never a token or device code).
        error: the OAuth error code the platform sent, if any (`.error`).
    """

    def __init__(self, message: str, *, error: str | None = None) -> None:
        super().__init__(message)
        self.error = error


class AccessDeniedError(DeviceFlowError):
    """The user declined the sign-in in the browser."""


class DeviceCodeExpiredError(DeviceFlowError):
    """The user code expired before anyone approved it."""


class InvalidClientError(DeviceFlowError):
    """The platform does not know our client_id (any more): register again."""


class TokenStoreError(ParallelAccountError):
    """The stored sign-in cannot be used as it is.

    Args:
        message: what is wrong and what to do (never a token).
        path: the file concerned (`.path`).
    """

    def __init__(self, message: str, *, path: Path) -> None:
        super().__init__(message)
        self.path = path


class InsecureTokenFileError(TokenStoreError):
    """The sign-in file (or its directory) is open to group or others."""


class CorruptTokenFileError(TokenStoreError):
    """The sign-in file is not a sign-in this package wrote (truncated, edited, other format)."""


class UnsupportedSignInFileError(TokenStoreError):
    """Parallel CLI's sign-in file has a layout version this package cannot read."""


class OperationGone(ParallelAccountError):
    """A curated command's operation is not in the spec this version was generated from."""


class Cancelled(ParallelAccountError):
    """The person at the terminal said no; nothing was sent."""


class Interrupted(ParallelAccountError):
    """Ctrl-C or SIGTERM while a top-up was under way: its outcome is unknown.

    Args:
        message: what was stopped, and how to find out what happened.
        idempotency_key: the top-up's key (`.idempotency_key`): calling again with it is safe.
        terminated: True for SIGTERM, False for Ctrl-C (`.terminated`, for the exit status).
    """

    def __init__(self, message: str, *, idempotency_key: str, terminated: bool = False) -> None:
        super().__init__(message)
        self.idempotency_key = idempotency_key
        self.outcome_unknown = True
        self.terminated = terminated


class OutputLost(ParallelAccountError):
    """Something done on the server could not be written to stdout (closed, broken, full)."""


class CannotServe(ParallelAccountError):
    """The fake cannot listen where asked; the message names the option and what to do."""


class ScenarioError(ParallelAccountError):
    """A conformance scenario that cannot run against this spec (a bound it names is gone, say)."""


E = TypeVar("E", bound=ParallelAccountError)

_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def _body_of(response: httpx.Response, secret: str | None = None) -> Any:
    """The error body as JSON if it is readable JSON, else (a bounded piece of) its text.

    `secret` (the token sent) is masked in the raw text first, so no field, summary,
    truncation or pickle of the body can carry it.
    """
    content = response.content
    if secret and len(secret) >= 4:
        content = content.replace(secret.encode("ascii", "replace"), b"[token]")
    try:
        return loads(content)
    except UnreadableJSON:
        return content[:500].decode("utf-8", "replace") or None


def _short(value: Any, limit: int = 200) -> str:
    """A bounded, single-line rendering of a value taken from a server's answer."""
    try:
        text = value if isinstance(value, str) else json.dumps(value)[: limit * 2]
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _summary(body: Any) -> str:
    """A short reason from an error body: FastAPI's `detail`, else the text.

    Whatever shape the server chose (a `loc` that is null or a number, items that are
    not objects, deep nesting), this gives a line, never an exception.
    """
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        if isinstance(detail, list):
            parts = []
            for item in detail[:10]:
                if isinstance(item, dict):
                    loc = item.get("loc")
                    where = (
                        ".".join(_short(p, 40) for p in loc[:10])
                        if isinstance(loc, list)
                        else _short(loc, 40)
                    )
                    parts.append(f"{where}: {_short(item.get('msg', ''))}")
                else:
                    parts.append(_short(item))
            return _short("; ".join(parts), 500)
        return _short(detail)
    return _short(body) if body else ""


def status_error(response: httpx.Response, *, secret: str | None = None) -> APIStatusError:
    """The error for a non-success answer.

    The reason quotes the server's body; a server (or a proxy) that echoes the request's
    token back would put it there, so `secret` (the token sent) is masked out of the body
    before anything reads it.
    """
    body = _body_of(response, secret)
    request = response.request
    reason = _summary(body)
    message = f"{request.method} {request.url.path} failed: HTTP {response.status_code}" + (
        f": {reason}" if reason else ""
    )
    cls = _BY_STATUS.get(response.status_code)
    if cls is None and response.status_code >= 500:
        cls = InternalServerError
    if cls is UnprocessableEntityError:
        return UnprocessableEntityError(message, response=response, body=body)
    return (cls or APIStatusError)(message, response=response, body=body)


def connection_error(exc: httpx.RequestError, request: httpx.Request) -> APIConnectionError:
    """The error for a failure with no (readable) HTTP answer."""
    if isinstance(exc, httpx.TimeoutException):
        kind = "timed out"
    elif isinstance(exc, httpx.TransportError):
        kind = "connection failed"
    else:  # e.g. a body that cannot be decoded: an answer came, but not one we can read
        kind = "answer could not be read"
    message = f"{request.method} {request.url.path} {kind} ({type(exc).__name__})"
    cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    return cls(message, request=request)


def annotate(
    error: E,
    *,
    idempotency_key: str | None,
    outcome_unknown: bool,
    operation: str = "the operation",
    moves_money: bool = False,
) -> E:
    """Record what a caller needs to decide whether repeating the call is safe.

    With a key (a top-up), the message names it, and says plainly when the work (the
    charge) may have been done. Without one, an unknown outcome means a non-idempotent
    call (a create) may have been carried out: check before repeating it.
    Annotating twice keeps the first key and message.
    """
    error.outcome_unknown = error.outcome_unknown or outcome_unknown
    if error.idempotency_key is not None:
        return error
    error.idempotency_key = idempotency_key
    if idempotency_key is not None:
        what, twice = (
            ("the charge may or may not have been made", "charge twice")
            if moves_money
            else ("the request may or may not have been carried out", "do it twice")
        )
        note = (
            f"outcome unknown: {what}; calling {operation} again with "
            f"idempotency_key={idempotency_key!r} is safe and will not {twice}"
            if error.outcome_unknown
            else f"idempotency_key={idempotency_key!r}"
        )
    elif error.outcome_unknown:
        note = (
            f"outcome unknown: {operation} may have been carried out (what it creates may now "
            "exist); check before repeating it, since it is not idempotent"
        )
    else:
        return error
    error.args = (f"{error.args[0] if error.args else type(error).__name__} [{note}]",)
    if isinstance(error, APIError):
        error.message = error.args[0]
    return error
