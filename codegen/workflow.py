"""Workflows around codegen.drift: `make spec-check` and `make spec-update`.

    python -m codegen.workflow check URL [--format text|markdown|json]
    python -m codegen.workflow update URL [--report PATH] [--outputs PATH] [--test-cmd CMD]

`check` fetches URL (codegen.spec: validated, normalised), compares it with the
pinned openapi.json (codegen.drift) and prints the report. It writes nothing.

`update` adopts the fetched spec, all or nothing: it writes openapi.json,
regenerates generated/ (codegen.generate), adds a dated CHANGELOG.md entry,
bumps the version in overrides/parallel_account/_version.py and runs the test
command. If any step fails, or the run is interrupted, those four are put back
byte for byte. No API change: nothing is written at all.

The test command's output is streamed through and also kept: when generation or the
tests fail, the --report file still gets the drift report, followed by what failed
(pytest's FAILED/ERROR test ids; make's `***` error lines when there are none), and
--outputs gets failed=true, so the nightly workflow can open an issue about it.
--outputs keys: changed, failed, failed_step (generation|tests|none), breaking,
version, bump.

Version rule: breaking -> major (minor while below 1.0); non-breaking -> minor;
documentation only -> patch.

Exit status:
  0   check: no drift; update: adopted, or nothing to adopt
  1   check: non-breaking drift only
  2   check: breaking drift
  3   the URL cannot be reached (nothing written)
  4   the fetched document, the pinned spec or the version is unusable (nothing written)
  5   update: generation failed (everything restored)
  6   update: the test command failed (everything restored)
  64  bad usage
  130 update: interrupted by SIGINT or SIGTERM (everything restored)
`make` turns any failing status into its own 2; its error line shows the one above.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import datetime
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Final, Literal, NamedTuple, NoReturn, TextIO

from codegen import drift, generate, spec
from codegen.drift import Change

ROOT: Final = generate.ROOT
SPEC: Final = generate.SPEC
GENERATED: Final = ROOT / "generated"
CHANGELOG: Final = ROOT / "CHANGELOG.md"
VERSION_FILE: Final = ROOT / "overrides" / "parallel_account" / "_version.py"

EXIT_UNREACHABLE: Final = 3
EXIT_UNUSABLE: Final = 4
EXIT_GENERATION_FAILED: Final = 5
EXIT_TESTS_FAILED: Final = 6
EXIT_USAGE: Final = 64
EXIT_INTERRUPTED: Final = 130

Bump = Literal["major", "minor", "patch"]

CHANGELOG_HEADER: Final = (
    "# Changelog\n\n"
    "Newest first. `make spec-update` writes an entry per adopted API change, listing\n"
    "the changes codegen.drift found (breaking first); notes may be added by hand.\n"
)
_TITLES: Final[dict[drift.Level, str]] = {
    "breaking": "Breaking",
    "non-breaking": "Non-breaking",
    "info": "Documentation only",
}
_VERSION_LINE: Final = re.compile(r'^__version__ = "([^"\n]*)"$', re.M)


class WorkflowError(Exception):
    """A one-line reason the workflow cannot go on, with its exit status."""

    def __init__(self, message: str, exit_status: int) -> None:
        super().__init__(message)
        self.exit_status = exit_status


# ---------------------------------------------------------------- pure parts


def bump_kind(changes: Sequence[Change], version: str) -> Bump | None:
    """Which part of `version` the changes bump; None when there is nothing to release."""
    counts = drift.summarize(changes)
    if counts["breaking"]:
        return "major" if parse_version(version)[0] >= 1 else "minor"
    if counts["non-breaking"]:
        return "minor"
    return "patch" if counts["info"] else None


def parse_version(version: str) -> tuple[int, int, int]:
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version)
    if match is None:
        raise WorkflowError(
            f"version {version!r} is not MAJOR.MINOR.PATCH; set it by hand in {VERSION_FILE.name}",
            EXIT_UNUSABLE,
        )
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def bumped(version: str, kind: Bump) -> str:
    major, minor, patch = parse_version(version)
    if kind == "major":
        return f"{major + 1}.0.0"
    if kind == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def read_version(text: str) -> str:
    match = _VERSION_LINE.search(text)
    if match is None:
        raise WorkflowError(f'no `__version__ = "..."` line in {VERSION_FILE}', EXIT_UNUSABLE)
    return match.group(1)


def with_version(text: str, version: str) -> str:
    """The version module's text with only the version string replaced."""
    match = _VERSION_LINE.search(text)
    assert match is not None  # read_version ran first
    return text[: match.start(1)] + version + text[match.end(1) :]


def changelog_entry(
    version: str, day: datetime.date, changes: Sequence[Change], spec_sha256: str
) -> str:
    lines = [f"## {version} - {day.isoformat()}", ""]
    lines.append(f"API changes adopted from the spec (openapi.json sha256 {spec_sha256[:12]}):")
    ordered = drift.sort_changes(changes)
    for level in drift.LEVELS:
        rows = [c for c in ordered if c.level == level]
        if rows:
            lines += ["", f"### {_TITLES[level]}", ""]
            lines += [f"- `{_code(c.location)}`: {c.message} ({c.id})" for c in rows]
    return "\n".join(lines) + "\n"


def _code(text: str) -> str:
    # A backtick inside a code span would end it.
    return text.replace("`", "'")


def with_entry(existing: str | None, entry: str) -> str:
    """The changelog with `entry` as its newest: above the first version heading."""
    if not existing:
        return f"{CHANGELOG_HEADER}\n{entry}"
    first = re.search(r"^## ", existing, re.M)
    if first is None:
        return f"{existing.rstrip()}\n\n{entry}"
    return f"{existing[: first.start()]}{entry}\n{existing[first.start() :]}"


_ANSI: Final = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# pytest's short summary: `FAILED tests/test_x.py::test_y[param] - AssertionError: ...`,
# `ERROR tests/test_x.py::test_y - ...` (a fixture) or `ERROR tests/test_x.py` (collection).
_PYTEST_FAILED: Final = re.compile(r"^(?:FAILED|ERROR) (\S+?\.py(?:::.+?)?)(?: - .*)?$")
# `make: *** [Makefile:77: lint] Error 1`, `make[1]: *** [Makefile:80: unit] Error 2`
_MAKE_ERROR: Final = re.compile(r"^\S*make(?:\[\d+\])?: \*\*\* \[.*\] Error \d+$")
FAILED_DETAIL_LINES: Final = 40


def failing_tests(output: str) -> list[str]:
    """What failed, read from a test command's output: pytest's failed or erroring test ids
    in order, without repeats; if there are none, make's error lines."""
    lines = [_ANSI.sub("", line).rstrip() for line in output.splitlines()]
    found: dict[str, None] = {}
    for line in lines:
        match = _PYTEST_FAILED.match(line)
        if match:
            found.setdefault(match.group(1))
    if not found:
        for line in lines:
            if _MAKE_ERROR.match(line):
                found.setdefault(line)
    return list(found)


def failure_report(
    drift_markdown: str,
    transition: str,
    step: Literal["generation", "tests"],
    failing: Sequence[str],
    detail: str,
) -> str:
    """The drift report with what stopped the adoption after it (markdown)."""
    lines = [drift_markdown.rstrip(), "", "## Adoption failed", ""]
    what = "Generating the client" if step == "generation" else "The tests"
    lines.append(
        f"{what} failed on this spec, so nothing was adopted ({transition} was not made): "
        "openapi.json, generated/, CHANGELOG.md and the version are unchanged. To work on it: "
        "`make spec-update SPEC_URL=... SPEC_UPDATE_TEST_CMD=` adopts without running the tests."
    )
    if step == "tests":
        lines += ["", "### Failing tests", ""]
        lines += [f"- `{_code(name)}`" for name in failing] or [
            "- none named in the output; see the job log"
        ]
    else:
        lines += ["", "### Generation errors", ""]
    tail = [_ANSI.sub("", line) for line in detail.rstrip().splitlines()[-FAILED_DETAIL_LINES:]]
    if tail:
        label = "test output" if step == "tests" else "generation errors"
        fence = "~~~~" if any(line.startswith("~~~") for line in tail) else "~~~"
        lines += ["", f"<details><summary>Last {len(tail)} lines of the {label}</summary>", ""]
        lines += [fence, *tail, fence, "", "</details>"]
    elif step == "generation":
        lines.append("None printed; see the job log.")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- fetching and comparing


def fetch_and_compare(url: str) -> tuple[str, list[Change]]:
    """The fetched spec in normal form and its changes from the pinned openapi.json."""
    try:
        new_text = spec.dumps(spec.fetch(url))
    except spec.SpecUnreachableError as exc:
        raise WorkflowError(str(exc), EXIT_UNREACHABLE) from None
    except spec.SpecError as exc:
        raise WorkflowError(str(exc), EXIT_UNUSABLE) from None
    try:
        return new_text, drift.compare(drift.load(SPEC), json.loads(new_text))
    except drift.SpecError as exc:
        raise WorkflowError(str(exc), EXIT_UNUSABLE) from None


def _summary_line(changes: Sequence[Change]) -> str:
    counts = drift.summarize(changes)
    return ", ".join(f"{counts[level]} {level}" for level in drift.LEVELS)


def check(url: str, fmt: drift.Format) -> int:
    _, changes = fetch_and_compare(url)
    sys.stdout.write(drift.render(changes, fmt))
    # The summary goes to stderr so `--format json` output stays one JSON document.
    print(f"spec-check: {SPEC.name} vs {url}: {_summary_line(changes)}", file=sys.stderr)
    return drift.exit_code(changes)


# ---------------------------------------------------------------- all-or-nothing update


class Snapshot:
    """Copies (bytes, modes, mtimes) of files and trees, to put back after a failed update."""

    def __init__(self, paths: Sequence[Path], store: Path) -> None:
        self._saved: list[tuple[Path, Path | None]] = []
        for index, path in enumerate(paths):
            copy = store / f"{index}-{path.name}"
            if path.is_dir():
                shutil.copytree(path, copy, symlinks=True)
            elif path.exists():
                shutil.copy2(path, copy)
            self._saved.append((path, copy if path.exists() else None))

    def restore(self) -> None:
        for path, copy in self._saved:
            # Stage beside the target, then rename: a second failure never leaves half a file.
            staged = path.with_name(f".{path.name}.restoring")
            _remove(staged)
            if copy is None:
                _remove(path)
            elif copy.is_dir():
                shutil.copytree(copy, staged, symlinks=True)
                retired = path.with_name(f".{path.name}.retired")
                _remove(retired)
                if path.exists():
                    path.rename(retired)
                staged.rename(path)
                _remove(retired)
            else:
                shutil.copy2(copy, staged)
                os.replace(staged, path)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    # SIGTERM (a cancelled CI job) takes the same restoring path as Ctrl-C.
    raise KeyboardInterrupt


def _write_text(path: Path, text: str) -> None:
    """Atomic replace that keeps the file's permissions (write_atomic's temp file is 0600)."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    spec.write_atomic(path, text)
    path.chmod(mode)


class _Tee(io.TextIOBase):
    """A text stream writing through to `sink` and keeping a copy."""

    def __init__(self, sink: TextIO) -> None:
        self._sink = sink
        self._kept: list[str] = []

    def write(self, text: str) -> int:
        self._kept.append(text)
        return self._sink.write(text)

    def flush(self) -> None:
        self._sink.flush()

    def getvalue(self) -> str:
        return "".join(self._kept)


def run_teed(command: str, cwd: Path) -> tuple[int, str]:
    """`bash -c command` in cwd: its stdout and stderr pass through to ours as they come,
    and are also returned (both, in order of arrival) with its exit status."""
    kept: list[str] = []
    lock = threading.Lock()
    proc = subprocess.Popen(
        ["bash", "-c", command], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )

    def pump(fd: int, sink: TextIO) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while chunk := os.read(fd, 65536):
            text = decoder.decode(chunk)
            with lock:
                kept.append(text)
                sink.write(text)
                sink.flush()

    try:
        assert proc.stdout is not None and proc.stderr is not None
        pumps = [
            threading.Thread(target=pump, args=(proc.stdout.fileno(), sys.stdout), daemon=True),
            threading.Thread(target=pump, args=(proc.stderr.fileno(), sys.stderr), daemon=True),
        ]
        for thread in pumps:
            thread.start()
        status = proc.wait()
        # Something the command left running may hold the pipes open: do not wait for it.
        for thread in pumps:
            thread.join(timeout=10)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    with lock:
        output = "".join(kept)
    if all(not thread.is_alive() for thread in pumps):
        proc.stdout.close()
        proc.stderr.close()
    return status, output


class _Outcome(NamedTuple):
    """How the writes of an update went: 0 or the exit status, and what the failing step
    printed."""

    status: int
    output: str = ""


def _generate() -> _Outcome:
    """codegen.generate on the new openapi.json; its error messages kept (and still shown)."""
    tee = _Tee(sys.stderr)
    with contextlib.redirect_stderr(tee):
        try:
            status = generate.main([])
        except Exception:  # a generator crash on a new spec is a failed generation too
            traceback.print_exc()
            status = 1
    return _Outcome(0 if status == 0 else EXIT_GENERATION_FAILED, tee.getvalue())


def _apply(new_text: str, changes: Sequence[Change], version: str, test_cmd: str) -> _Outcome:
    """Every write of an update, in order; an exit status other than 0 means roll back."""
    _write_text(SPEC, new_text)
    generated = _generate()
    if generated.status != 0:
        return generated
    entry = changelog_entry(
        version, datetime.datetime.now(datetime.UTC).date(), changes, spec.sha256_of(new_text)
    )
    existing = CHANGELOG.read_text(encoding="utf-8") if CHANGELOG.exists() else None
    _write_text(CHANGELOG, with_entry(existing, entry))
    _write_text(VERSION_FILE, with_version(VERSION_FILE.read_text(encoding="utf-8"), version))
    if not test_cmd.strip():
        print("spec-update: no test command given; tests not run", file=sys.stderr)
        return _Outcome(0)
    print(f"spec-update: running tests: {test_cmd}", flush=True)
    sys.stderr.flush()
    returncode, output = run_teed(test_cmd, ROOT)
    if returncode == 0:
        return _Outcome(0)
    return _Outcome(EXIT_TESTS_FAILED, output + f"\n(exit status {returncode})\n")


def update(url: str, report: str, outputs: str, test_cmd: str) -> int:
    new_text, changes = fetch_and_compare(url)
    old_version = read_version(VERSION_FILE.read_text(encoding="utf-8"))
    kind = bump_kind(changes, old_version)
    breaking = drift.summarize(changes)["breaking"] > 0
    new_version = bumped(old_version, kind) if kind else old_version
    markdown = drift.render(changes, "markdown")
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
        sys.stdout.write(drift.render(changes, "text"))
        outcome = _update_files(new_text, changes, new_version, test_cmd)
        transition = f"the {kind} bump {old_version} -> {new_version}"
        if outcome.status != 0:
            step: Literal["generation", "tests"] = (
                "generation" if outcome.status == EXIT_GENERATION_FAILED else "tests"
            )
            failing = failing_tests(outcome.output) if step == "tests" else []
            if failing:
                print(f"spec-update: failing: {', '.join(failing)}", file=sys.stderr)
            _write_results(
                report,
                failure_report(markdown, transition, step, failing, outcome.output),
                outputs,
                {"changed": "true", "failed": "true", "failed_step": step},
                breaking,
                new_version,
                kind,
            )
            return outcome.status
        markdown += f"\nVersion {old_version} -> {new_version} ({kind} bump).\n"
        print(
            f"spec-update: adopted {url}: {_summary_line(changes)}; "
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
    return 0


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


def _restore_shielded(saved: Snapshot) -> None:
    """Restore with SIGINT and SIGTERM ignored: a second Ctrl-C must not cut a restore short."""
    handlers = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        saved.restore()
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _update_files(
    new_text: str, changes: Sequence[Change], version: str, test_cmd: str
) -> _Outcome:
    previous = signal.signal(signal.SIGTERM, _interrupt)
    with tempfile.TemporaryDirectory(prefix="spec-update-") as store:
        saved = Snapshot([SPEC, GENERATED, generate.API_MD, CHANGELOG, VERSION_FILE], Path(store))
        try:
            outcome = _apply(new_text, changes, version, test_cmd)
        except BaseException:
            _restore_shielded(saved)
            print(
                "spec-update: interrupted or failed; openapi.json, generated/, CHANGELOG.md "
                "and the version restored",
                file=sys.stderr,
            )
            raise
        finally:
            signal.signal(signal.SIGTERM, previous)
        if outcome.status != 0:
            _restore_shielded(saved)
            step = "generation" if outcome.status == EXIT_GENERATION_FAILED else "the tests"
            print(
                f"spec-update: {step} failed; openapi.json, generated/, CHANGELOG.md and "
                "the version restored",
                file=sys.stderr,
            )
    return outcome


# ---------------------------------------------------------------- command line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse's own status 2 would read as "breaking drift".
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog="python -m codegen.workflow", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    check_cmd = commands.add_parser("check", help="report drift between URL and openapi.json")
    check_cmd.add_argument("url")
    check_cmd.add_argument("--format", choices=drift.FORMATS, default="text")
    update_cmd = commands.add_parser("update", help="adopt URL: spec, code, changelog, version")
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
    except WorkflowError as exc:
        print(f"spec-{args.command}: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print(f"spec-{args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
