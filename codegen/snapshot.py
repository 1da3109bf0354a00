"""Copies of files and trees to put back byte for byte when `make spec-update` fails or
is interrupted, and the signal handling that keeps the putting back whole."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn


class Snapshot:
    """Copies (bytes, modes, mtimes) of files and trees, to put back after a failed update."""

    def __init__(self, paths: Sequence[Path], store: Path) -> None:
        self._saved: list[tuple[Path, Path | None]] = []
        for index, path in enumerate(paths):
            copy = store / f"{index}-{path.name}"
            if path.is_dir():
                shutil.copytree(path, copy, symlinks=True)
            elif path.exists():
                shutil.copy2(path, copy)
            self._saved.append((path, copy if path.exists() else None))

    def restore(self) -> None:
        for path, copy in self._saved:
            # Stage beside the target, then rename: a second failure never leaves half a file.
            staged = path.with_name(f".{path.name}.restoring")
            _remove(staged)
            if copy is None:
                _remove(path)
            elif copy.is_dir():
                shutil.copytree(copy, staged, symlinks=True)
                retired = path.with_name(f".{path.name}.retired")
                _remove(retired)
                if path.exists():
                    path.rename(retired)
                staged.rename(path)
                _remove(retired)
            else:
                shutil.copy2(copy, staged)
                os.replace(staged, path)

    def restore_shielded(self) -> None:
        """Restore with SIGINT and SIGTERM ignored: a second Ctrl-C must not cut a restore
        short."""
        handlers = {
            sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            self.restore()
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a cancelled CI job) raises KeyboardInterrupt inside, so it takes the same
    restoring path as Ctrl-C."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
