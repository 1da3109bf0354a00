"""The drift checker's command line (also `parallel-account spec`).

    python -m parallel_account_drift diff OLD NEW [--format F] [--ignore FILE]
    python -m parallel_account_drift check [URL] [--against FILE] [--format F] [--ignore FILE]
    python -m parallel_account_drift rules | schema

Exit statuses are those of codegen.drift (`diff`) and codegen.workflow (`check`):
  diff:  0 no changes, 1 non-breaking only, 2 breaking, 3 unreadable input or bad usage
  check: 0 no changes, 1 non-breaking only, 2 breaking, 3 URL unreachable,
         4 fetched or pinned document unusable, 64 bad usage
Changes accepted by an --ignore file are listed as ignored and never count.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Final, NoReturn

from parallel_account_drift import spec_file
from parallel_account_drift._compare import compare
from parallel_account_drift._model import Change, SpecError
from parallel_account_drift.ignore import (
    IgnoreFileError,
    IgnoreList,
    at_location,
    entry_text,
    load_ignore,
)
from parallel_account_drift.report import (
    FORMATS,
    Format,
    Ignored,
    exit_code,
    render,
    report_schema_text,
    summarize,
)
from parallel_account_drift.rules import LEVELS, REGISTRY

EXIT_ERROR: Final = 3  # diff: unreadable input or bad usage
EXIT_UNREACHABLE: Final = 3  # check
EXIT_UNUSABLE: Final = 4  # check
EXIT_USAGE: Final = 64  # check, rules, and the command group itself

DIFF_DESCRIPTION: Final = "Classify the changes between two OpenAPI 3.x JSON documents."
DIFF_EPILOG: Final = (
    "Exit status: 0 no changes, 1 non-breaking changes only, 2 breaking changes, 3 error."
)
CHECK_EPILOG: Final = (
    "Exit status: 0 no changes, 1 non-breaking changes only, 2 breaking changes, "
    "3 URL unreachable, 4 fetched or pinned document unusable, 64 bad usage."
)
_IGNORE_HELP: Final = "accept known changes: lines of `RULE_ID LOCATION: MESSAGE  # reason`"

PinnedSpec = Callable[[], str]


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


def _fail(prog: str, exc: Exception, status: int) -> int:
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
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE


def diff_main(argv: Sequence[str] | None = None, prog: str = "parallel-account spec diff") -> int:
    """`diff OLD NEW`: the report on stdout, the exit status of codegen.drift."""
    return _returning_status(lambda: _diff_main(argv, prog))


def _diff_main(argv: Sequence[str] | None, prog: str) -> int:
    parser = _parser_exiting_with(EXIT_ERROR)(
        prog=prog, description=DIFF_DESCRIPTION, epilog=DIFF_EPILOG
    )
    _add_diff_arguments(parser)
    args = parser.parse_args(argv)
    try:
        ignore = load_ignore(args.ignore) if args.ignore is not None else None
        changes = compare(spec_file.load(args.old), spec_file.load(args.new))
    except (SpecError, IgnoreFileError) as exc:
        return _fail(prog, exc, EXIT_ERROR)
    return exit_code(_emit(prog, changes, args.format, ignore, str(args.new)))


def _check(prog: str, args: argparse.Namespace, pinned: PinnedSpec) -> int:
    try:
        ignore = load_ignore(args.ignore) if args.ignore is not None else None
    except IgnoreFileError as exc:
        return _fail(prog, exc, EXIT_USAGE)
    try:
        new = spec_file.fetch(args.url)
    except spec_file.SpecUnreachableError as exc:
        return _fail(prog, exc, EXIT_UNREACHABLE)
    except SpecError as exc:
        return _fail(prog, exc, EXIT_UNUSABLE)
    against = str(args.against) if args.against is not None else "the pinned spec"
    try:
        if args.against is not None:
            old = spec_file.load(args.against)
        else:
            old = spec_file.parse(pinned(), against)
        changes = compare(old, new)
    except (SpecError, OSError) as exc:
        return _fail(prog, exc, EXIT_UNUSABLE)
    kept = _emit(prog, changes, args.format, ignore, args.url)
    counts = summarize(kept)
    summary = ", ".join(f"{counts[level]} {level}" for level in LEVELS)
    # On stderr, so `--format json` output stays one JSON document.
    print(f"{prog}: {against} vs {args.url}: {summary}", file=sys.stderr)
    return exit_code(kept)


def _rules() -> int:
    width = max(len(rule_id) for rule_id in REGISTRY)
    for rule in sorted(REGISTRY.values(), key=lambda r: (r.area, LEVELS.index(r.level), r.id)):
        print(f"{rule.id:<{width}}  {rule.level:<12}  {rule.area:<14}  {rule.meaning}")
    return 0


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
        bare = _parser_exiting_with(EXIT_USAGE)(
            prog=f"{prog} {command}", description=_COMMANDS[command]
        )
        bare.parse_args(args[1:])
        if command == "schema":
            sys.stdout.write(report_schema_text())
            return 0
        return _rules()
    listing = "\n".join(f"  {name:<7} {text}" for name, text in _COMMANDS.items())
    group = _parser_exiting_with(EXIT_USAGE)(
        prog=prog,
        usage=f"{prog} {{{','.join(_COMMANDS)}}} ...",
        description=f"OpenAPI drift reports.\n\ncommands:\n{listing}",
        epilog=f"diff: {DIFF_EPILOG}\ncheck: {CHECK_EPILOG}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    group.add_argument("command", choices=list(_COMMANDS), metavar="COMMAND")
    group.parse_args(args[:1])  # --help, or a usage error naming the choices
    return EXIT_USAGE  # not reached: a known command returned above


def _check_main(argv: Sequence[str], prog: str, pinned: PinnedSpec) -> int:
    check = _parser_exiting_with(EXIT_USAGE)(
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
