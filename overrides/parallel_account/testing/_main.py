"""Way in 3: a process of its own (`python -m parallel_account.testing`, `parallel-account mock-server`)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from collections.abc import Sequence
from types import FrameType

from parallel_account.testing._api import DEFAULT_TOKEN, FakeAccountAPI


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a fake Account API until interrupted; print its base URL first, alone on a line.

    Args:
        argv: the command line's arguments (None: sys.argv[1:]): --port, --host, --token.

    Returns:
        The exit status, 0 after Ctrl-C or SIGTERM.
    """
    parser = argparse.ArgumentParser(
        prog="python -m parallel_account.testing",
        description="Serve a fake Parallel Account API on loopback for tests.",
    )
    parser.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    parser.add_argument(
        "--token", default=DEFAULT_TOKEN, help=f"bearer token to accept (default: {DEFAULT_TOKEN})"
    )
    args = parser.parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # stop cleanly on SIGTERM as on Ctrl-C
    fake = FakeAccountAPI(token=args.token)
    with fake.serve(port=args.port, host=args.host) as base_url:
        print(base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
