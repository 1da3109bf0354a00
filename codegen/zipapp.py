"""Build `dist/parallel-account-mock.pyz`: the `parallel-account` CLI in one file, for teams
without Python tooling (`python3 parallel-account-mock.pyz mock-server`, `conformance ...`).

    python -m codegen.zipapp [--output PATH]

Why the standard library's zip application format, not shiv or pex: every runtime
dependency (httpx, its pure-Python stack, attrs, python-dateutil, filelock) runs
from a zip file as it is, so nothing needs unpacking; shiv unpacks into
`~/.shiv` on first run (writing to a home directory a CI container may not have)
and pex would be one more pinned build tool. The archive is written here rather
than by `zipapp.create_archive` so it is reproducible: entries sorted, every
timestamp 1980-01-01, fixed permissions, no bytecode, so two builds of the same
tree give the same bytes.

What goes in: the two packages exactly as the wheel has them (the package roots,
`include` patterns and package-data globs of pyproject.toml), read from the
checkout (generated/ is committed: the generator does not run), and the files of
each runtime dependency and of their dependencies, as installed in the
interpreter running this, read from their installation records. Nothing is
downloaded here.

`make zipapp` runs this in `.venv-zipapp`, a venv holding only
`requirements-zipapp.txt`: the runtime dependencies pinned exactly (the versions
the development venv installs too, so the tests ran on them) and `packaging`, to
read their metadata. Building needs neither the development tools nor the
generator, only the standard library, `packaging` and the files it packs.
"""

from __future__ import annotations

import argparse
import fnmatch
import io
import os
import sys
import tempfile
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "dist" / "parallel-account-mock.pyz"
SHEBANG = b"#!/usr/bin/env python3\n"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip entry can carry
MAIN = '''\
"""`python3 parallel-account-mock.pyz COMMAND ...`: the parallel-account command line."""

import sys

if sys.version_info < (3, 11):
    sys.exit("parallel-account-mock.pyz needs Python 3.11 or later")

from parallel_account.cli import main

sys.exit(main())
'''
# Installer bookkeeping in .dist-info: differs between installs, not needed to run.
_INSTALL_RECORDS = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))


def project_files() -> dict[str, bytes]:
    """Archive name -> content of the project's own packages, as the wheel selects them."""
    setuptools = _pyproject()["tool"]["setuptools"]  # type: ignore[index]
    found = setuptools["packages"]["find"]
    package_data: dict[str, list[str]] = setuptools["package-data"]
    files: dict[str, bytes] = {}
    for where in found["where"]:
        base = ROOT / where
        for init in sorted(base.rglob("__init__.py")):
            package_dir = init.parent
            name = ".".join(package_dir.relative_to(base).parts)
            if not any(fnmatch.fnmatch(name, pattern) for pattern in found["include"]):
                continue
            patterns = ["*.py", *package_data.get(name, [])]
            for pattern in patterns:
                for path in package_dir.glob(pattern):
                    if path.is_file() and "__pycache__" not in path.parts:
                        files[path.relative_to(base).as_posix()] = path.read_bytes()
    return files


def _closure(names: list[str]) -> list[metadata.Distribution]:
    """These distributions and everything they need at run time (no extras), installed here."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [Requirement(name) for name in names]
    while todo:
        requirement = todo.pop()
        key = requirement.name.lower().replace("_", "-")
        if key in seen or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
            continue
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            raise SystemExit(
                f"zipapp: {requirement.name} is not installed in {sys.prefix}; "
                "`make zipapp` installs requirements-zipapp.txt first"
            ) from None
        seen[key] = distribution
        todo += [Requirement(text) for text in distribution.requires or []]
    return [seen[key] for key in sorted(seen)]


def runtime_distributions() -> list[metadata.Distribution]:
    """pyproject.toml's runtime dependencies and all they need, as installed here."""
    runtime: list[str] = _pyproject()["project"]["dependencies"]  # type: ignore[index]
    return _closure(runtime)


def dependency_files() -> dict[str, bytes]:
    """Archive name -> content of every runtime dependency's installed files."""
    files: dict[str, bytes] = {}
    for distribution in runtime_distributions():
        for entry in distribution.files or []:
            name = entry.as_posix()
            if (
                name.startswith("..")  # console scripts in bin/
                or "__pycache__" in entry.parts
                or name.endswith(".pyc")
                or (entry.parent.name.endswith(".dist-info") and entry.name in _INSTALL_RECORDS)
            ):
                continue
            files[name] = Path(str(distribution.locate_file(entry))).read_bytes()
    return files


def archive_bytes(files: dict[str, bytes]) -> bytes:
    """The zip application: the shebang, then every file in name order with fixed metadata."""
    buffer = io.BytesIO()
    buffer.write(SHEBANG)
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix, whichever system builds it
            archive.writestr(info, files[name], compresslevel=9)
    return buffer.getvalue()


def build(output: Path) -> Path:
    files = {**dependency_files(), **project_files(), "__main__.py": MAIN.encode()}
    data = archive_bytes(files)
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=output.parent, prefix=".pyz-")
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
    os.chmod(temporary, 0o755)  # noqa: S103 (an executable for everyone, as any installed script)
    os.replace(temporary, output)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codegen.zipapp", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="default: %(default)s")
    args = parser.parse_args(argv)
    output = build(args.output)
    print(f"zipapp: {output} ({output.stat().st_size} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
