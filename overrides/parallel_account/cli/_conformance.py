"""`parallel-account conformance list | run`: the conformance pack from the command line.

The pack and its adapter protocol are described in `parallel_account.conformance`;
this module only runs the commands (their options are in `_parser`, with every other
command's). Everything it needs is imported when a conformance command runs, so other
commands start no slower.
"""

from __future__ import annotations

import argparse
import contextlib
from typing import TYPE_CHECKING, Any, TextIO

from parallel_account.cli._output import Output, safe, safe_lines
from parallel_account.cli._parser import EXIT_API_ERROR, EXIT_OK, UsageError

if TYPE_CHECKING:
    from parallel_account.conformance import Result

# Global options that mean nothing here: the adapter's own client makes every request.
_NOT_FOR_RUN = {
    "base_url": "--base-url",
    "profile": "--profile",
    "timeout": "--timeout",
    "max_retries": "--max-retries",
}


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

    given = [option for name, option in _NOT_FOR_RUN.items() if getattr(args, name) is not None]
    if given:
        raise UsageError(
            f"`conformance run` does not take {', '.join(given)}: the adapter's own client "
            "makes the requests (the per-request timeout is in the request on its stdin; "
            "--adapter-timeout bounds a whole adapter run)"
        )
    try:
        scenarios = select(args.only)
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None
    junit = _open_report(args.junit) if args.junit else None
    timeout = args.adapter_timeout or DEFAULT_ADAPTER_TIMEOUT
    results = []
    with junit or contextlib.nullcontext():
        for scenario in scenarios:
            result = run_scenario(scenario, args.adapter, timeout)
            results.append(result)
            if not out.json_mode:  # as each one ends: a slow adapter shows progress
                shown = safe(result.line())
                if args.verbose and not result.passed and result.adapter is not None:
                    shown += "\n" + _adapter_text(result.adapter)
                out.result({}, shown)
        if junit is not None:
            junit.write(junit_report(results))
    failed = [r.name for r in results if not r.passed]
    summary = f"{len(results)} scenario{'' if len(results) == 1 else 's'}: {len(results) - len(failed)} passed, {len(failed)} failed"
    document = {
        "scenarios": [
            {
                "name": r.name,
                "passed": r.passed,
                "money": r.money,
                "problems": r.problems,
                "seconds": round(r.seconds, 3),
                "adapter": r.adapter,
            }
            for r in results
        ],
        "passed": len(results) - len(failed),
        "failed": len(failed),
    }
    out.result(document, summary + (f" ({', '.join(failed)})" if failed else ""))
    return EXIT_API_ERROR if failed else EXIT_OK


def _open_report(path: str) -> TextIO:
    """FILE for --junit, opened before any scenario runs: a bad path fails at once."""
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--junit: cannot write {path!r}: {exc.strerror}") from None


def _adapter_text(adapter: dict[str, Any]) -> str:
    """The adapter's run under a failure line (-v): indented, terminal-safe."""
    how = (
        f"killed: it {adapter['killed']}"
        if adapter["killed"]
        else f"exit status: {adapter['exit_status']}"
    )
    stdout = adapter["stdout"].rstrip("\n") or "(nothing)"
    stderr = adapter["stderr"] or ["(nothing)"]
    lines = [
        f"stdin:  {adapter['stdin']}",
        how,
        f"stdout ({adapter['stdout_bytes']} bytes):",
        *("  " + line for line in stdout.split("\n")),
        "stderr (first error lines):",
        *("  " + line for line in stderr),
    ]
    return safe_lines("\n".join("    " + line for line in lines))


def junit_report(results: list[Result]) -> str:
    """A JUnit XML report: one test case per scenario, the adapter's run in system-out."""
    from xml.etree import ElementTree as ET

    failures = sum(not r.passed for r in results)
    suite = ET.Element(
        "testsuite",
        name="parallel-account conformance",
        tests=str(len(results)),
        failures=str(failures),
        errors="0",
        time=f"{sum(r.seconds for r in results):.3f}",
    )
    for result in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="conformance",
            name=result.name,
            time=f"{result.seconds:.3f}",
        )
        if not result.passed:
            failure = ET.SubElement(case, "failure", message=safe("; ".join(result.problems)))
            failure.text = safe_lines("\n".join(result.problems))
        if result.adapter is not None:
            ET.SubElement(case, "system-out").text = _adapter_text(result.adapter)
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
