"""Signing in and out with the device flow: `login` and `logout`.

    login(...)  -> SignInStatus   show a code, wait for approval, store the tokens
    logout(...) -> LogoutResult   revoke the refresh token, delete the file either way

Choices:

* Nothing is written until the platform has handed out tokens: a declined,
  expired or Ctrl-C'd login leaves the previous sign-in (if any) as it was.
* The client_id is kept in the profile's file and reused by the next login to
  the same platform; without one (first login, after logout) we register. As
  Parallel's own CLI does: if registration fails, the login goes on with its
  public client id `parallel-cli` (with a warning), and the next login tries to
  register again; we register anew only when the device-code step answers
  `invalid_client` with "Unknown client_id", never while refreshing (a refresh
  the platform refuses means a new login).
* The user interface is passed in: `show` (default `_prompt.print_instructions`)
  shows the code, and a browser is opened only when asked (`open_browser=True`)
  and a display is likely there (`_browser`).
* `progress(event, fields)` hears the flow as it goes, for `login --json`:
  `device_code` (URL, user code, lifetimes, whether a browser was opened), then
  `auth_waiting`, `slow_down` and `poll_failed` from the polling.
* Where this differs from Parallel's CLI on purpose: a login signs in to the
  Account API only (that CLI also creates an app and a data-API key, which is
  not this client's business); the verification URL is opened as the platform
  sent it (that CLI adds an onboarding marker of its own); the sign-in file is
  locked, fsynced and checked for ownership and mode on every read; a 401 gets
  one refresh.
* `logout` removes whatever is at the file's place, however broken (garbage, a
  symlink, a FIFO, a file of another user, a directory others may write).
"""

from __future__ import annotations

import contextlib
import logging
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from parallel_account._errors import (
    InsecureTokenFileError,
    InvalidClientError,
    ParallelAccountError,
    TokenStoreError,
)
from parallel_account._scopes import DEFAULT_SCOPE
from parallel_account._terminal import terminal_safe
from parallel_account._urls import platform_base_url
from parallel_account.signin._answers import DeviceCode
from parallel_account.signin._browser import no_display_reason, open_if_possible
from parallel_account.signin._platform import FALLBACK_CLIENT_ID, Platform
from parallel_account.signin._polling import (
    POLL_SAFETY_MARGIN,
    Clock,
    Progress,
    Sleep,
    interruptible_sleep,
    nobody,
    poll_for_grant,
)
from parallel_account.signin._prompt import print_instructions
from parallel_account.signin._status import SignInStatus, status_of
from parallel_account.signin._store import SignInRecord, TokenStore

_log = logging.getLogger("parallel_account")


@dataclass(frozen=True)
class LogoutResult:
    """What `logout` did.

    Attributes:
        profile: the profile name.
        path: the sign-in file, now gone.
        was_signed_in: whether there was anything to remove.
        revoked: whether the platform revoked the refresh token.
        revoke_error: why it could not be revoked, if it was not.
    """

    profile: str
    path: Path
    was_signed_in: bool
    revoked: bool
    revoke_error: str | None = field(default=None)

    def describe(self) -> str:
        """One human-readable line for a terminal (platform text made terminal-safe)."""
        if not self.was_signed_in:
            return f"Not signed in (profile {self.profile!r}); nothing to do."
        path = terminal_safe(self.path)
        if self.revoked:
            return f"Signed out: token revoked and {path} deleted."
        why = terminal_safe(" ".join((self.revoke_error or "no refresh token was stored").split()))
        return (
            f"Signed out locally: {path} deleted, but the token was NOT revoked "
            f"on the platform ({why}); it stays valid until it expires."
        )


def login(
    profile: str | None = None,
    *,
    platform_url: str | None = None,
    scope: str = DEFAULT_SCOPE,
    show: Callable[[DeviceCode], None] = print_instructions,
    open_browser: bool = False,
    browser: Callable[[str], object] = webbrowser.open,
    directory: Path | None = None,
    http: httpx.Client | None = None,
    sleep: Sleep = interruptible_sleep,
    clock: Clock = time.time,
    poll_margin: float = POLL_SAFETY_MARGIN,
    no_display: Callable[[], str | None] | None = None,
    progress: Progress | None = None,
) -> SignInStatus:
    """Sign in with the device flow and store the result for `profile`.

    Args:
        profile: the profile to store it under (None: $PARALLEL_ACCOUNT_PROFILE, else
            `default`).
        platform_url: the platform (None: $PARALLEL_PLATFORM_URL, else Parallel's).
        scope: the OAuth scopes to ask for, space-separated.
        show: shows the user code (default: `print_instructions` to stderr).
        open_browser: also open the verification page with `browser`.
        browser: opens a URL (default: `webbrowser.open`).
        directory: where sign-in files live (None: the user's config directory).
        http: an httpx.Client for the platform (tests); not closed.
        sleep: waits between polls (interruptible by Ctrl-C).
        clock: the wall clock, epoch seconds.
        poll_margin: extra seconds added to the platform's poll interval.
        no_display: says why no browser can be seen here, or None if one can
            (default `no_display_reason`).
        progress: `progress(event, fields)` hears the flow's events (see the module
            docstring).

    Returns:
        The SignInStatus of the new sign-in.

    Raises:
        AccessDeniedError: the user declined.
        DeviceCodeExpiredError: nobody approved in time.
        DeviceFlowError: the platform refused another step.
        APIError: transport or HTTP failures.
        TokenStoreError: the existing file is unusable (it is never overwritten unasked).
        InvalidRequestError: a bad profile name or platform URL.
        KeyboardInterrupt: propagates with nothing written.
    """
    store = TokenStore(profile, directory=directory)
    url = platform_base_url(platform_url)
    existing = store.load()
    client_id = existing.client_id if existing and existing.platform_url == url else None
    if client_id == FALLBACK_CLIENT_ID:
        client_id = None  # the fallback was a stopgap: try to register again
    tell: Progress = progress or nobody
    with Platform(url, http=http) as platform:
        if client_id is None:
            client_id = _register_or_fall_back(platform)
        try:
            code = platform.device_code(client_id, scope)
        except InvalidClientError:
            client_id = platform.register()  # the platform forgot us: once more, afresh
            code = platform.device_code(client_id, scope)
        show(code)
        opened, why_not = False, "not asked to (--no-browser)"
        if open_browser:
            opened, why_not = open_if_possible(browser, code, no_display or no_display_reason)
        tell("device_code", _device_code_fields(code, opened, why_not))
        grant = poll_for_grant(
            platform,
            client_id,
            code,
            sleep=sleep,
            clock=clock,
            safety_margin=poll_margin,
            progress=progress,
        )
    record = SignInRecord.from_grant(
        grant, client_id=client_id, platform_url=url, requested_scope=scope, now=clock()
    )
    with store.lock():
        store.save(record)
    return status_of(store, record, clock())


def logout(
    profile: str | None = None,
    *,
    directory: Path | None = None,
    http: httpx.Client | None = None,
) -> LogoutResult:
    """Revoke the stored refresh token and delete the sign-in; the file goes even if revoking fails.

    A file refused for its permissions is still revoked (its tokens may have
    leaked: all the more reason); a corrupt one is deleted without revoking.

    Args:
        profile: the profile (None: $PARALLEL_ACCOUNT_PROFILE, else `default`).
        directory: where sign-in files live (None: the user's config directory).
        http: an httpx.Client for the platform (tests); not closed.

    Returns:
        A LogoutResult saying what was removed and whether revoking worked (a failed
        revoke is reported there, not raised).

    Raises:
        InvalidRequestError: a bad profile name.
        TokenStoreError: the file could not be removed (naming it).
    """
    store = TokenStore(profile, directory=directory)
    with contextlib.ExitStack() as stack:
        # A directory others may write: remove our file anyway, unlocked (an unlink is atomic).
        with contextlib.suppress(InsecureTokenFileError):
            stack.enter_context(store.lock())
        record: SignInRecord | None = None
        revoke_error: str | None = None
        revoked = False
        try:
            record = store.load(check_permissions=False)
        except TokenStoreError as exc:  # garbage, a symlink, a FIFO, unreadable: removed unread
            revoke_error = f"the file was unusable: {exc}"
        try:
            if record is not None and record.refresh_token is not None:
                try:
                    with Platform(record.platform_url, http=http) as platform:
                        platform.revoke(record.refresh_token)
                    revoked = True
                except ParallelAccountError as exc:
                    revoke_error = str(exc)
        finally:
            was_signed_in = store.delete()
    return LogoutResult(store.profile, store.path, was_signed_in, revoked, revoke_error)


def _register_or_fall_back(platform: Platform) -> str:
    """A registered client id, else Parallel's CLI's public one (as that CLI does)."""
    try:
        return platform.register()
    except ParallelAccountError as exc:
        _log.warning(
            "sign-in: registering this client failed (%s); going on with the public client id %r",
            exc,
            FALLBACK_CLIENT_ID,
        )
        return FALLBACK_CLIENT_ID


def _device_code_fields(code: DeviceCode, opened: bool, why_not: str) -> dict[str, Any]:
    """The `device_code` event: what to show the user (never the device code itself)."""
    return {
        "verification_uri": code.verification_uri,
        "verification_uri_complete": code.verification_uri_complete,
        "user_code": code.user_code,
        "expires_in": code.expires_in,
        "interval": code.interval,
        "browser_opened": opened,
        "browser_not_opened_because": None if opened else why_not,
    }
