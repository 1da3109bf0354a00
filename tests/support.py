"""Shared test helpers: the spec's top-up bounds, a scratch copy of the repository, and a
tiny loopback HTTP server."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest

    from parallel_account_api.spec_facts import FieldFacts

ROOT = Path(__file__).resolve().parent.parent
# The hand-written documentation: README.md (also the PyPI page), CONTRIBUTING.md, docs/.
DOCS = (ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md")))
# The command line as a user runs it, in a process of its own.
CLI = (sys.executable, "-m", "parallel_account.cli")
# The two faces of every client: the tests parametrized over both take one of these.
FACES = ["sync", "async"]
# openapi.json as it was in November 2026, never updated: the base of the drift and
# spec-workflow tests, whose typed numbers and names must survive adopting a new spec.
FROZEN_SPEC = ROOT / "tests" / "data" / "account-openapi-2026-11.json"


def _bound(value: float | None) -> int:
    assert value is not None, "the spec lost a bound these tests rely on"
    return int(value)


# add_balance's bounds, read from the generated spec facts: never typed in a test, so a
# spec update that moves a bound moves every test with it. Read on first use (the module
# __getattr__ below), never at import: on a spec without add_balance only the test modules
# that use these names fail, not every one that imports this module for ROOT or make().
if TYPE_CHECKING:
    AMOUNT: FieldFacts  # add_balance's amount field
    KEY: FieldFacts  # add_balance's idempotency key field
    LOWEST: int  # the smallest amount the spec allows
    HIGHEST: int  # the largest
    SHORTEST: int  # the shortest idempotency key
    LONGEST: int  # the longest


@functools.cache
def _top_up_bounds() -> dict[str, object]:
    from parallel_account_api.spec_facts import OPERATIONS

    top_up = OPERATIONS.get("add_balance")
    if top_up is None:
        # ImportError, not AttributeError: `from tests.support import LOWEST` (how every test
        # takes them) would replace an AttributeError with a bare "cannot import name"
        raise ImportError(
            "tests.support: the spec has no add_balance operation, whose bounds (AMOUNT, "
            "KEY, LOWEST, HIGHEST, SHORTEST, LONGEST) this test module uses"
        )
    amount = top_up.body_field("amount_cents")
    key = top_up.body_field("idempotency_key")
    return {
        "AMOUNT": amount,
        "KEY": key,
        "LOWEST": (
            _bound(amount.minimum)
            if amount.minimum is not None
            else _bound(amount.exclusive_minimum) + 1
        ),
        "HIGHEST": (
            _bound(amount.maximum)
            if amount.maximum is not None
            else _bound(amount.exclusive_maximum) - 1
        ),
        "SHORTEST": _bound(key.min_length),
        "LONGEST": _bound(key.max_length),
    }


def __getattr__(name: str) -> object:
    if name in {"AMOUNT", "KEY", "LOWEST", "HIGHEST", "SHORTEST", "LONGEST"}:
        return _top_up_bounds()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def add_ungeneratable_endpoint(document: dict[str, Any]) -> None:
    """Add an operation the generator warns on (an array-of-objects header), in place.

    With --fail-on-warning that makes generation fail: the way to test rollbacks.
    """
    document["paths"]["/service/v1/odd"] = {
        "get": {
            "operationId": "odd",
            "parameters": [
                {
                    "name": "x",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "array", "items": {"type": "object"}},
                }
            ],
            "responses": {"200": {"description": "ok"}},
        }
    }


def add_history_endpoint(document: dict[str, Any]) -> None:
    """Add a GET /service/v1/balance/history operation (FastAPI-style id) to a spec, in place."""
    document["paths"]["/service/v1/balance/history"] = {
        "get": {
            "tags": ["Balance"],
            "operationId": "balance_history_service_v1_balance_history_get",
            "summary": "Balance history",
            "responses": {
                "200": {
                    "description": "ok",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/BalanceResponse"}
                        }
                    },
                }
            },
            "security": [{"BearerAuth": []}],
        }
    }


# What a scratch copy needs to run the make targets; .venv (and .venv-zipapp, once `make
# zipapp` made it) is linked, not copied.
REPO_ITEMS = (
    "Makefile",
    "pyproject.toml",
    "requirements-dev.txt",
    "requirements-zipapp.txt",
    "openapi.json",
    "README.md",
    "CONTRIBUTING.md",
    "docs",
    "api.md",
    "codegen",
    "generated",
    "overrides",
    "CHANGELOG.md",
    ".github",
    "package.json",
    "package-lock.json",
)


# What running the suite in a copy needs beyond the build inputs (`scratch_repo(dest,
# SUITE_ITEMS)`).
SUITE_ITEMS = ("tests", "examples", "LICENSE", "MANIFEST.in", ".ci")


def scratch_repo(dest: Path, extra: tuple[str, ...] = ()) -> Path:
    """Copy the repository's build inputs and the `extra` items (names at its top) to `dest`
    (mtimes kept, so make sees .venv current)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in (*REPO_ITEMS, *extra):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, dest / name, ignore=shutil.ignore_patterns("__pycache__", ".*cache")
            )
        elif source.exists():
            shutil.copy2(source, dest / name)
    (dest / ".venv").symlink_to(ROOT / ".venv")
    if (ROOT / ".venv-zipapp").is_dir():
        (dest / ".venv-zipapp").symlink_to(ROOT / ".venv-zipapp")
    # The copy shares this checkout's .venv (and its install stamp). Were its build inputs
    # newer than the stamp, a make there would reinstall the shared venv pointing at the
    # copy, for every test after it: date them back so it never does.
    for name in ("pyproject.toml", "requirements-dev.txt", "requirements-zipapp.txt"):
        if (dest / name).exists():
            os.utime(dest / name, (0, 0))
    # node_modules likewise (openapi-typescript for `make generate`, tsc), where installed.
    if (ROOT / "node_modules").is_dir():
        (dest / "node_modules").symlink_to(ROOT / "node_modules")
    for name in ("package.json", "package-lock.json"):
        if (dest / name).exists():
            os.utime(dest / name, (0, 0))
    return dest


def operation_names(document: dict[str, Any]) -> set[str]:
    """The operations of `document` by the names codegen gives them (curated.toml's keys)."""
    from codegen.naming import operations, with_friendly_names

    return {op["operationId"] for _, _, op in operations(with_friendly_names(document))}


def curated_for(document: dict[str, Any], text: str) -> str:
    """codegen/curated.toml's `text` without the entries for operations `document` lacks.

    curated.toml follows the pinned spec. A copy of the repository put on the frozen spec
    must not keep an entry for a charge added upstream since (generation refuses a
    money-moving entry whose operation is gone, rightly so for the pinned spec).
    """
    names = operation_names(document)
    kept: list[str] = []
    keep = True
    for line in text.splitlines(keepends=True):
        if line.startswith("[operations."):
            keep = line.strip()[len("[operations.") : -1] in names
        elif line.startswith("["):  # another table ([sign_in]): not an operation's entry
            keep = True
        if keep:
            kept.append(line)
    return "".join(kept)


def curated_only_for(monkeypatch: pytest.MonkeyPatch, document: dict[str, Any]) -> None:
    """In this process, codegen reads codegen/curated.toml cut to `document`'s operations
    (as `curated_for` cuts the file of a scratch copy), so `generate.build` of that spec does
    not refuse a curated charge the spec lacks."""
    from codegen import surface

    load = surface.load_curated
    names = operation_names(document)

    def entries_for_document(path: Path = surface.CURATED) -> dict[str, dict[str, Any]]:
        return {name: entry for name, entry in load(path).items() if name in names}

    monkeypatch.setattr(surface, "load_curated", entries_for_document)


def frozen_repo(dest: Path, extra: tuple[str, ...] = ()) -> Path:
    """A scratch copy (`scratch_repo`) on the frozen spec: openapi.json replaced, curated.toml
    cut to its operations (`curated_for`); not generated yet. Returns `dest`."""
    repo = scratch_repo(dest, extra)
    shutil.copy2(FROZEN_SPEC, repo / "openapi.json")
    curated = repo / "codegen" / "curated.toml"
    frozen = json.loads(FROZEN_SPEC.read_text(encoding="utf-8"))
    curated.write_text(curated_for(frozen, curated.read_text(encoding="utf-8")), encoding="utf-8")
    return repo


# Set by a make running these tests (`make test`, or `make spec-update` running it): a
# nested make would take the outer command line's variables (SPEC_URL=..., SPEC_OUTPUTS=...)
# and its level from them.
MAKE_ENV_VARIABLES = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")
# The Makefile exports these to its recipes (so they pass as text, never pasted into a
# command line): a make running these tests hands its own values down.
SPEC_MAKE_VARIABLES = ("SPEC_URL", "FORMAT", "SPEC_REPORT", "SPEC_OUTPUTS")


def clean_make_env() -> dict[str, str]:
    """os.environ without the variables through which a make passes itself to sub-makes.

    That is MAKEFLAGS and its kin, the spec variables the Makefile exports, and each
    variable given on the outer make's command line (`make spec-update SPEC_URL=...`):
    make exports those into the environment too, and lists them after `--` in MAKEFLAGS.
    """
    _, _, assignments = os.environ.get("MAKEFLAGS", "").partition(" -- ")
    given = {word.split("=", 1)[0] for word in assignments.split() if "=" in word}
    dropped = set(MAKE_ENV_VARIABLES) | set(SPEC_MAKE_VARIABLES) | given
    return {k: v for k, v in os.environ.items() if k not in dropped}


# Runs a command with SIGINT's default disposition. A suite started under nohup or as a
# background job ignores SIGINT, and its children inherit that through exec (a Python child
# then never raises KeyboardInterrupt): a test that interrupts a child starts it this way,
# as a shell starts a foreground command. An exec wrapper, not preexec_fn: that runs Python
# in the forked child, unsafe while the test's server threads run.
_WITH_DEFAULT_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execvp(sys.argv[1], sys.argv[1:])"
)


def interruptible(argv: Sequence[str]) -> list[str]:
    """`argv` run with SIGINT at its default disposition, whatever this process has."""
    return [sys.executable, "-I", "-S", "-c", _WITH_DEFAULT_SIGINT, *argv]


@contextlib.contextmanager
def child(argv: Sequence[str], **popen: Any) -> Iterator[subprocess.Popen[str]]:
    """Start `argv` (text mode, SIGINT at its default, see `interruptible`); on leaving,
    kill it if it is still running and reap it, whatever happened: never left behind."""
    process = subprocess.Popen(interruptible(argv), text=True, **popen)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def own_packages(repo: Path) -> str:
    """A PYTHONPATH under which Python imports a copy's packages: the .venv it links to has
    this checkout's installed (editable), as a clean clone's own .venv would have its own."""
    return f"{repo / 'generated'}{os.pathsep}{repo / 'overrides'}"


def make(
    repo: Path,
    *args: str,
    timeout: float = 120,
    quiet: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`make ARGS` in `repo`, as if typed at a shell (SIGINT at its default, so a test can
    interrupt it), with `env` over the environment; quiet adds --no-print-directory -s."""
    return subprocess.run(
        interruptible(["make", *(("--no-print-directory", "-s") if quiet else ()), *args]),
        cwd=repo,
        env={**clean_make_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_workflow_step(
    step: dict[str, Any], tmp_path: Path, *, gh: str, env: dict[str, str], cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """Run a GitHub workflow step's script as the runner does (bash -e), with its `env:` and
    `env`, and a fake `gh` on PATH that logs its arguments to tmp_path/gh.log, then runs the
    bash in `gh` (to answer or fail as a test needs)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "gh"
    fake.write_text(f'#!/bin/bash\nprintf "%s\\n" "$*" >> "$GH_LOG"\n{gh}\n')
    fake.chmod(0o755)
    full_env = {
        **os.environ,
        **{key: str(value) for key, value in step.get("env", {}).items()},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GH_LOG": str(tmp_path / "gh.log"),
        **env,
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-c", step["run"]],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under root, by relative path (to prove a tree is byte-identical)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


@contextlib.contextmanager
def serve(routes: dict[str, Handler]) -> Iterator[str]:
    """Serve `routes` (path -> handler writing the whole answer) on 127.0.0.1; yield the base URL."""

    class _Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            handler = routes.get(self.path)
            if handler is None:
                self.send_error(404)
                return
            handler(self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def answer(status: int, body: bytes, content_type: str = "application/json") -> Handler:
    def handle(request: http.server.BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return handle
