"""The sign-in of Parallel's own CLI (`parallel-cli login`) as a token source.

    ParallelCliSignIn()            a TokenProvider over that CLI's sign-in file
    parallel_cli_sign_in()         the provider, if the file holds a sign-in; else None
    parallel_cli_status(...)       what that file holds, as a SignInStatus (never a token)

Someone who already ran `parallel-cli login` need not sign in again: when no
token is given, no $PARALLEL_ACCOUNT_TOKEN is set and this package has no stored
sign-in of its own, the client uses that CLI's (see `_auth.resolve_auth`).

Choices:

* The file: `~/.config/parallel-web-tools/auth.json`, from the home directory
  (Parallel's CLI does not read $XDG_CONFIG_HOME, so neither do we). Layout
  version 1 only: `{"version": 1, "selected_org_id", "client_id", "orgs": {ID:
  {"api_key", "org_name", "control_api": {...tokens, Unix-second expiries...}}}}`.
  Another version, or none, is refused with a message saying so: guessing at a
  layout we do not know could write a file that CLI can no longer read.
* Only the selected organisation is used. A file without one, or whose selected
  organisation holds no Account API (control API) access token, is no sign-in.
* Read with this package's own checks (regular file, no symlink, owned by you,
  mode 0600, in a directory others cannot write, bounded size and JSON, every
  token visible ASCII, every expiry whole seconds from 1970 to 9999). Parallel's
  CLI checks none of this on read; a file that fails is refused, never used.
* Refreshing, as that CLI does it: within REFRESH_MARGIN of expiry, on the
  platform of $PARALLEL_PLATFORM_URL (else Parallel's), with the file's
  `client_id`, else the public one `parallel-cli`; never re-registering. Once
  `authorization_expires_at` has passed a new login is needed even if the access
  token still works (that CLI's rule for its own file). Unlike that CLI, a 401
  gets one refresh (unless the file's token has moved on meanwhile).
* Writing back: the rotated tokens go into the same organisation of the file as
  read again just before writing (that CLI takes no lock, so it may have written
  meanwhile), every other field and organisation kept as it is, keys in their
  order, indented as that CLI writes it. Atomically: a temp file (0600) in the
  same directory, fsynced, renamed over the file, the directory fsynced. A file
  that is gone by then is not written again (never create a file of that tool),
  and no other file of that tool is ever written or removed.
* Concurrency: refreshes take this package's lock, kept in this package's own
  directory (`parallel-cli-auth.json.lock`), never beside that CLI's file; the
  file is read again under the lock, so of two processes refreshing at once
  only the first asks the platform.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from parallel_account import _json
from parallel_account._device_flow import (
    FALLBACK_CLIENT_ID,
    MAX_TOKEN_CHARS,
    Clock,
    Platform,
    SignInExpiredError,
    TokenGrant,
)
from parallel_account._token_store import (
    LOCK_TIMEOUT,
    MAX_EPOCH,
    CorruptTokenFileError,
    PrivateFile,
    TokenStoreError,
    config_dir,
    resolve_profile,
)
from parallel_account._urls import platform_base_url
from parallel_account.signin import (
    REFRESH_MARGIN,
    NotSignedInError,
    SignInStatus,
    sign_in_status_fields,
)

SOURCE = "parallel-cli"  # SignInStatus.source, and `status`'s name for this token source
LAYOUT_VERSION = 1
LOCK_NAME = "parallel-cli-auth.json.lock"
RELOGIN_HINT = "run `parallel-cli login` (or `parallel-account login`)"
_WHAT = "Parallel CLI's sign-in file"

_log = logging.getLogger("parallel_account")


class UnsupportedSignInFileError(TokenStoreError):
    """Parallel CLI's sign-in file has a layout version this package cannot read."""


def auth_file() -> Path:
    """`~/.config/parallel-web-tools/auth.json`, where `parallel-cli login` keeps its sign-in."""
    return Path.home() / ".config" / "parallel-web-tools" / "auth.json"


@dataclass(frozen=True)
class SharedSignIn:
    """The selected organisation's Account API sign-in in that file; tokens stay out of repr."""

    org_id: str
    org_name: str | None
    client_id: str
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    scopes: tuple[str, ...]
    access_token_expires_at: int | None
    refresh_token_expires_at: int | None
    authorization_expires_at: int | None


class _SharedFile(PrivateFile):
    """That CLI's file, read and written with this package's checks and lock."""

    def __init__(self, path: Path, lock_directory: Path) -> None:
        super().__init__(
            path, lock_path=lock_directory / LOCK_NAME, what=_WHAT, logout="parallel-cli logout"
        )

    def corrupt(self, why: str) -> CorruptTokenFileError:
        return CorruptTokenFileError(
            f"{_WHAT} {self.path} is unreadable ({why}); it was left as it is: "
            f"{RELOGIN_HINT} to replace it",
            path=self.path,
        )

    def document(self) -> dict[str, Any] | None:
        """The whole file as JSON (layout checked), or None if there is no file."""
        raw = self.read_bytes()
        if raw is None:
            return None
        try:
            data = _json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise self.corrupt("not UTF-8 text") from None
        except _json.UnreadableJSON as exc:
            raise self.corrupt(str(exc)) from None
        if not isinstance(data, dict):
            raise self.corrupt("not a JSON object")
        version = data.get("version")
        if isinstance(version, bool) or version != LAYOUT_VERSION:
            shown = repr(version)[:20] if isinstance(version, int | float | str) else "missing"
            raise UnsupportedSignInFileError(
                f"{_WHAT} {self.path} has layout version {shown}; this client reads version "
                f"{LAYOUT_VERSION} only and left it untouched. Sign in here with "
                "`parallel-account login`, or update parallel-account-client",
                path=self.path,
            )
        return data

    def sign_in(self, data: dict[str, Any]) -> SharedSignIn | None:
        """The selected organisation's sign-in, None if there is none; fields checked."""
        org_id = data.get("selected_org_id")
        orgs = data.get("orgs")
        if org_id is None or orgs is None:
            return None
        if not isinstance(org_id, str) or not org_id or not isinstance(orgs, dict):
            raise self.corrupt("selected_org_id or orgs is not of the expected type")
        org = orgs.get(org_id)
        if org is None:
            return None
        control = org.get("control_api") if isinstance(org, dict) else None
        if not isinstance(org, dict) or not isinstance(control, dict | None):
            raise self.corrupt(f"the selected organisation {org_id!r} is not a JSON object")
        if control is None or control.get("access_token") is None:
            return None  # signed in for the data API only (an API key): nothing for this API
        scopes = control.get("access_token_scopes") or []
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise self.corrupt("access_token_scopes is not a list of text")
        return SharedSignIn(
            org_id=org_id,
            org_name=self._text(org, "org_name"),
            # No registered client: its tokens were issued to the public client id.
            client_id=self._text(data, "client_id") or FALLBACK_CLIENT_ID,
            access_token=self._token(control, "access_token"),
            refresh_token=self._token(control, "refresh_token", optional=True),
            scopes=tuple(scopes),
            access_token_expires_at=self._epoch(control, "access_token_expires_at"),
            refresh_token_expires_at=self._epoch(control, "refresh_token_expires_at"),
            authorization_expires_at=self._epoch(control, "authorization_expires_at"),
        )

    def _text(self, holder: dict[str, Any], name: str) -> str | None:
        value = holder.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.corrupt(f"{name} is not text")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise self.corrupt(f"{name} is not valid Unicode text (a lone surrogate)") from None
        return value

    def _token(self, holder: dict[str, Any], name: str, *, optional: bool = False) -> Any:
        value = holder.get(name)
        if value is None and optional:
            return None
        if not (
            isinstance(value, str)
            and 0 < len(value) <= MAX_TOKEN_CHARS
            and all(33 <= ord(ch) <= 126 for ch in value)
        ):
            raise self.corrupt(f"{name} is not a token of visible ASCII characters")
        return value

    def _epoch(self, holder: dict[str, Any], name: str) -> int | None:
        value = holder.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_EPOCH:
            raise self.corrupt(f"{name} is not whole epoch seconds between 1970 and 9999")
        return value


class ParallelCliSignIn:
    """Parallel CLI's stored sign-in as a `TokenProvider`, refreshing (and writing back) as needed.

    Errors: NotSignedInError (no file, or nothing for the selected organisation),
    SignInExpiredError (a new login is needed), TokenStoreError (the file cannot be
    trusted or read; UnsupportedSignInFileError for another layout), APIError.
    """

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
    ) -> None:
        self._file = _SharedFile(
            path if path is not None else auth_file(),
            lock_directory if lock_directory is not None else config_dir(),
        )
        self._platform_url = platform_url
        self._http = http
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._lock_timeout = lock_timeout

    @property
    def path(self) -> Path:
        return self._file.path

    def __repr__(self) -> str:
        return f"ParallelCliSignIn(path={str(self.path)!r})"

    def load(self) -> SharedSignIn | None:
        """The selected organisation's sign-in, or None. Raises TokenStoreError if unusable."""
        data = self._file.document()
        return None if data is None else self._file.sign_in(data)

    def get_token(self) -> str:
        current = self._load()
        self._check_authorization(current)
        if not self._expiring(current):
            return current.access_token
        return self._refresh(rejected=None)

    def refresh_token(self, rejected: str) -> str | None:
        return self._refresh(rejected=rejected)

    def _load(self) -> SharedSignIn:
        current = self.load()
        if current is None:
            raise NotSignedInError(
                f"{_WHAT} {self.path} holds no Account API sign-in for a selected "
                f"organisation; {RELOGIN_HINT}"
            )
        return current

    def _expiring(self, current: SharedSignIn) -> bool:
        expires_at = current.access_token_expires_at
        return expires_at is not None and self._clock() >= expires_at - self._refresh_margin

    def _check_authorization(self, current: SharedSignIn) -> None:
        at = current.authorization_expires_at
        if at is not None and self._clock() >= at:
            raise SignInExpiredError(
                f"the sign-in in {_WHAT} {self.path} has expired (its authorisation ended); "
                f"{RELOGIN_HINT}"
            )

    def _refresh(self, *, rejected: str | None) -> str:
        with self._file.lock(self._lock_timeout):
            # Read again under the lock: another process may have refreshed meanwhile.
            current = self._load()
            self._check_authorization(current)
            rejected_now = rejected is not None and current.access_token == rejected
            if not rejected_now and not self._expiring(current):
                return current.access_token
            refresh_token = self._usable_refresh_token(current)
            with Platform(self._platform_url, http=self._http) as platform:
                grant = platform.refresh(current.client_id, refresh_token)
            try:
                self._write_back(current, grant, int(self._clock()))
            except (OSError, TokenStoreError) as exc:
                return self._unsaved(current, grant, exc)
            return grant.access_token

    def _usable_refresh_token(self, current: SharedSignIn) -> str:
        at = current.refresh_token_expires_at
        if current.refresh_token is None or (at is not None and self._clock() >= at):
            why = (
                "no refresh token" if current.refresh_token is None else "its refresh token expired"
            )
            raise SignInExpiredError(
                f"the sign-in in {_WHAT} {self.path} can no longer be refreshed ({why}); "
                f"{RELOGIN_HINT}"
            )
        return current.refresh_token

    def _write_back(self, before: SharedSignIn, grant: TokenGrant, now: int) -> None:
        """Put the rotated tokens into the file as it is now, changing nothing else."""
        data = self._file.document()  # again: that CLI takes no lock and may have written
        orgs = data.get("orgs") if data is not None else None
        org = orgs.get(before.org_id) if isinstance(orgs, dict) else None
        control = org.get("control_api") if isinstance(org, dict) else None
        if data is None or not isinstance(org, dict) or not isinstance(control, dict):
            raise NotSignedInError(
                f"{_WHAT} {self.path} was removed or signed out while refreshing; "
                f"nothing was written. {RELOGIN_HINT}"
            )
        control["access_token"] = grant.access_token
        # That CLI reads a missing lifetime as already expired; so does its file.
        control["access_token_expires_at"] = _at(now, grant.expires_in) or now
        if grant.refresh_token is not None:
            control["refresh_token"] = grant.refresh_token
        if grant.refresh_token_expires_in is not None:
            control["refresh_token_expires_at"] = _at(now, grant.refresh_token_expires_in)
        if grant.authorization_expires_in is not None:
            control["authorization_expires_at"] = _at(now, grant.authorization_expires_in)
        if grant.scope:
            control["access_token_scopes"] = grant.scope.split()
        if grant.org_name:
            org["org_name"] = grant.org_name
        self._file.write_bytes(json.dumps(data, indent=2).encode("utf-8"))

    def _unsaved(self, before: SharedSignIn, grant: TokenGrant, exc: Exception) -> str:
        """After a refresh that could not be written back (the lock is held)."""
        why = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        if grant.refresh_token in (None, before.refresh_token):
            _log.warning("sign-in: the refreshed access token could not be saved (%s)", why)
            return grant.access_token
        # The file's refresh token was exchanged for one we could not keep: it is spent.
        # That file is not ours to remove: say so, and what renews it.
        raise SignInExpiredError(
            f"the sign-in in {_WHAT} {self.path} was refreshed but could not be written back "
            f"({why}); its refresh token is spent: fix the cause, then {RELOGIN_HINT}"
        ) from None


def _at(now: int, lifetime: float | None) -> int | None:
    """Absolute expiry in whole Unix seconds, as that CLI writes it."""
    if lifetime is None:
        return None
    return max(0, min(int(now + lifetime), MAX_EPOCH))


def parallel_cli_sign_in() -> ParallelCliSignIn | None:
    """The provider, if Parallel CLI's file holds a sign-in; None if not.

    Loading now makes an untrustworthy, corrupt or other-layout file fail here,
    with its own message, instead of passing as "no credentials".
    """
    provider = ParallelCliSignIn()
    return provider if provider.load() is not None else None


def parallel_cli_status(
    *, path: Path | None = None, platform_url: str | None = None, clock: Clock = time.time
) -> SignInStatus | None:
    """What Parallel CLI's file holds for the selected organisation, or None if nothing.

    Raises TokenStoreError if the file exists but cannot be trusted or read.
    """
    provider = ParallelCliSignIn(path=path)
    current = provider.load()
    if current is None:
        return None
    return SignInStatus(
        profile=resolve_profile(None),  # the profile in effect, which has no sign-in of its own
        path=provider.path,
        signed_in=True,
        platform_url=platform_base_url(platform_url),
        org_id=current.org_id,
        org_name=current.org_name,
        scopes=current.scopes,
        source=SOURCE,
        **sign_in_status_fields(
            access_token_expires_at=current.access_token_expires_at,
            refresh_token_expires_at=current.refresh_token_expires_at,
            authorization_expires_at=current.authorization_expires_at,
            has_refresh_token=current.refresh_token is not None,
            now=clock(),
        ),
    )
