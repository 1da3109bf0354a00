"""Refreshing a stored sign-in under its cross-process lock: one algorithm for every sign-in file.

`LockedRefresh` is the `TokenProvider` half shared by this package's own sign-in
(`StoredSignIn`) and Parallel CLI's (`ParallelCliSignIn`); each says only how its
file is read, checked and written.

Under the lock, in this order:

1. Read the file again: another process may have refreshed meanwhile (whoever
   comes second finds the new token and asks nothing).
2. Refuse a sign-in that can no longer be refreshed (no refresh token, it or the
   authorisation expired): a new login is needed.
3. Check that a refreshed sign-in can be stored *before* asking the platform: the
   file as it would be written with the longest tokens the platform may hand out
   must fit the size cap. A rotating refresh token is spent by the request, so a
   write refused afterwards would sign the user out.
4. Refresh, then refuse an answer naming another organisation than the one being
   refreshed (nothing is written; a new login is needed).
5. Write; a write that fails after the refresh token rotated is the store's to
   handle (`_spent`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Generic, TypeVar

import httpx

from parallel_account._errors import SignInExpiredError, TokenStoreError
from parallel_account.signin._answers import MAX_LIFETIME, MAX_TOKEN_CHARS, TokenGrant
from parallel_account.signin._platform import Platform
from parallel_account.signin._polling import Clock
from parallel_account.signin._private_file import MAX_FILE_BYTES, PrivateFile
from parallel_account.signin._store import StoredTokens

REFRESH_MARGIN = 30.0  # refresh this long before expiry, as Parallel's own CLI does

_log = logging.getLogger("parallel_account")


S = TypeVar("S", bound=StoredTokens)


def largest_grant(current: StoredTokens) -> TokenGrant:
    """The refresh answer that makes the file grow most: the longest tokens, every lifetime.

    A token is visible ASCII of at most MAX_TOKEN_CHARS; `"` is the one JSON doubles.
    Names and scopes stay as stored (a store keeps them only if they fit).
    """
    longest = '"' * MAX_TOKEN_CHARS
    return TokenGrant(
        access_token=longest,
        refresh_token=longest,
        token_type="Bearer",  # noqa: S106 (the OAuth token type, not a secret)
        expires_in=MAX_LIFETIME,
        refresh_token_expires_in=MAX_LIFETIME,
        authorization_expires_in=MAX_LIFETIME,
        scope=None,
        org_id=current.org_id,
        org_name=None,
    )


class LockedRefresh(Generic[S]):
    """`get_token` and `refresh_token` of a TokenProvider over one sign-in file.

    Subclasses say how their file is read (`_load`), what a login needs (`_expired`),
    where the platform is (`_platform_url`) and how the refreshed file looks
    (`_serialise`).

    Args:
        file: the sign-in file (its lock serialises refreshes across processes).
        http: an httpx.Client for the platform (tests); not closed.
        clock: the wall clock, epoch seconds.
        refresh_margin: refresh this many seconds before the access token expires.
        lock_timeout: seconds to wait for another process refreshing the same file.
    """

    def __init__(
        self,
        file: PrivateFile,
        *,
        http: httpx.Client | None,
        clock: Clock,
        refresh_margin: float,
        lock_timeout: float,
    ) -> None:
        self._file = file
        self._http = http
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._lock_timeout = lock_timeout

    @property
    def path(self) -> Path:
        """The sign-in file this provider reads."""
        return self._file.path

    # ---- what each store says --------------------------------------------------------

    def _load(self) -> S:
        """The sign-in in the file now; NotSignedInError if there is none."""
        raise NotImplementedError

    def _check_current(self, current: S) -> None:
        """Raise SignInExpiredError if even a valid access token must not be used."""

    def _expired(self, why: str) -> SignInExpiredError:
        """The error saying this sign-in needs a new login, and why."""
        raise NotImplementedError

    def _platform_url(self, current: S) -> str | None:
        raise NotImplementedError

    def _serialise(self, current: S, grant: TokenGrant, now: float) -> bytes:
        """The file's bytes after `grant`; may read the file again (the lock is held)."""
        raise NotImplementedError

    def _write(self, current: S, grant: TokenGrant, now: float) -> None:
        """Store the refreshed sign-in (the lock is held)."""
        self._file.write_bytes(self._serialise(current, grant, now))

    def _spent(self, why: str) -> SignInExpiredError:
        """After a rotated refresh token could not be written: clean up, say what to do."""
        raise NotImplementedError

    # ---- the algorithm ---------------------------------------------------------------

    def get_token(self) -> str:
        """The stored access token, refreshed first when it expires within the margin."""
        current = self._load()
        self._check_current(current)
        if not self._expiring(current):
            return current.access_token
        return self._refresh(rejected=None)

    def refresh_token(self, rejected: str) -> str | None:
        """A fresh token after `rejected` got a 401 (another process's, if it refreshed first)."""
        return self._refresh(rejected=rejected)

    def _expiring(self, current: S) -> bool:
        expires_at = current.access_token_expires_at
        return expires_at is not None and self._clock() >= expires_at - self._refresh_margin

    def _refresh(self, *, rejected: str | None) -> str:
        with self._file.lock(self._lock_timeout):
            current = self._load()  # again, under the lock: see the module docstring
            self._check_current(current)
            rejected_now = rejected is not None and current.access_token == rejected
            if not rejected_now and not self._expiring(current):
                return current.access_token
            refresh_token = self._usable_refresh_token(current)
            now = self._clock()
            self._check_fits(self._serialise(current, largest_grant(current), now))
            with Platform(self._platform_url(current), http=self._http) as platform:
                grant = platform.refresh(current.client_id, refresh_token)
            self._check_organisation(current, grant)
            try:
                self._write(current, grant, now)
            except (OSError, TokenStoreError) as exc:
                return self._unsaved(current, grant, exc)
            return grant.access_token

    def _check_fits(self, data: bytes) -> None:
        """Before refreshing: a refreshed sign-in this file could not hold is refused now."""
        if len(data) > MAX_FILE_BYTES:
            raise TokenStoreError(
                f"{self._file.what} {self._file.path} could not hold a refreshed sign-in "
                f"({len(data)} bytes with the longest tokens the platform may send, over the "
                f"{MAX_FILE_BYTES // 1024} KiB this package reads back); it was not refreshed "
                "and is left as it is",
                path=self._file.path,
            )

    def _usable_refresh_token(self, current: S) -> str:
        now = self._clock()
        expired = [
            name
            for name, at in (
                ("refresh token", current.refresh_token_expires_at),
                ("authorisation", current.authorization_expires_at),
            )
            if at is not None and now >= at
        ]
        if current.refresh_token is None or expired:
            why = f"its {expired[0]} expired" if expired else "no refresh token was stored"
            raise self._expired(why)
        return current.refresh_token

    def _check_organisation(self, current: S, grant: TokenGrant) -> None:
        """A refresh answer for another organisation is never stored as this one's."""
        if grant.org_id is None or current.org_id is None or grant.org_id == current.org_id:
            return
        raise self._expired(
            f"the platform's refresh answer names organisation {grant.org_id[:80]!r}, not "
            f"{current.org_id[:80]!r}; nothing was written"
        )

    def _unsaved(self, current: S, grant: TokenGrant, exc: Exception) -> str:
        """After a refresh that could not be written (the lock is held)."""
        why = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        if grant.refresh_token in (None, current.refresh_token):
            # Nothing was spent: the stored sign-in still refreshes. Use the new token now.
            _log.warning("sign-in: the refreshed access token could not be saved (%s)", why)
            return grant.access_token
        raise self._spent(why) from None
