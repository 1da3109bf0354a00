"""The zipapp (`make zipapp`): reproducible, complete, and runnable with nothing installed;
driven from Node.js as a team in another language would."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from codegen import zipapp
from parallel_account.conformance import load_all
from tests.support import FROZEN_SPEC, ROOT, make

NODE_TEST = ROOT / "tests" / "node" / "zipapp.test.mjs"


@pytest.fixture(scope="module")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return zipapp.build(tmp_path_factory.mktemp("zipapp") / "parallel-account-mock.pyz")


def _isolated(pyz: Path) -> list[str]:
    """Run the zipapp with this interpreter, but without site-packages (-S) or the environment
    and the current directory (-I): only what is inside the archive can be imported."""
    return [sys.executable, "-I", "-S", str(pyz)]


def test_two_builds_give_the_same_bytes(pyz: Path, tmp_path: Path) -> None:
    again = zipapp.build(tmp_path / "again.pyz")
    assert again.read_bytes() == pyz.read_bytes()


def test_the_archive_holds_the_wheel_s_files_and_no_bytecode(pyz: Path) -> None:
    with zipfile.ZipFile(pyz) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert {info.date_time for info in infos} == {zipapp.FIXED_TIME}
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]
    for needed in (
        "__main__.py",
        "parallel_account_api/facts.json",
        "parallel_account_api/openapi.json",
        "parallel_account/schemas/control-api.json",
        "parallel_account/schemas/facts.schema.json",
        "parallel_account/conformance/scenarios/top_up_answer_lost_charged_once.json",
        "httpx/__init__.py",
    ):
        assert needed in names
    assert pyz.read_bytes().startswith(zipapp.SHEBANG)
    assert os.access(pyz, os.X_OK)


def _pins() -> dict[str, str]:
    lines = (ROOT / "requirements-zipapp.txt").read_text(encoding="utf-8").splitlines()
    pairs = [line.split("==") for line in lines if line and not line.startswith("#")]
    return {_normalised(name): version for name, version in pairs}


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_pins_are_the_runtime_closure_at_the_versions_tested() -> None:
    """requirements-zipapp.txt is what pyproject.toml's dependencies need (and packaging, to
    read them), at the versions installed in the venv the tests run in."""
    installed = {_normalised(d.metadata["Name"]): d.version for d in zipapp.runtime_distributions()}
    installed["packaging"] = metadata.version("packaging")
    assert _pins() == installed


def test_make_zipapp_does_not_build_the_development_venv() -> None:
    """`make -n -B zipapp`: every step it would run, its prerequisites' included."""
    done = make(ROOT, "--no-print-directory", "-n", "-B", "zipapp", quiet=False, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "requirements-zipapp.txt" in done.stdout
    assert "requirements-dev.txt" not in done.stdout
    assert ".venv/" not in done.stdout.replace(".venv-zipapp/", "")


@pytest.mark.slow
def test_it_builds_from_the_runtime_dependencies_alone(pyz: Path, tmp_path: Path) -> None:
    """Only the pinned distributions on the path (-I -S: no site-packages), and the same bytes."""
    site = tmp_path / "site"
    for distribution in [*zipapp.runtime_distributions(), metadata.distribution("packaging")]:
        for entry in distribution.files or []:
            if entry.as_posix().startswith(".."):
                continue
            target = site / entry
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(str(distribution.locate_file(entry)), target)
    out = tmp_path / "alone.pyz"
    script = (
        "import sys; sys.path[:0] = sys.argv[1:3]; import codegen.zipapp as z; "
        "z.main(['--output', sys.argv[3]]); "
        "assert not [m for m in sys.modules if m.split('.')[0] in "
        "('jinja2', 'mypy', 'schemathesis', 'openapi_python_client', 'ruff')]"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script, str(ROOT), str(site), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == pyz.read_bytes()


def test_it_runs_with_nothing_installed(pyz: Path) -> None:
    done = subprocess.run(
        [*_isolated(pyz), "conformance", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    listed = [s["name"] for s in json.loads(done.stdout)["scenarios"]]
    assert listed == [s.name for s in load_all()]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_its_drift_report_is_the_checkouts(pyz: Path, tmp_path: Path, fmt: str) -> None:
    # A breaking change: the frozen spec's first path removed.
    old = json.loads(FROZEN_SPEC.read_text(encoding="utf-8"))
    new = json.loads(FROZEN_SPEC.read_text(encoding="utf-8"))
    del new["paths"][sorted(new["paths"])[0]]
    files = tmp_path / "old.json", tmp_path / "new.json"
    for path, doc in zip(files, (old, new), strict=True):
        path.write_text(json.dumps(doc), encoding="utf-8")
    args = ["diff", str(files[0]), str(files[1]), "--format", fmt]
    packed = subprocess.run(
        [*_isolated(pyz), "spec", *args],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    build = subprocess.run(
        [sys.executable, "-m", "parallel_account_drift", *args],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
    )  # fmt: skip
    assert (packed.returncode, packed.stdout) == (build.returncode, build.stdout), packed.stderr
    assert packed.returncode == 2  # breaking


@pytest.mark.slow
def test_node_drives_the_zipapp_fake_through_its_control_api(node: str, pyz: Path) -> None:
    done = subprocess.run(
        [node, "--test", str(NODE_TEST)],
        env={**os.environ, "ZIPAPP_COMMAND": json.dumps(_isolated(pyz))},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# pass 1" in done.stdout
    assert "# fail 0" in done.stdout


def test_the_docs_say_where_a_release_s_zipapp_is() -> None:
    section = (ROOT / "docs" / "other-languages.md").read_text(encoding="utf-8")
    name = zipapp.DEFAULT_OUTPUT.name
    assert f"/releases/download/vX.Y.Z/{name}" in section
    assert "requirements-zipapp.txt" in section
