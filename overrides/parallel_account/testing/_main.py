"""Way in 3: a process of its own (`python -m parallel_account.testing`, `parallel-account mock-server`)."""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import TextIO
from urllib.parse import urlsplit

from parallel_account._arguments import check_parsed
from parallel_account._errors import CannotServe, InvalidRequestError
from parallel_account._fake_token import DEFAULT_TOKEN
from parallel_account._mock_server_options import LogFormat, add_options, remote_refusal
from parallel_account.testing._api import FakeAccountAPI
from parallel_account.testing._control import PREFIX, SPEC_PATH
from parallel_account.testing._requests import REQUEST_LOGGER, JsonLines, TextLines

JSON_HELP = "print the start line as one JSON object: base_url, control_url, spec_url, token, pid"


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a fake Account API until interrupted; print its start line first (`serve`).

    Args:
        argv: the command line's arguments (None: sys.argv[1:]): --port, --host, --token,
            --allow-remote (the control API under /__fake/ needs no token, so
            only loopback unless this is given), --json, --log-format.

    Returns:
        The exit status, 0 after Ctrl-C or SIGTERM.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_parsed(parser, args)  # as `parallel-account` checks every command line
        return serve_options(args)
    except (InvalidRequestError, CannotServe) as exc:
        parser.error(str(exc))


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser: the mock server's options (shared with `parallel-account
    mock-server`), and --json."""
    parser = argparse.ArgumentParser(
        prog="python -m parallel_account.testing",
        description="Serve a fake Parallel Account API on loopback for tests.",
    )
    add_options(parser)
    parser.add_argument("--json", action="store_true", help=JSON_HELP)
    return parser


def serve_options(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """`serve` as a parsed command line asks, for either entry point: `args` has
    `build_parser`'s options (host, port, allow_remote, token, log_format, json); `out` is
    serve's. Raises CannotServe also for a host `remote_refusal` refuses."""
    refusal = remote_refusal(args.host, args.allow_remote)
    if refusal:
        raise CannotServe(refusal)
    return serve(
        host=args.host,
        port=args.port,
        token=args.token,
        json_line=args.json,
        log_format=args.log_format,
        out=out,
    )


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str = DEFAULT_TOKEN,
    json_line: bool = False,
    log_format: LogFormat | None = None,
    out: TextIO | None = None,
) -> int:
    """Serve a fake until Ctrl-C or SIGTERM, after printing one start line on `out` (stdout).

    The start line is the base URL alone, or with `json_line` one JSON object:
    `base_url`, `control_url` (the control API), `spec_url` (the pinned spec, where the
    live API serves it), `token` (the one accepted) and `pid` (this process, to stop it).

    Args:
        host: the address to listen on (refused unless loopback: see `remote_refusal`).
        port: the port (0: any free one).
        token: the bearer token accepted.
        json_line: print the start line as JSON.
        log_format: "text" or "json": one line per request on stderr; None: only what
            the `parallel_account` logger's configuration shows (`-v`: text lines).
        out: where the start line goes (None: sys.stdout).

    Returns:
        0, once interrupted.

    Raises:
        CannotServe: host:port cannot be listened on (the port is taken, say).
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # stop cleanly on SIGTERM as on Ctrl-C
    fake = FakeAccountAPI(token=token)
    with contextlib.ExitStack() as stack:
        stack.enter_context(_request_lines(log_format))
        try:
            base_url = stack.enter_context(fake.serve(port=port, host=host))
        except OSError as exc:  # binding: nothing is served yet
            raise CannotServe(_bind_problem(exc, host, port)) from None
        # Ctrl-C from the moment the start line can be read is a clean stop (a client may
        # send it as soon as it has the line).
        with contextlib.suppress(KeyboardInterrupt):
            print(_start_line(base_url, token, json_line), file=out or sys.stdout, flush=True)
            threading.Event().wait()
    return 0


def _start_line(base_url: str, token: str, json_line: bool) -> str:
    if not json_line:
        return base_url
    root = base_url.removesuffix(urlsplit(base_url).path)
    spec_url = root + SPEC_PATH
    started = {
        "base_url": base_url,
        "control_url": f"{root}{PREFIX}/",
        "spec_url": spec_url,
        "token": token,
        "pid": os.getpid(),
    }
    return json.dumps(started)


def _bind_problem(exc: OSError, host: str, port: int) -> str:
    reason = exc.strerror or str(exc)
    if exc.errno == errno.EADDRINUSE:
        return (
            f"--port {port}: already in use on {host} (another mock-server?); leave --port "
            "out to take a free port: the start line gives the URL"
        )
    if exc.errno == errno.EACCES:
        return f"--port {port}: not allowed ({reason}); ports below 1024 need privileges"
    return f"--host {host} --port {port}: cannot listen there ({reason})"


@contextlib.contextmanager
def _request_lines(log_format: LogFormat | None) -> Iterator[None]:
    """With a format, one line per request on stderr, from `REQUEST_LOGGER` alone."""
    if log_format is None:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if log_format == "json" else TextLines())
    saved = REQUEST_LOGGER.level, REQUEST_LOGGER.propagate
    REQUEST_LOGGER.addHandler(handler)
    REQUEST_LOGGER.setLevel(logging.INFO)
    REQUEST_LOGGER.propagate = False  # not a second time through -v's handler
    try:
        yield
    finally:
        REQUEST_LOGGER.removeHandler(handler)
        REQUEST_LOGGER.level, REQUEST_LOGGER.propagate = saved


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
