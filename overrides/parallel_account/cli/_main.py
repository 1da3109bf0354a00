"""`main()`: parse, run one command, turn whatever went wrong into one line and an exit status."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Sequence

from parallel_account._errors import AuthenticationError, InvalidRequestError, ParallelAccountError
from parallel_account._logging import logger
from parallel_account.cli._commands import COMMANDS, Interrupted
from parallel_account.cli._output import Output, one_line
from parallel_account.cli._parser import (
    EXIT_API_ERROR,
    EXIT_INTERRUPTED,
    EXIT_NOT_SIGNED_IN,
    EXIT_OUTCOME_UNKNOWN,
    EXIT_USAGE,
    UsageError,
    parse_args,
    wants_json,
)


def exit_status(exc: BaseException) -> int:
    """The documented exit status for an exception (see the epilog of `--help`)."""
    if isinstance(exc, KeyboardInterrupt | Interrupted):
        return EXIT_INTERRUPTED
    if isinstance(exc, ParallelAccountError) and exc.outcome_unknown:
        return EXIT_OUTCOME_UNKNOWN
    if isinstance(exc, AuthenticationError):  # also no credentials, NotSignedIn, SignInExpired
        return EXIT_NOT_SIGNED_IN
    if isinstance(exc, InvalidRequestError | UsageError):
        return EXIT_USAGE
    return EXIT_API_ERROR


def _message(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    text = " ".join(str(exc).split())
    if isinstance(exc, ParallelAccountError | UsageError):
        return text or type(exc).__name__
    # Not one of ours: a bug, or an OS error (disk full, permissions); say which.
    return f"unexpected {type(exc).__name__}: {text} (run with -v for a traceback)"


class _ShortFormatter(logging.Formatter):
    """`parallel-account: warning: ...`, in the style of the error line."""

    def format(self, record: logging.LogRecord) -> str:
        return f"parallel-account: {record.levelname.lower()}: {one_line(record.getMessage())}"


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if verbose:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
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
        traceback.print_exception(exc, file=out.stderr)
    kind = "Interrupted" if isinstance(exc, KeyboardInterrupt) else None
    out.error(exc, _message(exc), kind=kind)
    return exit_status(exc)


def run(argv: list[str], out: Output) -> int:
    """Run one command line; every failure becomes a message and an exit status."""
    verbose = False
    try:
        args = parse_args(argv)
        out.json_mode = args.json
        verbose = args.verbose
        _configure_logging(verbose)
        command = COMMANDS[(args.command, getattr(args, "action", None))]
        return command(args, out)
    except BrokenPipeError:
        raise  # nobody is reading: nothing more can be reported
    except (Exception, KeyboardInterrupt) as exc:
        return _report(exc, out, verbose)


def main(argv: Sequence[str] | None = None) -> int:
    """The `parallel-account` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    out = Output(json_mode=wants_json(args))
    try:
        return run(args, out)
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from
        # complaining about the unflushed stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_API_ERROR
