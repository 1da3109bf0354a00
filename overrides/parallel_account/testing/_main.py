"""Way in 3: a process of its own (`python -m parallel_account.testing`, `parallel-account mock-server`)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from collections.abc import Sequence
from types import FrameType

from parallel_account._urls import is_loopback
from parallel_account.testing._api import DEFAULT_TOKEN, FakeAccountAPI


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a fake Account API until interrupted; print its base URL first, alone on a line.

    Args:
        argv: the command line's arguments (None: sys.argv[1:]): --port, --host, --token,
            --allow-remote (the control API under /__fake/ needs no token, so
            only loopback unless this is given).

    Returns:
        The exit status, 0 after Ctrl-C or SIGTERM.
    """
    parser = argparse.ArgumentParser(
        prog="python -m parallel_account.testing",
        description="Serve a fake Parallel Account API on loopback for tests.",
    )
    parser.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="a loopback address (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host that is not loopback (anyone who reaches it controls the fake)",
    )
    parser.add_argument(
        "--token", default=DEFAULT_TOKEN, help=f"bearer token to accept (default: {DEFAULT_TOKEN})"
    )
    args = parser.parse_args(argv)
    refusal = remote_refusal(args.host, args.allow_remote)
    if refusal:
        parser.error(refusal)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # stop cleanly on SIGTERM as on Ctrl-C
    fake = FakeAccountAPI(token=args.token)
    with fake.serve(port=args.port, host=args.host) as base_url:
        print(base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


def remote_refusal(host: str, allow_remote: bool) -> str | None:
    """Why serving on `host` is refused, or None if it is allowed.

    The control API (/__fake/) takes no token, so whoever reaches the port can drive
    the fake: only loopback unless told otherwise.

    Args:
        host: the address to listen on (an IPv6 address may be in brackets).
        allow_remote: True when the caller accepts a non-loopback address.

    Returns:
        The refusal message naming `--host`, or None.

    Raises:
        Nothing.
    """
    if allow_remote or is_loopback(host.strip("[]")):
        return None
    return (
        f"--host {host}: not a loopback address; the fake and its control API would be "
        "reachable from other machines (add --allow-remote if that is meant)"
    )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
