"""`parallel-account mock-server` as a team in another language starts it: the start line
(text, or one JSON line with --json), the default token named, a busy port explained, one log
line per request (--log-format), and the spec where the live API has it (`spec check`)."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from parallel_account.testing import DEFAULT_TOKEN
from parallel_account_api.spec_facts import OPERATIONS
from tests.support import CLI, LOWEST, ROOT, SHORTEST, child

KEY = "log-key-".ljust(SHORTEST, "1")  # within the spec's lengths


@contextlib.contextmanager
def mock_server(*argv: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The mock in a process of its own (`child`: SIGINT at its default, never left running)
    and its first stdout line; stopped (SIGINT) on exit."""
    with child([*CLI, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        try:
            assert proc.stdout is not None
            yield proc, proc.stdout.readline()
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=30)


@pytest.mark.parametrize(
    "argv",
    [
        ("--json", "mock-server", "--token", "json-token"),
        ("mock-server", "--json", "--token", "json-token"),
    ],
)
def test_json_start_line_names_the_urls_the_token_and_the_pid(argv: tuple[str, ...]) -> None:
    with mock_server(*argv) as (proc, line):
        started = json.loads(line)
        assert set(started) == {"base_url", "control_url", "spec_url", "token", "pid"}
        assert (started["token"], started["pid"]) == ("json-token", proc.pid)
        base = started["base_url"]
        assert base.startswith("http://127.0.0.1:")
        assert started["control_url"] == base.removesuffix(urlsplit(base).path) + "/__fake/"
        assert started["spec_url"] == base + "/service/openapi.json"
        assert httpx.get(started["spec_url"]).json()["paths"]
        assert httpx.get(started["control_url"] + "health").json()["pid"] == proc.pid
    assert proc.returncode == 0


def test_the_python_module_prints_the_same_json_line() -> None:
    command = [sys.executable, "-m", "parallel_account.testing", "--json"]
    with child(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        started = json.loads(proc.stdout.readline())
        assert (started["token"], started["pid"]) == (DEFAULT_TOKEN, proc.pid)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_help_and_the_docs_name_the_default_token() -> None:
    done = subprocess.run(
        [*CLI, "mock-server", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    assert DEFAULT_TOKEN in done.stdout
    assert "--log-format" in done.stdout
    section = (ROOT / "docs" / "other-languages.md").read_text(encoding="utf-8")
    prose = "".join(section.split("```")[::2])  # in prose, not only inside the JS example
    assert f"`{DEFAULT_TOKEN}`" in prose


@pytest.mark.parametrize("json_mode", [False, True])
def test_a_busy_port_names_it_and_suggests_leaving_it_out(json_mode: bool) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*CLI, *(["--json"] if json_mode else []), "mock-server", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    message = json.loads(done.stdout)["error"]["message"] if json_mode else done.stderr
    assert f"--port {port}" in message
    assert "in use" in message
    assert "leave --port out" in message
    assert "OSError" not in message and "Errno" not in message


def _top_up_lost_then_retried(base_url: str, token: str) -> tuple[str, str]:
    """A top-up whose answer is lost after the charge, retried with its key; then a balance."""
    root = base_url.removesuffix(urlsplit(base_url).path)
    drop = {"operation": "add_balance", "after_commit": True}
    httpx.post(root + "/__fake/faults/drop_next", json=drop).raise_for_status()
    path = base_url + OPERATIONS["add_balance"].path
    body = {"amount_cents": LOWEST, "idempotency_key": KEY}
    auth = {"authorization": f"Bearer {token}"}
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(path, json=body, headers=auth)
    httpx.post(path, json=body, headers=auth).raise_for_status()
    httpx.get(base_url + OPERATIONS["get_balance"].path, headers=auth).raise_for_status()
    return path, urlsplit(path).path


def test_json_log_has_one_line_per_request_with_its_fault() -> None:
    with mock_server("mock-server", "--log-format", "json") as (proc, line):
        _, path = _top_up_lost_then_retried(line.strip(), DEFAULT_TOKEN)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    lines: list[dict[str, Any]] = [json.loads(text) for text in stderr.splitlines()]
    api = [entry for entry in lines if entry["operation"] is not None]
    assert [
        (e["method"], e["path"], e["operation"], e["status"], e["idempotency_key"], e["fault"])
        for e in api
    ] == [
        ("POST", path, "add_balance", None, KEY, "drop_after_commit"),
        ("POST", path, "add_balance", 200, KEY, None),
        ("GET", urlsplit(path).path.replace(OPERATIONS["add_balance"].path, "")
         + OPERATIONS["get_balance"].path, "get_balance", 200, None, None),
    ]  # fmt: skip
    control = [entry for entry in lines if entry["operation"] is None]
    assert [(e["method"], e["path"]) for e in control] == [("POST", "/__fake/faults/drop_next")]
    assert DEFAULT_TOKEN not in stderr


def test_verbose_text_log_has_one_line_per_request_and_shows_the_drop() -> None:
    with mock_server("-v", "mock-server") as (proc, line):
        _, path = _top_up_lost_then_retried(line.strip(), DEFAULT_TOKEN)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    top_ups = [text for text in stderr.splitlines() if path in text]
    assert len(top_ups) == 2, stderr
    assert "200" not in top_ups[0]
    assert "drop_after_commit" in top_ups[0]
    assert KEY in top_ups[0]
    assert top_ups[1].endswith(f"-> 200, idempotency key {KEY!r}"), top_ups[1]


def test_spec_check_against_the_mock_finds_no_drift() -> None:
    """`spec check URL` reads the mock's spec from the live API's path: the pinned spec itself."""
    with mock_server("mock-server") as (_, line):
        base_url = line.strip()
        done = subprocess.run(
            [*CLI, "spec", "check", base_url + "/service/openapi.json", "--format", "json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["changes"] == []


# --- the two entry points take the same options ------------------------------------------------

ACCEPTED = [
    (),
    ("--port", "0"),
    ("--port", "65535"),
    ("--host", "::1", "--token", "t", "--log-format", "json"),
    ("--host", "[::1]", "--log-format", "text"),
    ("--host", "192.0.2.1", "--allow-remote"),
]
REFUSED = [
    ("--port", "-1"),  # int() took it; the bind then failed with OverflowError, not a message
    ("--port", "65536"),
    ("--port", "1e3"),
    ("--port", "x" * 50),
    ("--host", "192.0.2.1"),  # not loopback, and no --allow-remote
    ("--log-format", "xml"),
    ("--token",),
    ("--token", "t" * 10_001),  # too long for any command line of this package
    ("--host", "127.0.0.\udcff"),  # not UTF-8: a lone surrogate
    ("--bogus",),
]


def _shown(argv: tuple[str, ...]) -> str:
    return " ".join(argv)[:40]


def _entry_points(
    argv: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> dict[str, tuple[dict[str, Any] | None, str]]:
    """What `parallel-account mock-server ARGV` and `python -m parallel_account.testing ARGV`
    each would serve (serve()'s arguments, None if it was not called) and their error line."""
    import parallel_account.cli
    import parallel_account.testing
    import parallel_account.testing._main

    served: list[dict[str, Any]] = []

    def serve(**kwargs: Any) -> int:
        kwargs.pop("out", None)  # where the start line goes: the CLI's own stdout
        served.append(kwargs)
        return 0

    # Under both names an entry point could call it by: neither ever really serves here.
    monkeypatch.setattr(parallel_account.testing, "serve", serve)
    monkeypatch.setattr(parallel_account.testing._main, "serve", serve)
    entry_points: dict[str, Callable[[], int]] = {
        "cli": lambda: parallel_account.cli.main(["mock-server", *argv]),
        "module": lambda: parallel_account.testing.main(list(argv)),
    }
    found: dict[str, tuple[dict[str, Any] | None, str]] = {}
    for name, run in entry_points.items():
        served.clear()
        status: int | str | None
        try:
            status = run()
        except SystemExit as exc:  # argparse's own error(), in the module
            status = exc.code
        lines = capsys.readouterr().err.strip().splitlines()
        # Each says it its own way: `parallel-account: error: M (see ...)` after usage lines
        # or not; what is compared is M.
        error = lines[-1].partition(": error: ")[2] if lines else ""
        error = error.split(" (see `")[0]
        found[name] = (served[0] if served else None, error)
        assert status == (0 if served else 2), (name, status, lines)
    return found


@pytest.mark.parametrize("argv", ACCEPTED, ids=_shown)
def test_both_entry_points_serve_the_same_options_alike(
    argv: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    found = _entry_points(argv, monkeypatch, capsys)
    assert found["cli"][0] is not None, found
    assert found["cli"] == found["module"]


@pytest.mark.parametrize("argv", REFUSED, ids=_shown)
def test_both_entry_points_refuse_the_same_options_with_the_same_message(
    argv: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    found = _entry_points(argv, monkeypatch, capsys)
    assert found["cli"][0] is None and found["cli"][1], found
    assert found["cli"] == found["module"]
