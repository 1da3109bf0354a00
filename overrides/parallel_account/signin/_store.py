"""The store: where a device-flow sign-in is kept, one JSON file per profile, private to the user.

Choices:

* Location: `$XDG_CONFIG_HOME/parallel-account/<profile>.json`, else
  `~/.config/parallel-account/<profile>.json` (a relative $XDG_CONFIG_HOME is
  ignored, as the XDG spec says). Profile: the argument, else
  $PARALLEL_ACCOUNT_PROFILE, else `default`; ASCII letters, digits and `-_.`
  only, not starting with a dot, so a profile can never name another path.
* Writing, reading and locking: a `_private_file.PrivateFile` (atomic replace,
  ownership and mode checked on every read, a cross-process lock on
  `<profile>.json.lock`).
* Reading: the JSON is read with bounded depth and number size, every field is
  checked (tokens visible ASCII, text valid Unicode, expiries whole epoch seconds
  from 1970 to 9999), and anything else is a CorruptTokenFileError naming the
  path. Nothing is ever replaced unasked; `parallel-account logout` removes any
  file, however broken.
* Times are absolute UTC epoch seconds, so a file read later still means the same.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

from parallel_account import _json
from parallel_account._env import CONFIG_HOME_ENV, PROFILE_ENV
from parallel_account._errors import (
    CorruptTokenFileError,
    InvalidRequestError,
)
from parallel_account.signin._answers import MAX_LIFETIME, TokenGrant
from parallel_account.signin._private_file import MAX_FILE_BYTES, PrivateFile, ensure_directory

DEFAULT_PROFILE = "default"
APP_DIR_NAME = "parallel-account"
FORMAT_VERSION = 1
# Expiries are whole epoch seconds a datetime can show: 1970-01-01 to 9999-12-31.
MAX_EPOCH = 253_402_300_799
_TOKEN_FIELDS = ("access_token", "refresh_token")

# ASCII only (str.isalnum would accept other scripts); no leading dot, so no ".", ".." or hidden files.
_PROFILE_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


def resolve_profile(profile: str | None = None) -> str:
    """The profile name: the argument, else $PARALLEL_ACCOUNT_PROFILE, else `default`; validated."""
    source = "profile"
    if profile is None:
        profile = os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
        source = f"${PROFILE_ENV}"
    if not isinstance(profile, str) or not _PROFILE_RE.fullmatch(profile):
        raise InvalidRequestError(
            f"{source}: {profile!r} is not a profile name; use 1-64 ASCII letters, digits, "
            "'-', '_' or '.', not starting with '.'"
        )
    return profile


def config_dir() -> Path:
    """`$XDG_CONFIG_HOME/parallel-account`, else `~/.config/parallel-account`."""
    xdg = os.environ.get(CONFIG_HOME_ENV)
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".config"
    return base / APP_DIR_NAME


class StoredTokens(Protocol):
    """What a stored sign-in holds, whichever file it came from."""

    @property
    def client_id(self) -> str: ...
    @property
    def access_token(self) -> str: ...
    @property
    def refresh_token(self) -> str | None: ...
    @property
    def org_id(self) -> str | None: ...
    @property
    def access_token_expires_at(self) -> int | None: ...
    @property
    def refresh_token_expires_at(self) -> int | None: ...
    @property
    def authorization_expires_at(self) -> int | None: ...


@dataclass(frozen=True)
class SignInRecord:
    """One stored sign-in. Tokens are left out of repr; expiries are UTC epoch seconds or None."""

    client_id: str
    platform_url: str
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False, default=None)
    token_type: str = "Bearer"  # noqa: S105 (the OAuth token type, not a secret)
    scope: str | None = None
    org_id: str | None = None
    org_name: str | None = None
    access_token_expires_at: int | None = None
    refresh_token_expires_at: int | None = None
    authorization_expires_at: int | None = None

    @classmethod
    def from_grant(
        cls,
        grant: TokenGrant,
        *,
        client_id: str,
        platform_url: str,
        requested_scope: str,
        now: float,
    ) -> SignInRecord:
        """The record to store after a login (scope: as granted, else as requested)."""
        return cls(
            client_id=client_id,
            platform_url=platform_url,
            access_token=grant.access_token,
            refresh_token=grant.refresh_token,
            token_type=grant.token_type,
            scope=grant.scope or requested_scope,
            org_id=grant.org_id,
            org_name=grant.org_name,
            access_token_expires_at=expires_at(now, grant.expires_in),
            refresh_token_expires_at=expires_at(now, grant.refresh_token_expires_in),
            authorization_expires_at=expires_at(now, grant.authorization_expires_in),
        )

    def refreshed(self, grant: TokenGrant, *, now: float) -> SignInRecord:
        """This record after a refresh: what came back replaces, what did not is kept."""
        return dataclasses.replace(
            self,
            access_token=grant.access_token,
            refresh_token=grant.refresh_token or self.refresh_token,
            token_type=grant.token_type,
            scope=grant.scope or self.scope,
            org_id=grant.org_id or self.org_id,
            org_name=grant.org_name or self.org_name,
            access_token_expires_at=expires_at(now, grant.expires_in),
            refresh_token_expires_at=expires_at(now, grant.refresh_token_expires_in)
            or self.refresh_token_expires_at,
            authorization_expires_at=expires_at(now, grant.authorization_expires_in)
            or self.authorization_expires_at,
        )

    def to_json(self) -> str:
        return json.dumps({"version": FORMAT_VERSION, **asdict(self)}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, *, path: Path) -> SignInRecord:
        """Parse and check every field; raise CorruptTokenFileError naming `path` otherwise."""

        def corrupt(why: str) -> CorruptTokenFileError:
            return _corrupt(path, why)

        try:
            data = _json.loads(text)
        except _json.UnreadableJSON as exc:
            raise corrupt(str(exc)) from None
        if not isinstance(data, dict):
            raise corrupt("not a JSON object")
        if data.get("version") != FORMAT_VERSION:
            raise corrupt(
                f"format version {_shown(data.get('version'))}, expected {FORMAT_VERSION}"
            )
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = data.get(f.name)
            required = f.name in ("client_id", "platform_url", "access_token", "token_type")
            if value is None and not required:
                values[f.name] = None
            elif f.name.endswith("_expires_at"):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise corrupt(f"{f.name} is not whole epoch seconds")
                if not 0 <= value <= MAX_EPOCH:
                    raise corrupt(f"{f.name} is not epoch seconds between 1970 and 9999")
                values[f.name] = value
            elif not isinstance(value, str) or not value:
                raise corrupt(f"{f.name} is missing or not a non-empty string")
            elif not _is_unicode(value):
                raise corrupt(f"{f.name} is not valid Unicode text (a lone surrogate)")
            elif f.name in _TOKEN_FIELDS and not _is_visible_ascii(value):
                raise corrupt(f"{f.name} is not a token of visible ASCII characters")
            else:
                values[f.name] = value
        return cls(**values)


def expires_at(now: float, lifetime: float | None) -> int | None:
    """Absolute expiry in whole epoch seconds (rounded down: never later than the truth),
    within what a sign-in file holds (0..MAX_EPOCH); None for no lifetime."""
    if lifetime is None:
        return None
    return max(0, min(int(now + min(lifetime, MAX_LIFETIME)), MAX_EPOCH))


def _shown(value: object) -> str:
    """A short description of a value read from the file, for a message."""
    if isinstance(value, int | float | bool) or value is None:
        return repr(value)[:20]
    if isinstance(value, str) and len(value) <= 20 and _is_visible_ascii(value):
        return repr(value)
    return f"of type {type(value).__name__}"


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_visible_ascii(text: str) -> bool:
    return all(33 <= ord(ch) <= 126 for ch in text)


def _corrupt(path: Path, why: str) -> CorruptTokenFileError:
    return CorruptTokenFileError(
        f"the stored sign-in {path} is unreadable ({why}); it was left as it is: "
        "delete it (or run `parallel-account logout`) and sign in again",
        path=path,
    )


class TokenStore(PrivateFile):
    """The sign-in file of one profile: load, save atomically, delete, and a cross-process lock.

    Args:
        profile: the profile name (None: $PARALLEL_ACCOUNT_PROFILE, else `default`).
        directory: where sign-in files live (None: the user's config directory).

    Raises:
        InvalidRequestError: the profile name is not 1-64 letters, digits, `-` or `_`.
    """

    def __init__(self, profile: str | None = None, *, directory: Path | None = None) -> None:
        self.profile = resolve_profile(profile)
        base = directory if directory is not None else config_dir()
        super().__init__(
            base / f"{self.profile}.json",
            lock_path=base / f"{self.profile}.json.lock",
            what="the stored sign-in",
            logout="parallel-account logout",
        )

    def corrupt(self, why: str) -> CorruptTokenFileError:
        """The CorruptTokenFileError for this file, saying `why` and how to start afresh."""
        return _corrupt(self.path, why)

    def __repr__(self) -> str:
        return f"TokenStore(profile={self.profile!r}, path={str(self.path)!r})"

    def exists(self) -> bool:
        """Whether something is at the file's place (not whether it is usable)."""
        return self.path.exists()

    def load(self, *, check_permissions: bool = True) -> SignInRecord | None:
        """The stored sign-in, or None if there is none. Raises TokenStoreError if unusable.

        `check_permissions=False` (logout only) skips the ownership and mode checks.
        """
        raw = self.read_bytes(check_permissions=check_permissions)
        if raw is None:
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _corrupt(self.path, "not UTF-8 text") from None
        return SignInRecord.from_json(text, path=self.path)

    def save(self, record: SignInRecord) -> None:
        """Replace the file with `record` atomically (see `write_bytes`).

        Callers that read, change and write hold `lock()` around all three.

        Args:
            record: the sign-in to store.

        Raises:
            TokenStoreError: the record is too large, or the directory is not private.
            OSError: the disk refused the write (the old file is left as it was).
        """
        data = record.to_json().encode("utf-8")
        if len(data) <= MAX_FILE_BYTES:
            ensure_directory(self.directory)
        self.write_bytes(data)
