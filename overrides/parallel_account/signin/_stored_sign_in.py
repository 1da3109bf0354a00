"""This package's stored sign-in (`parallel-account login`) as a token source: `StoredSignIn`.

Refreshing happens under the profile's cross-process lock, and the file is read
again once the lock is held: whoever comes second finds the new token and makes no
request, so a rotating refresh token is used exactly once (`_refresh`). A refresh
that rotated the refresh token but could not be saved (disk full, read-only
directory) has spent the stored one: the file is removed (or, if even that fails,
the error says so) and the error says the sign-in must be renewed with
`parallel-account login`; `status` never shows such a sign-in as valid.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from parallel_account._errors import NotSignedInError, SignInExpiredError, TokenStoreError
from parallel_account.signin._answers import TokenGrant
from parallel_account.signin._platform import LOGIN_HINT
from parallel_account.signin._polling import Clock
from parallel_account.signin._private_file import LOCK_TIMEOUT
from parallel_account.signin._refresh import REFRESH_MARGIN, LockedRefresh
from parallel_account.signin._store import SignInRecord, TokenStore


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
        self._store = TokenStore(profile, directory=directory)
        super().__init__(
            self._store,
            http=http,
            clock=clock,
            refresh_margin=refresh_margin,
            lock_timeout=lock_timeout,
        )

    @property
    def profile(self) -> str:
        """The profile name."""
        return self._store.profile

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
        return current.refreshed(grant, now=now).to_json().encode("utf-8")

    def _write(self, current: SignInRecord, grant: TokenGrant, now: float) -> None:
        self._store.save(current.refreshed(grant, now=now))

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
