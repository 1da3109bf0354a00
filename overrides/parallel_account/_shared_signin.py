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
* Only the selected organisation is used, and a provider keeps the one selected
  when it was made (`parallel_cli_sign_in`) or first read: one charge retried
  after that CLI switched organisation still goes to the first (its idempotency
  key is per organisation). A file without one, or whose organisation holds no
  Account API (control API) access token, is no sign-in.
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
  order, in the file's own layout: its indent, ASCII escapes only if the file
  was all ASCII (re-escaping another organisation's non-ASCII name could triple
  the file past the size cap), its final newline. Before the platform is asked,
  the file as it would be with the longest tokens must fit that cap
  (`_refresh.LockedRefresh`, shared with this package's own sign-in). Atomically: a temp file (0600) in the
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
    SignInExpiredError,
    TokenGrant,
)
from parallel_account._refresh import LockedRefresh
from parallel_account._token_store import (
    LOCK_TIMEOUT,
    MAX_EPOCH,
    MAX_FILE_BYTES,
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
        return None if raw is None else self.parse(raw)

    def parse(self, raw: bytes) -> dict[str, Any]:
        """The file's bytes as JSON, layout version checked."""
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

    def sign_in(self, data: dict[str, Any], org_id: str | None = None) -> SharedSignIn | None:
        """Organisation `org_id`'s sign-in (None: the selected one's), None if none; checked."""
        if org_id is None:
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
        self._file: _SharedFile = _SharedFile(
            path if path is not None else auth_file(),
            lock_directory if lock_directory is not None else config_dir(),
        )
        self._platform_url_given = platform_url
        self._http = http
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._lock_timeout = lock_timeout
        self._org_id = org_id

    @property
    def path(self) -> Path:
        return self._file.path

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
                f"{_WHAT} {self.path} holds no Account API sign-in for {which}; {RELOGIN_HINT}"
            )
        self._org_id = current.org_id  # from now on, this organisation only
        return current

    def _check_current(self, current: SharedSignIn) -> None:
        # That CLI's rule for its own file: once the authorisation ended, log in again.
        at = current.authorization_expires_at
        if at is not None and self._clock() >= at:
            raise SignInExpiredError(
                f"the sign-in in {_WHAT} {self.path} has expired (its authorisation ended); "
                f"{RELOGIN_HINT}"
            )

    def _expired(self, why: str) -> SignInExpiredError:
        return SignInExpiredError(
            f"the sign-in in {_WHAT} {self.path} can no longer be refreshed ({why}); {RELOGIN_HINT}"
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
                f"{_WHAT} {self.path} was removed or signed out while refreshing; "
                f"nothing was written. {RELOGIN_HINT}"
            )
        at = int(now)
        control["access_token"] = grant.access_token
        # That CLI reads a missing lifetime as already expired; so does its file.
        control["access_token_expires_at"] = _at(at, grant.expires_in) or at
        if grant.refresh_token is not None:
            control["refresh_token"] = grant.refresh_token
        if grant.refresh_token_expires_in is not None:
            control["refresh_token_expires_at"] = _at(at, grant.refresh_token_expires_in)
        if grant.authorization_expires_in is not None:
            control["authorization_expires_at"] = _at(at, grant.authorization_expires_in)
        tokens_only = _dumps_like(raw, data)
        if grant.scope:
            control["access_token_scopes"] = grant.scope.split()
        if grant.org_name:
            org["org_name"] = grant.org_name
        full = _dumps_like(raw, data)
        # A longer name or scope list is news, not a reason to lose the new tokens.
        return full if len(full) <= MAX_FILE_BYTES else tokens_only

    def _spent(self, why: str) -> SignInExpiredError:
        # The file's refresh token was exchanged for one we could not keep: it is spent.
        # That file is not ours to remove: say so, and what renews it.
        return SignInExpiredError(
            f"the sign-in in {_WHAT} {self.path} was refreshed but could not be written back "
            f"({why}); its refresh token is spent: fix the cause, then {RELOGIN_HINT}"
        )


def _dumps_like(raw: bytes, data: dict[str, Any]) -> bytes:
    """`data` as JSON in the layout of `raw`: its indent, its escaping, its final newline.

    A file holding raw UTF-8 text stays so (escaping it would make a name of
    another organisation six to twelve bytes a character); an all-ASCII file stays
    ASCII, as that CLI writes it.
    """
    text = raw.decode("utf-8")
    lines = text.splitlines()
    indent: str | None = None
    separators = (",", ": ")
    if len(lines) > 1:
        second = lines[1]
        indent = second[: len(second) - len(second.lstrip(" \t"))]
    elif '", "' not in text and '": ' not in text:
        separators = (",", ":")
    else:
        separators = (", ", ": ")
    out = json.dumps(data, indent=indent, separators=separators, ensure_ascii=raw.isascii())
    return (out + ("\n" if text.endswith("\n") else "")).encode("utf-8")


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
    current = ParallelCliSignIn().load()
    # The client keeps the organisation selected now, whatever that CLI selects later.
    return None if current is None else ParallelCliSignIn(org_id=current.org_id)


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
