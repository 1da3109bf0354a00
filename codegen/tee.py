"""Output passed through and kept: what `make spec-update` shows as it runs and puts in
its failure report afterwards."""

from __future__ import annotations

import codecs
import io
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import TextIO


class Tee(io.TextIOBase):
    """A text stream writing through to `sink` and keeping a copy."""

    def __init__(self, sink: TextIO) -> None:
        self._sink = sink
        self._kept: list[str] = []

    def write(self, text: str) -> int:
        self._kept.append(text)
        return self._sink.write(text)

    def flush(self) -> None:
        self._sink.flush()

    def getvalue(self) -> str:
        return "".join(self._kept)


def run_teed(command: str, cwd: Path) -> tuple[int, str]:
    """`bash -c command` in cwd: its stdout and stderr pass through to ours as they come,
    and are also returned (both, in order of arrival) with its exit status."""
    kept: list[str] = []
    lock = threading.Lock()
    proc = subprocess.Popen(
        ["bash", "-c", command], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )

    def pump(fd: int, sink: TextIO) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while chunk := os.read(fd, 65536):
            text = decoder.decode(chunk)
            with lock:
                kept.append(text)
                sink.write(text)
                sink.flush()

    try:
        assert proc.stdout is not None and proc.stderr is not None
        pumps = [
            threading.Thread(target=pump, args=(proc.stdout.fileno(), sys.stdout), daemon=True),
            threading.Thread(target=pump, args=(proc.stderr.fileno(), sys.stderr), daemon=True),
        ]
        for thread in pumps:
            thread.start()
        status = proc.wait()
        # Something the command left running may hold the pipes open: do not wait for it.
        for thread in pumps:
            thread.join(timeout=10)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    with lock:
        output = "".join(kept)
    if all(not thread.is_alive() for thread in pumps):
        proc.stdout.close()
        proc.stderr.close()
    return status, output
