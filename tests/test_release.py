"""The release a service pins (issue 12): LICENSE, `--version`, the docs' pins, `make dist`.

The slow test builds the release twice, in two scratch copies that differ in path,
file times and how the sources are found (a git checkout, and an exported tree given
the same SOURCE_DATE_EPOCH), and requires the same bytes; then installs the wheel in a
fresh virtualenv and runs it there.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

import parallel_account
from parallel_account.cli._parser import version_line
from parallel_account_api.spec_facts import OPERATIONS
from tests.support import DOCS, ROOT, clean_make_env, make, run_workflow_step, scratch_repo

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
DISTRIBUTION = PYPROJECT["project"]["name"]
# A commit time that is not now, so the test sees it was read from git.
COMMIT_EPOCH = 1_700_000_000
VERSION_TEXT = r"\d+\.\d+\.\d+(?:[.-]?[0-9A-Za-z.]+)?"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- fast: what a pin promises ------------------------------------------------------------


def test_license_file_is_the_license_pyproject_declares() -> None:
    assert PYPROJECT["project"]["license"] == "MIT"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text
    assert re.search(r"Copyright \(c\) \d{4} \S", text)


def test_version_prints_the_package_version_and_the_spec_sha256() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "parallel_account.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout == version_line() + "\n"
    assert parallel_account.__version__ in done.stdout
    assert _sha256(ROOT / "openapi.json") == parallel_account.SPEC_SHA256 in done.stdout


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_docs_pin_only_the_current_version(doc: Path) -> None:
    """Every concrete version a doc pins is this one: a bump cannot leave a stale pin behind."""
    text = doc.read_text(encoding="utf-8")
    pinned = re.findall(rf"{re.escape(DISTRIBUTION)}==({VERSION_TEXT})", text)
    pinned += re.findall(rf"/releases/download/v({VERSION_TEXT})/", text)
    pinned += re.findall(rf"@v({VERSION_TEXT})\b", text)
    pinned += re.findall(rf"parallel_account_client-({VERSION_TEXT})-py3", text)
    assert set(pinned) <= {parallel_account.__version__}, pinned


def test_readme_tells_how_to_pin() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    # README does tell how to pin, by index version and by release tag.
    assert f"{DISTRIBUTION}==" in readme and "/releases/download/v" in readme


def test_readme_version_pattern_catches_a_stale_pin() -> None:
    stale = f"pip install {DISTRIBUTION}==0.0.1"
    assert re.findall(rf"{re.escape(DISTRIBUTION)}==({VERSION_TEXT})", stale) == ["0.0.1"]


# --- slow: make dist ----------------------------------------------------------------------


def _scratch(dest: Path) -> Path:
    repo = scratch_repo(dest)
    for name in ("LICENSE", "MANIFEST.in"):
        shutil.copy2(ROOT / name, repo / name)
    return repo


def _commit(repo: Path) -> None:
    (repo / ".gitignore").write_text(".venv\n.venv-zipapp\n", encoding="utf-8")
    when = f"@{COMMIT_EPOCH} +0000"
    env = {**os.environ, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "s"],
    ):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, timeout=60)


def _make_dist(repos: list[tuple[Path, dict[str, str]]]) -> None:
    """`make dist` in each repo at once (each is mostly waiting for pip)."""
    running = [
        subprocess.Popen(
            ["make", "--no-print-directory", "-s", "dist"],
            cwd=repo,
            env={**clean_make_env(), **extra},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for repo, extra in repos
    ]
    for proc in running:
        output, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, output


def _release_files(repo: Path) -> dict[str, str]:
    return {p.name: _sha256(p) for p in sorted((repo / "dist").iterdir())}


@pytest.mark.slow
def test_make_dist_is_reproducible_and_the_wheel_runs_in_a_fresh_venv(tmp_path: Path) -> None:
    from_git = _scratch(tmp_path / "a")
    _commit(from_git)
    exported = _scratch(tmp_path / "elsewhere" / "b")
    for path in exported.rglob("*"):  # other file times: they must not reach the files
        if path.is_file() and not path.is_symlink():
            os.utime(path, (COMMIT_EPOCH + 12345, COMMIT_EPOCH + 12345))
    (from_git / "dist").mkdir()
    (from_git / "dist" / "stale-0.0.0.tar.gz").write_bytes(b"old")
    (from_git / "build" / "lib").mkdir(parents=True)
    (from_git / "build" / "lib" / "stale.py").write_text("old", encoding="utf-8")

    env_no_epoch = {"SOURCE_DATE_EPOCH": ""}
    _make_dist([(from_git, env_no_epoch), (exported, {"SOURCE_DATE_EPOCH": str(COMMIT_EPOCH)})])

    files = _release_files(from_git)
    assert files == _release_files(exported)  # same names, same bytes
    assert not (from_git / "build").exists()
    version = parallel_account.__version__
    sdist = from_git / "dist" / f"parallel_account_client-{version}.tar.gz"
    wheel = from_git / "dist" / f"parallel_account_client-{version}-py3-none-any.whl"
    zipapp = "parallel-account-mock.pyz"  # `make zipapp`, which `make dist` runs first
    assert sorted(files) == sorted([sdist.name, wheel.name, zipapp])  # the stale one is gone

    with tarfile.open(sdist) as tar:
        members = tar.getmembers()
    names = [m.name.split("/", 1)[1] for m in members if "/" in m.name]
    assert {m.mtime for m in members} == {COMMIT_EPOCH}  # the commit's time, read from git
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "", "")}
    assert [m.name for m in members] == sorted(m.name for m in members)
    assert {"LICENSE", "README.md", "pyproject.toml"} <= set(names)
    assert not [n for n in names if n.startswith("tests/") or "cache" in n or n.endswith(".pyc")]

    with zipfile.ZipFile(wheel) as whl:
        listed = set(whl.namelist())
        metadata = Parser().parsestr(
            whl.read(f"parallel_account_client-{version}.dist-info/METADATA").decode()
        )
        shipped_license = whl.read(f"parallel_account_client-{version}.dist-info/licenses/LICENSE")
        shipped_spec = whl.read("parallel_account_api/openapi.json")
    package_data = PYPROJECT["tool"]["setuptools"]["package-data"]
    for package, data_files in package_data.items():
        for name in data_files:  # a name or a glob such as "schemas/*.json"
            assert fnmatch.filter(listed, f"{package}/{name}"), (package, name)
    assert metadata["Version"] == version
    assert metadata["License-Expression"] == PYPROJECT["project"]["license"]
    assert metadata.get_all("License-File") == PYPROJECT["project"]["license-files"]
    assert shipped_license == (ROOT / "LICENSE").read_bytes()
    assert shipped_spec == (ROOT / "openapi.json").read_bytes()

    # The release workflow's own smoke test: fresh venv, wheel alone, mock-server + balance.
    fresh = tmp_path / "fresh"
    # Nothing of this checkout on the path (PYTHONPATH: the suite may run on a copy's own).
    alone = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    smoke = subprocess.run(
        ["bash", str(ROOT / ".ci" / "smoke-wheel"), str(wheel), str(fresh)],
        cwd=tmp_path,
        env=alone,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    shown_version, imported, balance = smoke.stdout.split("\n", 2)
    assert shown_version == version_line()
    assert imported == f"{version} {parallel_account.SPEC_SHA256}"
    answer = json.loads(balance)
    fields = OPERATIONS["get_balance"].response_fields
    # Every required field, and only fields the spec has (the fake leaves optional ones out).
    assert {f.name for f in fields if f.required} <= set(answer) <= {f.name for f in fields}

    where = subprocess.run(
        [str(fresh / "bin" / "python"), "-c", "import parallel_account as p; print(p.__file__)"],
        cwd=tmp_path,  # not the checkout: nothing may be imported from it
        env=alone,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(fresh)

    # Every module and data file of the two packages, nothing stale (a build/ left behind).
    shipped = {n for n in listed if n.endswith((".py", ".json"))}
    expected = {
        p.relative_to(root).as_posix()
        for root in (ROOT / "generated", ROOT / "overrides")
        for p in root.rglob("*")
        if p.suffix in (".py", ".json") and "__pycache__" not in p.parts
    }
    assert shipped == expected
    # The drift tool works from the wheel alone: no repository, no codegen.
    pinned = tmp_path / "pinned.json"
    shutil.copyfile(ROOT / "openapi.json", pinned)
    for command in (
        [str(fresh / "bin" / "parallel-account"), "spec", "diff", str(pinned), str(pinned)],
        [str(fresh / "bin" / "python"), "-m", "parallel_account_drift", "schema"],
    ):
        tool = subprocess.run(
            command, cwd=tmp_path, env=alone, capture_output=True, text=True, timeout=60
        )
        assert tool.returncode == 0, tool.stderr
        assert tool.stdout == "No changes.\n" or (
            json.loads(tool.stdout)["title"] == "OpenAPI drift report"
        )


# --- the release workflow -----------------------------------------------------------------


def _release_flow() -> Any:
    return YAML(typ="safe").load((ROOT / ".github" / "workflows" / "release.yml").read_text())


def _step(job: str, name: str) -> dict[str, Any]:
    steps = _release_flow()["jobs"][job]["steps"]
    step: dict[str, Any] = next(step for step in steps if step.get("name") == name)
    return step


def _run_script(
    step: dict[str, Any], tmp_path: Path, cwd: Path = ROOT, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run a step's script (see run_workflow_step); the fake `gh release view` succeeds
    only when RELEASE_EXISTS is set."""
    gh = 'if [ "$1 $2" = "release view" ] && [ -z "$RELEASE_EXISTS" ]; then exit 1; fi'
    return run_workflow_step(step, tmp_path, gh=gh, cwd=cwd, env={"RELEASE_EXISTS": "", **env})


def test_release_workflow_runs_on_version_tags_and_checks_before_it_builds() -> None:
    flow = _release_flow()
    assert flow["on"] == {"push": {"tags": ["v*"]}}
    assert flow["permissions"] == {"contents": "read"}  # write only where a job needs it
    runs = [step.get("run", step.get("uses", "")) for step in flow["jobs"]["build"]["steps"]]
    order = ["TAG", "bash .ci/run", "make dist", ".ci/smoke-wheel"]
    where = [next(i for i, run in enumerate(runs) if marker in run) for marker in order]
    assert where == sorted(where), runs


@pytest.mark.parametrize("matches", [True, False], ids=["tag-is-version", "tag-differs"])
def test_release_workflow_refuses_a_tag_that_is_not_the_version(
    tmp_path: Path, matches: bool
) -> None:
    tag = (
        f"v{parallel_account.__version__}" if matches else f"v{parallel_account.__version__}.post9"
    )
    done = _run_script(_step("build", "The tag is the package's version"), tmp_path, TAG=tag)
    assert (done.returncode == 0) is matches, done.stdout + done.stderr
    if not matches:
        assert f"::error::tag {tag} does not match the package version" in done.stdout


@pytest.mark.parametrize("exists", [False, True], ids=["creates", "adds-to-existing"])
def test_release_workflow_attaches_the_files_to_the_tags_release(
    tmp_path: Path, exists: bool
) -> None:
    flow = _release_flow()
    job = flow["jobs"]["github-release"]
    assert job["permissions"] == {"contents": "write"} and job["needs"] == "build"
    step = _step("github-release", "Attach the files to the tag's release")
    downloaded = tmp_path / "work" / "dist"
    downloaded.mkdir(parents=True)
    files = ["a-1.2.3-py3-none-any.whl", "a-1.2.3.tar.gz", "mock.pyz"]
    for name in files:
        (downloaded / name).write_bytes(b"x")
    done = _run_script(
        step, tmp_path, cwd=downloaded.parent, TAG="v1.2.3", RELEASE_EXISTS="yes" if exists else ""
    )
    assert done.returncode == 0, done.stderr
    log = (tmp_path / "gh.log").read_text().splitlines()
    attached = " ".join(f"dist/{name}" for name in files)  # every file in dist/
    if exists:
        assert log[-1] == f"release upload v1.2.3 {attached} --clobber"
    else:
        assert log[-1].startswith(f"release create v1.2.3 {attached} --verify-tag")


def test_release_workflow_publishes_to_pypi_only_when_configured() -> None:
    flow = _release_flow()
    job = flow["jobs"]["pypi"]
    assert job["if"] == "vars.PYPI_PUBLISH == 'true'"
    assert job["needs"] == "build" and job["environment"]["name"] == "pypi"
    assert job["permissions"] == {"id-token": "write"}  # trusted publishing: no token
    uses = [step["uses"] for step in job["steps"]]
    assert uses[-1].startswith("pypa/gh-action-pypi-publish@")
    download = job["steps"][0]
    assert download["with"]["name"] == "python-dist"  # sdist and wheel only
    build_steps = flow["jobs"]["build"]["steps"]
    [python_dist] = [s for s in build_steps if s.get("with", {}).get("name") == "python-dist"]
    assert python_dist["with"]["path"].split() == ["dist/*.tar.gz", "dist/*.whl"]


def test_lint_workflows_covers_the_release_workflow(tmp_path: Path) -> None:
    repo = scratch_repo(tmp_path / "repo")
    assert make(repo, "lint-workflows").returncode == 0
    release = repo / ".github" / "workflows" / "release.yml"
    release.write_text(release.read_text().replace("runs-on:", "run-on:"))
    result = make(repo, "lint-workflows")
    assert result.returncode != 0 and "release.yml" in result.stdout + result.stderr
