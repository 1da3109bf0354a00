"""Sign in to Parallel with the device flow, keep the sign-in, and use it as a token source.

    login(...)  -> SignInStatus   show a code, wait for approval, store the tokens
    logout(...) -> LogoutResult   revoke the refresh token, delete the file either way
    status(...) -> SignInStatus   what is stored (never a token)
    StoredSignIn(profile)         a TokenProvider: `AccountClient(token=None)` finds it

Choices:

* Nothing is written until the platform has handed out tokens: a declined,
  expired or Ctrl-C'd login leaves the previous sign-in (if any) as it was.
* The client_id is kept in the profile's file and reused by the next login to
  the same platform; without one (first login, after logout) we register.
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
import sys
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

import httpx

from parallel_account._device_flow import (
    LOGIN_HINT,
    POLL_SAFETY_MARGIN,
    AccessDeniedError,
    Clock,
    DeviceCode,
    DeviceCodeExpiredError,
    DeviceFlowError,
    InvalidClientError,
    Platform,
    SignInExpiredError,
    Sleep,
    interruptible_sleep,
    poll_for_grant,
)
from parallel_account._errors import AuthenticationError, ParallelAccountError
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

    def describe(self) -> str:
        """A few human-readable lines for a terminal."""
        if not self.signed_in:
            return f"Not signed in (profile {self.profile!r}); {LOGIN_HINT}."
        safe = terminal_safe  # every value below came from the platform (or the file)
        org = safe(self.org_name or self.org_id or "unknown organisation")
        if self.org_name and self.org_id:
            org = f"{safe(self.org_name)} ({safe(self.org_id)})"
        lines = [
            f"Signed in to {org} on {safe(self.platform_url)} (profile {self.profile!r})",
            f"  scopes: {safe(' '.join(self.scopes)) or '(none recorded)'}",
            f"  access token expires: {_when(self.access_token_expires_at)}",
            f"  refresh token expires: {_when(self.refresh_token_expires_at)}",
        ]
        if self.authorization_expires_at is not None:
            lines.append(f"  authorisation expires: {_when(self.authorization_expires_at)}")
        if self.needs_login:
            lines.append(f"  the sign-in has expired; {LOGIN_HINT}")
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
    with Platform(url, http=http) as platform:
        if client_id is None:
            client_id = platform.register()
        try:
            code = platform.device_code(client_id, scope)
        except InvalidClientError:
            client_id = platform.register()  # the platform forgot us: once more, afresh
            code = platform.device_code(client_id, scope)
        show(code)
        if open_browser:
            _open(browser, code.verification_uri_complete or code.verification_uri)
        grant = poll_for_grant(
            platform, client_id, code, sleep=sleep, clock=clock, safety_margin=poll_margin
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
                        platform.revoke(record.client_id, record.refresh_token)
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


class StoredSignIn:
    """The stored sign-in of a profile as a `TokenProvider`, refreshing when needed.

    `get_token()` reads the file (cheap; it sees another process's refresh or
    logout at once) and refreshes within REFRESH_MARGIN of expiry;
    `refresh_token(rejected)` refreshes after a 401 unless the stored token has
    already moved on. Errors: NotSignedInError, SignInExpiredError (both
    AuthenticationError, both telling the user to run `parallel-account login`),
    TokenStoreError, APIError.

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
        self._store = TokenStore(profile, directory=directory)
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

    def get_token(self) -> str:
        """The stored access token, refreshed first when it expires within `refresh_margin`.

        Raises:
            NotSignedInError: nothing stored.
            SignInExpiredError: it can no longer be refreshed.
            TokenStoreError: the file is unusable or the lock stayed held.
            APIError: the platform could not be reached to refresh.
        """
        record = self._load()
        if not self._expiring(record):
            return record.access_token
        return self._refresh(rejected=None)

    def refresh_token(self, rejected: str) -> str | None:
        """A fresh token after `rejected` got a 401 (another process's, if it refreshed first).

        Raises as `get_token` does.
        """
        return self._refresh(rejected=rejected)

    def _load(self) -> SignInRecord:
        record = self._store.load()
        if record is None:
            raise NotSignedInError(f"not signed in (profile {self.profile!r}); {LOGIN_HINT}")
        return record

    def _expiring(self, record: SignInRecord) -> bool:
        expires_at = record.access_token_expires_at
        return expires_at is not None and self._clock() >= expires_at - self._refresh_margin

    def _refresh(self, *, rejected: str | None) -> str:
        with self._store.lock(self._lock_timeout):
            # Read again under the lock: another process may have refreshed meanwhile.
            record = self._load()
            rejected_now = rejected is not None and record.access_token == rejected
            if not rejected_now and not self._expiring(record):
                return record.access_token
            refresh_token = self._usable_refresh_token(record)
            with Platform(record.platform_url, http=self._http) as platform:
                grant = platform.refresh(record.client_id, refresh_token)
            # Saved before returning: the old refresh token may already be dead.
            fresh = grant.refreshed(record, now=self._clock())
            try:
                self._store.save(fresh)
            except (OSError, TokenStoreError) as exc:
                return self._unsaved(record, fresh, exc)
            return fresh.access_token

    def _unsaved(self, old: SignInRecord, fresh: SignInRecord, exc: Exception) -> str:
        """After a refresh that could not be saved (the lock is held)."""
        why = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        if fresh.refresh_token == old.refresh_token:
            # Nothing was spent: the stored sign-in still refreshes. Use the new token now.
            _log.warning("sign-in: the refreshed access token could not be saved (%s)", why)
            return fresh.access_token
        # The stored refresh token was exchanged for one we could not keep: it is dead.
        # Remove the file, so nothing reports this sign-in as valid.
        try:
            self._store.delete()
            left = "it was removed"
        except (OSError, TokenStoreError):
            left = "it could not be removed either and will be refused by the platform"
        raise SignInExpiredError(
            f"the sign-in for profile {self.profile!r} was refreshed but could not be saved to "
            f"{self._store.path} ({why}); the stored sign-in is spent ({left}) and must be "
            f"renewed: fix the cause, then {LOGIN_HINT}"
        ) from None

    def _usable_refresh_token(self, record: SignInRecord) -> str:
        now = self._clock()
        expired = [
            name
            for name, at in (
                ("refresh token", record.refresh_token_expires_at),
                ("authorisation", record.authorization_expires_at),
            )
            if at is not None and now >= at
        ]
        if record.refresh_token is None or expired:
            why = f"its {expired[0]} expired" if expired else "no refresh token was stored"
            raise SignInExpiredError(
                f"the sign-in for profile {self.profile!r} has expired ({why}); {LOGIN_HINT}"
            )
        return record.refresh_token


def _status_of(store: TokenStore, record: SignInRecord, now: float) -> SignInStatus:
    ends = [
        at
        for at in (record.refresh_token_expires_at, record.authorization_expires_at)
        if at is not None
    ]
    access_over = (
        record.access_token_expires_at is not None and now >= record.access_token_expires_at
    )
    needs_login = any(now >= at for at in ends) or (record.refresh_token is None and access_over)
    return SignInStatus(
        profile=store.profile,
        path=store.path,
        signed_in=True,
        platform_url=record.platform_url,
        org_id=record.org_id,
        org_name=record.org_name,
        scopes=tuple((record.scope or "").split()),
        access_token_expires_at=_datetime(record.access_token_expires_at),
        refresh_token_expires_at=_datetime(record.refresh_token_expires_at),
        authorization_expires_at=_datetime(record.authorization_expires_at),
        needs_login=needs_login,
    )


def _datetime(epoch: int | None) -> datetime | None:
    # The store keeps expiries within 1970..9999, which a datetime can always show.
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=UTC)


def _when(moment: datetime | None) -> str:
    return "unknown" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _open(browser: Callable[[str], object], url: str) -> None:
    # Only web URLs: a hostile answer must not make us open a file: or custom-scheme URL.
    if urlsplit(url).scheme not in ("http", "https"):
        return
    # No browser is fine: the instructions are already on screen.
    with contextlib.suppress(Exception):
        browser(url)


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
    "login",
    "logout",
    "print_instructions",
    "status",
    "terminal_safe",
]
