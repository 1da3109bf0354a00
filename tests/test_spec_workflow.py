"""`make spec-check`, `make spec-update` (codegen.workflow) and the GitHub workflow files.

The make targets run in scratch copies of the repository against specs served from
127.0.0.1; the real repository's files and the network are never touched.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import json
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from codegen import drift, workflow
from codegen.drift import Change
from codegen.workflow import WorkflowError
from parallel_account_api.spec_facts import OPERATIONS
from tests.support import (
    ROOT,
    add_history_endpoint,
    add_ungeneratable_endpoint,
    answer,
    make,
    scratch_repo,
    serve,
    tree_bytes,
)

Spec = dict[str, Any]
PINNED: Spec = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
VERSION = Path("overrides") / "parallel_account" / "_version.py"
ADD_BODY = ("components", "schemas", "AddBalanceRequest", "properties", "amount_cents")

# Read from the spec and the version file, never typed here: `make spec-update` runs these
# tests on the spec (and version) it adopts, so a typed number would throw the change away.
CURRENT_VERSION = workflow.read_version((ROOT / VERSION).read_text())
_MAJOR = workflow.parse_version(CURRENT_VERSION)[0]
MINOR_BUMP = workflow.bumped(CURRENT_VERSION, "minor")
PATCH_BUMP = workflow.bumped(CURRENT_VERSION, "patch")
# Breaking: major, or minor while below 1.0 (test_version_rule checks the rule itself).
BREAKING_KIND: workflow.Bump = "major" if _MAJOR >= 1 else "minor"
BREAKING_BUMP = workflow.bumped(CURRENT_VERSION, BREAKING_KIND)


def _amount_maximum() -> int:
    facts = OPERATIONS["add_balance"].body_field("amount_cents")
    assert facts.maximum is not None and facts.maximum == int(facts.maximum), facts
    return int(facts.maximum)


AMOUNT_MAX = _amount_maximum()
TIGHTER_MAX = AMOUNT_MAX // 2  # any lower bound works; half keeps it clearly tighter
# The tests command must prove generation happened: check-generated fails on a stale tree.
FAST_TESTS = "make -s check-generated && touch tests-ran"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return scratch_repo(tmp_path / "repo")


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
    spec = copy.deepcopy(PINNED)
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
    with _served(PINNED) as url:
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
    assert direct.returncode == workflow.EXIT_UNREACHABLE == 3
    assert direct.stdout == ""
    [line] = direct.stderr.splitlines()
    assert url in line and "cannot reach host" in line
    with serve({"/openapi.json": answer(500, b"boom", "text/plain")}) as base:
        broken = _module(repo, "check", f"{base}/openapi.json")
    assert broken.returncode == workflow.EXIT_UNUSABLE == 4  # reached, but no usable spec
    assert "HTTP 500" in broken.stderr
    assert _state(repo) == before


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
    changelog = (repo / "CHANGELOG.md").read_text()
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    assert changelog.startswith("# Changelog\n")
    assert f"## {MINOR_BUMP} - {today}" in changelog
    assert "`/service/v1/balance/history`: path added (GET) (path-added)" in changelog
    assert "breaking: no" in result.stdout
    assert "| `path-added` | `/service/v1/balance/history` |" in report.read_text()
    assert f"Version {CURRENT_VERSION} -> {MINOR_BUMP} (minor bump)" in report.read_text()
    assert _outputs(outputs) == {
        "changed": "true",
        "breaking": "false",
        "version": MINOR_BUMP,
        "bump": "minor",
    }
    assert recheck.returncode == 0 and "No changes." in recheck.stdout


def test_spec_update_without_changes_writes_nothing(repo: Path, tmp_path: Path) -> None:
    before = _state(repo)
    outputs = tmp_path / "outputs"
    with _served(PINNED) as url:
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
        "breaking": breaking,
        "version": version,
        "bump": bump,
    }
    assert f"breaking: {'yes' if breaking == 'true' else 'no'}" in result.stdout
    assert heading in (repo / "CHANGELOG.md").read_text()
    if breaking == "true":
        assert "**1 breaking**" in report.read_text()
        assert "request-bounds-tightened" in report.read_text()


def test_failed_generation_restores_everything(repo: Path) -> None:
    # A missing changelog must stay missing (the repository has one once a spec was adopted).
    (repo / "CHANGELOG.md").unlink(missing_ok=True)
    before = _state(repo)
    with _served(_mutated(add_ungeneratable_endpoint)) as url:
        result = make(
            repo, "spec-update", f"SPEC_URL={url}", "SPEC_UPDATE_TEST_CMD=touch tests-ran"
        )
    assert result.returncode != 0 and "Error 5" in result.stderr
    assert "openapi-python-client failed" in result.stderr
    assert "generation failed; openapi.json, generated/, CHANGELOG.md" in result.stderr
    assert _state(repo) == before
    assert not (repo / "tests-ran").exists()


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
    assert f"generate: {len(OPERATIONS) + 1} operations" in result.stdout
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


def _change(level: drift.Level) -> Change:
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
def test_version_rule(levels: list[drift.Level], version: str, expected: str | None) -> None:
    kind = workflow.bump_kind([_change(level) for level in levels], version)
    assert (workflow.bumped(version, kind) if kind else None) == expected


def test_version_must_be_plain_semver() -> None:
    with pytest.raises(WorkflowError, match=r"'1\.0\.0rc1' is not MAJOR\.MINOR\.PATCH"):
        workflow.bump_kind([_change("breaking")], "1.0.0rc1")
    text = '"""Doc."""\n\n__version__ = "0.1.0"\n'
    assert workflow.with_version(text, "0.2.0") == text.replace("0.1.0", "0.2.0")
    with pytest.raises(WorkflowError, match="no `__version__"):
        workflow.read_version("VERSION = '1'\n")


def test_changelog_entry_lists_breaking_first_and_goes_on_top() -> None:
    changes = [_change("info"), _change("non-breaking"), _change("breaking")]
    entry = workflow.changelog_entry("0.3.0", datetime.date(2026, 5, 1), changes, "ab" * 32)
    assert entry.startswith("## 0.3.0 - 2026-05-01\n")
    headings = [line for line in entry.splitlines() if line.startswith("### ")]
    assert headings == ["### Breaking", "### Non-breaking", "### Documentation only"]
    assert "- `/x`: m (breaking-rule)" in entry
    created = workflow.with_entry(None, entry)
    assert created.startswith(workflow.CHANGELOG_HEADER) and created.endswith(entry)
    old = "# Changelog\n\nIntro.\n\n## 0.2.0 - 2026-04-01\n\nOlder.\n"
    assert workflow.with_entry(old, entry) == (
        "# Changelog\n\nIntro.\n\n" + entry + "\n## 0.2.0 - 2026-04-01\n\nOlder.\n"
    )
    assert workflow.with_entry("# Notes\n", entry) == "# Notes\n\n" + entry


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
    steps = flow["jobs"]["update"]["steps"]
    update = next(step for step in steps if step.get("id") == "update")
    assert "make spec-update" in update["run"] and "SPEC_REPORT=" in update["run"]
    assert 'SPEC_OUTPUTS="$GITHUB_OUTPUT"' in update["run"]
    [pr] = [step for step in steps if str(step.get("uses", "")).startswith("peter-evans/")]
    assert pr["uses"] == "peter-evans/create-pull-request@v7"  # pinned by tag
    assert pr["if"] == "steps.update.outputs.changed == 'true'"
    assert pr["with"]["branch"] == "spec-drift/auto"
    assert pr["with"]["body-path"].endswith("/spec-drift.md")
    assert "steps.update.outputs.breaking == 'true' && 'breaking'" in pr["with"]["labels"]


def test_lint_workflows_passes_and_catches_a_mistake(repo: Path) -> None:
    assert make(repo, "lint-workflows").returncode == 0
    ci = repo / ".github" / "workflows" / "ci.yml"
    ci.write_text(ci.read_text().replace("runs-on:", "run-on:"))
    result = make(repo, "lint-workflows")
    assert result.returncode != 0 and "ci.yml" in result.stdout + result.stderr
