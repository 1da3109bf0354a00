"""HTTP to the sign-in platform: its OAuth endpoints (RFC 8628 device flow, refresh, revoke).

Choices:

* `Platform` makes one HTTP call per method and turns OAuth error bodies
  (`{"error": ..., "error_description": ...}`, whatever the status) into
  `DeviceFlowError`s carrying the code. Only the answer Parallel's own CLI
  (`parallel-cli`) re-registers on, `invalid_client` *with* "Unknown client_id",
  becomes an `InvalidClientError`; any other `invalid_client` stays a plain
  DeviceFlowError, so a misconfigured platform cannot make us register over and over.
* As Parallel's CLI does: registration sends `platform` as an object of the
  machine's platform facts (`_machine_facts`); when registration fails, callers
  fall back to the public client id `parallel-cli` (FALLBACK_CLIENT_ID); revoking
  sends the single form field `refresh_token` (the platform finds the client from
  the token; RFC 7009's `token` / `token_type_hint` are not what it reads).
* Every failure that is the platform's (no answer, an HTTP error, an unreadable or
  unexpected answer) names the platform URL and how to use another one
  (`--platform-url`, `$PARALLEL_PLATFORM_URL`, `platform_url=`): the usual cause
  is pointing at the wrong host.
* Errors never carry a token: messages hold only the server's error code and
  description, and the request (whose form holds the refresh token) is not
  attached to errors raised here.
* Answers are read streamed, at most MAX_ANSWER_BYTES, as bounded JSON (depth,
  digits, no NaN/Infinity): no answer becomes a raw Python exception; what they
  hold is checked in `_answers`.
* A `Platform` that made its own HTTP client closes it in `close()`, also on
  leaving a `with` block (`contextlib.AbstractContextManager` gives `__enter__`).
"""

from __future__ import annotations

import contextlib
from typing import Any

import httpx

from parallel_account import _json
from parallel_account._env import PLATFORM_URL_ENV
from parallel_account._errors import (
    AccessDeniedError,
    APIError,
    APIStatusError,
    AuthenticationError,
    DeviceCodeExpiredError,
    DeviceFlowError,
    InvalidClientError,
    SignInExpiredError,
    connection_error,
    status_error,
)
from parallel_account._reading import BoundedBody, ResponseTooLarge
from parallel_account._scopes import DEFAULT_SCOPE
from parallel_account._urls import is_loopback, platform_base_url
from parallel_account._version import __version__
from parallel_account.signin._answers import DeviceCode, TokenGrant, text
from parallel_account.signin._machine_facts import platform_facts

CLIENT_NAME = "parallel-account-client"
# Parallel's CLI's public client id, which the platform knows without registration.
FALLBACK_CLIENT_ID = "parallel-cli"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
HTTP_TIMEOUT = 30.0
MAX_ANSWER_BYTES = 1024 * 1024  # an OAuth answer is well under 4 KiB

REGISTER_PATH = "/getServiceKeys/register"
DEVICE_CODE_PATH = "/getServiceKeys/device/code"
TOKEN_PATH = "/getServiceKeys/token"  # noqa: S105 (a URL path)
REVOKE_PATH = "/getServiceKeys/token/revoke"

# The end of every message that only a new sign-in can fix.
LOGIN_HINT = "run `parallel-account login`"


def platform_hint(url: str) -> str:
    """Where a platform failure happened and how to go elsewhere, for the end of a message."""
    return (
        f" (sign-in platform {url}; to use another, pass --platform-url URL, "
        f"set ${PLATFORM_URL_ENV}, or platform_url= in Python)"
    )


class _TooLarge(Exception):
    """An answer over MAX_ANSWER_BYTES (raised while reading, turned into a DeviceFlowError)."""


class Platform(contextlib.AbstractContextManager["Platform"]):
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

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client this Platform made; one passed in as `http` stays open."""
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
        client_id = text(body.get("client_id"))
        if client_id is None:
            raise DeviceFlowError(
                f"POST {REGISTER_PATH}: the answer has no client_id{platform_hint(self.url)}"
            )
        return client_id

    def device_code(self, client_id: str, scope: str = DEFAULT_SCOPE) -> DeviceCode:
        body = self._post(DEVICE_CODE_PATH, data={"client_id": client_id, "scope": scope})
        code = DeviceCode.from_body(body)
        if code is None:
            raise DeviceFlowError(
                f"POST {DEVICE_CODE_PATH}: the answer lacks device_code, user_code or "
                f"verification_uri{platform_hint(self.url)}"
            )
        return code

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


# Form fields whose values are secrets (never the field names, nor client ids).
_SECRET_FORM_FIELDS = ("refresh_token", "device_code", "client_secret", "code")


def is_unknown_client(code: str | None, described: str) -> bool:
    """The one answer that means "register again": `invalid_client` with "Unknown client_id"."""
    return code == "invalid_client" and "unknown client_id" in described.lower()


def _oauth_error(path: str, body: dict[str, Any], url: str) -> DeviceFlowError | None:
    """The error an OAuth error body stands for, or None if it is not one."""
    code = text(body.get("error"))
    described = text(body.get("error_description")) or text(body.get("detail")) or ""
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
