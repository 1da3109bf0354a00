"""What reaches the spec workflows from outside: make variables and redirects.

- A `SPEC_URL` (or FORMAT, SPEC_REPORT, SPEC_OUTPUTS) holding shell or make syntax is
  passed as text: the Makefile hands it to the recipe through the environment.
- Fetching the spec follows a redirect only on the same host, never from https to http.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from parallel_account_drift import spec_file
from parallel_account_drift.errors import SpecError

from tests.support import ROOT, answer, make, serve

# Frozen or hand-made specs only: run once, not again on the superset (make unit-superset).
pytestmark = pytest.mark.spec_independent

HOSTILE_VALUES = [
    '"; touch MARK; "',
    "'; touch MARK; '",
    "$(shell touch MARK)",
    "`touch MARK`",
    "$$(touch MARK)",
    'x\\"; touch MARK; #',
]


@pytest.fixture
def make_dir(tmp_path: Path) -> Path:
    """The Makefile alone, with a stand-in .venv/bin/python that records its arguments."""
    shutil.copy2(ROOT / "Makefile", tmp_path / "Makefile")
    for name in ("requirements-dev.txt", "requirements-zipapp.txt", "pyproject.toml"):
        (tmp_path / name).write_text("")
        os.utime(tmp_path / name, (0, 0))
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    stub = bin_dir / "python"
    stub.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        "with open('argv.json', 'a') as f: f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
    )
    stub.chmod(0o755)
    (tmp_path / ".venv" / ".installed").write_text("")
    return tmp_path


def _recorded(make_dir: Path) -> list[list[str]]:
    lines = (make_dir / "argv.json").read_text().splitlines()
    return [json.loads(line) for line in lines]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
@pytest.mark.parametrize("passed", ["command line", "environment"])
def test_make_passes_spec_variables_as_text(make_dir: Path, value: str, passed: str) -> None:
    variables = {"SPEC_URL": value, "FORMAT": value, "SPEC_REPORT": value, "SPEC_OUTPUTS": value}
    in_env = variables if passed == "environment" else {}
    args = [] if in_env else [f"{name}={text}" for name, text in variables.items()]
    for target in ("spec", "spec-check", "spec-update"):
        done = make(make_dir, target, *args, env=in_env, timeout=60)
        assert done.returncode == 0, done.stderr
    assert not (make_dir / "MARK").exists()
    assert _recorded(make_dir) == [
        ["-m", "codegen.spec", "fetch", value, "openapi.json"],
        ["-m", "codegen.workflow", "check", value, "--format", value],
        ["-m", "codegen.workflow", "update", value, "--report", value, "--outputs", value],
    ]


def test_make_keeps_the_default_spec_url(make_dir: Path) -> None:
    assert make(make_dir, "spec").returncode == 0
    assert _recorded(make_dir) == [
        ["-m", "codegen.spec", "fetch", spec_file.LIVE_SPEC_URL, "openapi.json"]
    ]


# ---------------------------------------------------------------- redirects


def _redirect(location: str, status: int = 302) -> Any:
    def handle(request: http.server.BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        request.send_header("Location", location)
        request.send_header("Content-Length", "0")
        request.end_headers()

    return handle


SPEC_BODY = b'{"openapi": "3.1.0"}'


def test_a_redirect_on_the_same_host_is_followed() -> None:
    routes = {"/old": _redirect("/new", 301), "/new": answer(200, SPEC_BODY)}
    with serve(routes) as base:
        body, _ = spec_file.read_url(f"{base}/old")
    assert body == SPEC_BODY


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_host_is_refused_naming_both(status: int) -> None:
    with serve({"/spec": answer(200, SPEC_BODY)}) as other:
        # 127.0.0.1 and localhost are one machine but two hosts to a URL.
        elsewhere = other.replace("127.0.0.1", "localhost") + "/spec"
        with (
            serve({"/old": _redirect(elsewhere, status)}) as base,
            pytest.raises(SpecError) as caught,
        ):
            spec_file.read_url(f"{base}/old")
    message = str(caught.value)
    assert message.startswith(f"{base}/old: refused a redirect to {elsewhere}")
    assert "another host" in message and "\n" not in message


def test_a_redirect_from_https_to_http_is_refused() -> None:
    refusal = spec_file.redirect_refusal("https://api.example.test/a", "http://api.example.test/b")
    assert refusal is not None and "https to http" in refusal
    assert spec_file.redirect_refusal("http://h.test/a", "https://h.test/b") is None
    assert spec_file.redirect_refusal("https://h.test/a", "https://h.test:8443/b") is not None
    assert spec_file.redirect_refusal("https://h.test/a", "file:///etc/passwd") is not None


def test_codegen_spec_fetch_refuses_the_redirect_too() -> None:
    from codegen import spec

    with serve({"/spec": answer(200, SPEC_BODY)}) as other:
        elsewhere = other.replace("127.0.0.1", "localhost") + "/spec"
        with (
            serve({"/old": _redirect(elsewhere)}) as base,
            pytest.raises(SpecError, match="refused a redirect"),
        ):
            spec.fetch(f"{base}/old")
