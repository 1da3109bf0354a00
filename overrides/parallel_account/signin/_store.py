"""The store: where a device-flow sign-in is kept, one JSON file per profile, private to the user.

Choices:

* Location: `$XDG_CONFIG_HOME/parallel-account/<profile>.json`, else
  `~/.config/parallel-account/<profile>.json` (a relative $XDG_CONFIG_HOME is
  ignored, as the XDG spec says). Profile: the argument, else
  $PARALLEL_ACCOUNT_PROFILE, else `default`; ASCII letters, digits and `-_.`
  only, not starting with a dot, so a profile can never name another path.
* Writing: a temp file in the same directory (mode 0600 from the start),
  flushed and fsynced, then `os.replace`d over the old file and the directory
  fsynced. A crash at any point leaves either the old file or the new one.
* Reading: the file and its directory must belong to the user running us; a
  file that group or others may read or write, or a directory they may write
  (someone could plant or swap the file), is refused with the exact `chmod` /
  `chown` fix. At most MAX_FILE_BYTES are read; the JSON is read with bounded
  depth and number size, every field is checked (tokens visible ASCII, text
  valid Unicode, expiries whole epoch seconds from 1970 to 9999), and anything
  else is a CorruptTokenFileError naming the path. Nothing is ever replaced
  unasked; `parallel-account logout` removes any file, however broken.
* Locking: `filelock` on `<profile>.json.lock` serialises read-refresh-write
  across processes; readers need no lock because a rename is atomic.
* Times are absolute UTC epoch seconds, so a file read later still means the same.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

from parallel_account import _json
from parallel_account._env import CONFIG_HOME_ENV, PROFILE_ENV
from parallel_account._errors import (
    CorruptTokenFileError,
    InsecureTokenFileError,
    InvalidRequestError,
    TokenStoreError,
)
from parallel_account.signin._answers import MAX_LIFETIME, TokenGrant

DEFAULT_PROFILE = "default"
APP_DIR_NAME = "parallel-account"
FORMAT_VERSION = 1
LOCK_TIMEOUT = 60.0  # longer than one refresh request (30 s timeout) plus slack
MAX_FILE_BYTES = 64 * 1024  # a sign-in is under 2 KiB; anything near this was not written by us
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


class PrivateFile:
    """One file private to the user: checked reads, atomic writes, and a cross-process lock.

    `what` names the file in messages ("the stored sign-in"); `logout` is the command
    that removes it. The lock file may live elsewhere (`lock_path`): a file of another
    tool gets its lock in this package's own directory, never beside that file.
    """

    def __init__(self, path: Path, *, lock_path: Path, what: str, logout: str) -> None:
        self.path = path
        self.directory = path.parent
        self.lock_path = lock_path
        self.what = what
        self.logout = logout

    def corrupt(self, why: str) -> CorruptTokenFileError:
        return _corrupt(self.path, why)

    @contextlib.contextmanager
    def lock(self, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
        """Hold the cross-process lock (creating its directory if needed).

        Args:
            timeout: seconds to wait for another process to let go.

        Raises:
            TokenStoreError: the lock stayed held for `timeout` seconds.
        """
        import filelock  # on first use: commands with a token from the environment never lock

        _ensure_directory(self.lock_path.parent)
        lock = filelock.FileLock(str(self.lock_path), timeout=timeout, mode=0o600)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise TokenStoreError(
                f"another process has held the sign-in lock {self.lock_path} for over "
                f"{timeout:g} s; try again (delete the lock file only if no other "
                "parallel-account process is running)",
                path=self.lock_path,
            ) from None
        try:
            yield
        finally:
            lock.release()

    def read_bytes(self, *, check_permissions: bool = True) -> bytes | None:
        """The file's bytes, or None if there is none. Raises TokenStoreError if unusable.

        `check_permissions=False` (logout only) skips the ownership and mode checks.
        """
        if check_permissions:
            _check_directory(self.directory, creating=False)
        try:
            # O_NOFOLLOW: a symlink planted in place of the file is refused, not followed.
            # O_NONBLOCK: a FIFO planted there is refused below instead of blocking the open.
            flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
            fd = os.open(self.path, flags)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TokenStoreError(
                f"cannot read {self.what} {self.path}: {exc.strerror} "
                f"(a symlink is refused); `{self.logout}` removes it",
                path=self.path,
            ) from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise TokenStoreError(
                    f"{self.what} {self.path} is not a regular file; `{self.logout}` removes it",
                    path=self.path,
                )
            if check_permissions:
                self._check_private(info)
            return self._read_bounded(fd)
        finally:
            os.close(fd)

    def _read_bounded(self, fd: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_FILE_BYTES:
            try:
                chunk = os.read(fd, MAX_FILE_BYTES + 1 - size)
            except OSError as exc:
                raise TokenStoreError(
                    f"cannot read {self.what} {self.path}: {exc.strerror}", path=self.path
                ) from None
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
        raise self.corrupt(f"larger than {MAX_FILE_BYTES // 1024} KiB")

    def write_bytes(self, data: bytes) -> None:
        """Replace the file atomically: temp file (0600), fsync, rename, fsync the directory.

        Callers that read, change and write hold `lock()` around all three.

        Raises:
            TokenStoreError: the record is too large, or the directory is not private.
            OSError: the disk refused the write (the old file is left as it was).
        """
        if len(data) > MAX_FILE_BYTES:  # never write what a read would refuse
            raise TokenStoreError(
                f"the sign-in is too large to store in {self.path} ({len(data)} bytes)",
                path=self.path,
            )
        import tempfile  # on first use, like filelock: only signing in writes the file

        fd, temp_name = tempfile.mkstemp(
            dir=self.directory, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), 0o600)  # mkstemp already uses 0600; say so anyway
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, self.path)
        except BaseException:
            # Also on KeyboardInterrupt: no stray temp file, the old file untouched.
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
            raise
        _fsync_directory(self.directory)

    def delete(self) -> bool:
        """Remove whatever is at the file's place (a symlink itself, not its target).

        True if there was something. Raises TokenStoreError naming the path if it cannot.
        """
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise TokenStoreError(
                f"cannot remove {self.what} {self.path}: {exc.strerror}; remove it by hand",
                path=self.path,
            ) from None
        _fsync_directory(self.directory)
        return True

    def _check_private(self, info: os.stat_result) -> None:
        if os.name != "posix":
            return
        if info.st_uid != os.geteuid():
            raise InsecureTokenFileError(
                f"{self.what} {self.path} belongs to another user (uid {info.st_uid}), "
                "so someone else could have written it. If it is yours, fix it with: "
                f"chown {os.geteuid()} {self.path}; otherwise delete it (or run "
                f"`{self.logout}`) and sign in again",
                path=self.path,
            )
        if info.st_mode & 0o077:
            raise InsecureTokenFileError(
                f"{self.what} {self.path} is open to other users "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); its tokens may have leaked. "
                f"Fix it with: chmod 600 {self.path}",
                path=self.path,
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
            _ensure_directory(self.directory)
        self.write_bytes(data)


def _ensure_directory(directory: Path) -> None:
    """Create `directory` private (0700) if missing; refuse it if others could swap files in it."""
    created = not directory.exists()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if created:
        os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
    _check_directory(directory, creating=True)


def _check_directory(directory: Path, *, creating: bool) -> None:
    """The directory must be ours and writable by nobody else (they could swap the file)."""
    if os.name != "posix":
        return
    try:
        info = os.stat(directory)
    except FileNotFoundError:
        if creating:
            raise
        return  # no directory, no file: nothing to trust or distrust
    except OSError as exc:
        raise TokenStoreError(
            f"cannot read the sign-in directory {directory}: {exc.strerror}",
            path=directory,
        ) from None
    if info.st_uid != os.geteuid():
        raise InsecureTokenFileError(
            f"the sign-in directory {directory} belongs to another user "
            f"(uid {info.st_uid}), who could swap the sign-in in it. If it is yours, fix "
            f"it with: chown {os.geteuid()} {directory}",
            path=directory,
        )
    # Group/other write would let someone swap the file under us; read alone is harmless.
    if info.st_mode & 0o022:
        raise InsecureTokenFileError(
            f"the sign-in directory {directory} is writable by other users "
            f"(mode {stat.S_IMODE(info.st_mode):04o}), who could swap the sign-in in it. "
            f"Fix it with: chmod 700 {directory}",
            path=directory,
        )


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not possible (nor needed) on every platform.
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
