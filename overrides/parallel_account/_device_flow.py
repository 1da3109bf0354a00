"""The OAuth device authorization grant (RFC 8628) against Parallel's platform, sync httpx.

Choices:

* `Platform` makes one HTTP call per method and turns OAuth error bodies
  (`{"error": ..., "error_description": ...}`, whatever the status) into
  `DeviceFlowError`s carrying the code. Only the answer Parallel's own CLI
  (`parallel-cli`) re-registers on, `invalid_client` *with* "Unknown client_id",
  becomes an `InvalidClientError`; any other `invalid_client` stays a plain
  DeviceFlowError, so a misconfigured platform cannot make us register over and over.
* As Parallel's CLI does: registration sends `platform` as an object of the
  machine's platform facts (`platform_facts()`); when registration fails, callers
  fall back to the public client id `parallel-cli` (FALLBACK_CLIENT_ID); revoking
  sends the single form field `refresh_token` (the platform finds the client from
  the token; RFC 7009's `token` / `token_type_hint` are not what it reads).
* Every failure that is the platform's (no answer, an HTTP error, an unreadable or
  unexpected answer) names the platform URL and how to use another one
  (`--platform-url`, `$PARALLEL_PLATFORM_URL`, `platform_url=`): the usual cause
  is pointing at the wrong host.
* `poll_for_grant` waits `interval + safety_margin` seconds before each poll
  (the margin absorbs clock drift and latency so we never poll early and earn a
  `slow_down`), adds 5 s per `slow_down` (RFC 8628 3.5), and gives up at the
  device code's `expires_in` without a final pointless request. Parallel's CLI
  polls once at once; nobody approves within milliseconds of seeing a code, so
  that first poll only spends a request. Unlike Parallel's CLI, a passing network
  error or 5xx does not end the wait (the user's approval would be lost).
  `progress(event, fields)` hears `auth_waiting`, `slow_down` and `poll_failed`.
* The default sleep checks the clock in short steps, so Ctrl-C ends a
  ten-minute wait at once. Sleep and clock are parameters: tests never wait.
* Errors never carry a token: messages hold only the server's error code and
  description, and the request (whose form holds the refresh token) is not
  attached to errors raised here.
* Answers are read streamed, at most MAX_ANSWER_BYTES, as bounded JSON (depth,
  digits, no NaN/Infinity): no answer becomes a raw Python exception. Lifetimes
  are clamped to 0..MAX_LIFETIME seconds (a negative one means already expired);
  a lifetime that is not a number is refused. Text the platform sends must be
  valid Unicode of bounded length (tokens: visible ASCII), so whatever is stored
  can be read back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import platform as platform_module
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeGuard

import httpx

from parallel_account import _json
from parallel_account._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    AuthenticationError,
    InternalServerError,
    ParallelAccountError,
    connection_error,
    status_error,
)
from parallel_account._logging import logger
from parallel_account._reading import BoundedBody, ResponseTooLarge
from parallel_account._scopes import DEFAULT_SCOPE
from parallel_account._token_store import MAX_EPOCH, SignInRecord
from parallel_account._urls import PLATFORM_URL_ENV, is_loopback, platform_base_url
from parallel_account._version import __version__

CLIENT_NAME = "parallel-account-client"
# Parallel's CLI's public client id, which the platform knows without registration.
FALLBACK_CLIENT_ID = "parallel-cli"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5.0  # RFC 8628 3.2 and Parallel's own CLI, when the answer has none
DEFAULT_EXPIRES_IN = 600.0  # Parallel's own CLI, when the answer has none
SLOW_DOWN_STEP = 5.0  # RFC 8628 3.5
POLL_SAFETY_MARGIN = 1.0
SLEEP_STEP = 0.2  # longest uninterruptible stretch of the default sleep
HTTP_TIMEOUT = 30.0
MAX_ANSWER_BYTES = 1024 * 1024  # an OAuth answer is well under 4 KiB
MAX_LIFETIME = 10 * 366 * 86400.0  # ten years: longer lifetimes are clamped to it
MAX_DEVICE_CODE_LIFETIME = 86400.0  # a user code lives minutes; a day at most
MAX_INTERVAL = 300.0  # poll at least every five minutes, whatever the platform says
MAX_TOKEN_CHARS = 8192  # a JWT is 1-2 KiB
MAX_TEXT_CHARS = 1024  # ids, names, scope strings, URLs

REGISTER_PATH = "/getServiceKeys/register"
DEVICE_CODE_PATH = "/getServiceKeys/device/code"
TOKEN_PATH = "/getServiceKeys/token"  # noqa: S105 (a URL path)
REVOKE_PATH = "/getServiceKeys/token/revoke"

LOGIN_HINT = "run `parallel-account login`"

Sleep = Callable[[float], None]
Clock = Callable[[], float]
Progress = Callable[[str, dict[str, Any]], None]


def platform_facts() -> dict[str, str]:
    """What registration tells the platform about this machine, as Parallel's CLI sends it.

    Keys `system`, `release`, `machine`, `processor`, `version`, `os_name`; a fact
    that is empty or cannot be read is left out.
    """
    readers: dict[str, Callable[[], str]] = {
        "system": platform_module.system,
        "release": platform_module.release,
        "machine": platform_module.machine,
        "processor": platform_module.processor,
        "version": platform_module.version,
        "os_name": lambda: os.name,
    }
    facts: dict[str, str] = {}
    for key, read in readers.items():
        with contextlib.suppress(Exception):  # a fact that cannot be read is only left out
            value = read()
            if isinstance(value, str) and value:
                facts[key] = value[:MAX_TEXT_CHARS]
    return facts


def platform_hint(url: str) -> str:
    """Where a platform failure happened and how to go elsewhere, for the end of a message."""
    return (
        f" (sign-in platform {url}; to use another, pass --platform-url URL, "
        f"set ${PLATFORM_URL_ENV}, or platform_url= in Python)"
    )


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


class _TooLarge(Exception):
    """An answer over MAX_ANSWER_BYTES (raised while reading, turned into a DeviceFlowError)."""


class SignInExpiredError(AuthenticationError):
    """The stored sign-in can no longer be refreshed; the `message` says to log in again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, response=None)


def interruptible_sleep(seconds: float) -> None:
    """Sleep in steps of at most SLEEP_STEP, so KeyboardInterrupt lands within one step."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(SLEEP_STEP, left))


@dataclass(frozen=True)
class DeviceCode:
    """What to show the user; `device_code` (the poll secret) stays out of repr.

    Attributes:
        user_code: the code the user enters on the platform.
        verification_uri: where to enter it.
        verification_uri_complete: a link with the code filled in, if the platform sent one.
        expires_in: seconds until the code expires.
        interval: seconds to wait between polls.
        device_code: the secret the client polls with.
    """

    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float
    device_code: str = field(repr=False)


@dataclass(frozen=True)
class TokenGrant:
    """A successful answer of the token endpoint; tokens stay out of repr. Lifetimes in seconds."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    token_type: str
    expires_in: float | None
    refresh_token_expires_in: float | None
    authorization_expires_in: float | None
    scope: str | None
    org_id: str | None
    org_name: str | None

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> TokenGrant:
        access = body.get("access_token")
        if not _is_bare_token(access):
            raise DeviceFlowError("the platform's token answer has no usable access_token")
        refresh = body.get("refresh_token")
        if refresh is not None and refresh != "" and not _is_bare_token(refresh):
            raise DeviceFlowError(
                "the platform's token answer has an unusable refresh_token (expected at most "
                f"{MAX_TOKEN_CHARS} visible ASCII characters)"
            )
        return cls(
            access_token=access,
            refresh_token=refresh if _is_bare_token(refresh) else None,
            token_type=_text(body.get("token_type")) or "Bearer",
            expires_in=_lifetime(body, "expires_in"),
            refresh_token_expires_in=_lifetime(body, "refresh_token_expires_in"),
            authorization_expires_in=_lifetime(body, "authorization_expires_in"),
            scope=_text(body.get("scope")),
            org_id=_text(body.get("org_id")),
            org_name=_text(body.get("org_name")),
        )

    def new_record(
        self, *, client_id: str, platform_url: str, requested_scope: str, now: float
    ) -> SignInRecord:
        """The record to store after a login (scope: as granted, else as requested)."""
        return SignInRecord(
            client_id=client_id,
            platform_url=platform_url,
            access_token=self.access_token,
            refresh_token=self.refresh_token,
            token_type=self.token_type,
            scope=self.scope or requested_scope,
            org_id=self.org_id,
            org_name=self.org_name,
            access_token_expires_at=_at(now, self.expires_in),
            refresh_token_expires_at=_at(now, self.refresh_token_expires_in),
            authorization_expires_at=_at(now, self.authorization_expires_in),
        )

    def refreshed(self, record: SignInRecord, *, now: float) -> SignInRecord:
        """`record` after a refresh: what came back replaces, what did not is kept."""
        return dataclasses.replace(
            record,
            access_token=self.access_token,
            refresh_token=self.refresh_token or record.refresh_token,
            token_type=self.token_type,
            scope=self.scope or record.scope,
            org_id=self.org_id or record.org_id,
            org_name=self.org_name or record.org_name,
            access_token_expires_at=_at(now, self.expires_in),
            refresh_token_expires_at=_at(now, self.refresh_token_expires_in)
            or record.refresh_token_expires_at,
            authorization_expires_at=_at(now, self.authorization_expires_in)
            or record.authorization_expires_at,
        )


class Platform:
    """The platform's OAuth endpoints, one HTTP call per method (no retries: none is idempotent)."""

    def __init__(
        self,
        platform_url: str | None = None,
        *,
        http: httpx.Client | None = None,
        timeout: float = HTTP_TIMEOUT,
    ) -> None:
        self.url = platform_base_url(platform_url)
        self._owns_http = http is None
        self._http = http or httpx.Client(
            timeout=timeout,
            follow_redirects=False,  # a redirect must not carry a refresh token elsewhere
            headers={"User-Agent": f"parallel-account-client/{__version__}"},
            # A loopback platform (plain http allowed) is never reached through a proxy
            # from the environment, which would read the refresh token in clear text.
            trust_env=not is_loopback(httpx.URL(self.url).host),
        )

    def __repr__(self) -> str:
        return f"Platform({self.url!r})"

    def __enter__(self) -> Platform:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def register(
        self, *, client_name: str = CLIENT_NAME, platform: dict[str, str] | None = None
    ) -> str:
        """Register this installation; the client_id to use from now on.

        `platform`: the machine's facts (default `platform_facts()`), an object as
        Parallel's CLI sends it. `client_name` is this package's own name, so the
        platform can tell the two clients apart.
        """
        facts = platform_facts() if platform is None else platform
        body = self._post(REGISTER_PATH, json={"client_name": client_name, "platform": facts})
        client_id = _text(body.get("client_id"))
        if client_id is None:
            raise DeviceFlowError(
                f"POST {REGISTER_PATH}: the answer has no client_id{platform_hint(self.url)}"
            )
        return client_id

    def device_code(self, client_id: str, scope: str = DEFAULT_SCOPE) -> DeviceCode:
        body = self._post(DEVICE_CODE_PATH, data={"client_id": client_id, "scope": scope})
        device_code = _text(body.get("device_code"))
        user_code = _text(body.get("user_code"))
        uri = _text(body.get("verification_uri"))
        if device_code is None or user_code is None or uri is None:
            raise DeviceFlowError(
                f"POST {DEVICE_CODE_PATH}: the answer lacks device_code, user_code or "
                f"verification_uri{platform_hint(self.url)}"
            )
        return DeviceCode(
            user_code=user_code,
            verification_uri=uri,
            verification_uri_complete=_text(body.get("verification_uri_complete")),
            expires_in=min(
                _seconds(body.get("expires_in"), positive=True) or DEFAULT_EXPIRES_IN,
                MAX_DEVICE_CODE_LIFETIME,
            ),
            interval=min(
                _or_default(_seconds(body.get("interval")), DEFAULT_INTERVAL), MAX_INTERVAL
            ),
            device_code=device_code,
        )

    def poll(self, client_id: str, device_code: str) -> TokenGrant:
        """One poll; raises DeviceFlowError with `.error` 'authorization_pending' etc."""
        form = {"grant_type": DEVICE_CODE_GRANT, "device_code": device_code, "client_id": client_id}
        return TokenGrant.from_body(self._post(TOKEN_PATH, data=form))

    def refresh(self, client_id: str, refresh_token: str) -> TokenGrant:
        """A new access token (and usually a new refresh token).

        Raises SignInExpiredError when the platform will not refresh any more.
        """
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
        }
        try:
            return TokenGrant.from_body(self._post(TOKEN_PATH, data=form))
        except DeviceFlowError as exc:
            # invalid_grant: refresh token expired, used or revoked; the others: the
            # authorisation or the client behind it is gone. Only a new login helps.
            if exc.error in ("invalid_grant", "expired_token", "access_denied", "invalid_client"):
                raise SignInExpiredError(
                    f"the sign-in has expired or was revoked ({exc.error}); {LOGIN_HINT}"
                ) from None
            raise
        except AuthenticationError as exc:
            raise SignInExpiredError(
                f"the platform refused to refresh the sign-in (HTTP {exc.status_code}); {LOGIN_HINT}"
            ) from None

    def revoke(self, refresh_token: str) -> None:
        """Revoke a refresh token: the form field `refresh_token` alone, as Parallel's CLI sends.

        No client_id: the platform finds the client from the token itself.
        """
        self._post(REVOKE_PATH, data={"refresh_token": refresh_token})

    def _post(
        self,
        path: str,
        *,
        data: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        request = self._http.build_request(
            "POST", self.url + path, data=data, json=json, headers={"Accept": "application/json"}
        )
        failure: httpx.RequestError | None = None
        # What we send that must never come back out in a message: a platform (or a proxy)
        # that echoes the form would otherwise put the refresh token into an error.
        sent: dict[str, Any] = {**(data or {}), **(json or {})}
        secrets = [
            value
            for k in _SECRET_FORM_FIELDS
            if isinstance(value := sent.get(k), str) and len(value) >= 8
        ]
        try:
            response = self._read_bounded(self._http.send(request, stream=True), secrets)
        except httpx.RequestError as exc:
            failure = exc
        except _TooLarge:
            failure = None
            too_large = True
        else:
            too_large = False
        if failure is not None:
            # Raised outside the except block, so no __context__ keeps the form (a refresh token).
            raise _scrubbed(connection_error(failure, request), self.url)
        if too_large:
            raise DeviceFlowError(
                f"POST {path}: the platform's answer is larger than {MAX_ANSWER_BYTES} "
                f"bytes{platform_hint(self.url)}"
            )
        try:
            body: Any = _json.loads(response.content) if response.content else {}
        except _json.UnreadableJSON:
            body = None
        if isinstance(body, dict):
            oauth_error = _oauth_error(path, body, self.url)
            if oauth_error is not None:
                raise oauth_error
        if not response.is_success:
            raise _scrubbed(status_error(response), self.url)
        if not isinstance(body, dict):
            raise DeviceFlowError(
                f"POST {path}: the platform's answer is not a JSON object this client can read "
                "(not JSON, nested too deeply, numbers too large, or not an object)"
                + platform_hint(self.url)
            )
        return body

    @staticmethod
    def _read_bounded(response: httpx.Response, secrets: list[str]) -> httpx.Response:
        """The answer with its body read (inflated a capped step at a time, as the API
        client does), at most MAX_ANSWER_BYTES of it, with `secrets` masked out."""
        try:
            body = BoundedBody(response, MAX_ANSWER_BYTES, deadline=None)
            if not body.took_content_already_read():
                for chunk in response.iter_raw():
                    body.add_raw(chunk)
            content = body.finish().content
        except ResponseTooLarge:
            raise _TooLarge from None
        finally:
            response.close()
        for secret in secrets:
            content = content.replace(secret.encode("utf-8", "replace"), b"[secret]")
        chunks = [content]
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=b"".join(chunks),
            request=response.request,
        )


def poll_for_grant(
    platform: Platform,
    client_id: str,
    code: DeviceCode,
    *,
    sleep: Sleep = interruptible_sleep,
    clock: Clock = time.time,
    safety_margin: float = POLL_SAFETY_MARGIN,
    progress: Progress | None = None,
) -> TokenGrant:
    """Poll until the user approves, declines, or the code expires.

    `progress(event, fields)`, if given, hears `auth_waiting` (once, before the first
    wait), `slow_down` (with the new interval) and `poll_failed` (a passing fault).
    """
    tell: Progress = progress or _nobody
    interval = code.interval
    deadline = clock() + code.expires_in
    tell("auth_waiting", {"interval": interval, "expires_in": code.expires_in})
    while True:
        remaining = deadline - clock()
        if remaining > 0:
            sleep(min(interval + safety_margin, remaining))
        if clock() >= deadline:
            raise DeviceCodeExpiredError(
                f"the code {code.user_code} expired before it was approved "
                f"({code.expires_in:g} s); {LOGIN_HINT} to get a new one"
            )
        try:
            return platform.poll(client_id, code.device_code)
        except DeviceFlowError as exc:
            if exc.error == "authorization_pending":
                continue
            if exc.error == "slow_down":
                interval += SLOW_DOWN_STEP
                tell("slow_down", {"interval": interval})
                continue
            raise
        except (APIConnectionError, InternalServerError) as exc:
            # A passing fault must not waste the user's approval: poll on until the deadline.
            logger.warning("sign-in: polling failed (%s); trying again", type(exc).__name__)
            tell("poll_failed", {"error": type(exc).__name__})


def _nobody(event: str, fields: dict[str, Any]) -> None:
    """The progress listener when nobody listens."""


# Form fields whose values are secrets (never the field names, nor client ids).
_SECRET_FORM_FIELDS = ("refresh_token", "device_code", "client_secret", "code")


def is_unknown_client(code: str | None, described: str) -> bool:
    """The one answer that means "register again": `invalid_client` with "Unknown client_id"."""
    return code == "invalid_client" and "unknown client_id" in described.lower()


def _oauth_error(path: str, body: dict[str, Any], url: str) -> DeviceFlowError | None:
    """The error an OAuth error body stands for, or None if it is not one."""
    code = _text(body.get("error"))
    described = _text(body.get("error_description")) or _text(body.get("detail")) or ""
    if is_unknown_client(code, described):
        return InvalidClientError(
            f"POST {path}: the platform does not know this client_id "
            f"(invalid_client: Unknown client_id){platform_hint(url)}",
            error="invalid_client",
        )
    if code is None:
        return None
    if code == "access_denied":
        return AccessDeniedError(
            f"the sign-in was declined (access_denied); {LOGIN_HINT} to try again", error=code
        )
    if code == "expired_token":
        return DeviceCodeExpiredError(
            f"the code expired before it was approved (expired_token); {LOGIN_HINT} to get a new one",
            error=code,
        )
    detail = f": {described[:200]}" if described else ""
    # Waiting states are not failures: no host hint on what the poll loop swallows anyway.
    where = "" if code in _WAITING_CODES else platform_hint(url)
    return DeviceFlowError(f"POST {path}: {code}{detail}{where}", error=code)


_WAITING_CODES = frozenset({"authorization_pending", "slow_down"})


def _scrubbed(error: APIError, url: str) -> APIError:
    """`error` without its request and response, its message naming the platform."""
    # The request's form may hold the refresh token or device code: keep it off the error.
    error.request = None
    if isinstance(error, APIStatusError):
        error.response = None
    error.message = error.message + platform_hint(url)
    error.args = (error.message,)
    return error


def _is_bare_token(value: object) -> TypeGuard[str]:
    """Visible ASCII only: what a header can carry and the sign-in file accepts back."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_TOKEN_CHARS
        and all(33 <= ord(ch) <= 126 for ch in value)
    )


def _text(value: object) -> str | None:
    """Non-empty, valid Unicode text of bounded length; anything else counts as absent."""
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT_CHARS:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" in the JSON)
        return None
    return value


def _lifetime(body: dict[str, Any], name: str) -> float | None:
    """A lifetime of the token answer, clamped to 0..MAX_LIFETIME; None if absent.

    Negative means already expired (0); beyond MAX_LIFETIME is clamped to it. Anything
    that is not a number (or a numeric string) is refused: guessing could keep a dead
    sign-in looking alive, or throw a good one away.
    """
    value = body.get(name)
    if value is None:
        return None
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and len(value) <= 40:
        with contextlib.suppress(ValueError):
            number = float(value)
    if number is None or math.isnan(number):
        raise DeviceFlowError(
            f"the platform's token answer has an unusable {name} "
            f"({'a ' + type(value).__name__ if not isinstance(value, float) else 'NaN'}); "
            "expected a number of seconds"
        )
    return min(max(number, 0.0), MAX_LIFETIME)


def _seconds(value: object, *, positive: bool = False) -> float | None:
    """A lifetime in seconds from a JSON number (or numeric string); None if absent or invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    if positive and value == 0:
        return None
    return float(value)


def _or_default(value: float | None, default: float) -> float:
    return default if value is None else value


def _at(now: float, lifetime: float | None) -> int | None:
    """Absolute expiry in whole epoch seconds (rounded down: never later than the truth)."""
    if lifetime is None:
        return None
    return max(0, min(int(now + min(lifetime, MAX_LIFETIME)), MAX_EPOCH))
