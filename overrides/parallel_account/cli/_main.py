"""`main()`: parse, run one command, turn whatever went wrong into one line and an exit status."""

from __future__ import annotations

import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import NoReturn

from parallel_account._arguments import check_text
from parallel_account._env import API_URL_ENV, PLATFORM_URL_ENV, PROFILE_ENV, TOKEN_ENV
from parallel_account._errors import (
    AuthenticationError,
    Interrupted,
    InvalidRequestError,
    ParallelAccountError,
)
from parallel_account._logging import logger
from parallel_account.cli._commands import COMMANDS, Terminated
from parallel_account.cli._output import Output, abandon_stdout, one_line, safe_lines
from parallel_account.cli._parser import (
    EXIT_API_ERROR,
    EXIT_INTERRUPTED,
    EXIT_NOT_SIGNED_IN,
    EXIT_OUTCOME_UNKNOWN,
    EXIT_TERMINATED,
    EXIT_USAGE,
    UsageError,
    parse_args,
    wants_json,
)

# Read by the commands; checked like the command line (bounded, valid Unicode) first.
ENVIRONMENT = (TOKEN_ENV, PROFILE_ENV, API_URL_ENV, PLATFORM_URL_ENV)


def exit_status(exc: BaseException) -> int:
    """The documented exit status for an exception (see the epilog of `--help`)."""
    if isinstance(exc, Terminated) or (isinstance(exc, Interrupted) and exc.terminated):
        return EXIT_TERMINATED
    if isinstance(exc, KeyboardInterrupt | Interrupted):
        return EXIT_INTERRUPTED
    if getattr(exc, "outcome_unknown", False):
        # 4 means "run it again with this key": only a top-up has one. A create that may
        # have happened (no key) is a plain failure whose message says what to check.
        return EXIT_OUTCOME_UNKNOWN if getattr(exc, "idempotency_key", None) else EXIT_API_ERROR
    if isinstance(exc, AuthenticationError):  # also no credentials, NotSignedIn, SignInExpired
        return EXIT_NOT_SIGNED_IN
    if isinstance(exc, InvalidRequestError | UsageError):
        return EXIT_USAGE
    return EXIT_API_ERROR


def _flat(text: object) -> str:
    return " ".join(str(text).split())


def _message(exc: BaseException) -> str:
    """One line: what went wrong, the notes commands added, and the idempotency key if any."""
    if isinstance(exc, Terminated):
        parts = ["terminated (SIGTERM)"]
    elif isinstance(exc, KeyboardInterrupt):
        parts = ["interrupted"]
    elif isinstance(exc, ParallelAccountError | UsageError):
        parts = [_flat(exc) or type(exc).__name__]
    else:
        # Not one of ours: a bug, or an OS error (disk full, permissions); say which.
        parts = [f"unexpected {type(exc).__name__}: {_flat(exc)} (run with -v for a traceback)"]
    parts += [_flat(note) for note in getattr(exc, "__notes__", ())]
    key = getattr(exc, "idempotency_key", None)
    if key and not any(key in part for part in parts):
        parts.append(f"idempotency key: {key}")
    return "; ".join(parts)


class _ShortFormatter(logging.Formatter):
    """`parallel-account: warning: ...`, in the style of the error line."""

    def format(self, record: logging.LogRecord) -> str:
        return f"parallel-account: {record.levelname.lower()}: {one_line(record.getMessage())}"


class _SafeFormatter(logging.Formatter):
    """The -v format, terminal-safe: a record may quote what a server sent."""

    def format(self, record: logging.LogRecord) -> str:
        return safe_lines(super().format(record))


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if verbose:
        handler.setFormatter(_SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        # Retries are worth seeing while one waits; the per-attempt DEBUG lines are not.
        handler.setFormatter(_ShortFormatter())
    # Marked as the package's own, so $PARALLEL_ACCOUNT_LOG does not add a second handler.
    handler._parallel_account = True  # type: ignore[attr-defined]
    handler._parallel_account_cli = True  # type: ignore[attr-defined]
    for old in [h for h in logger.handlers if getattr(h, "_parallel_account_cli", False)]:
        logger.removeHandler(old)  # main() run again in one process: replace, not stack
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)


def _report(exc: BaseException, out: Output, verbose: bool) -> int:
    if verbose and not isinstance(exc, KeyboardInterrupt | UsageError):
        # Messages in the traceback may quote a server: shown terminal-safe, lines kept.
        out.stderr.write(safe_lines("".join(traceback.format_exception(exc))))
        out.stderr.flush()
    kind = "Interrupted" if isinstance(exc, KeyboardInterrupt) else None  # Terminated too
    out.error(exc, _message(exc), kind=kind)
    return exit_status(exc)


def run(argv: list[str], out: Output) -> int:
    """Run one command line; every failure becomes a message and an exit status."""
    verbose = False
    if argv[:1] == ["spec"]:
        return _run_spec(argv[1:])
    try:
        args = parse_args(argv)
        if args.command == "spec":  # global options given before `spec`
            return _run_spec(args.spec_args)
        out.json_mode = args.json
        verbose = args.verbose
        _configure_logging(verbose)
        for name in ENVIRONMENT:
            value = os.environ.get(name)
            if value:
                check_text(f"${name}", value)
        command = COMMANDS[(args.command, getattr(args, "action", None))]
        return command(args, out)
    except BrokenPipeError:
        raise  # nobody is reading: nothing more can be reported
    except (Exception, KeyboardInterrupt) as exc:
        return _report(exc, out, verbose)


def _run_spec(argv: list[str]) -> int:
    from parallel_account.cli._spec_cmd import run_spec  # lazy: only `spec` needs the checker

    return run_spec(argv)


def _raise_terminated(signum: int, frame: FrameType | None) -> NoReturn:
    raise Terminated


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises `Terminated` (a KeyboardInterrupt) wherever the program is.

    So `kill`, a CI timeout or a container stop takes Ctrl-C's path: a top-up under
    way reports its idempotency key, and the exit status is documented (143).
    """
    try:
        previous: Callable[[int, FrameType | None], object] | int | None = signal.signal(
            signal.SIGTERM, _raise_terminated
        )
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def main(argv: Sequence[str] | None = None) -> int:
    """The `parallel-account` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    out = Output(json_mode=wants_json(args))
    try:
        with _sigterm_as_interrupt():
            return run(args, out)
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from
        # complaining about the unflushed stdout at exit.
        abandon_stdout(sys.stdout)
        return EXIT_API_ERROR
    except KeyboardInterrupt as exc:  # a second Ctrl-C or SIGTERM while reporting the first
        return exit_status(exc)
