"""The drift report as a shipped tool: `parallel-account spec diff|check|rules|schema`,
its report formats (JSON with a JSON Schema, GitHub Actions annotations, JUnit XML),
ignore files, and the rule registry of the parallel_account_drift package.

The spec pairs are the frozen copy (tests.support.FROZEN_SPEC) and the drift tests'
corpus of mutations (tests.test_drift.CASES); `spec check` runs against the wheel's
pinned spec (parallel_account.spec()) and a copy of it served on 127.0.0.1.
"""

from __future__ import annotations

import ast
import copy
import importlib
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import parallel_account_drift
import pytest
from parallel_account_drift import LEVELS, REGISTRY, Change, ExitStatus, compare, exit_code, render
from parallel_account_drift.ignore import IgnoreFileError, parse_ignore
from parallel_account_drift.report import Ignored, escape_data, escape_property
from parallel_account_drift.spec_file import LIVE_SPEC_URL

import parallel_account
from parallel_account.cli import main as cli_main
from tests.support import FROZEN_SPEC, ROOT, answer, serve
from tests.test_drift import CASES, Case, _apply

PACKAGE = ROOT / "overrides" / "parallel_account_drift"
SCHEMA: dict[str, Any] = json.loads((PACKAGE / "report.schema.json").read_text("utf-8"))
# The case with the most changes of every level: a busy report for the format tests.
BUSY: Case = max(CASES, key=lambda c: (len({lvl for _, lvl, _ in c.expected}), len(c.expected)))


def _spec_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`parallel-account spec ARGS` in this process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    status = cli_main(["spec", *args])
    out, err = capsys.readouterr()
    return status, out, err


def _write(directory: Path, name: str, document: Any) -> Path:
    path = directory / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _case_files(tmp_path: Path, case: Case) -> tuple[Path, Path]:
    old, new = _apply(case)
    return _write(tmp_path, "old.json", old), _write(tmp_path, "new.json", new)


def _breaking_and_info(tmp_path: Path) -> tuple[Path, Path, list[Change]]:
    """The frozen spec, and a copy where a path with two operations loses one and the
    other's summary changes."""
    old: dict[str, Any] = json.loads(FROZEN_SPEC.read_text("utf-8"))
    new = copy.deepcopy(old)
    verbs = ("get", "post", "put", "delete", "patch")
    item = next(i for i in new["paths"].values() if sum(v in i for v in verbs) > 1)
    kept, removed = [v for v in verbs if v in item][:2]
    item[kept]["summary"] = "Renamed for the test"
    del item[removed]
    changes = compare(old, new)
    assert {c.level for c in changes} >= {"breaking", "info"}
    return _write(tmp_path, "old.json", old), _write(tmp_path, "new.json", new), changes


# ---------------------------------------------------------------- the report of compare()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_spec_diff_prints_compares_report_for_every_corpus_case(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = _case_files(tmp_path, case)
    changes = compare(*_apply(case))
    for fmt in ("text", "json", "markdown"):
        status, out, err = _spec_cli(capsys, "diff", str(old), str(new), "--format", fmt)
        assert (status, out) == (exit_code(changes), render(changes, fmt)), err


@pytest.mark.slow
def test_console_script_and_the_module_print_the_same_bytes(tmp_path: Path) -> None:
    old, new, _ = _breaking_and_info(tmp_path)
    script = Path(sys.executable).with_name("parallel-account")
    for fmt in ("text", "json", "markdown"):
        args = ["diff", str(old), str(new), "--format", fmt]
        tool = subprocess.run(
            [str(script), "spec", *args], capture_output=True, timeout=60, check=False
        )
        module = subprocess.run(
            [sys.executable, "-m", "parallel_account_drift", *args],
            capture_output=True,
            timeout=60,
            check=False,
            cwd=ROOT,
        )
        assert (tool.returncode, tool.stdout) == (module.returncode, module.stdout)
        assert tool.returncode == 2 and tool.stdout


def test_the_checker_needs_neither_the_client_nor_the_generated_package() -> None:
    # `check` reads the wheel's pinned spec as a file: a stale generated client is no matter.
    pinned = ROOT / "openapi.json"
    probe = (
        "import sys; from parallel_account_drift.cli import main;"
        f"status = main(['check', {pinned.as_uri()!r}]);"
        "loaded = [m for m in sys.modules if m.split('.')[0] in "
        "('parallel_account', 'parallel_account_api', 'httpx', 'codegen')];"
        "print(status, loaded)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.splitlines()[-1] == "0 []", result.stderr


def test_spec_usage_errors_are_64_and_unreadable_input_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 2 means "breaking" here: a usage error is 64 for every command, never argparse's 2.
    status, out, err = _spec_cli(capsys, "diff", str(FROZEN_SPEC))
    assert (status, out) == (64, "") and "required" in err
    status, _, err = _spec_cli(capsys, "diff", str(FROZEN_SPEC), str(FROZEN_SPEC), "--format", "x")
    assert status == 64 and "invalid choice" in err
    status, _, err = _spec_cli(capsys, "nonsense")
    assert status == 64 and "invalid choice" in err and "diff" in err
    status, _, err = _spec_cli(capsys, "check", "--format", "yaml")
    assert status == 64 and "--format" in err
    status, _, err = _spec_cli(capsys, "rules", "--bogus")
    assert status == 64 and "--bogus" in err
    status, _, err = _spec_cli(capsys, "diff", str(FROZEN_SPEC), str(tmp_path / "missing.json"))
    assert status == 4 and "cannot read" in err and len(err.splitlines()) == 1


# ---------------------------------------------------------------- JSON and its schema


def test_the_shipped_schema_is_a_valid_2020_12_schema_and_lists_every_rule() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert sorted(SCHEMA["$defs"]["ruleId"]["enum"]) == sorted(REGISTRY)
    assert json.loads(parallel_account_drift.report.report_schema_text()) == SCHEMA


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_json_report_validates_against_the_shipped_schema(case: Case) -> None:
    changes = compare(*_apply(case))
    validator = jsonschema.Draft202012Validator(SCHEMA)
    validator.validate(json.loads(render(changes, "json")))
    ignored = [Ignored(c, "accepted") for c in changes[:1]]
    validator.validate(json.loads(render(changes[1:], "json", ignored=ignored)))


def test_the_schema_rejects_what_is_not_a_report() -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    good = json.loads(render(compare(*_apply(BUSY)), "json"))
    assert validator.is_valid(good) and good["changes"]
    unknown_rule = copy.deepcopy(good)
    unknown_rule["changes"][0]["id"] = "no-such-rule"
    no_summary = {k: v for k, v in good.items() if k != "summary"}
    bad_level = copy.deepcopy(good)
    bad_level["changes"][0]["level"] = "fatal"
    for report in (unknown_rule, no_summary, bad_level):
        assert not validator.is_valid(report)


# ---------------------------------------------------------------- GitHub Actions

_COMMAND = re.compile(r"::(?P<name>error|warning|notice)(?: (?P<props>[^:]*))?::(?P<message>.*)")


def _unescape(text: str) -> str:
    return (
        text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",")
    ).replace("%25", "%")


def _parse_github(output: str) -> list[tuple[str, dict[str, str], str]]:
    commands = []
    for line in output.splitlines():
        match = _COMMAND.fullmatch(line)
        assert match, line
        props: dict[str, str] = {}
        for pair in (match["props"] or "").split(","):
            if pair:
                key, _, value = pair.partition("=")
                assert key in ("file", "title") and "\n" not in value, pair
                props[key] = _unescape(value)
        commands.append((match["name"], props, _unescape(match["message"])))
    return commands


def test_githubactions_is_one_well_formed_command_per_finding_plus_a_summary() -> None:
    changes = compare(*_apply(BUSY))
    commands = _parse_github(render(changes, "githubactions", source="new.json"))
    names = {"breaking": "error", "non-breaking": "warning", "info": "notice"}
    assert len(commands) == len(changes) + 1
    for change, (name, props, message) in zip(
        parallel_account_drift.sort_changes(changes), commands, strict=False
    ):
        assert name == names[change.level]
        assert props == {"file": "new.json", "title": f"{change.level} {change.id}"}
        assert message == f"{change.location}: {change.message}"
    counts = parallel_account_drift.summarize(changes)
    assert commands[-1][0] == "notice" and f"{counts['breaking']} breaking" in commands[-1][2]


def test_githubactions_escapes_percent_newlines_and_property_separators() -> None:
    tricky = Change("summary-changed", "info", "#/a,b:c", "50% done\r\nnext: line, more")
    output = render([tricky], "githubactions", source="dir,1/spec:v2.json")
    assert output.count("\n") == 2  # two commands, no raw newline inside one
    (name, props, message), _summary = _parse_github(output)
    assert (name, props["file"], message) == (
        "notice",
        "dir,1/spec:v2.json",
        tricky.location + ": " + tricky.message,
    )
    (_, props, _), _summary = _parse_github(render([tricky], "githubactions", source="http://h/x"))
    assert "file" not in props  # a URL is no file of the repository
    assert escape_data("a%\r\n") == "a%25%0D%0A"
    assert escape_property("a%:,\n") == "a%25%3A%2C%0A"


# ---------------------------------------------------------------- JUnit XML


def test_junit_is_well_formed_with_a_case_per_finding_and_breaking_ones_failing() -> None:
    changes = compare(*_apply(BUSY))
    ignored = [Ignored(changes[-1], "known")]
    root = ET.fromstring(render(changes[:-1], "junit", ignored=ignored, source="new.json"))  # noqa: S314 (our own output)
    suite = root.find("testsuite")
    assert root.tag == "testsuites" and suite is not None
    cases = suite.findall("testcase")
    breaking = sum(c.level == "breaking" for c in changes[:-1])
    assert len(cases) == len(changes) == int(suite.get("tests", "-1"))
    assert len(suite.findall("testcase/failure")) == breaking == int(suite.get("failures", "-1"))
    assert len(suite.findall("testcase/skipped")) == 1 == int(suite.get("skipped", "-1"))
    assert all(c.get("classname", "").startswith("openapi-drift.") for c in cases)


def test_junit_stays_well_formed_with_characters_xml_cannot_carry() -> None:
    odd = Change("request-bounds-tightened", "breaking", 'POST /a\x01<b>&"', "bound\x0b 'x' > y")
    root = ET.fromstring(render([odd], "junit"))  # noqa: S314 (our own output)
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and "<b>&" in (failure.text or "")
    empty = ET.fromstring(render([], "junit"))  # noqa: S314 (our own output)
    assert empty.find("testsuite/testcase") is not None  # "no changes" is one passing case


# ---------------------------------------------------------------- ignore files


def test_an_ignored_change_is_listed_and_does_not_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new, changes = _breaking_and_info(tmp_path)
    breaking = [c for c in changes if c.level == "breaking"]
    ignore = tmp_path / "drift-ignore"
    ignore.write_text(
        "# accepted on review\n\n"
        + "".join(f"{c.id} {c.location}: {c.message}  # moved to v2\n" for c in breaking)
        + "path-removed /nowhere\n",
        encoding="utf-8",
    )
    status, out, err = _spec_cli(
        capsys, "diff", str(old), str(new), "--format", "json", "--ignore", str(ignore)
    )
    report = json.loads(out)
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert status == 1 and report["breaking"] is False
    assert [(i["id"], i["location"], i["reason"]) for i in report["ignored"]] == [
        (c.id, c.location, "moved to v2") for c in breaking
    ]
    assert len(report["changes"]) == len(changes) - len(breaking)
    line = len(breaking) + 3
    assert f"{ignore}:{line}: matched no change" in err  # stale entries are named
    status, out, _ = _spec_cli(capsys, "diff", str(old), str(new), "--ignore", str(ignore))
    assert status == 1 and "No changes" not in out
    assert [line.split()[:2] for line in out.splitlines() if line.startswith("IGNORED")] == [
        ["IGNORED", "BREAKING"]
    ] * len(breaking)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("path-removed /x\nno-such-rule /x\n", ":2: unknown rule id 'no-such-rule'"),
        ("operation-removed\n", ":1: expected `RULE_ID LOCATION: MESSAGE  # reason`"),
    ],
)
def test_a_malformed_ignore_file_is_an_error_naming_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, problem: str
) -> None:
    ignore = tmp_path / "ignore.txt"
    ignore.write_text(text, encoding="utf-8")
    status, out, err = _spec_cli(
        capsys, "diff", str(FROZEN_SPEC), str(FROZEN_SPEC), "--ignore", str(ignore)
    )
    assert (status, out) == (64, "")
    assert f"{ignore}{problem}" in err and len(err.splitlines()) == 1
    status, out, err = _spec_cli(capsys, "check", FROZEN_SPEC.as_uri(), "--ignore", str(ignore))
    assert (status, out) == (64, "") and f"{ignore}{problem}" in err
    status, _, err = _spec_cli(
        capsys, "diff", str(FROZEN_SPEC), str(FROZEN_SPEC), "--ignore", str(tmp_path / "none")
    )
    assert status == ExitStatus.USAGE and "cannot read ignore file" in err


def test_ignore_locations_may_hold_spaces_and_hashes() -> None:
    entries = parse_ignore(
        'summary-changed #/paths/~1a/get/summary: summary added: "x # y"  # wording\n'
        "request-property-removed POST /a request body .name: property removed\n",
        "f",
    ).entries
    assert [(e.rule, e.change, e.reason, e.line) for e in entries] == [
        ("summary-changed", '#/paths/~1a/get/summary: summary added: "x # y"', "wording", 1),
        ("request-property-removed", "POST /a request body .name: property removed", "", 2),
    ]
    with pytest.raises(IgnoreFileError, match=r"^f:1: unknown rule id"):
        parse_ignore("Summary-Changed #/x\n", "f")


def _enum_body(*values: str) -> dict[str, Any]:
    body = {"content": {"application/json": {"schema": {"type": "string", "enum": list(values)}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "enum", "version": "1"},
        "paths": {
            "/x": {"post": {"requestBody": body, "responses": {"204": {"description": "ok"}}}}
        },
    }


def test_an_ignore_entry_accepts_one_change_not_every_change_at_its_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _write(tmp_path, "old.json", _enum_body("a", "b", "c"))
    accepted = _write(tmp_path, "accepted.json", _enum_body("b", "c"))
    later = _write(tmp_path, "later.json", _enum_body("c"))
    (change,) = compare(_enum_body("a", "b", "c"), _enum_body("b", "c"))
    ignore = tmp_path / "ignore"
    # The entry is the report's text line without its level word.
    line = next(x for x in render([change], "text").splitlines() if change.id in x)
    ignore.write_text(line.split(" ", 1)[1] + "  # a is gone on purpose\n", encoding="utf-8")
    status, out, err = _spec_cli(capsys, "diff", str(old), str(accepted), "--ignore", str(ignore))
    assert (status, err) == (0, "") and out.startswith("No changes besides the ignored ones.")
    status, out, err = _spec_cli(capsys, "diff", str(old), str(later), "--ignore", str(ignore))
    assert status == 2 and err == ""
    counted = [x for x in out.splitlines() if x.startswith("BREAKING")]
    assert len(counted) == 1 and '"b" removed' in counted[0]
    assert [x for x in out.splitlines() if x.startswith("IGNORED")] == [
        f"IGNORED {line} (a is gone on purpose)"
    ]


def test_an_entry_naming_only_a_location_accepts_nothing_and_says_what_to_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The form before entries named the change: one such line would hide every change
    # the rule finds there, later ones included.
    old = _write(tmp_path, "old.json", _enum_body("a", "b"))
    new = _write(tmp_path, "new.json", _enum_body("b"))
    (change,) = compare(_enum_body("a", "b"), _enum_body("b"))
    ignore = tmp_path / "ignore"
    ignore.write_text(f"{change.id} {change.location}\n", encoding="utf-8")
    status, out, err = _spec_cli(capsys, "diff", str(old), str(new), "--ignore", str(ignore))
    assert status == 2 and "IGNORED" not in out
    assert len(err.splitlines()) == 1
    assert f"{ignore}:1: names a location, not a change" in err
    assert f"{change.id} {change.location}: {change.message}" in err


# ---------------------------------------------------------------- spec check URL


def _pinned_with(change: str) -> dict[str, Any]:
    document = parallel_account.spec()
    if change == "breaking":
        path = next(iter(document["paths"]))
        document["paths"].pop(path)
    elif change == "documentation":
        document["info"]["description"] = "Changed for the test."
    return document


@pytest.mark.parametrize(
    ("change", "status", "rule"),
    [
        ("breaking", 2, "path-removed"),
        ("documentation", 1, "description-changed"),
        ("none", 0, None),
    ],
)
def test_spec_check_compares_a_served_spec_with_the_pinned_one(
    capsys: pytest.CaptureFixture[str], change: str, status: int, rule: str | None
) -> None:
    body = json.dumps(_pinned_with(change)).encode()
    with serve({"/openapi.json": answer(200, body)}) as base:
        got, out, err = _spec_cli(capsys, "check", f"{base}/openapi.json", "--format", "json")
    assert got == status, err
    report = json.loads(out)
    assert [c["id"] for c in report["changes"]] == ([rule] if rule else [])
    assert "the pinned spec vs" in err


@pytest.mark.parametrize(
    ("handler", "status", "message"),
    [
        (answer(500, b"boom", "text/plain"), 4, "HTTP 500"),
        (answer(200, b"<html>login</html>", "text/html"), 4, "HTML page"),
        (answer(200, b'{"swagger": "2.0"}'), 4, "not an OpenAPI 3.x document"),
        (answer(200, b"{not json"), 4, "not JSON"),
    ],
)
def test_spec_check_statuses_for_unusable_answers(
    capsys: pytest.CaptureFixture[str], handler: Any, status: int, message: str
) -> None:
    with serve({"/openapi.json": handler}) as base:
        got, out, err = _spec_cli(capsys, "check", f"{base}/openapi.json")
    assert (got, out) == (status, "") and message in err


def test_spec_check_unreachable_is_3(capsys: pytest.CaptureFixture[str]) -> None:
    with serve({}) as base:
        pass  # the server is gone: its port refuses connections now
    got, out, err = _spec_cli(capsys, "check", f"{base}/openapi.json")
    assert (got, out) == (3, "") and "cannot reach host" in err


def test_spec_check_against_a_file_and_default_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve({"/openapi.json": answer(200, FROZEN_SPEC.read_bytes())}) as base:
        got, out, _ = _spec_cli(
            capsys, "check", f"{base}/openapi.json", "--against", str(FROZEN_SPEC)
        )
    assert (got, out) == (0, "No changes.\n")
    makefile = (ROOT / "Makefile").read_text("utf-8")
    assert re.search(rf"^SPEC_URL \?= {re.escape(LIVE_SPEC_URL)}$", makefile, re.M)


# ---------------------------------------------------------------- the rule registry


def test_registry_rules_have_every_level_an_area_and_a_one_line_meaning() -> None:
    assert {r.id for r in REGISTRY.values()} == set(REGISTRY)
    assert {r.level for r in REGISTRY.values()} == set(LEVELS)
    assert all(r.area and r.meaning and "\n" not in r.meaning for r in REGISTRY.values())


def test_spec_rules_lists_every_rule_with_its_level_and_area(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = _spec_cli(capsys, "rules")
    listed = {line.split()[0]: line.split()[1:3] for line in out.splitlines()}
    assert status == 0
    assert listed == {r.id: [r.level, r.area] for r in REGISTRY.values()}
    capsys.readouterr()
    assert cli_main(["-v", "spec", "rules"]) == 0  # global options before `spec` too
    assert capsys.readouterr().out == out


def test_every_registered_rule_is_emitted_by_some_corpus_case() -> None:
    emitted = {rule for case in CASES for rule, _, _ in case.expected}
    assert emitted == set(REGISTRY)


def test_an_unregistered_rule_id_cannot_be_emitted() -> None:
    from parallel_account_drift._model import Report

    with pytest.raises(KeyError):
        Report().add("no-such-rule", "#", "message")


def _area_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.glob("_*.py") if p.name not in ("__init__.py", "__main__.py"))


def test_rule_ids_are_constants_beside_the_code_that_emits_them() -> None:
    """Each rule() constant is used in its own module; no check emits a literal id."""
    registered_in: dict[str, str] = {}
    for path in _area_modules():
        tree = ast.parse(path.read_text("utf-8"))
        module = importlib.import_module(f"parallel_account_drift.{path.stem}")
        constants = {
            target.id
            for node in ast.walk(tree)
            if isinstance(node, ast.AnnAssign | ast.Assign)
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
            and isinstance(node.value, ast.Call | ast.Dict)
            and "rule(" in ast.unparse(node.value)
        }
        used = {
            n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        }
        assert constants <= used, (path.name, constants - used)
        for name in constants:
            value = getattr(module, name)
            for rule_id in value.values() if isinstance(value, dict) else [value]:
                registered_in[rule_id] = path.name
        for call in ast.walk(tree):
            if isinstance(call, ast.Call) and ast.unparse(call.func).endswith(".add"):
                first = call.args[0]
                assert not isinstance(first, ast.Constant | ast.JoinedStr), (
                    path.name,
                    ast.unparse(call),
                )
    assert set(registered_in) == set(REGISTRY)


def test_a_report_whose_every_change_is_ignored_says_so_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new, changes = _breaking_and_info(tmp_path)
    ignore = tmp_path / "all"
    ignore.write_text(
        "".join(f"{c.id} {c.location}: {c.message}\n" for c in changes), encoding="utf-8"
    )
    status, out, err = _spec_cli(capsys, "diff", str(old), str(new), "--ignore", str(ignore))
    assert (status, err) == (0, "")
    assert out.splitlines()[0] == "No changes besides the ignored ones."
    assert len(out.splitlines()) == 1 + len(changes)
