"""Shared fixtures. Keep each one small; helpers with more logic live in their own module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import prism
from tests.fake_platform import FakeClock
from tests.support import ROOT, frozen_repo, make


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def prism_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a Prism contract mock serving openapi.json, shared by the whole session.

    Skipped where Node or Prism is missing, except under CI (`CI` set), where a
    skipped contract test would look green: there it fails instead.
    """
    reason = prism.unavailable()
    if reason is not None:
        if running_in_ci():
            pytest.fail(f"{reason} (CI is set: the Prism contract tests must run)", pytrace=False)
        pytest.skip(reason)
    with prism.running(ROOT / "openapi.json", tmp_path_factory.mktemp("prism")) as url:
        yield url


@pytest.fixture(scope="session")
def node() -> str:
    """The `node` executable (Node.js 18+, for fetch). Skipped where missing, failed under CI."""
    import shutil
    import subprocess

    found = shutil.which("node")
    version = ""
    if found:
        version = subprocess.run(
            [found, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.strip()
    if not found or not version.startswith("v") or int(version[1:].split(".")[0]) < 18:
        reason = f"Node.js 18 or later is needed (found: {version or 'none'})"
        if running_in_ci():
            pytest.fail(f"{reason} (CI is set: the Node.js tests must run)", pytrace=False)
        pytest.skip(reason)
    return found


@pytest.fixture(autouse=True)
def _package_logger_restored() -> Iterator[None]:
    """Each test starts with the package logger as the library leaves it.

    Tests that run the command line in-process (`cli.run`) install its stderr handler and
    level on the `parallel_account` logger; left there, the handler writes to a captured
    stream pytest has closed, and the WARNING level hides the DEBUG lines a later test
    reads through caplog, so results depended on test order.
    """
    from parallel_account._logging import logger

    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


@pytest.fixture
def sign_in_isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A temporary HOME and XDG_CONFIG_HOME, and no token, profile or platform from the shell.

    The sign-in tests use it for every test (`pytestmark`): never the real ~/.config.
    """
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in ("PARALLEL_ACCOUNT_PROFILE", "PARALLEL_ACCOUNT_TOKEN", "PARALLEL_PLATFORM_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def clock() -> FakeClock:
    """A clock the sign-in tests move by hand (FakeClock): no test waits for real time."""
    return FakeClock()


@pytest.fixture(scope="session")
def base_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch copy of the repository on the frozen spec, generated/ made from it (tests
    that change it work on a copy of their own)."""
    repo = frozen_repo(tmp_path_factory.mktemp("base") / "repo")
    generated = make(repo, "generate")
    assert generated.returncode == 0, generated.stdout + generated.stderr
    return repo
