"""The release a service pins (issue 12): LICENSE, `--version`, README's pins, `make dist`.

The slow test builds the release twice, in two scratch copies that differ in path,
file times and how the sources are found (a git checkout, and an exported tree given
the same SOURCE_DATE_EPOCH), and requires the same bytes; then installs the wheel in a
fresh virtualenv and runs it there.
"""

from __future__ import annotations

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

import pytest

import parallel_account
from parallel_account.cli._parser import version_line
from parallel_account_api.spec_facts import OPERATIONS
from tests.support import ROOT, clean_make_env, scratch_repo

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


def test_readme_pins_only_the_current_version() -> None:
    """Every concrete version README pins is this one: a bump cannot leave a stale pin behind."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pinned = re.findall(rf"{re.escape(DISTRIBUTION)}==({VERSION_TEXT})", readme)
    pinned += re.findall(rf"/releases/download/v({VERSION_TEXT})/", readme)
    pinned += re.findall(rf"@v({VERSION_TEXT})\b", readme)
    pinned += re.findall(rf"parallel_account_client-({VERSION_TEXT})-py3", readme)
    assert set(pinned) <= {parallel_account.__version__}, pinned
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
    (repo / ".gitignore").write_text(".venv\n", encoding="utf-8")
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
    assert sorted(files) == sorted([sdist.name, wheel.name])  # the stale one is gone

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
        for name in data_files:
            assert f"{package}/{name}" in listed, (package, name)
    assert metadata["Version"] == version
    assert metadata["License-Expression"] == PYPROJECT["project"]["license"]
    assert metadata.get_all("License-File") == PYPROJECT["project"]["license-files"]
    assert shipped_license == (ROOT / "LICENSE").read_bytes()
    assert shipped_spec == (ROOT / "openapi.json").read_bytes()

    # The release workflow's own smoke test: fresh venv, wheel alone, mock-server + balance.
    fresh = tmp_path / "fresh"
    smoke = subprocess.run(
        ["bash", str(ROOT / ".ci" / "smoke-wheel"), str(wheel), str(fresh)],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")},
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
    assert set(answer) == {f.name for f in OPERATIONS["get_balance"].response_fields}

    where = subprocess.run(
        [str(fresh / "bin" / "python"), "-c", "import parallel_account as p; print(p.__file__)"],
        cwd=tmp_path,  # not the checkout: nothing may be imported from it
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(fresh)
