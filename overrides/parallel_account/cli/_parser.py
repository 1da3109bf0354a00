"""The argparse tree of `parallel-account`.

Global options live in one parent parser added to the top-level parser and to
every subcommand, with SUPPRESS defaults: `--json balance` and `balance --json`
both work, and a subcommand that does not see an option leaves the value the
top level parsed. `GLOBAL_DEFAULTS` fills in what nobody gave.

argparse's own error() prints and exits; here it raises UsageError instead, so
--json mode can still answer with a JSON document (exit status 2 either way).

Every text on the command line is checked once parsed, whichever command takes
it (`_arguments.check_parsed`: bounded, valid Unicode); the error names the option
or argument (`--scope`, `KEY_ID`) and nothing is sent.
Numbers are bounded before they are read: `--timeout` at most MAX_TIMEOUT
seconds, `--max-retries` at most MAX_RETRIES.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from parallel_account._arguments import check_parsed, shown
from parallel_account._mock_server_options import add_options as add_mock_server_options
from parallel_account._scopes import DEFAULT_SCOPE
from parallel_account._version import __version__

PROG = "parallel-account"


def version_line() -> str:
    """What `--version` prints: the package version and the sha256 of the spec it was built from."""
    from parallel_account._spec import SPEC_SHA256  # only when asked: commands start faster

    return f"{PROG} {__version__} (Account API spec sha256 {SPEC_SHA256})"


class _VersionAction(argparse.Action):
    """`--version`: like argparse's own, with the spec's sha256 read only when asked."""

    def __init__(self, option_strings: list[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> NoReturn:
        if sys.stdout is not None:  # None when the program started with stdout closed
            sys.stdout.write(version_line() + "\n")
        parser.exit()


EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_SIGNED_IN = 3
EXIT_OUTCOME_UNKNOWN = 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM

MAX_TIMEOUT = 86400.0  # a day: anything longer is a typo, and huge values overflow the OS's timers
MAX_ADAPTER_SECONDS = 3600.0  # `conformance run --adapter-timeout`: one adapter run
MAX_RETRIES = 100

EPILOG = f"""\
exit status:
  {EXIT_OK}    success
  {EXIT_API_ERROR}    the API or the sign-in platform refused or failed (also: a declined
       confirmation, an unusable stored sign-in file, an `apps create` or `keys create`
       that may have happened: the message says what to check)
  {EXIT_USAGE}    usage error or bad input (nothing was sent)
  {EXIT_NOT_SIGNED_IN}    not signed in, or the sign-in expired or was refused (HTTP 401):
       run `{PROG} login`; also `status` when not signed in
  {EXIT_OUTCOME_UNKNOWN}    a top-up's outcome is unknown (the charge may have been made): run the
       same command again with the --idempotency-key given in the message
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C); during a top-up the message gives its key
  {EXIT_TERMINATED}  terminated (SIGTERM); handled as Ctrl-C is, key included

token: $PARALLEL_ACCOUNT_TOKEN, else the stored sign-in of $PARALLEL_ACCOUNT_PROFILE
(default `default`), else (that variable unset) Parallel's CLI's `parallel-cli login`;
--profile NAME always uses that profile's stored sign-in. `status` names the source.

examples:
  {PROG} login
  {PROG} balance add 25.50
  curl -H "Authorization: Bearer $({PROG} token)" https://api.parallel.ai/account/service/v1/balance
  {PROG} apps list --json
"""

ADD_DESCRIPTION = """\
Charge the organisation's default payment method and add the amount to the balance.

The idempotency key is always written to stderr before the charge is sent (with
--json too; the document on stdout carries it as well): running the same command
with --idempotency-key KEY never charges twice.

Confirmation: when stdin is a terminal, asks before charging unless --yes.
When stdin is not a terminal (scripts, CI) it does not ask and goes ahead:
the command line itself is the consent, and a prompt nobody can answer would
only hang or fail the script.
"""

API_DESCRIPTION = """\
Call any operation of the pinned spec through the client: the same validation,
retries and idempotency as the library. Prints the JSON answer on stdout.
An operation with an idempotency key gets a new one unless given
(--param idempotency_key=KEY); it is written to stderr before anything is sent.
An operation that moves money (add_balance) asks first when stdin is a
terminal, as `balance add` does, unless --yes. Integers are ASCII digits.

examples:
  parallel-account api --list
  parallel-account api get_balance
  parallel-account api create_key --param app_id=APP_ID --param api_key_name=ci
"""

RUN_DESCRIPTION = f"""\
Run the conformance scenarios against a client, through an adapter command.

For each scenario: a fresh fake Account API on 127.0.0.1, the scenario's set-up
through its control API, then COMMAND through the shell with
$PARALLEL_SERVICE_API_URL and $PARALLEL_ACCOUNT_TOKEN set and one JSON object on
stdin ({{"operation": ..., "arguments": {{...}}, "timeout_seconds": ...}}); the
adapter prints {{"result": ...}} or {{"error": {{"kind": ..., "status_code": ...,
"idempotency_key": ..., "outcome_unknown": ...}}}} on stdout. One line per
scenario, then a summary. docs/other-languages.md ("The adapter contract")
describes the contract: stdout holds one JSON document and nothing else (logs go
to stderr), exit status 0 whenever the adapter printed its answer.

Each failure says what was expected and what was seen. -v adds, under each
failure, what the adapter was sent, its stdout, its exit status and the first
error lines of its stderr; the --json document and the --junit report always
carry them. --timeout, --max-retries, --base-url and --profile do not apply
(the adapter's client makes the requests) and are refused.

exit status: {EXIT_OK} every scenario passed, {EXIT_API_ERROR} one or more failed, 2 usage error

example:
  {PROG} conformance run --adapter "node my-adapter.mjs" --only top_up_answer_lost_charged_once
  {PROG} conformance run --adapter "node my-adapter.mjs" --junit conformance.xml
"""

GLOBAL_DEFAULTS: dict[str, Any] = {
    "json": False,
    "base_url": None,
    "profile": None,
    "timeout": None,
    "max_retries": None,
    "verbose": False,
}


class UsageError(Exception):
    """A command line argparse (or a command) could not make sense of; exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _seconds_up_to(maximum: float) -> Callable[[str], float]:
    """An argparse type: a number of seconds above 0 and at most `maximum`."""

    def seconds(text: str) -> float:
        value = math.nan
        if len(text) <= 40:
            with contextlib.suppress(ValueError):
                value = float(text)
        if not (math.isfinite(value) and 0 < value <= maximum):
            raise argparse.ArgumentTypeError(
                f"{shown(text)} is not a number of seconds above 0 and at most {maximum:g}"
            )
        return value

    return seconds


def _retries(text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number >= 0")
    if len(text) > 6 or int(text) > MAX_RETRIES:
        raise argparse.ArgumentTypeError(f"{shown(text)} is over the maximum of {MAX_RETRIES}")
    return int(text)


@functools.cache  # one parent for every subcommand: argparse copies its actions into each
def _global_options() -> Parser:
    parent = Parser(add_help=False)
    group = parent.add_argument_group("global options")
    s = argparse.SUPPRESS
    group.add_argument(
        "--json", action="store_true", default=s, help="print one JSON document on stdout"
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        default=s,
        help="Account API base URL (or $PARALLEL_SERVICE_API_URL)",
    )
    group.add_argument(
        "--profile",
        metavar="NAME",
        default=s,
        help="stored sign-in to use (or $PARALLEL_ACCOUNT_PROFILE)",
    )
    group.add_argument(
        "--timeout",
        type=_seconds_up_to(MAX_TIMEOUT),
        metavar="SECONDS",
        default=s,
        help="per request (default 30)",
    )
    group.add_argument(
        "--max-retries",
        type=_retries,
        metavar="N",
        default=s,
        help="retries after the first attempt (default 2)",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=s,
        help="debug logging and tracebacks on stderr",
    )
    return parent


Actions = argparse._SubParsersAction  # typeshed's name for what add_subparsers returns


def _add(actions: Actions[Parser], name: str, help_text: str, description: str = "") -> Parser:
    """A subcommand that takes the global options too."""
    return actions.add_parser(
        name,
        help=help_text,
        description=description or help_text,
        parents=[_global_options()],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def build_parser() -> Parser:
    parser = Parser(
        prog=PROG,
        description="Parallel's Account API from the command line: sign-in, balance, apps, API keys.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_global_options()],
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="show the version and the spec's sha256, then exit"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    _add_sign_in_commands(commands)
    _add_balance_commands(commands)
    _add_app_commands(commands)

    api = _add(
        commands,
        "api",
        "call any operation of the pinned spec (--list shows them)",
        API_DESCRIPTION,
    )
    api.add_argument("operation", nargs="?", metavar="OPERATION", help="e.g. get_balance")
    api.add_argument("--list", action="store_true", help="list the operations and parameters")
    api.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="a path, query or body parameter (repeat); read by its type in the spec",
    )
    api.add_argument("--body", metavar="JSON", help="body fields as one JSON object")
    api.add_argument(
        "-y", "--yes", action="store_true", help="do not ask before moving money on a terminal"
    )

    # Listed for --help; `spec ...` runs with its own parser (cli/_spec_cmd.py, lazy).
    spec = commands.add_parser(
        "spec", help="OpenAPI drift report: spec diff OLD NEW | spec check [URL] | spec rules"
    )
    spec.add_argument("spec_args", nargs=argparse.REMAINDER, metavar="...")

    mock = _add(commands, "mock-server", "serve a fake Account API on 127.0.0.1 (for tests)")
    add_mock_server_options(mock)  # as `python -m parallel_account.testing` takes them
    _add_conformance_commands(commands)
    return parser


def _add_sign_in_commands(commands: Actions[Parser]) -> None:
    login = _add(commands, "login", "sign in with the device flow and store the sign-in")
    login.add_argument(
        "--no-browser", action="store_true", help="only print the URL and code; open no browser"
    )
    login.add_argument(
        "--scope",
        action="append",
        metavar="SCOPE",
        help=f"scope to request; repeat or space-separate (default: {DEFAULT_SCOPE})",
    )
    login.add_argument(
        "--platform-url",
        metavar="URL",
        default=None,
        help="platform URL (or $PARALLEL_PLATFORM_URL)",
    )
    _add(commands, "logout", "revoke and delete the stored sign-in")
    _add(
        commands, "status", "show the stored sign-in (organisation, scopes, expiry; never a token)"
    )
    _add(commands, "token", "print a valid access token on stdout (refreshed if needed)")


def _add_balance_commands(commands: Actions[Parser]) -> None:
    balance = _add(commands, "balance", "show the balance, or add to it")
    actions = balance.add_subparsers(dest="action", metavar="ACTION")
    _add(actions, "show", "show the balance (the default)")
    top_up = _add(
        actions,
        "add",
        "charge the default payment method and add to the balance",
        ADD_DESCRIPTION,
    )
    top_up.add_argument("amount", nargs="?", metavar="AMOUNT", help="in dollars: 25, 25.5, 25.50")
    top_up.add_argument("--cents", metavar="N", help="the amount in cents instead: 2550")
    top_up.add_argument(
        "--idempotency-key",
        metavar="KEY",
        help="reuse the key of an earlier attempt to retry it safely (default: a new one)",
    )
    top_up.add_argument(
        "-y", "--yes", action="store_true", help="do not ask for confirmation on a terminal"
    )


def _add_app_commands(commands: Actions[Parser]) -> None:
    apps = _add(commands, "apps", "list, create and delete apps")
    app_actions = apps.add_subparsers(dest="action", metavar="ACTION", required=True)
    _add(app_actions, "list", "list the organisation's apps")
    _add(app_actions, "create", "create an app").add_argument("name", metavar="NAME")
    _add(app_actions, "delete", "delete an app and its keys").add_argument(
        "app_id", metavar="APP_ID"
    )

    keys = _add(commands, "keys", "create and delete API keys")
    key_actions = keys.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = _add(key_actions, "create", "create an API key; the raw key is printed once")
    create.add_argument("app_id", metavar="APP_ID")
    create.add_argument("name", metavar="NAME")
    delete = _add(key_actions, "delete", "delete an API key")
    delete.add_argument("app_id", metavar="APP_ID")
    delete.add_argument("key_id", metavar="KEY_ID")


def _add_conformance_commands(commands: Actions[Parser]) -> None:
    pack = _add(commands, "conformance", "run the language-neutral conformance scenarios")
    actions = pack.add_subparsers(dest="action", metavar="ACTION", required=True)
    _add(actions, "list", "list the scenarios, one line each on what it checks")
    run = _add(actions, "run", "run the scenarios against an adapter command", RUN_DESCRIPTION)
    run.add_argument(
        "--adapter", required=True, metavar="COMMAND", help="shell command of your adapter"
    )
    run.add_argument(
        "--only", action="append", metavar="NAME", help="run this scenario only (repeat)"
    )
    run.add_argument(
        "--adapter-timeout",
        type=_seconds_up_to(MAX_ADAPTER_SECONDS),
        default=None,
        metavar="SECONDS",
        help=f"kill an adapter run after this long (default 60, at most {MAX_ADAPTER_SECONDS:g})",
    )
    run.add_argument(
        "--junit",
        metavar="FILE",
        help="also write a JUnit XML report (one test case per scenario) to FILE",
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse `argv`; fill in global defaults nobody gave. Raises UsageError, InvalidRequestError."""
    parser = build_parser()
    args = parser.parse_args(argv)
    for name, default in GLOBAL_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    check_parsed(parser, args)
    return args


def wants_json(argv: list[str]) -> bool:
    """Whether --json was asked for, for errors raised before parsing finished."""
    return "--json" in argv[: argv.index("--")] if "--" in argv else "--json" in argv
