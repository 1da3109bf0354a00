"""The mock server's command-line options, defined once for its two entry points.

`python -m parallel_account.testing` (`testing/_main.py`) and `parallel-account
mock-server` (`cli/_parser.py`) both build their parser with `add_options` and check
what it parsed with `_arguments.check_parsed` and `remote_refusal`, so they accept and
refuse the same command lines with the same messages. Outside `parallel_account.testing`,
as `_fake_token` is: the CLI builds its parser for every command, and importing the fake
would slow them all.
"""

from __future__ import annotations

import argparse
from typing import Literal

from parallel_account._arguments import shown
from parallel_account._fake_token import DEFAULT_TOKEN
from parallel_account._urls import is_loopback

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")


def port(text: str) -> int:
    """`--port`: ASCII digits from 0 to 65535 (argparse type; int() would take -1 or "٨٠")."""
    if not text.isascii() or not text.isdigit() or len(text) > 5 or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a port number (0 to 65535)")
    return int(text)


def add_options(parser: argparse.ArgumentParser) -> None:
    """--port, --host, --allow-remote, --token and --log-format (each entry point adds --json)."""
    parser.add_argument("--port", type=port, default=0, help="port (default: any free one)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="a loopback address (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host that is not loopback (anyone who reaches it controls the fake)",
    )
    parser.add_argument(
        "--token",
        metavar="T",
        default=DEFAULT_TOKEN,
        help=f"bearer token it accepts (default: {DEFAULT_TOKEN})",
    )
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=None,
        help="log one line per request on stderr (method, path, operation, status, "
        "idempotency key, fault): text, or json (one object a line)",
    )


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
