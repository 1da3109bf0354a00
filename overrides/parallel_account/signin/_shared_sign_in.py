"""Parallel's own CLI's sign-in (`parallel-cli login`) as a token source.

    ParallelCliSignIn()            a TokenProvider over that CLI's sign-in file
    parallel_cli_sign_in()         the provider, if the file holds a sign-in; else None

Someone who already ran `parallel-cli login` need not sign in again: when no
token is given, no $PARALLEL_ACCOUNT_TOKEN is set and this package has no stored
sign-in of its own, the client uses that CLI's (see `parallel_account._auth`).
The file itself, its layout and checks: `_shared_file`.

Choices:

* Only the selected organisation is used, and a provider keeps the one selected
  when it was made (`parallel_cli_sign_in`) or first read: one charge retried
  after that CLI switched organisation still goes to the first (its idempotency
  key is per organisation). A file without one is no sign-in.
* Refreshing, as that CLI does it: within REFRESH_MARGIN of expiry, on the
  platform of $PARALLEL_PLATFORM_URL (else Parallel's), with the file's
  `client_id`, else the public one `parallel-cli`; never re-registering. Once
  `authorization_expires_at` has passed a new login is needed even if the access
  token still works (that CLI's rule for its own file). Unlike that CLI, a 401
  gets one refresh (unless the file's token has moved on meanwhile).
* Writing back: the rotated tokens go into the same organisation of the file as
  read again just before writing (that CLI takes no lock, so it may have written
  meanwhile), every other field and organisation kept as it is, keys in their
  order, in the file's own layout (`_shared_file.dumps_like`). Before the platform
  is asked, the file as it would be with the longest tokens must fit the size cap
  (`_refresh.LockedRefresh`, shared with this package's own sign-in). Atomically: a
  temp file (0600) in the same directory, fsynced, renamed over the file, the
  directory fsynced. A file that is gone by then is not written again (never
  create a file of that tool), and no other file of that tool is ever written or
  removed.
* Concurrency: refreshes take this package's lock, kept in this package's own
  directory, never beside that CLI's file; the file is read again under the lock,
  so of two processes refreshing at once only the first asks the platform.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from parallel_account._errors import NotSignedInError, SignInExpiredError
from parallel_account.signin._answers import TokenGrant
from parallel_account.signin._polling import Clock
from parallel_account.signin._private_file import LOCK_TIMEOUT, MAX_FILE_BYTES
from parallel_account.signin._refresh import REFRESH_MARGIN, LockedRefresh
from parallel_account.signin._shared_file import (
    RELOGIN_HINT,
    WHAT,
    SharedFile,
    SharedSignIn,
    auth_file,
    dumps_like,
)
from parallel_account.signin._store import config_dir, expires_at


class ParallelCliSignIn(LockedRefresh[SharedSignIn]):
    """Parallel CLI's stored sign-in as a `TokenProvider`, refreshing (and writing back) as needed.

    One organisation per provider: `org_id`, else the one selected when the sign-in
    is first read. Switching organisations in that CLI afterwards does not move
    this provider (a retry of one charge never reaches another organisation); if
    that organisation's sign-in is removed from the file, NotSignedInError.

    Errors: NotSignedInError (no file, or nothing for the organisation),
    SignInExpiredError (a new login is needed), TokenStoreError (the file cannot be
    trusted or read, or could not hold a refreshed sign-in;
    UnsupportedSignInFileError for another layout), APIError.
    """

    _file: SharedFile

    def __init__(
        self,
        *,
        path: Path | None = None,
        lock_directory: Path | None = None,
        platform_url: str | None = None,
        http: httpx.Client | None = None,
        clock: Clock = time.time,
        refresh_margin: float = REFRESH_MARGIN,
        lock_timeout: float = LOCK_TIMEOUT,
        org_id: str | None = None,
    ) -> None:
        super().__init__(
            SharedFile(
                path if path is not None else auth_file(),
                lock_directory if lock_directory is not None else config_dir(),
            ),
            http=http,
            clock=clock,
            refresh_margin=refresh_margin,
            lock_timeout=lock_timeout,
        )
        self._platform_url_given = platform_url
        self._org_id = org_id

    @property
    def org_id(self) -> str | None:
        """The organisation this provider acts for (None until the file was first read)."""
        return self._org_id

    def __repr__(self) -> str:
        return f"ParallelCliSignIn(path={str(self.path)!r}, org_id={self._org_id!r})"

    def load(self) -> SharedSignIn | None:
        """This provider's organisation's sign-in, or None. Raises TokenStoreError if unusable."""
        data = self._file.document()
        return None if data is None else self._file.sign_in(data, self._org_id)

    def _load(self) -> SharedSignIn:
        current = self.load()
        if current is None:
            which = (
                "a selected organisation"
                if self._org_id is None
                else f"organisation {self._org_id!r}"
            )
            raise NotSignedInError(
                f"{WHAT} {self.path} holds no Account API sign-in for {which}; {RELOGIN_HINT}"
            )
        self._org_id = current.org_id  # from now on, this organisation only
        return current

    def _check_current(self, current: SharedSignIn) -> None:
        # That CLI's rule for its own file: once the authorisation ended, log in again.
        at = current.authorization_expires_at
        if at is not None and self._clock() >= at:
            raise SignInExpiredError(
                f"the sign-in in {WHAT} {self.path} has expired (its authorisation ended); "
                f"{RELOGIN_HINT}"
            )

    def _expired(self, why: str) -> SignInExpiredError:
        return SignInExpiredError(
            f"the sign-in in {WHAT} {self.path} can no longer be refreshed ({why}); {RELOGIN_HINT}"
        )

    def _platform_url(self, current: SharedSignIn) -> str | None:
        return self._platform_url_given

    def _serialise(self, current: SharedSignIn, grant: TokenGrant, now: float) -> bytes:
        """The file as it is now with the rotated tokens in, nothing else changed."""
        raw = self._file.read_bytes()  # again: that CLI takes no lock and may have written
        data = None if raw is None else self._file.parse(raw)
        orgs = data.get("orgs") if data is not None else None
        org = orgs.get(current.org_id) if isinstance(orgs, dict) else None
        control = org.get("control_api") if isinstance(org, dict) else None
        if (
            raw is None
            or data is None
            or not isinstance(org, dict)
            or not isinstance(control, dict)
        ):
            raise NotSignedInError(
                f"{WHAT} {self.path} was removed or signed out while refreshing; "
                f"nothing was written. {RELOGIN_HINT}"
            )
        at = int(now)
        control["access_token"] = grant.access_token
        # That CLI reads a missing lifetime as already expired; so does its file.
        control["access_token_expires_at"] = expires_at(at, grant.expires_in) or at
        if grant.refresh_token is not None:
            control["refresh_token"] = grant.refresh_token
        if grant.refresh_token_expires_in is not None:
            control["refresh_token_expires_at"] = expires_at(at, grant.refresh_token_expires_in)
        if grant.authorization_expires_in is not None:
            control["authorization_expires_at"] = expires_at(at, grant.authorization_expires_in)
        tokens_only = dumps_like(raw, data)
        if grant.scope:
            control["access_token_scopes"] = grant.scope.split()
        if grant.org_name:
            org["org_name"] = grant.org_name
        full = dumps_like(raw, data)
        # A longer name or scope list is news, not a reason to lose the new tokens.
        return full if len(full) <= MAX_FILE_BYTES else tokens_only

    def _spent(self, why: str) -> SignInExpiredError:
        # The file's refresh token was exchanged for one we could not keep: it is spent.
        # That file is not ours to remove: say so, and what renews it.
        return SignInExpiredError(
            f"the sign-in in {WHAT} {self.path} was refreshed but could not be written back "
            f"({why}); its refresh token is spent: fix the cause, then {RELOGIN_HINT}"
        )


def parallel_cli_sign_in() -> ParallelCliSignIn | None:
    """The provider, if Parallel CLI's file holds a sign-in; None if not.

    Loading now makes an untrustworthy, corrupt or other-layout file fail here,
    with its own message, instead of passing as "no credentials".
    """
    current = ParallelCliSignIn().load()
    # The client keeps the organisation selected now, whatever that CLI selects later.
    return None if current is None else ParallelCliSignIn(org_id=current.org_id)
