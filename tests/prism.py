"""Start and stop Stoplight Prism, the contract mock that `make prism` installs from package-lock.json.

Prism serves answers built from the spec and validates every request against
it. The spec has no examples, so in static mode (the default, passed explicitly
here) every answer is the same schema-derived placeholder: deterministic.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support import ROOT

PRISM = ROOT / "node_modules" / ".bin" / "prism"
READY = b"Prism is listening"
START_TIMEOUT = 60.0  # seconds; a cold start takes ~3 s, a loaded CI machine more
ATTEMPTS = 3  # a free port can be taken between choosing it and Prism binding it


def unavailable() -> str | None:
    """Why Prism cannot run on this machine, or None if it can."""
    if shutil.which("node") is None:
        return "Node.js is not on PATH: install Node 20+, then `make prism`"
    if not PRISM.exists():
        return f"Prism is not installed ({PRISM.relative_to(ROOT)} missing): run `make prism`"
    return None


@contextlib.contextmanager
def running(spec: Path, log_dir: Path) -> Iterator[str]:
    """Run `prism mock` on a free loopback port; yield its base URL; stop it by its process id."""
    for _ in range(ATTEMPTS):
        port = _free_port()
        log = log_dir / f"prism-{port}.log"
        with log.open("wb") as out:  # a file, not a pipe: an undrained pipe would block Prism
            process = subprocess.Popen(
                [PRISM, "mock", "-h", "127.0.0.1", "-p", str(port), "--dynamic=false", spec],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"},
            )
        try:
            if _ready(process, log):
                yield f"http://127.0.0.1:{port}"
                return
        finally:
            _stop(process)
    raise RuntimeError(f"Prism exited {ATTEMPTS} times before listening; last log:\n{_tail(log)}")


def _ready(process: subprocess.Popen[bytes], log: Path) -> bool:
    """True once Prism says it listens; False if it exited first (e.g. port taken)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if READY in log.read_bytes():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    raise TimeoutError(
        f"Prism did not start listening in {START_TIMEOUT:.0f} s; log:\n{_tail(log)}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]
