"""One file private to the user: checked reads, atomic writes, and a cross-process lock.

The ground under both sign-in files (this package's `_store` and Parallel CLI's
`_shared_file`):

* Writing: a temp file in the same directory (mode 0600 from the start),
  flushed and fsynced, then `os.replace`d over the old file and the directory
  fsynced. A crash at any point leaves either the old file or the new one.
* Reading: the file and its directory must belong to the user running us; a
  file that group or others may read or write, or a directory they may write
  (someone could plant or swap the file), is refused with the exact `chmod` /
  `chown` fix. A symlink or anything but a regular file is refused, and at most
  MAX_FILE_BYTES are read.
* Locking: `filelock` on a lock file serialises read-refresh-write across
  processes; readers need no lock because a rename is atomic.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from parallel_account._errors import (
    CorruptTokenFileError,
    InsecureTokenFileError,
    TokenStoreError,
)

LOCK_TIMEOUT = 60.0  # longer than one refresh request (30 s timeout) plus slack
MAX_FILE_BYTES = 64 * 1024  # a sign-in is under 2 KiB; anything near this was not written by us


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
        """The error for a file that is not what it should be; each file words it its own way.

        Args:
            why: what is wrong with the file, in a few words (never its content).
        """
        raise NotImplementedError

    @contextlib.contextmanager
    def lock(self, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
        """Hold the cross-process lock (creating its directory if needed).

        Args:
            timeout: seconds to wait for another process to let go.

        Raises:
            TokenStoreError: the lock stayed held for `timeout` seconds.
        """
        import filelock  # on first use: commands with a token from the environment never lock

        ensure_directory(self.lock_path.parent)
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

        Args:
            data: the file's new content, whole.

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


def ensure_directory(directory: Path) -> None:
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
