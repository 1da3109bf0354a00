"""`make spec-check` and `make spec-update`: the live spec against openapi.json.

    python -m codegen.workflow check URL [--format text|markdown|json|githubactions|junit]
    python -m codegen.workflow update URL [--report PATH] [--outputs PATH] [--test-cmd CMD]

`check` fetches URL (codegen.spec: validated, normalised), compares it with the
pinned openapi.json (parallel_account_drift's check flow, the one `parallel-account
spec check` runs) and prints the report. It writes nothing.

`update` adopts the fetched spec, all or nothing: it writes openapi.json,
regenerates generated/ (codegen.generate), adds a dated CHANGELOG.md entry
(codegen.changelog), bumps the version in overrides/parallel_account/_version.py
(codegen.versioning) and runs the test command. If any step fails, or the run is
interrupted, those four are put back byte for byte (codegen.snapshot). No API
change: nothing is written at all.

The test command's output is streamed through and also kept (codegen.tee): when
generation or the tests fail, the --report file still gets the drift report, followed by
what failed (codegen.failure_report), and --outputs gets failed=true, so the nightly
workflow can open an issue about it. --outputs keys: changed, failed, failed_step
(generation|tests|none), breaking, version, bump.

Exit statuses: the table every `spec` command shares (parallel_account_drift.exit_status;
each subcommand's --help lists its own). `make` turns any failing status into its own 2;
its error line shows the one above.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Final, NamedTuple, NoReturn

from parallel_account_drift import (
    FORMATS,
    Change,
    ExitStatus,
    Format,
    SpecError,
    render,
    spec_file,
    summarize,
    summary_line,
)
from parallel_account_drift.cli import fetch_and_compare, report_check
from parallel_account_drift.exit_status import help_text
from parallel_account_drift.jsondoc import Json

from codegen import generate, spec
from codegen.changelog import changelog_entry, with_entry
from codegen.failure_report import Step, failing_tests, failure_report
from codegen.snapshot import Snapshot, sigterm_as_interrupt
from codegen.tee import Tee, run_teed
from codegen.versioning import (
    VERSION_FILE,
    Bump,
    VersionError,
    bump_kind,
    bumped,
    read_version,
    with_version,
)

ROOT: Final = generate.ROOT
SPEC: Final = generate.SPEC
GENERATED: Final = ROOT / "generated"
CHANGELOG: Final = ROOT / "CHANGELOG.md"


def _pinned() -> dict[str, Json]:
    return spec_file.load(SPEC)


def check(url: str, fmt: Format) -> int:
    _, changes = fetch_and_compare(url, _pinned, spec.fetch)
    return report_check("spec-check", changes, fmt, url=url, against=SPEC.name)


def _write_text(path: Path, text: str) -> None:
    """Atomic replace that keeps the file's permissions (write_atomic's temp file is 0600)."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    spec.write_atomic(path, text)
    path.chmod(mode)


class _WriteResult(NamedTuple):
    """How the writes of an update went: OK or the failing step's exit status, and what
    that step printed."""

    status: ExitStatus
    output: str = ""


def _generate() -> _WriteResult:
    """codegen.generate on the new openapi.json; its error messages kept (and still shown)."""
    tee = Tee(sys.stderr)
    with contextlib.redirect_stderr(tee):
        try:
            status = generate.main([])
        except Exception:  # a generator crash on a new spec is a failed generation too
            traceback.print_exc()
            status = 1
    return _WriteResult(
        ExitStatus.OK if status == 0 else ExitStatus.GENERATION_FAILED, tee.getvalue()
    )


def _apply(new_text: str, changes: Sequence[Change], version: str, test_cmd: str) -> _WriteResult:
    """Every write of an update, in order; a status other than OK means roll back."""
    _write_text(SPEC, new_text)
    generated = _generate()
    if generated.status != ExitStatus.OK:
        return generated
    entry = changelog_entry(
        version, datetime.datetime.now(datetime.UTC).date(), changes, spec.sha256_of(new_text)
    )
    existing = CHANGELOG.read_text(encoding="utf-8") if CHANGELOG.exists() else None
    _write_text(CHANGELOG, with_entry(existing, entry))
    _write_text(VERSION_FILE, with_version(VERSION_FILE.read_text(encoding="utf-8"), version))
    if not test_cmd.strip():
        print("spec-update: no test command given; tests not run", file=sys.stderr)
        return _WriteResult(ExitStatus.OK)
    print(f"spec-update: running tests: {test_cmd}", flush=True)
    sys.stderr.flush()
    returncode, output = run_teed(test_cmd, ROOT)
    if returncode == 0:
        return _WriteResult(ExitStatus.OK)
    return _WriteResult(ExitStatus.TESTS_FAILED, output + f"\n(exit status {returncode})\n")


def update(url: str, report: str, outputs: str, test_cmd: str) -> int:
    document, changes = fetch_and_compare(url, _pinned, spec.fetch)
    new_text = spec.dumps(document)
    old_version = read_version(VERSION_FILE.read_text(encoding="utf-8"))
    kind = bump_kind(changes, old_version)
    breaking = summarize(changes)["breaking"] > 0
    new_version = bumped(old_version, kind) if kind else old_version
    markdown = render(changes, "markdown")
    if kind is None:
        same = SPEC.read_text(encoding="utf-8") == new_text
        print(
            "spec-update: no API changes"
            + (
                ""
                if same
                else f" ({SPEC.name} and {url} differ only where order carries no meaning)"
            )
            + "; nothing written"
        )
    else:
        sys.stdout.write(render(changes, "text"))
        written = _update_files(new_text, changes, new_version, test_cmd)
        transition = f"the {kind} bump {old_version} -> {new_version}"
        if written.status != ExitStatus.OK:
            step: Step = "generation" if written.status == ExitStatus.GENERATION_FAILED else "tests"
            failing = failing_tests(written.output) if step == "tests" else []
            if failing:
                print(f"spec-update: failing: {', '.join(failing)}", file=sys.stderr)
            _write_results(
                report,
                failure_report(markdown, transition, step, failing, written.output),
                outputs,
                {"changed": "true", "failed": "true", "failed_step": step},
                breaking,
                new_version,
                kind,
            )
            return written.status
        markdown += f"\nVersion {old_version} -> {new_version} ({kind} bump).\n"
        print(
            f"spec-update: adopted {url}: {summary_line(changes)}; "
            f"version {old_version} -> {new_version} ({kind})"
        )
    print(f"spec-update: breaking: {'yes' if breaking else 'no'}")
    _write_results(
        report,
        markdown,
        outputs,
        {"changed": str(kind is not None).lower(), "failed": "false", "failed_step": "none"},
        breaking,
        new_version,
        kind,
    )
    return ExitStatus.OK


def _write_results(
    report: str,
    markdown: str,
    outputs: str,
    state: dict[str, str],
    breaking: bool,
    version: str,
    kind: Bump | None,
) -> None:
    if report:
        Path(report).write_text(markdown, encoding="utf-8")
    if outputs:  # GitHub's $GITHUB_OUTPUT format: appended key=value lines
        values = {
            **state,
            "breaking": str(breaking).lower(),
            "version": version,
            "bump": kind or "none",
        }
        with open(outputs, "a", encoding="utf-8") as handle:
            handle.write("".join(f"{key}={value}\n" for key, value in values.items()))


def _update_files(
    new_text: str, changes: Sequence[Change], version: str, test_cmd: str
) -> _WriteResult:
    with tempfile.TemporaryDirectory(prefix="spec-update-") as store:
        with sigterm_as_interrupt():
            saved = Snapshot(
                [SPEC, GENERATED, generate.API_MD, CHANGELOG, VERSION_FILE], Path(store)
            )
            try:
                written = _apply(new_text, changes, version, test_cmd)
            except BaseException:
                saved.restore_shielded()
                print(
                    "spec-update: interrupted or failed; openapi.json, generated/, "
                    "CHANGELOG.md and the version restored",
                    file=sys.stderr,
                )
                raise
        if written.status != ExitStatus.OK:
            saved.restore_shielded()
            step = "generation" if written.status == ExitStatus.GENERATION_FAILED else "the tests"
            print(
                f"spec-update: {step} failed; openapi.json, generated/, CHANGELOG.md and "
                "the version restored",
                file=sys.stderr,
            )
    return written


# ---------------------------------------------------------------- command line


CHECK_EPILOG: Final = help_text(
    (
        ExitStatus.OK,
        ExitStatus.CHANGES,
        ExitStatus.BREAKING,
        ExitStatus.UNREACHABLE,
        ExitStatus.UNUSABLE,
        ExitStatus.USAGE,
        ExitStatus.INTERRUPTED,
    )
)
UPDATE_EPILOG: Final = help_text(
    (
        ExitStatus.OK,
        ExitStatus.UNREACHABLE,
        ExitStatus.UNUSABLE,
        ExitStatus.GENERATION_FAILED,
        ExitStatus.TESTS_FAILED,
        ExitStatus.USAGE,
        ExitStatus.INTERRUPTED,
    )
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse's own status 2 would read as "breaking drift".
        self.exit(ExitStatus.USAGE, f"{self.prog}: error: {message}\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog="python -m codegen.workflow", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    check_cmd = commands.add_parser(
        "check", help="report drift between URL and openapi.json", epilog=CHECK_EPILOG
    )
    check_cmd.add_argument("url")
    check_cmd.add_argument("--format", choices=FORMATS, default="text")
    update_cmd = commands.add_parser(
        "update", help="adopt URL: spec, code, changelog, version", epilog=UPDATE_EPILOG
    )
    update_cmd.add_argument("url")
    update_cmd.add_argument("--report", default="", help="also write the markdown report here")
    update_cmd.add_argument("--outputs", default="", help="append key=value results here")
    update_cmd.add_argument(
        "--test-cmd",
        default=os.environ.get("SPEC_UPDATE_TEST_CMD", "make test"),
        help="shell command that must pass (default: $SPEC_UPDATE_TEST_CMD, else make test)",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return check(args.url, args.format)
        return update(args.url, args.report, args.outputs, args.test_cmd)
    except (SpecError, VersionError) as exc:
        print(f"spec-{args.command}: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print(f"spec-{args.command}: interrupted", file=sys.stderr)
        return ExitStatus.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
