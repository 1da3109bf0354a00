"""`parallel-account conformance list | run`: the conformance pack from the command line.

The pack and its adapter protocol are described in `parallel_account.conformance`;
this module only adds the commands. Everything it needs is imported when a
conformance command runs, so other commands start no slower.
"""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any

from parallel_account.cli._output import Output, safe
from parallel_account.cli._parser import EXIT_API_ERROR, EXIT_OK, PROG, UsageError

if TYPE_CHECKING:
    from parallel_account.cli._parser import Actions, Parser

RUN_DESCRIPTION = f"""\
Run the conformance scenarios against a client, through an adapter command.

For each scenario: a fresh fake Account API on 127.0.0.1, the scenario's set-up
through its control API, then COMMAND through the shell with
$PARALLEL_SERVICE_API_URL and $PARALLEL_ACCOUNT_TOKEN set and one JSON object on
stdin ({{"operation": ..., "arguments": {{...}}, "timeout_seconds": ...}}); the
adapter prints {{"result": ...}} or {{"error": {{"kind": ..., "status_code": ...,
"idempotency_key": ..., "outcome_unknown": ...}}}} on stdout. One line per
scenario, then a summary. The README's "For teams in other languages" section
describes the protocol.

exit status: {EXIT_OK} every scenario passed, {EXIT_API_ERROR} one or more failed, 2 usage error

example:
  {PROG} conformance run --adapter "node my-adapter.mjs" --only top_up_answer_lost_charged_once
"""


def _seconds(text: str) -> float:
    try:
        value = float(text) if len(text) <= 20 else math.nan
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= 3600):
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number of seconds (0 to 3600)")
    return value


def add_commands(commands: Actions[Parser], add: Any) -> None:
    """`conformance list` and `conformance run`; `add` is `_parser._add` (global options)."""
    pack = add(commands, "conformance", "run the language-neutral conformance scenarios")
    actions = pack.add_subparsers(dest="action", metavar="ACTION", required=True)
    add(actions, "list", "list the scenarios, one line each on what it checks")
    run = add(actions, "run", "run the scenarios against an adapter command", RUN_DESCRIPTION)
    run.add_argument(
        "--adapter", required=True, metavar="COMMAND", help="shell command of your adapter"
    )
    run.add_argument(
        "--only", action="append", metavar="NAME", help="run this scenario only (repeat)"
    )
    run.add_argument(
        "--adapter-timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="kill an adapter run after this long (default 60)",
    )


def list_scenarios(args: argparse.Namespace, out: Output) -> int:
    from parallel_account.conformance import load_all

    scenarios = load_all()
    width = max(len(s.name) for s in scenarios)
    document = {
        "scenarios": [{"name": s.name, "checks": s.checks, "money": s.money} for s in scenarios]
    }
    out.result(document, "\n".join(f"{s.name.ljust(width)}  {safe(s.checks)}" for s in scenarios))
    return EXIT_OK


def run_scenarios(args: argparse.Namespace, out: Output) -> int:
    from parallel_account.conformance import (
        DEFAULT_ADAPTER_TIMEOUT,
        ScenarioError,
        run_scenario,
        select,
    )

    try:
        scenarios = select(args.only)
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None
    timeout = args.adapter_timeout or DEFAULT_ADAPTER_TIMEOUT
    results = []
    for scenario in scenarios:
        result = run_scenario(scenario, args.adapter, timeout)
        results.append(result)
        if not out.json_mode:  # as each one ends: a slow adapter shows progress
            out.result({}, safe(result.line()))
    failed = [r.name for r in results if not r.passed]
    summary = f"{len(results)} scenario{'' if len(results) == 1 else 's'}: {len(results) - len(failed)} passed, {len(failed)} failed"
    document = {
        "scenarios": [
            {
                "name": r.name,
                "passed": r.passed,
                "problems": r.problems,
                "seconds": round(r.seconds, 3),
            }
            for r in results
        ],
        "passed": len(results) - len(failed),
        "failed": len(failed),
    }
    out.result(document, summary + (f" ({', '.join(failed)})" if failed else ""))
    return EXIT_API_ERROR if failed else EXIT_OK
