"""Build the release files, sdist and wheel, the same bytes every time: `make dist`.

`python -m codegen.dist [--out DIR]` (run from the repository root):

1. Clock: `SOURCE_DATE_EPOCH` from the environment if set; else the committer time of
   the last git commit (`git log -1 --format=%ct`); outside a git checkout (an
   exported tree) the fixed 315532800, 1980-01-01T00:00:00Z, the earliest time a
   wheel (a zip) can hold. Every timestamp in both files is that time.
2. Stage: the files git knows (tracked, plus untracked ones not ignored; outside git,
   the tree without caches, virtualenvs, node_modules and build output) are copied to
   a fresh temporary directory, with modes normalised to 0644 / 0755. So nothing
   stale (an old `build/`, an `*.egg-info` whose SOURCES.txt setuptools would read
   back, `__pycache__`, `.ruff_cache`) and no umask can reach the files.
3. Build: `python -m build` (pinned in requirements-dev.txt; setuptools pinned in
   pyproject's build-system) makes the sdist, then the wheel from that sdist, so the
   sdist provably holds everything the wheel needs. setuptools writes the wheel
   reproducibly under SOURCE_DATE_EPOCH, but not the sdist: it keeps the files'
   mtimes, owners and the gzip header's build time.
4. Normalise the sdist: members sorted by name, mtime the epoch, owner 0/0 with
   no names, modes 0644 (0755 for directories and executables), gzip level 9
   with the epoch as its mtime and no file name in its header.
5. Replace the `*.tar.gz` and `*.whl` files in the output directory (default
   `dist/`) with the new ones. Other files there are left alone (other targets put
   their own release files in `dist/`).

Exit status 0 on success; 1 with one line on stderr when a step fails.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

# 1980-01-01T00:00:00Z: the earliest time a zip entry can carry.
FALLBACK_EPOCH: Final = 315_532_800
RELEASE_SUFFIXES: Final = (".tar.gz", ".whl")
# Outside git: what is never source (caches, environments, build output, VCS data).
NOT_SOURCE: Final = frozenset(
    {
        ".git",
        ".venv",
        ".venv-zipapp",
        "node_modules",
        "dist",
        "build",
        "__pycache__",
        ".ruff_cache",
        ".mypy_cache",
        ".pytest_cache",
        ".bench",
    }
)


class DistError(Exception):
    """A step failed; the message is one line for a human."""


def source_date_epoch(root: Path) -> int:
    """The time every file in the release carries (see the module docstring)."""
    given = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if given:
        if not given.isdigit():
            raise DistError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, got {given!r}")
        return max(int(given), FALLBACK_EPOCH)
    if _in_git(root):
        done = _git(root, "log", "-1", "--format=%ct")
        if done.strip().isdigit():
            return max(int(done.strip()), FALLBACK_EPOCH)
    return FALLBACK_EPOCH


def _in_git(root: Path) -> bool:
    try:
        return _git(root, "rev-parse", "--show-toplevel").strip() == str(root.resolve())
    except DistError:
        return False


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise DistError(f"git {' '.join(args)} failed in {root}: {exc}") from exc
    return done.stdout


def source_files(root: Path) -> list[Path]:
    """The repository's files (relative paths) that go into the staging copy."""
    if _in_git(root):
        listed = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
        names = sorted({name for name in listed.split("\0") if name})
        # --cached still lists a tracked file deleted in the work tree.
        return [Path(name) for name in names if (root / name).is_file()]
    return sorted(_walk(root, Path()))


def _walk(root: Path, relative: Path) -> Iterator[Path]:
    for entry in os.scandir(root / relative):
        if entry.name in NOT_SOURCE or entry.name.endswith(".egg-info"):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(root, relative / entry.name)
        elif entry.is_file(follow_symlinks=False):
            yield relative / entry.name


def _mode(executable: bool) -> int:
    return 0o755 if executable else 0o644


def stage(root: Path, files: list[Path], into: Path) -> None:
    """Copy `files` from `root` to `into` with normalised modes."""
    for relative in files:
        source, target = root / relative, into / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        target.chmod(_mode(bool(source.stat().st_mode & stat.S_IXUSR)))
    for directory, _, _ in os.walk(into):
        Path(directory).chmod(0o755)


def build(staged: Path, out: Path, epoch: int) -> None:
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch), "PYTHONHASHSEED": "0"}
    command = [sys.executable, "-m", "build", "--outdir", str(out), str(staged)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise DistError(f"python -m build failed with exit status {done.returncode}")


def normalise_sdist(path: Path, epoch: int) -> None:
    """Rewrite the sdist at `path` so its bytes depend only on its files' names and contents."""
    with tarfile.open(path, "r:gz") as source:
        members = sorted(source.getmembers(), key=lambda member: member.name)
        contents = {
            member.name: source.extractfile(member).read()  # type: ignore[union-attr]
            for member in members
            if member.isfile()
        }
    raw = io.BytesIO()
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=epoch) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as target,
    ):
        for member in members:
            if not (member.isfile() or member.isdir()):
                raise DistError(f"{path.name}: {member.name} is neither a file nor a directory")
            clean = tarfile.TarInfo(member.name)
            clean.type = member.type
            clean.mtime = epoch
            clean.uid = clean.gid = 0
            clean.uname = clean.gname = ""
            clean.mode = _mode(member.isdir() or bool(member.mode & stat.S_IXUSR))
            data = contents.get(member.name)
            clean.size = len(data) if data is not None else 0
            target.addfile(clean, io.BytesIO(data) if data is not None else None)
    path.write_bytes(raw.getvalue())


def release(root: Path, out: Path) -> list[Path]:
    """Build both files into `out`; returns their paths."""
    epoch = source_date_epoch(root)
    files = source_files(root)
    with tempfile.TemporaryDirectory(prefix="parallel-account-dist-") as scratch:
        staged, built = Path(scratch) / "src", Path(scratch) / "dist"
        stage(root, files, staged)
        build(staged, built, epoch)
        made = sorted(built.iterdir())
        if sorted(p.name.endswith(RELEASE_SUFFIXES) for p in made) != [True, True]:
            raise DistError(f"expected one sdist and one wheel, got {[p.name for p in made]}")
        for path in made:
            if path.name.endswith(".tar.gz"):
                normalise_sdist(path, epoch)
        out.mkdir(parents=True, exist_ok=True)
        for old in out.iterdir():
            if old.name.endswith(RELEASE_SUFFIXES):
                old.unlink()
        for path in made:
            shutil.copyfile(path, out / path.name)
    return [out / path.name for path in made]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codegen.dist", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--out", type=Path, default=Path("dist"), help="output directory (default dist/)"
    )
    args = parser.parse_args(argv)
    try:
        made = release(Path.cwd(), args.out)
    except DistError as exc:
        print(f"codegen.dist: error: {exc}", file=sys.stderr)
        return 1
    for path in made:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
