"""The drift checker's command line (also `parallel-account spec`).

    python -m parallel_account_drift diff OLD NEW [--format F] [--ignore FILE]
    python -m parallel_account_drift check [URL] [--against FILE] [--format F] [--ignore FILE]
    python -m parallel_account_drift rules | schema

Exit statuses: the table every `spec` command shares (parallel_account_drift.exit_status;
each command's --help lists its own).
Changes accepted by an --ignore file are listed as ignored and never count.

`fetch_and_compare` and `report_check` are the one `check` flow: the build's `make
spec-check` and `make spec-update` (codegen.workflow) use them too, with codegen.spec's
stricter fetch (the full OpenAPI validator, the names generated code may take in).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Final, NoReturn

from parallel_account_drift import spec_file
from parallel_account_drift._compare import compare
from parallel_account_drift._model import Change
from parallel_account_drift.errors import SpecError
from parallel_account_drift.exit_status import ExitStatus, help_text
from parallel_account_drift.ignore import (
    IgnoreFileError,
    IgnoreList,
    at_location,
    entry_text,
    load_ignore,
)
from parallel_account_drift.jsondoc import Json
from parallel_account_drift.report import (
    FORMATS,
    Format,
    Ignored,
    exit_code,
    render,
    report_schema_text,
    summary_line,
)
from parallel_account_drift.rules import LEVELS, REGISTRY

DIFF_DESCRIPTION: Final = "Classify the changes between two OpenAPI 3.x JSON documents."
_REPORTED: Final = (ExitStatus.OK, ExitStatus.CHANGES, ExitStatus.BREAKING)
DIFF_EPILOG: Final = help_text((*_REPORTED, ExitStatus.UNUSABLE, ExitStatus.USAGE))
CHECK_EPILOG: Final = help_text(
    (*_REPORTED, ExitStatus.UNREACHABLE, ExitStatus.UNUSABLE, ExitStatus.USAGE)
)
LISTING_EPILOG: Final = help_text((ExitStatus.OK, ExitStatus.USAGE))  # rules, schema
_IGNORE_HELP: Final = "accept known changes: lines of `RULE_ID LOCATION: MESSAGE  # reason`"

PinnedSpec = Callable[[], str]  # the pinned spec's text, as the `parallel-account` CLI has it
Fetch = Callable[[str], dict[str, Json]]


def _parser_exiting_with(status: int) -> type[argparse.ArgumentParser]:
    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:
            # argparse's own status 2 would read as "breaking change found".
            self.exit(status, f"{self.prog}: error: {message}\n")

    return _Parser


def _add_diff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", help="the previous document (e.g. the pinned openapi.json)")
    parser.add_argument("new", help="the candidate document")
    _add_report_arguments(parser)


def _add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=FORMATS, default="text", help="report format (default: text)"
    )
    parser.add_argument("--ignore", metavar="FILE", default=None, help=_IGNORE_HELP)


def _fail(prog: str, exc: Exception, status: ExitStatus) -> ExitStatus:
    print(f"{prog}: error: {exc}", file=sys.stderr)
    return status


def _emit(
    prog: str, changes: list[Change], fmt: Format, ignore: IgnoreList | None, source: str
) -> list[Change]:
    """Print the report, with the ignore file's changes set apart; return those still counted."""
    ignored: list[Ignored] | None = None
    if ignore is not None:
        found = changes
        changes, ignored, unused = ignore.split(changes)
        for entry in unused:  # perhaps stale; not an error, the change may come back
            there = at_location(entry, found)
            if there:
                named = " or ".join(f"`{c.id} {entry_text(c)}`" for c in there[:3])
                problem = f"names a location, not a change; write the change, e.g. {named}"
            else:
                problem = f"matched no change ({entry.rule} {entry.change})"
            print(f"{prog}: warning: {ignore.path}:{entry.line}: {problem}", file=sys.stderr)
    sys.stdout.write(render(changes, fmt, ignored=ignored, source=source))
    sys.stdout.flush()
    return changes


def _returning_status(run: Callable[[], int]) -> int:
    """argparse ends --help and usage errors with SystemExit; return its status instead,
    so a caller in the same process (the `parallel-account` CLI, tests) gets a number."""
    try:
        return run()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else ExitStatus.USAGE


def diff_main(argv: Sequence[str] | None = None, prog: str = "parallel-account spec diff") -> int:
    """`diff OLD NEW`: the report on stdout; the exit status from ExitStatus."""
    return _returning_status(lambda: _diff_main(argv, prog))


def _diff_main(argv: Sequence[str] | None, prog: str) -> int:
    parser = _parser_exiting_with(ExitStatus.USAGE)(
        prog=prog, description=DIFF_DESCRIPTION, epilog=DIFF_EPILOG
    )
    _add_diff_arguments(parser)
    args = parser.parse_args(argv)
    try:
        ignore = load_ignore(args.ignore) if args.ignore is not None else None
    except IgnoreFileError as exc:
        return _fail(prog, exc, ExitStatus.USAGE)
    try:
        changes = compare(spec_file.load(args.old), spec_file.load(args.new))
    except SpecError as exc:
        return _fail(prog, exc, exc.exit_status)
    return exit_code(_emit(prog, changes, args.format, ignore, str(args.new)))


def fetch_and_compare(
    url: str, pinned: Callable[[], dict[str, Json]], fetch: Fetch = spec_file.fetch
) -> tuple[dict[str, Json], list[Change]]:
    """The document at `url` (fetched first) and its changes from the pinned document.

    Raises SpecUnreachableError when the URL cannot be reached, SpecError when the
    fetched or the pinned document cannot be used; each error's `exit_status` says which.
    """
    new = fetch(url)
    return new, compare(pinned(), new)


def report_check(
    prog: str,
    changes: list[Change],
    fmt: Format,
    *,
    url: str,
    against: str,
    ignore: IgnoreList | None = None,
) -> ExitStatus:
    """Print a check's report (stdout) and its summary line (stderr); return its status."""
    kept = _emit(prog, changes, fmt, ignore, url)
    # On stderr, so `--format json` output stays one JSON document.
    print(f"{prog}: {against} vs {url}: {summary_line(kept)}", file=sys.stderr)
    return exit_code(kept)


def _check(prog: str, args: argparse.Namespace, pinned: PinnedSpec) -> int:
    try:
        ignore = load_ignore(args.ignore) if args.ignore is not None else None
    except IgnoreFileError as exc:
        return _fail(prog, exc, ExitStatus.USAGE)
    against = str(args.against) if args.against is not None else "the pinned spec"

    def pinned_document() -> dict[str, Json]:
        if args.against is not None:
            return spec_file.load(args.against)
        try:
            text = pinned()
        except OSError as exc:  # an installation without its openapi.json
            raise SpecError(f"{against}: cannot read: {exc}") from None
        return spec_file.parse(text, against)

    try:
        _, changes = fetch_and_compare(args.url, pinned_document)
    except SpecError as exc:
        return _fail(prog, exc, exc.exit_status)
    return report_check(prog, changes, args.format, url=args.url, against=against, ignore=ignore)


def _rules() -> int:
    width = max(len(rule_id) for rule_id in REGISTRY)
    for rule in sorted(REGISTRY.values(), key=lambda r: (r.area, LEVELS.index(r.level), r.id)):
        print(f"{rule.id:<{width}}  {rule.level:<12}  {rule.area:<14}  {rule.meaning}")
    return ExitStatus.OK


def _pinned_from_wheel() -> str:
    """The wheel's pinned spec (parallel_account_api/openapi.json), found without
    importing that package: the checker never loads the generated client."""
    import importlib.util
    from pathlib import Path

    found = importlib.util.find_spec("parallel_account_api")
    for directory in (found.submodule_search_locations or []) if found else []:
        path = Path(directory) / "openapi.json"
        if path.is_file():
            return path.read_text("utf-8")
    if found is not None:  # not a plain directory (a zip archive): ask the package's loader
        from importlib import resources

        try:
            return resources.files("parallel_account_api").joinpath("openapi.json").read_text()
        except (ImportError, OSError):
            pass
    raise SpecError(
        "no pinned spec installed (parallel_account_api/openapi.json); use --against FILE"
    )


_COMMANDS: Final = {
    "diff": "compare two OpenAPI JSON files",
    "check": "compare the live spec (URL) with the pinned one",
    "rules": "list the rule ids with their level, area and meaning",
    "schema": "print the JSON Schema of the json report",
}


def main(
    argv: Sequence[str] | None = None,
    prog: str = "python -m parallel_account_drift",
    pinned: PinnedSpec = _pinned_from_wheel,
) -> int:
    """The command group: diff, check, rules, schema (see the module docstring).

    Each command has its own parser, so each keeps its own usage-error status.
    """
    return _returning_status(lambda: _main(argv, prog, pinned))


def _main(argv: Sequence[str] | None, prog: str, pinned: PinnedSpec) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else ""
    if command == "diff":
        return diff_main(args[1:], prog=f"{prog} diff")
    if command == "check":
        return _check_main(args[1:], f"{prog} check", pinned)
    if command in ("rules", "schema"):
        bare = _parser_exiting_with(ExitStatus.USAGE)(
            prog=f"{prog} {command}", description=_COMMANDS[command], epilog=LISTING_EPILOG
        )
        bare.parse_args(args[1:])
        if command == "schema":
            sys.stdout.write(report_schema_text())
            return ExitStatus.OK
        return _rules()
    listing = "\n".join(f"  {name:<7} {text}" for name, text in _COMMANDS.items())
    group = _parser_exiting_with(ExitStatus.USAGE)(
        prog=prog,
        usage=f"{prog} {{{','.join(_COMMANDS)}}} ...",
        description=f"OpenAPI drift reports.\n\ncommands:\n{listing}",
        epilog=f"diff: {DIFF_EPILOG}\ncheck: {CHECK_EPILOG}\nrules, schema: {LISTING_EPILOG}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    group.add_argument("command", choices=list(_COMMANDS), metavar="COMMAND")
    group.parse_args(args[:1])  # --help, or a usage error naming the choices
    return ExitStatus.USAGE  # not reached: a known command returned above


def _check_main(argv: Sequence[str], prog: str, pinned: PinnedSpec) -> int:
    check = _parser_exiting_with(ExitStatus.USAGE)(
        prog=prog,
        description="Fetch the live spec and compare it with the spec this package pins.",
        epilog=CHECK_EPILOG,
    )
    check.add_argument(
        "url",
        nargs="?",
        default=spec_file.LIVE_SPEC_URL,
        metavar="URL",
        help=f"http(s):// or file:// (default: {spec_file.LIVE_SPEC_URL})",
    )
    check.add_argument(
        "--against", metavar="FILE", default=None, help="compare with FILE, not the pinned spec"
    )
    _add_report_arguments(check)
    return _check(prog, check.parse_args(argv), pinned)
