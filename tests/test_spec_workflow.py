"""`make spec-check`, `make spec-update` (codegen.workflow) and the GitHub workflow files.

The make targets run in scratch copies of the repository against specs served from
127.0.0.1; the real repository's files and the network are never touched. Each scratch
copy starts from the frozen spec in tests/data/ (its generated/ regenerated from it once
per session), never from openapi.json: adopting an upstream change cannot break these
tests, and nothing here is typed from the live spec.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import json
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from parallel_account_drift import Change, ExitStatus, Level
from ruamel.yaml import YAML

from codegen import changelog, failure_report, naming, tee, versioning
from codegen.versioning import VersionError
from tests.support import (
    FROZEN_SPEC,
    ROOT,
    add_history_endpoint,
    add_ungeneratable_endpoint,
    answer,
    clean_make_env,
    curated_for,
    make,
    run_workflow_step,
    serve,
    tree_bytes,
)

Spec = dict[str, Any]
# Every repository copy here is on the frozen spec: run once, not again on the superset.
pytestmark = pytest.mark.spec_independent

BASE: Spec = json.loads(FROZEN_SPEC.read_text(encoding="utf-8"))
BASE_OPERATIONS = len(naming.operations(BASE))
VERSION = Path("overrides") / "parallel_account" / "_version.py"
ADD_BODY = ("components", "schemas", "AddBalanceRequest", "properties", "amount_cents")

# Read from the version file, never typed here: `make spec-update` runs these tests with
# the version it is about to release.
CURRENT_VERSION = versioning.read_version((ROOT / VERSION).read_text())
_MAJOR = versioning.parse_version(CURRENT_VERSION)[0]
MINOR_BUMP = versioning.bumped(CURRENT_VERSION, "minor")
PATCH_BUMP = versioning.bumped(CURRENT_VERSION, "patch")
# Breaking: major, or minor while below 1.0 (test_version_rule checks the rule itself).
BREAKING_KIND: versioning.Bump = "major" if _MAJOR >= 1 else "minor"
BREAKING_BUMP = versioning.bumped(CURRENT_VERSION, BREAKING_KIND)


def _amount_maximum() -> int:
    node: Any = BASE
    for key in ADD_BODY:
        node = node[key]
    maximum = node["maximum"]
    assert maximum == int(maximum), node
    return int(maximum)


AMOUNT_MAX = _amount_maximum()
TIGHTER_MAX = AMOUNT_MAX // 2  # any lower bound works; half keeps it clearly tighter
# The tests command must prove generation happened: check-generated fails on a stale tree.
FAST_TESTS = "make -s check-generated && touch tests-ran"


def test_the_frozen_copy_keeps_only_the_curated_entries_of_its_operations() -> None:
    text = (ROOT / "codegen" / "curated.toml").read_text(encoding="utf-8")
    added = text + "\n[operations.purchase_commit]\nmoves_money = true\n"
    kept = curated_for(BASE, added)
    # The frozen spec's charge keeps its entry (it is frozen: add_balance stays there).
    assert "purchase_commit" not in kept and "[operations.add_balance]\nmoves_money = true" in kept


@pytest.fixture
def repo(base_repo: Path, tmp_path: Path) -> Path:
    """A fresh copy of base_repo for one test (mtimes kept, .venv still a link)."""
    return Path(shutil.copytree(base_repo, tmp_path / "repo", symlinks=True))


def _spec_update(
    repo: Path, url: str, report: Path, outputs: Path
) -> subprocess.CompletedProcess[str]:
    """`make spec-update` with the fast tests command and both output files."""
    return make(
        repo,
        "spec-update",
        f"SPEC_URL={url}",
        f"SPEC_REPORT={report}",
        f"SPEC_OUTPUTS={outputs}",
        f"SPEC_UPDATE_TEST_CMD={FAST_TESTS}",
    )


def _mutated(mutate: Callable[[Spec], None]) -> Spec:
    spec = copy.deepcopy(BASE)
    mutate(spec)
    return spec


def _remove_delete_key(spec: Spec) -> None:
    del spec["paths"]["/service/v1/apps/{app_id}/keys/{api_key_id}"]["delete"]


def _tighten_amount(spec: Spec) -> None:
    node: Any = spec
    for key in ADD_BODY:
        node = node[key]
    node["maximum"] = TIGHTER_MAX


def _describe_api(spec: Spec) -> None:
    spec["info"]["description"] = "Balance, top-ups, apps and their API keys."


@contextlib.contextmanager
def _served(spec: Spec) -> Iterator[str]:
    with serve({"/openapi.json": answer(200, json.dumps(spec).encode())}) as base:
        yield f"{base}/openapi.json"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _module(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """codegen.workflow itself: `make` turns every failing status into its own 2."""
    return subprocess.run(
        [str(repo / ".venv" / "bin" / "python"), "-m", "codegen.workflow", *args],
        cwd=repo,
        env=clean_make_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _state(repo: Path) -> dict[str, Any]:
    """Everything spec-update may write, as bytes (None for a missing file)."""
    files = ("openapi.json", "CHANGELOG.md", str(VERSION))
    state: dict[str, Any] = {
        name: (repo / name).read_bytes() if (repo / name).exists() else None for name in files
    }
    state["generated/"] = tree_bytes(repo / "generated")
    return state


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


# ---------------------------------------------------------------- spec-check


@pytest.mark.parametrize(
    ("mutate", "status", "expected"),
    [
        (_remove_delete_key, 2, ["operation-removed", "DELETE /service/v1/apps/{app_id}/keys"]),
        (
            _tighten_amount,
            2,
            [
                "request-bounds-tightened",
                f"upper bound tightened from <= {AMOUNT_MAX} to <= {TIGHTER_MAX}",
            ],
        ),
        (add_history_endpoint, 1, ["path-added", "/service/v1/balance/history"]),
    ],
)
def test_spec_check_reports_drift_and_writes_nothing(
    repo: Path, mutate: Callable[[Spec], None], status: int, expected: list[str]
) -> None:
    before = _state(repo)
    with _served(_mutated(mutate)) as url:
        result = make(repo, "spec-check", f"SPEC_URL={url}")
        direct = _module(repo, "check", url, "--format", "json")
        markdown = make(repo, "spec-check", f"SPEC_URL={url}", "FORMAT=markdown")
    assert result.returncode != 0
    assert f"Error {status}" in result.stderr  # make's line names the workflow's own status
    assert all(text in result.stdout for text in expected), result.stdout
    assert direct.returncode == status
    report = json.loads(direct.stdout)
    assert report["breaking"] is (status == 2)
    assert expected[0] in {change["id"] for change in report["changes"]}
    assert markdown.stdout.startswith("## OpenAPI drift report") and expected[0] in markdown.stdout
    assert _state(repo) == before


def test_spec_check_against_the_pinned_spec_finds_no_changes(repo: Path) -> None:
    with _served(BASE) as url:
        result = make(repo, "spec-check", f"SPEC_URL={url}")
        direct = _module(repo, "check", url, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "no changes" in result.stdout.lower()
    assert direct.returncode == 0
    assert json.loads(direct.stdout) == {
        "breaking": False,
        "summary": {"breaking": 0, "non-breaking": 0, "info": 0},
        "changes": [],
    }


def test_spec_check_unreachable_url_has_its_own_status_and_one_line(repo: Path) -> None:
    before = _state(repo)
    url = f"http://127.0.0.1:{_closed_port()}/openapi.json"
    result = make(repo, "spec-check", f"SPEC_URL={url}")
    direct = _module(repo, "check", url)
    assert result.returncode != 0 and "Error 3" in result.stderr
    assert direct.returncode == ExitStatus.UNREACHABLE
    assert direct.stdout == ""
    [line] = direct.stderr.splitlines()
    assert url in line and "cannot reach host" in line
    with serve({"/openapi.json": answer(500, b"boom", "text/plain")}) as base:
        broken = _module(repo, "check", f"{base}/openapi.json")
    assert broken.returncode == ExitStatus.UNUSABLE  # reached, but no usable spec
    assert "HTTP 500" in broken.stderr
    assert _state(repo) == before


@pytest.mark.parametrize(
    ("mutate", "changed"),
    [(None, False), (_tighten_amount, True), (add_history_endpoint, True)],
    ids=["no-drift", "breaking", "non-breaking"],
)
def test_spec_check_json_is_all_of_stdout(
    repo: Path, mutate: Callable[[Spec], None] | None, changed: bool
) -> None:
    # As typed at a shell (`make spec-check FORMAT=json > drift.json`): no -s, so an
    # echoed recipe line or anything else on stdout would break the document.
    with _served(_mutated(mutate) if mutate else BASE) as url:
        result = make(repo, "spec-check", "FORMAT=json", f"SPEC_URL={url}", quiet=False)
    report = json.loads(result.stdout)
    assert set(report) == {"breaking", "summary", "changes"}
    assert bool(report["changes"]) is changed and (result.returncode != 0) is changed
    assert "spec-check: openapi.json vs" in result.stderr  # the summary goes to stderr


def test_nested_make_does_not_inherit_the_callers_make_variables(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What an outer `make spec-update SPEC_URL=... SPEC_OUTPUTS=...` running these tests
    # hands to every make below it.
    monkeypatch.setenv("MAKEFLAGS", " -- SPEC_URL=http://bogus SPEC_OUTPUTS=/bogus")
    monkeypatch.setenv("MAKELEVEL", "3")
    monkeypatch.setenv("MFLAGS", "-k")
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "Makefile").write_text(
        'show:\n\t@echo "url=$(SPEC_URL) out=$(SPEC_OUTPUTS) level=$(MAKELEVEL)"\n'
    )
    inherited = subprocess.run(
        ["make", "show"], cwd=probe, capture_output=True, text=True, timeout=60, check=False
    )
    assert "url=http://bogus out=/bogus level=3" in inherited.stdout  # what a bare make sees
    shown = make(probe, "show")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == "url= out= level=0\n"
    dry_run = make(repo, "-n", "spec-check")  # the real target, commands printed only
    assert dry_run.returncode == 0, dry_run.stderr
    assert "codegen.workflow check" in dry_run.stdout and "bogus" not in dry_run.stdout


# ---------------------------------------------------------------- spec-update


def test_spec_update_adopts_an_added_endpoint(repo: Path, tmp_path: Path) -> None:
    report, outputs = tmp_path / "report.md", tmp_path / "outputs"
    added = _mutated(add_history_endpoint)
    with _served(added) as url:
        result = _spec_update(repo, url, report, outputs)
        assert result.returncode == 0, result.stdout + result.stderr
        recheck = make(repo, "spec-check", f"SPEC_URL={url}")
    assert (repo / "tests-ran").exists()
    module = repo / "generated" / "parallel_account_api" / "api" / "balance" / "balance_history.py"
    assert "def sync_detailed" in module.read_text()
    assert json.loads((repo / "openapi.json").read_text()) == added
    assert f'__version__ = "{MINOR_BUMP}"' in (repo / VERSION).read_text()
    changelog_text = (repo / "CHANGELOG.md").read_text()
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    assert changelog_text.startswith("# Changelog\n")
    assert f"## {MINOR_BUMP} - {today}" in changelog_text
    assert "`/service/v1/balance/history`: path added (GET) (path-added)" in changelog_text
    assert "breaking: no" in result.stdout
    assert "| `path-added` | `/service/v1/balance/history` |" in report.read_text()
    assert f"Version {CURRENT_VERSION} -> {MINOR_BUMP} (minor bump)" in report.read_text()
    assert _outputs(outputs) == {
        "changed": "true",
        "failed": "false",
        "failed_step": "none",
        "breaking": "false",
        "version": MINOR_BUMP,
        "bump": "minor",
    }
    assert recheck.returncode == 0 and "No changes." in recheck.stdout


def test_spec_update_without_changes_writes_nothing(repo: Path, tmp_path: Path) -> None:
    before = _state(repo)
    outputs = tmp_path / "outputs"
    with _served(BASE) as url:
        result = make(
            repo,
            "spec-update",
            f"SPEC_URL={url}",
            f"SPEC_OUTPUTS={outputs}",
            "SPEC_UPDATE_TEST_CMD=touch tests-ran",
        )
    assert result.returncode == 0, result.stderr
    assert "no API changes; nothing written" in result.stdout
    assert _state(repo) == before and not (repo / "tests-ran").exists()
    assert _outputs(outputs)["changed"] == "false"


@pytest.mark.parametrize(
    ("mutate", "version", "bump", "breaking", "heading"),
    [
        (_tighten_amount, BREAKING_BUMP, BREAKING_KIND, "true", "### Breaking"),
        (_describe_api, PATCH_BUMP, "patch", "false", "### Documentation only"),
    ],
)
def test_spec_update_bumps_by_the_kind_of_change(
    repo: Path,
    tmp_path: Path,
    mutate: Callable[[Spec], None],
    version: str,
    bump: str,
    breaking: str,
    heading: str,
) -> None:
    report, outputs = tmp_path / "report.md", tmp_path / "outputs"
    with _served(_mutated(mutate)) as url:
        result = _spec_update(repo, url, report, outputs)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f'__version__ = "{version}"' in (repo / VERSION).read_text()
    assert _outputs(outputs) == {
        "changed": "true",
        "failed": "false",
        "failed_step": "none",
        "breaking": breaking,
        "version": version,
        "bump": bump,
    }
    assert f"breaking: {'yes' if breaking == 'true' else 'no'}" in result.stdout
    assert heading in (repo / "CHANGELOG.md").read_text()
    if breaking == "true":
        assert "**1 breaking**" in report.read_text()
        assert "request-bounds-tightened" in report.read_text()


def test_failed_generation_restores_everything(repo: Path, tmp_path: Path) -> None:
    # A missing changelog must stay missing (the repository has one once a spec was adopted).
    (repo / "CHANGELOG.md").unlink(missing_ok=True)
    before = _state(repo)
    report, outputs = tmp_path / "report.md", tmp_path / "outputs"
    with _served(_mutated(add_ungeneratable_endpoint)) as url:
        result = make(
            repo,
            "spec-update",
            f"SPEC_URL={url}",
            f"SPEC_REPORT={report}",
            f"SPEC_OUTPUTS={outputs}",
            "SPEC_UPDATE_TEST_CMD=touch tests-ran",
        )
    assert result.returncode != 0 and "Error 5" in result.stderr
    assert "openapi-python-client failed" in result.stderr
    assert "generation failed; openapi.json, generated/, CHANGELOG.md" in result.stderr
    assert _state(repo) == before
    assert not (repo / "tests-ran").exists()
    # The drift is still reported, with why it could not be adopted.
    text = report.read_text()
    assert text.startswith("## OpenAPI drift report") and "`/service/v1/odd`" in text
    assert "## Adoption failed" in text and "### Generation errors" in text
    assert "openapi-python-client failed" in text.split("### Generation errors", 1)[1]
    assert _outputs(outputs) == {
        "changed": "true",
        "failed": "true",
        "failed_step": "generation",
        "breaking": "false",
        "version": MINOR_BUMP,
        "bump": "minor",
    }


# Tests the adopted spec "breaks": two fail, two pass.
CHECKS = """
import pytest


def test_passes():
    pass


def test_fails():
    assert 1 == 2


@pytest.mark.parametrize("n", [1, 2])
def test_param(n):
    assert n == 1
"""


def test_failing_tests_are_named_in_the_report_and_everything_restored(
    repo: Path, tmp_path: Path
) -> None:
    _with_history(repo)
    (repo / "checks").mkdir()
    (repo / "checks" / "test_adopted.py").write_text(CHECKS)
    before = _state(repo)
    report, outputs = tmp_path / "report.md", tmp_path / "outputs"
    test_cmd = "make -s check-generated && .venv/bin/python -m pytest -q -p no:cacheprovider checks"
    with _served(_mutated(add_history_endpoint)) as url:
        result = make(
            repo,
            "spec-update",
            f"SPEC_URL={url}",
            f"SPEC_REPORT={report}",
            f"SPEC_OUTPUTS={outputs}",
            f"SPEC_UPDATE_TEST_CMD={test_cmd}",
        )
    assert result.returncode != 0 and "Error 6" in result.stderr, result.stderr
    assert "2 failed, 2 passed" in result.stdout  # the tests' output still shows
    assert _state(repo) == before  # restored byte for byte
    expected = ["checks/test_adopted.py::test_fails", "checks/test_adopted.py::test_param[2]"]
    assert f"spec-update: failing: {', '.join(expected)}" in result.stderr
    text = report.read_text()
    assert text.startswith("## OpenAPI drift report")
    assert "| `path-added` | `/service/v1/balance/history` |" in text
    assert f"the minor bump {CURRENT_VERSION} -> {MINOR_BUMP} was not made" in text
    section = text.split("### Failing tests\n", 1)[1].split("<details>", 1)[0]
    assert re.findall(r"^- `(.+)`$", section, re.M) == expected
    assert "Last " in text and "2 failed, 2 passed" in text.split("<details>", 1)[1]
    assert _outputs(outputs) == {
        "changed": "true",
        "failed": "true",
        "failed_step": "tests",
        "breaking": "false",
        "version": MINOR_BUMP,
        "bump": "minor",
    }


def _with_history(repo: Path) -> None:
    """An existing CHANGELOG.md, so restoring it (not deleting it) is what is checked."""
    (repo / "CHANGELOG.md").write_text("# Changelog\n\n## 0.1.0 - 2026-01-01\n\nFirst.\n")


@pytest.mark.parametrize(
    ("test_cmd", "status", "message"),
    [
        ("make -s check-generated && false", 6, "the tests failed"),
        ("kill -INT $$PPID; exec sleep 30", 130, "interrupted"),
        ("kill -TERM $$PPID; exec sleep 30", 130, "interrupted"),
    ],
    ids=["tests-fail", "sigint", "sigterm"],
)
def test_failed_or_interrupted_tests_restore_everything(
    repo: Path, test_cmd: str, status: int, message: str
) -> None:
    _with_history(repo)
    before = _state(repo)
    with _served(_mutated(add_history_endpoint)) as url:
        result = make(repo, "spec-update", f"SPEC_URL={url}", f"SPEC_UPDATE_TEST_CMD={test_cmd}")
    assert result.returncode != 0 and f"Error {status}" in result.stderr, result.stderr
    assert message in result.stderr
    # It got as far as regenerating (the served spec has one operation more).
    assert f"generate: {BASE_OPERATIONS + 1} operations" in result.stdout
    assert _state(repo) == before
    leftovers = [p.name for p in repo.rglob(".*") if p.name.endswith((".restoring", ".retired"))]
    assert leftovers == []


def test_spec_update_unreachable_url_touches_nothing(repo: Path) -> None:
    before = _state(repo)
    url = f"http://127.0.0.1:{_closed_port()}/openapi.json"
    result = _module(repo, "update", url, "--test-cmd", "touch tests-ran")
    assert result.returncode == 3 and "cannot reach host" in result.stderr
    assert _state(repo) == before and not (repo / "tests-ran").exists()


# ---------------------------------------------------------------- versioning and changelog


def _change(level: Level) -> Change:
    return Change(id=f"{level}-rule", level=level, location="/x", message="m")


@pytest.mark.parametrize(
    ("levels", "version", "expected"),
    [
        (["breaking", "info"], "0.4.2", "0.5.0"),
        (["breaking"], "1.4.2", "2.0.0"),
        (["non-breaking", "info"], "1.4.2", "1.5.0"),
        (["non-breaking"], "0.4.2", "0.5.0"),
        (["info"], "0.4.2", "0.4.3"),
        ([], "0.4.2", None),
    ],
)
def test_version_rule(levels: list[Level], version: str, expected: str | None) -> None:
    kind = versioning.bump_kind([_change(level) for level in levels], version)
    assert (versioning.bumped(version, kind) if kind else None) == expected


def test_version_must_be_plain_semver() -> None:
    with pytest.raises(VersionError, match=r"'1\.0\.0rc1' is not MAJOR\.MINOR\.PATCH"):
        versioning.bump_kind([_change("breaking")], "1.0.0rc1")
    text = '"""Doc."""\n\n__version__ = "0.1.0"\n'
    assert versioning.with_version(text, "0.2.0") == text.replace("0.1.0", "0.2.0")
    with pytest.raises(VersionError, match="no `__version__"):
        versioning.read_version("VERSION = '1'\n")


def test_changelog_entry_lists_breaking_first_and_goes_on_top() -> None:
    changes = [_change("info"), _change("non-breaking"), _change("breaking")]
    entry = changelog.changelog_entry("0.3.0", datetime.date(2026, 5, 1), changes, "ab" * 32)
    assert entry.startswith("## 0.3.0 - 2026-05-01\n")
    headings = [line for line in entry.splitlines() if line.startswith("### ")]
    assert headings == ["### Breaking", "### Non-breaking", "### Documentation only"]
    assert "- `/x`: m (breaking-rule)" in entry
    created = changelog.with_entry(None, entry)
    assert created.startswith(changelog.CHANGELOG_HEADER) and created.endswith(entry)
    old = "# Changelog\n\nIntro.\n\n## 0.2.0 - 2026-04-01\n\nOlder.\n"
    assert changelog.with_entry(old, entry) == (
        "# Changelog\n\nIntro.\n\n" + entry + "\n## 0.2.0 - 2026-04-01\n\nOlder.\n"
    )
    assert changelog.with_entry("# Notes\n", entry) == "# Notes\n\n" + entry


# ---------------------------------------------------------------- what failed


def test_failing_tests_reads_pytest_ids_first() -> None:
    output = "\n".join(
        [
            "..F.E",
            "FAILED tests/test_a.py::test_x - AssertionError: assert 1 == 2",
            "\x1b[31mFAILED\x1b[0m tests/test_a.py::TestK::test_z[5000-a b]\x1b[0m",
            "ERROR tests/test_b.py::test_f - fixture 'nope' not found",
            "ERROR tests/test_c.py - ImportError: no module named x",
            "FAILED tests/test_a.py::test_x - AssertionError: assert 1 == 2",
            "ERROR: not a test id",
            "make: *** [Makefile:80: unit] Error 1",
        ]
    )
    assert failure_report.failing_tests(output) == [
        "tests/test_a.py::test_x",
        "tests/test_a.py::TestK::test_z[5000-a b]",
        "tests/test_b.py::test_f",
        "tests/test_c.py",
    ]


def test_failing_tests_falls_back_to_makes_error_lines() -> None:
    output = (
        "ruff check overrides codegen tests\nE501 line too long\n"
        "make[1]: *** [Makefile:66: lint] Error 1\nmake: *** [Makefile:80: test] Error 2\n"
    )
    assert failure_report.failing_tests(output) == [
        "make[1]: *** [Makefile:66: lint] Error 1",
        "make: *** [Makefile:80: test] Error 2",
    ]
    assert failure_report.failing_tests("Killed\n") == []


def test_failure_report_keeps_the_drift_report_and_says_what_failed() -> None:
    drift_report = "## OpenAPI drift report\n\nSome change.\n"
    text = failure_report.failure_report(
        drift_report, "the minor bump 0.1.0 -> 0.2.0", "tests", ["t.py::a`b"], "~~~\nout\n"
    )
    assert text.startswith(drift_report.rstrip() + "\n\n## Adoption failed\n")
    assert "- `t.py::a'b`" in text  # a backtick would end the code span
    assert "~~~~\n~~~\nout\n~~~~" in text  # the fence outlasts the output's own
    unnamed = failure_report.failure_report(drift_report, "x", "tests", [], "")
    assert "none named in the output" in unnamed and "<details>" not in unnamed
    generation = failure_report.failure_report(drift_report, "x", "generation", [], "")
    assert "### Generation errors" in generation and "### Failing tests" not in generation


def test_run_teed_passes_output_through_and_keeps_it(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    status, output = tee.run_teed("echo out; echo err >&2; pwd; exit 3", tmp_path)
    assert status == 3
    assert sorted(output.splitlines()) == sorted(["out", "err", str(tmp_path)])
    shown = capfd.readouterr()
    assert shown.out == f"out\n{tmp_path}\n" and shown.err == "err\n"


# ---------------------------------------------------------------- GitHub workflows


def _workflow(name: str) -> Any:
    return YAML(typ="safe").load((ROOT / ".github" / "workflows" / name).read_text())


def test_ci_workflow_runs_the_ci_script() -> None:
    job = _workflow("ci.yml")["jobs"]["test"]
    uses = {step.get("uses", "").split("@")[0]: step for step in job["steps"]}
    assert uses["actions/setup-python"]["with"]["python-version"] == "3.11"
    assert uses["actions/setup-node"]["with"]["node-version"] == "20"
    assert "actions/checkout" in uses
    assert [step["run"] for step in job["steps"] if "run" in step] == ["bash .ci/run"]


def test_spec_drift_workflow_opens_a_labelled_pull_request() -> None:
    flow = _workflow("spec-drift.yml")
    assert flow["on"]["schedule"][0]["cron"] and "workflow_dispatch" in flow["on"]
    adopt = flow["jobs"]["adopt"]
    update = next(step for step in adopt["steps"] if step.get("id") == "update")
    assert "make spec-update" in update["run"] and "SPEC_REPORT=" in update["run"]
    assert 'SPEC_OUTPUTS="$GITHUB_OUTPUT"' in update["run"]
    for key in ("changed", "failed", "failed_step", "breaking", "version"):
        assert adopt["outputs"][key] == f"${{{{ steps.update.outputs.{key} }}}}"
    steps = flow["jobs"]["publish"]["steps"]
    [pr] = [step for step in steps if str(step.get("uses", "")).startswith("peter-evans/")]
    assert pr["if"] == "needs.adopt.result == 'success' && needs.adopt.outputs.changed == 'true'"
    assert pr["with"]["branch"] == "spec-drift/auto"
    assert pr["with"]["body-path"].endswith("/spec-drift/spec-drift.md")
    assert "needs.adopt.outputs.breaking == 'true' && 'breaking'" in pr["with"]["labels"]


def _drift_step(name: str) -> dict[str, Any]:
    flow = _workflow("spec-drift.yml")
    steps = [step for job in flow["jobs"].values() for step in job["steps"]]
    step: dict[str, Any] = next(step for step in steps if step.get("name") == name)
    return step


def test_spec_drift_workflow_reports_a_failed_adoption_and_fails() -> None:
    flow = _workflow("spec-drift.yml")
    assert flow["jobs"]["publish"]["permissions"]["issues"] == "write"
    assert flow["jobs"]["publish"]["if"] == "${{ !cancelled() }}"  # runs after a failure
    update = _drift_step("make spec-update")
    assert "continue-on-error" not in update  # its failure fails the run
    issue = _drift_step("Open or update the needs-work issue")
    assert issue["if"] == "needs.adopt.result == 'failure' && needs.adopt.outputs.failed == 'true'"
    assert "continue-on-error" not in issue
    assert _drift_step("Close the needs-work issue")["if"] == "needs.adopt.result == 'success'"


def test_every_workflow_script_is_valid_bash() -> None:
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        for job in _workflow(path.name)["jobs"].values():
            for step in job["steps"]:
                if "run" in step:
                    checked = subprocess.run(
                        ["bash", "-n", "-c", step["run"]], capture_output=True, text=True
                    )
                    assert checked.returncode == 0, (path.name, step, checked.stderr)


def _run_step(step: dict[str, Any], tmp_path: Path, open_issues: str) -> list[str]:
    """Run a workflow step's script as the runner would (bash -e), with a fake `gh` that
    logs its arguments and lists `open_issues`; return the log."""
    done = run_workflow_step(
        step,
        tmp_path,
        gh='if [ "$1 $2" = "issue list" ]; then printf "%s" "$OPEN_ISSUES"; fi',
        env={
            "OPEN_ISSUES": open_issues,
            "RUNNER_TEMP": str(tmp_path),
            "RUN_URL": "https://github.test/runs/1",
            "FAILED_STEP": "tests",
            "VERSION": "9.9.9",
            "BREAKING": "true",
        },
    )
    assert done.returncode == 0, done.stderr
    return (tmp_path / "gh.log").read_text().splitlines()


@pytest.mark.parametrize("open_issue", ["", "7"], ids=["opens", "updates"])
def test_needs_work_issue_step_opens_or_updates_one_issue(tmp_path: Path, open_issue: str) -> None:
    (tmp_path / "spec-drift").mkdir()
    report = tmp_path / "spec-drift" / "spec-drift.md"
    report.write_text("## OpenAPI drift report\n" + "x" * 70_000)
    log = _run_step(_drift_step("Open or update the needs-work issue"), tmp_path, open_issue)
    title = "--title API spec drift needs work: version 9.9.9 (breaking)"
    body = tmp_path / "spec-drift-issue.md"
    if open_issue:
        assert f"issue edit 7 {title} --body-file {body}" in log
        assert "issue comment 7 --body Still failing (tests): https://github.test/runs/1" in log
        assert not any(line.startswith("issue create") for line in log)
    else:
        assert (
            f"issue create {title} --body-file {body} --label spec-drift --label needs-work" in log
        )
    assert any(line.startswith("label create spec-drift") for line in log)
    assert any(line.startswith("label create needs-work") for line in log)
    text = body.read_text()
    assert text.startswith("Nightly spec adoption failed (tests): https://github.test/runs/1")
    assert "## OpenAPI drift report" in text and len(text) < 65_536


def test_close_issue_step_closes_every_open_needs_work_issue(tmp_path: Path) -> None:
    log = _run_step(_drift_step("Close the needs-work issue"), tmp_path, "3\n5\n")
    closed = [line.split()[2] for line in log if line.startswith("issue close")]
    assert closed == ["3", "5"]


def test_lint_workflows_passes_and_catches_a_mistake(repo: Path) -> None:
    assert make(repo, "lint-workflows").returncode == 0
    ci = repo / ".github" / "workflows" / "ci.yml"
    ci.write_text(ci.read_text().replace("runs-on:", "run-on:"))
    result = make(repo, "lint-workflows")
    assert result.returncode != 0 and "ci.yml" in result.stdout + result.stderr


# ---------------------------------------------------------------- workflow hardening

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _steps(flow: Any) -> list[dict[str, Any]]:
    return [step for job in flow["jobs"].values() for step in job["steps"]]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_version_named(path: Path) -> None:
    uses = [step["uses"] for step in _steps(_workflow(path.name)) if "uses" in step]
    assert uses
    for action in uses:
        assert PINNED.match(action), f"{path.name}: {action} is not pinned to a full commit SHA"
    for line in path.read_text().splitlines():
        if "uses:" in line:
            assert re.search(r"@[0-9a-f]{40} # v\d+(\.\d+)*$", line), line


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_checkout_keeps_the_token_in_git_config(path: Path) -> None:
    for step in _steps(_workflow(path.name)):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False, path.name


def test_the_adoption_runs_with_a_read_only_token_and_publishing_runs_nothing() -> None:
    flow = _workflow("spec-drift.yml")
    assert flow["permissions"] == {"contents": "read"}
    adopt, publish = flow["jobs"]["adopt"], flow["jobs"]["publish"]
    assert adopt["permissions"] == {"contents": "read"}
    assert any("make spec-update" in step.get("run", "") for step in adopt["steps"])
    assert publish["needs"] == "adopt"
    assert set(publish["permissions"]) == {"contents", "pull-requests", "issues"}
    # The job holding the write token runs no make, no Python, no generated code.
    for step in publish["steps"]:
        assert not re.search(r"\b(make|python3?|pytest|pip|npm|node)\b", step.get("run", "")), step


def test_the_dispatch_input_reaches_make_only_through_the_environment() -> None:
    steps = _steps(_workflow("spec-drift.yml"))
    for step in steps:  # an expression in a script is pasted into it before bash runs
        assert "${{" not in step.get("run", ""), step
    holders = [s for s in steps if "inputs.spec_url" in json.dumps(s.get("env", {}))]
    assert [s.get("id") for s in holders] == ["update"]
    [update] = holders
    assert update["env"]["SPEC_URL_INPUT"] == "${{ inputs.spec_url }}"
    assert 'export SPEC_URL="$SPEC_URL_INPUT"' in update["run"]
    make_lines = [line for line in update["run"].splitlines() if "make " in line]
    assert make_lines and all("=" not in line for line in make_lines)  # no make variables


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def test_the_adopted_files_travel_as_a_patch_and_nothing_else_is_applied(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "generated" / "pkg").mkdir(parents=True)
    (repo / ".github").mkdir()
    for name in ("openapi.json", "generated/pkg/old.py", "README.md", ".github/ci.yml"):
        (repo / name).write_text(f"{name} before\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    # What an adoption (and a hostile test run) leaves in the adopt job's checkout.
    (repo / "openapi.json").write_text("openapi.json after\n")
    (repo / "generated" / "pkg" / "old.py").unlink()
    (repo / "generated" / "pkg" / "new.py").write_text("new\n")
    (repo / "README.md").write_text("changed by a test\n")
    (repo / ".github" / "ci.yml").write_text("changed by a test\n")
    (tmp_path / "spec-drift").mkdir()
    env = {"RUNNER_TEMP": str(tmp_path)}
    collect = run_workflow_step(
        _drift_step("Collect the adopted files"), tmp_path, gh="", env=env, cwd=repo
    )
    assert collect.returncode == 0, collect.stderr
    patch = tmp_path / "spec-drift" / "adoption.patch"
    _git(repo, "reset", "-q", "--hard")
    _git(repo, "clean", "-qfd")
    apply = _drift_step("Apply the adopted files")
    done = run_workflow_step(apply, tmp_path, gh="", env=env, cwd=repo)
    assert done.returncode == 0, done.stderr
    assert _git(repo, "status", "--porcelain").splitlines() == [
        " D generated/pkg/old.py",
        " M openapi.json",
        "?? generated/pkg/new.py",
    ]
    assert (repo / "README.md").read_text() == "README.md before\n"
    # A patch that reaches any other file is refused whole.
    _git(repo, "reset", "-q", "--hard")
    _git(repo, "clean", "-qfd")
    (repo / ".github" / "ci.yml").write_text("hostile\n")
    (repo / "openapi.json").write_text("hostile\n")
    patch.write_text(_git(repo, "diff", "--binary"))
    _git(repo, "checkout", "-q", "--", ".")
    refused = run_workflow_step(apply, tmp_path, gh="", env=env, cwd=repo)
    assert refused.returncode != 0
    assert ".github/ci.yml" in refused.stdout and "never writes" in refused.stdout
    assert _git(repo, "status", "--porcelain") == ""
