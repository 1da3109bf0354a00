"""Sign in to Parallel with the device flow, keep the sign-in, and use it as a token source.

    login(...)  -> SignInStatus   show a code, wait for approval, store the tokens
    logout(...) -> LogoutResult   revoke the refresh token, delete the file either way
    status(...) -> SignInStatus   what is stored (never a token)
    StoredSignIn(profile)         a TokenProvider: `AccountClient(token=None)` finds it

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
* A browser is opened only when asked (`open_browser=True`) and a display is
  likely there (`has_display()`: not over SSH, not in CI or a container, and on
  Linux and other X11/Wayland systems only with $DISPLAY or $WAYLAND_DISPLAY);
  the URL is always shown, so a headless machine loses nothing.
* `progress(event, fields)` hears the flow as it goes, for `login --json`:
  `device_code` (URL, user code, lifetimes, whether a browser was opened), then
  `auth_waiting`, `slow_down` and `poll_failed` from the polling.
* Where this differs from Parallel's CLI on purpose: a login signs in to the
  Account API only (that CLI also creates an app and a data-API key, which is
  not this client's business); the verification URL is opened as the platform
  sent it (that CLI adds an onboarding marker of its own); the sign-in file is
  locked, fsynced and checked for ownership and mode on every read; a 401 gets
  one refresh.
* Refreshing happens under the profile's cross-process lock, and the file is
  read again once the lock is held: whoever comes second finds the new token
  and makes no request, so a rotating refresh token is used exactly once.
* A refresh that rotated the refresh token but could not be saved (disk full,
  read-only directory) has spent the stored one: the file is removed (or, if even
  that fails, the error says so) and the error says the sign-in must be renewed
  with `parallel-account login`; `status` never shows such a sign-in as valid.
* `logout` removes whatever is at the file's place, however broken (garbage, a
  symlink, a FIFO, a file of another user, a directory others may write).
* Text the platform sent (organisation, scopes, the user code and URLs) is shown
  through `terminal_safe`: no escape sequence reaches the terminal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import httpx

from parallel_account._device_flow import (
    FALLBACK_CLIENT_ID,
    LOGIN_HINT,
    POLL_SAFETY_MARGIN,
    AccessDeniedError,
    Clock,
    DeviceCode,
    DeviceCodeExpiredError,
    DeviceFlowError,
    InvalidClientError,
    Platform,
    Progress,
    SignInExpiredError,
    Sleep,
    TokenGrant,
    interruptible_sleep,
    poll_for_grant,
)
from parallel_account._errors import AuthenticationError, ParallelAccountError
from parallel_account._refresh import LockedRefresh
from parallel_account._scopes import DEFAULT_SCOPE, DEFAULT_SCOPES
from parallel_account._terminal import terminal_safe
from parallel_account._token_store import (
    LOCK_TIMEOUT,
    CorruptTokenFileError,
    InsecureTokenFileError,
    SignInRecord,
    TokenStore,
    TokenStoreError,
)
from parallel_account._urls import platform_base_url

REFRESH_MARGIN = 30.0  # refresh this long before expiry, as Parallel's own CLI does
SOURCE = "parallel-account"  # SignInStatus.source of this package's own stored sign-in
# Remote sessions: a browser would open on the far machine, if anywhere.
REMOTE_SESSION_ENV = ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")
# Container markers of Docker and Podman; systemd-nspawn, LXC and Podman set $container.
CONTAINER_MARKERS = ("/.dockerenv", "/run/.containerenv")

_log = logging.getLogger("parallel_account")


class NotSignedInError(AuthenticationError):
    """No stored sign-in for the profile (never signed in, or signed out meanwhile).

    The `message` says to run `parallel-account login`.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, response=None)


@dataclass(frozen=True)
class SignInStatus:
    """What is stored for a profile. Carries no token.

    Attributes:
        profile: the profile name.
        path: its sign-in file.
        signed_in: whether a sign-in is stored.
        platform_url: the platform it signed in to.
        org_id: the organisation's id, as the platform said.
        org_name: the organisation's name, as the platform said.
        scopes: the granted scopes.
        access_token_expires_at: when the access token expires (UTC), if known.
        refresh_token_expires_at: when the refresh token expires (UTC), if known.
        authorization_expires_at: when the whole authorisation ends (UTC), if known.
        needs_login: True when not signed in, or the sign-in can no longer be refreshed.
        source: whose sign-in it is: this package's own (a profile) or "parallel-cli"
            (Parallel CLI's, shared; see `parallel_account._shared_signin`).
    """

    profile: str
    path: Path
    signed_in: bool
    platform_url: str | None = None
    org_id: str | None = None
    org_name: str | None = None
    scopes: tuple[str, ...] = ()
    access_token_expires_at: datetime | None = None
    refresh_token_expires_at: datetime | None = None
    authorization_expires_at: datetime | None = None
    needs_login: bool = True  # True when not signed in, or the sign-in can no longer be refreshed
    source: str = SOURCE  # whose sign-in: this package's (a profile) or "parallel-cli"

    def describe(self) -> str:
        """A few human-readable lines for a terminal."""
        if not self.signed_in:
            return f"Not signed in (profile {self.profile!r}); {LOGIN_HINT}."
        safe = terminal_safe  # every value below came from the platform (or the file)
        org = safe(self.org_name or self.org_id or "unknown organisation")
        if self.org_name and self.org_id:
            org = f"{safe(self.org_name)} ({safe(self.org_id)})"
        whose = (
            f"profile {self.profile!r}"
            if self.source == SOURCE
            else f"shared with Parallel's CLI: {safe(self.path)}"
        )
        lines = [
            f"Signed in to {org} on {safe(self.platform_url)} ({whose})",
            f"  scopes: {safe(' '.join(self.scopes)) or '(none recorded)'}",
            f"  access token expires: {_when(self.access_token_expires_at)}",
            f"  refresh token expires: {_when(self.refresh_token_expires_at)}",
        ]
        if self.authorization_expires_at is not None:
            lines.append(f"  authorisation expires: {_when(self.authorization_expires_at)}")
        if self.needs_login:
            again = (
                LOGIN_HINT
                if self.source == SOURCE
                else "run `parallel-cli login` (or `parallel-account login`)"
            )
            lines.append(f"  the sign-in has expired; {again}")
        return "\n".join(lines)


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


def print_instructions(code: DeviceCode, file: TextIO | None = None) -> None:
    """The default way to show the user code: a few lines on stderr (stdout stays for data).

    Args:
        code: the device code the platform handed out.
        file: where to write (None: stderr).

    The platform's text is shown terminal-safe: escape sequences appear escaped.
    """
    out = file if file is not None else sys.stderr
    print(f"To sign in, open {terminal_safe(code.verification_uri)}", file=out)
    print(f"and enter the code: {terminal_safe(code.user_code)}", file=out)
    if code.verification_uri_complete:
        print(f"(or open {terminal_safe(code.verification_uri_complete)} directly)", file=out)
    print(f"Waiting for approval; the code expires in {code.expires_in / 60:.0f} min.", file=out)
    out.flush()


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
    tell: Progress = progress or _nobody
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
            opened, why_not = _open_if_possible(browser, code, no_display or no_display_reason)
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
    record = grant.new_record(
        client_id=client_id, platform_url=url, requested_scope=scope, now=clock()
    )
    with store.lock():
        store.save(record)
    return _status_of(store, record, clock())


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


def status(
    profile: str | None = None,
    *,
    directory: Path | None = None,
    clock: Clock = time.time,
) -> SignInStatus:
    """Whether `profile` is signed in, to which organisation, with which scopes, until when.

    Args:
        profile: the profile (None: $PARALLEL_ACCOUNT_PROFILE, else `default`).
        directory: where sign-in files live (None: the user's config directory).
        clock: the wall clock, epoch seconds (decides `needs_login`).

    Returns:
        A SignInStatus (never a token).

    Raises:
        TokenStoreError: the file exists but cannot be trusted or read.
        InvalidRequestError: a bad profile name.
    """
    store = TokenStore(profile, directory=directory)
    record = store.load()
    if record is None:
        return SignInStatus(profile=store.profile, path=store.path, signed_in=False)
    return _status_of(store, record, clock())


class StoredSignIn(LockedRefresh[SignInRecord]):
    """The stored sign-in of a profile as a `TokenProvider`, refreshing when needed.

    `get_token()` reads the file (cheap; it sees another process's refresh or
    logout at once) and refreshes within REFRESH_MARGIN of expiry;
    `refresh_token(rejected)` refreshes after a 401 unless the stored token has
    already moved on. Refreshing follows `_refresh.LockedRefresh` (under the lock;
    a refreshed sign-in that could not be stored is refused before the platform is
    asked; an answer for another organisation is refused, nothing written).
    Errors: NotSignedInError, SignInExpiredError (both AuthenticationError, both
    telling the user to run `parallel-account login`), TokenStoreError, APIError.

    Args:
        profile: the profile (None: $PARALLEL_ACCOUNT_PROFILE, else `default`).
        directory: where sign-in files live (None: the user's config directory).
        http: an httpx.Client for the platform (tests); not closed.
        clock: the wall clock, epoch seconds.
        refresh_margin: refresh this many seconds before the access token expires.
        lock_timeout: seconds to wait for another process refreshing the same profile.
    """

    def __init__(
        self,
        profile: str | None = None,
        *,
        directory: Path | None = None,
        http: httpx.Client | None = None,
        clock: Clock = time.time,
        refresh_margin: float = REFRESH_MARGIN,
        lock_timeout: float = LOCK_TIMEOUT,
    ) -> None:
        self._store = self._file = TokenStore(profile, directory=directory)
        self._http = http
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._lock_timeout = lock_timeout

    @property
    def profile(self) -> str:
        """The profile name."""
        return self._store.profile

    @property
    def path(self) -> Path:
        """The profile's sign-in file."""
        return self._store.path

    def __repr__(self) -> str:
        return f"StoredSignIn(profile={self.profile!r}, path={str(self.path)!r})"

    def _load(self) -> SignInRecord:
        record = self._store.load()
        if record is None:
            raise NotSignedInError(f"not signed in (profile {self.profile!r}); {LOGIN_HINT}")
        return record

    def _expired(self, why: str) -> SignInExpiredError:
        return SignInExpiredError(
            f"the sign-in for profile {self.profile!r} can no longer be refreshed ({why}); {LOGIN_HINT}"
        )

    def _platform_url(self, current: SignInRecord) -> str:
        return current.platform_url

    def _serialise(self, current: SignInRecord, grant: TokenGrant, now: float) -> bytes:
        return grant.refreshed(current, now=now).to_json().encode("utf-8")

    def _write(self, current: SignInRecord, grant: TokenGrant, now: float) -> None:
        self._store.save(grant.refreshed(current, now=now))

    def _spent(self, why: str) -> SignInExpiredError:
        # The stored refresh token was exchanged for one we could not keep: it is dead.
        # Remove the file, so nothing reports this sign-in as valid.
        try:
            self._store.delete()
            left = "it was removed"
        except (OSError, TokenStoreError):
            left = "it could not be removed either and will be refused by the platform"
        return SignInExpiredError(
            f"the sign-in for profile {self.profile!r} was refreshed but could not be saved to "
            f"{self._store.path} ({why}); the stored sign-in is spent ({left}) and must be "
            f"renewed: fix the cause, then {LOGIN_HINT}"
        )


def _status_of(store: TokenStore, record: SignInRecord, now: float) -> SignInStatus:
    return SignInStatus(
        profile=store.profile,
        path=store.path,
        signed_in=True,
        platform_url=record.platform_url,
        org_id=record.org_id,
        org_name=record.org_name,
        scopes=tuple((record.scope or "").split()),
        **sign_in_status_fields(
            access_token_expires_at=record.access_token_expires_at,
            refresh_token_expires_at=record.refresh_token_expires_at,
            authorization_expires_at=record.authorization_expires_at,
            has_refresh_token=record.refresh_token is not None,
            now=now,
        ),
    )


def sign_in_status_fields(
    *,
    access_token_expires_at: int | None,
    refresh_token_expires_at: int | None,
    authorization_expires_at: int | None,
    has_refresh_token: bool,
    now: float,
) -> dict[str, Any]:
    """The expiries of a SignInStatus, and whether a login is needed, for any stored sign-in."""
    ends = [at for at in (refresh_token_expires_at, authorization_expires_at) if at is not None]
    access_over = access_token_expires_at is not None and now >= access_token_expires_at
    return {
        "access_token_expires_at": _datetime(access_token_expires_at),
        "refresh_token_expires_at": _datetime(refresh_token_expires_at),
        "authorization_expires_at": _datetime(authorization_expires_at),
        "needs_login": any(now >= at for at in ends) or (not has_refresh_token and access_over),
    }


def _datetime(epoch: int | None) -> datetime | None:
    # The store keeps expiries within 1970..9999, which a datetime can always show.
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=UTC)


def _when(moment: datetime | None) -> str:
    return "unknown" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def has_display(
    environ: Mapping[str, str] | None = None,
    system: str | None = None,
    exists: Callable[[str], bool] = os.path.exists,
) -> bool:
    """Whether a browser opened here would be seen by the person signing in.

    No: over SSH ($SSH_CONNECTION, $SSH_CLIENT or $SSH_TTY), in CI ($CI), in a
    container (/.dockerenv, /run/.containerenv, $container), and on systems other
    than macOS and Windows without $DISPLAY or $WAYLAND_DISPLAY. Yes otherwise.

    Args:
        environ: the environment to read (None: os.environ).
        system: the platform, as `sys.platform` names it (None: this one).
        exists: tells whether a path exists (for the container markers).

    Returns:
        True when a browser is likely to be seen.

    Raises:
        Nothing.
    """
    return no_display_reason(environ, system, exists) is None


def no_display_reason(
    environ: Mapping[str, str] | None = None,
    system: str | None = None,
    exists: Callable[[str], bool] = os.path.exists,
) -> str | None:
    """Why a browser opened here would not be seen (see `has_display`), or None.

    Args:
        environ: the environment to read (None: os.environ).
        system: the platform, as `sys.platform` names it (None: this one).
        exists: tells whether a path exists (for the container markers).

    Returns:
        A short reason ("an SSH session", "a CI run", ...), or None if one can be seen.

    Raises:
        Nothing.
    """
    env = os.environ if environ is None else environ
    system = sys.platform if system is None else system
    if any(env.get(name) for name in REMOTE_SESSION_ENV):
        return "an SSH session"
    if env.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return "a CI run"
    if env.get("container") or any(exists(marker) for marker in CONTAINER_MARKERS):
        return "a container"
    desktop = system == "darwin" or system.startswith(("win", "cygwin", "msys"))
    if not desktop and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        return "no $DISPLAY or $WAYLAND_DISPLAY"
    return None


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


def _open_if_possible(
    browser: Callable[[str], object], code: DeviceCode, no_display: Callable[[], str | None]
) -> tuple[bool, str]:
    """(opened, why not): the browser only with a display, and only for a web URL."""
    reason = no_display()
    if reason is not None:
        return False, reason
    url = code.verification_uri_complete or code.verification_uri
    # Only web URLs: a hostile answer must not make us open a file: or custom-scheme URL.
    if urlsplit(url).scheme not in ("http", "https"):
        return False, "the URL is not a web address"
    # No browser is fine: the instructions are already on screen.
    try:
        opened = browser(url)
    except Exception:  # any failure of any browser means: not opened
        return False, "the browser could not be started"
    if opened is False:  # webbrowser.open says False when it found no browser
        return False, "no browser was found"
    return True, ""


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


def _nobody(event: str, fields: dict[str, Any]) -> None:
    """The progress listener when nobody listens."""


__all__ = [
    "DEFAULT_SCOPE",
    "DEFAULT_SCOPES",
    "REFRESH_MARGIN",
    "AccessDeniedError",
    "CorruptTokenFileError",
    "DeviceCode",
    "DeviceCodeExpiredError",
    "DeviceFlowError",
    "InsecureTokenFileError",
    "InvalidClientError",
    "LogoutResult",
    "NotSignedInError",
    "SignInExpiredError",
    "SignInStatus",
    "StoredSignIn",
    "TokenStore",
    "TokenStoreError",
    "has_display",
    "login",
    "logout",
    "no_display_reason",
    "print_instructions",
    "status",
    "terminal_safe",
]
