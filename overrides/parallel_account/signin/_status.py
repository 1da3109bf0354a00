"""What a stored sign-in holds, for people: `SignInStatus` (never a token), and `status`.

    status(...)               this package's sign-in of a profile
    parallel_cli_status(...)  Parallel CLI's shared sign-in, if its file holds one

Text the platform sent (organisation, scopes, URLs) is shown through
`terminal_safe`: no escape sequence reaches the terminal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from parallel_account._terminal import terminal_safe
from parallel_account._urls import platform_base_url
from parallel_account.signin._platform import LOGIN_HINT
from parallel_account.signin._polling import Clock
from parallel_account.signin._shared_file import RELOGIN_HINT, SharedFile, auth_file
from parallel_account.signin._store import (
    SignInRecord,
    StoredTokens,
    TokenStore,
    config_dir,
    resolve_profile,
)

SOURCE = "parallel-account"  # SignInStatus.source of this package's own stored sign-in
SHARED_SOURCE = "parallel-cli"  # SignInStatus.source, and `status`'s name, of that CLI's


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
            (Parallel CLI's, shared; see `parallel_account.signin._shared_sign_in`).
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
            again = LOGIN_HINT if self.source == SOURCE else RELOGIN_HINT
            lines.append(f"  the sign-in has expired; {again}")
        return "\n".join(lines)


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
    return status_of(store, record, clock())


def status_of(store: TokenStore, record: SignInRecord, now: float) -> SignInStatus:
    return SignInStatus(
        profile=store.profile,
        path=store.path,
        signed_in=True,
        platform_url=record.platform_url,
        org_id=record.org_id,
        org_name=record.org_name,
        scopes=tuple((record.scope or "").split()),
        **sign_in_status_fields(record, now),
    )


def sign_in_status_fields(stored: StoredTokens, now: float) -> dict[str, Any]:
    """The expiries of a SignInStatus, and whether a login is needed, for any stored sign-in."""
    ends = [
        at
        for at in (stored.refresh_token_expires_at, stored.authorization_expires_at)
        if at is not None
    ]
    access_at = stored.access_token_expires_at
    access_over = access_at is not None and now >= access_at
    return {
        "access_token_expires_at": _datetime(access_at),
        "refresh_token_expires_at": _datetime(stored.refresh_token_expires_at),
        "authorization_expires_at": _datetime(stored.authorization_expires_at),
        "needs_login": any(now >= at for at in ends)
        or (stored.refresh_token is None and access_over),
    }


def _datetime(epoch: int | None) -> datetime | None:
    # The store keeps expiries within 1970..9999, which a datetime can always show.
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=UTC)


def _when(moment: datetime | None) -> str:
    return "unknown" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def parallel_cli_status(
    *, path: Path | None = None, platform_url: str | None = None, clock: Clock = time.time
) -> SignInStatus | None:
    """What Parallel CLI's file holds for the selected organisation, or None if nothing.

    Raises TokenStoreError if the file exists but cannot be trusted or read.
    """
    file = SharedFile(path if path is not None else auth_file(), config_dir())
    data = file.document()
    current = None if data is None else file.sign_in(data)
    if current is None:
        return None
    return SignInStatus(
        profile=resolve_profile(None),  # the profile in effect, which has no sign-in of its own
        path=file.path,
        signed_in=True,
        platform_url=platform_base_url(platform_url),
        org_id=current.org_id,
        org_name=current.org_name,
        scopes=current.scopes,
        source=SHARED_SOURCE,
        **sign_in_status_fields(current, clock()),
    )
