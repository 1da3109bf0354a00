"""Sign-in as Parallel's own CLI does it (../shared/reference/account-api-auth.md).

Against the fake platform in tests/fake_platform.py: the registration body and
its fallback client id, re-registration only on the documented answer, the
revoke form, errors naming the platform, no browser without a display, and
`login --json` streaming its events to a reader while the login still waits.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from parallel_account._errors import APIConnectionError, BadRequestError, DeviceFlowError
from parallel_account.signin import (
    DeviceCode,
    SignInExpiredError,
    StoredSignIn,
    has_display,
    login,
    no_display_reason,
)
from parallel_account.signin._machine_facts import platform_facts
from parallel_account.signin._platform import FALLBACK_CLIENT_ID, Platform
from parallel_account.signin._store import SignInRecord, TokenStore
from tests.fake_platform import (
    DEVICE_CODE,
    NOW,
    REGISTER,
    REVOKE,
    TOKEN,
    UNKNOWN_CLIENT,
    FakeClock,
    FakePlatform,
)
from tests.support import CLI

PLATFORM_KEYS = {"system", "release", "machine", "processor", "version", "os_name"}
NO_DISPLAY_ENV = ("DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY", "CI")


# Never the real ~/.config, never a token or profile from the developer's shell.
# Sign-in reads no spec: run once, not again on the superset spec.
pytestmark = [pytest.mark.usefixtures("sign_in_isolated"), pytest.mark.spec_independent]


@pytest.fixture
def fake() -> Iterator[FakePlatform]:
    with FakePlatform() as platform:
        yield platform


def _login(fake: FakePlatform, clock: FakeClock, **kwargs: Any) -> Any:
    shown: list[DeviceCode] = []
    return login(platform_url=fake.url, show=shown.append, sleep=clock.sleep, clock=clock, **kwargs)


def _stored_client(fake: FakePlatform, client_id: str) -> None:
    TokenStore().save(SignInRecord(client_id=client_id, platform_url=fake.url, access_token="at"))


# ---- registration --------------------------------------------------------------


def test_registration_sends_the_platform_facts_as_an_object(
    fake: FakePlatform, clock: FakeClock
) -> None:
    _login(fake, clock)
    (register,) = [r for r in fake.requests if r.path == REGISTER]
    assert register.content_type.startswith("application/json")
    assert register.body["client_name"] == "parallel-account-client"
    facts = register.body["platform"]
    assert isinstance(facts, dict) and set(facts) <= PLATFORM_KEYS
    assert facts["os_name"] == os.name and facts["system"]
    assert all(isinstance(v, str) and v for v in facts.values())  # empty facts left out


def test_a_fact_that_cannot_be_read_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> str:
        raise OSError("no uname here")

    monkeypatch.setattr(platform, "processor", broken)
    monkeypatch.setattr(platform, "release", lambda: "")
    facts = platform_facts()
    assert "processor" not in facts and "release" not in facts and facts["os_name"] == os.name


def test_a_failed_registration_falls_back_to_the_public_client_id(
    fake: FakePlatform, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake.register_status = 503
    with caplog.at_level(logging.WARNING, logger="parallel_account"):
        result = _login(fake, clock)
    assert result.signed_in
    assert fake.count(DEVICE_CODE, client_id=FALLBACK_CLIENT_ID) == 1
    assert fake.count(TOKEN, client_id=FALLBACK_CLIENT_ID) == 1
    assert any(FALLBACK_CLIENT_ID in r.getMessage() for r in caplog.records)
    stored = TokenStore().load()
    assert stored is not None and stored.client_id == FALLBACK_CLIENT_ID

    # The fallback is a stopgap, as in Parallel's CLI: the next login registers again.
    fake.register_status = 200
    _login(fake, clock)
    assert fake.count(REGISTER) == 2
    stored = TokenStore().load()
    assert stored is not None and stored.client_id.startswith("client-")


def test_a_platform_that_is_unreachable_names_its_host(clock: FakeClock) -> None:
    url = "http://127.0.0.1:9"  # discard port: nothing listens
    with pytest.raises(APIConnectionError) as caught:
        login(platform_url=url, show=lambda code: None, sleep=clock.sleep, clock=clock)
    message = str(caught.value)
    assert url in message and "--platform-url" in message and "$PARALLEL_PLATFORM_URL" in message
    assert not TokenStore().path.exists()


# ---- re-registration -------------------------------------------------------------


def test_unknown_client_id_registers_again(fake: FakePlatform, clock: FakeClock) -> None:
    _stored_client(fake, "forgotten")
    _login(fake, clock)
    assert [r.path for r in fake.requests] == [DEVICE_CODE, REGISTER, DEVICE_CODE, TOKEN]
    stored = TokenStore().load()
    assert stored is not None and stored.client_id == "client-1"


@pytest.mark.parametrize(
    "answer",
    [
        {"error": "invalid_client", "error_description": "client is disabled"},
        {"error": "invalid_client"},
        {"error": "invalid_request", "error_description": "Unknown client_id"},
        {"detail": "Unknown client_id"},
    ],
    ids=["other-text", "no-text", "other-code", "no-code"],
)
def test_any_other_answer_does_not_register_again(
    fake: FakePlatform, clock: FakeClock, answer: dict[str, str]
) -> None:
    _stored_client(fake, "forgotten")
    fake.unknown_client_answer = answer
    with pytest.raises((DeviceFlowError, BadRequestError)) as caught:
        _login(fake, clock)
    assert fake.count(REGISTER) == 0
    assert [r.path for r in fake.requests] == [DEVICE_CODE]
    assert fake.url in str(caught.value) and "--platform-url" in str(caught.value)


def test_the_documented_answer_is_what_the_fake_sends() -> None:
    # The other tests lean on it: it must stay the reference's answer.
    assert UNKNOWN_CLIENT == {"error": "invalid_client", "error_description": "Unknown client_id"}


def test_refreshing_never_registers(fake: FakePlatform, clock: FakeClock) -> None:
    TokenStore().save(
        SignInRecord(
            client_id="forgotten",
            platform_url=fake.url,
            access_token="at-old",
            refresh_token=fake.issue_refresh_token(),
            access_token_expires_at=int(NOW) - 1,
        )
    )
    with pytest.raises(SignInExpiredError, match="parallel-account login"):
        StoredSignIn(clock=clock).get_token()
    assert fake.count(REGISTER) == 0 and fake.count(TOKEN) == 1


# ---- revoke ----------------------------------------------------------------------


def test_revoke_sends_the_refresh_token_alone(fake: FakePlatform) -> None:
    token = fake.issue_refresh_token()
    with Platform(fake.url) as platform:
        platform.revoke(token)
    (revoke,) = fake.requests
    assert revoke.path == REVOKE
    assert revoke.content_type == "application/x-www-form-urlencoded"
    assert revoke.params == {"refresh_token": token}
    assert fake.revoked == [token] and token not in fake.live_refresh_tokens


# ---- the browser -----------------------------------------------------------------


def _nothing_exists(path: str) -> bool:
    return False


@pytest.mark.parametrize(
    ("environ", "system", "reason"),
    [
        ({}, "linux", "no $DISPLAY or $WAYLAND_DISPLAY"),
        ({"DISPLAY": ":0"}, "linux", None),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", None),
        ({}, "freebsd14", "no $DISPLAY or $WAYLAND_DISPLAY"),
        ({}, "darwin", None),
        ({}, "win32", None),
        ({"DISPLAY": ":0", "SSH_CONNECTION": "10.0.0.1 5 10.0.0.2 22"}, "linux", "an SSH session"),
        ({"SSH_TTY": "/dev/pts/1"}, "darwin", "an SSH session"),
        ({"SSH_CLIENT": "10.0.0.1 5 22"}, "win32", "an SSH session"),
        ({"DISPLAY": ":0", "CI": "true"}, "linux", "a CI run"),
        ({"DISPLAY": ":0", "CI": "false"}, "linux", None),
        ({"DISPLAY": ":0", "container": "podman"}, "linux", "a container"),
    ],
)
def test_the_display_rule(environ: dict[str, str], system: str, reason: str | None) -> None:
    assert no_display_reason(environ, system, _nothing_exists) == reason
    assert has_display(environ, system, _nothing_exists) is (reason is None)


def test_a_container_marker_file_means_no_display() -> None:
    assert no_display_reason({"DISPLAY": ":0"}, "linux", lambda p: p == "/.dockerenv") == (
        "a container"
    )


def test_no_browser_without_a_display(
    fake: FakePlatform, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in NO_DISPLAY_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    opened: list[str] = []
    events: list[tuple[str, dict[str, Any]]] = []
    _login(
        fake,
        clock,
        open_browser=True,
        browser=opened.append,
        progress=lambda event, fields: events.append((event, fields)),
    )
    assert opened == []
    (shown,) = [fields for event, fields in events if event == "device_code"]
    assert shown["browser_opened"] is False and shown["browser_not_opened_because"]


def test_a_browser_with_a_display(fake: FakePlatform, clock: FakeClock) -> None:
    opened: list[str] = []
    events: list[tuple[str, dict[str, Any]]] = []
    _login(
        fake,
        clock,
        open_browser=True,
        browser=opened.append,
        no_display=lambda: None,
        progress=lambda event, fields: events.append((event, fields)),
    )
    assert opened == [f"{fake.url}/device?user_code=WDJB-MJHT"]
    assert ("device_code", True) in [(e, f.get("browser_opened")) for e, f in events]


# ---- progress events -------------------------------------------------------------


def test_progress_events_in_order(fake: FakePlatform, clock: FakeClock) -> None:
    fake.poll_script.extend(["authorization_pending", "slow_down", "http:503"])
    events: list[tuple[str, dict[str, Any]]] = []
    _login(fake, clock, progress=lambda event, fields: events.append((event, fields)))
    assert [event for event, _ in events] == [
        "device_code",
        "auth_waiting",
        "slow_down",
        "poll_failed",
    ]
    device, waiting, slow, failed = (fields for _, fields in events)
    assert device["user_code"] == "WDJB-MJHT" and device["verification_uri"] == f"{fake.url}/device"
    assert "device_code" not in device and "device-2" not in json.dumps(device)
    assert waiting == {"interval": 5.0, "expires_in": 600.0}
    assert slow == {"interval": 10.0}
    assert failed == {"error": "InternalServerError"}


# ---- login --json as a subprocess ----------------------------------------------------


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PARALLEL_") and k not in (*NO_DISPLAY_ENV, "BROWSER")
    }
    env.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "config"), **extra)
    return env


class _Lines:
    """Lines of a stream, read by a thread, so a test can wait for each one with a timeout."""

    def __init__(self, stream: Any) -> None:
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put("")

    def next(self, timeout: float = 30) -> str:
        return self._queue.get(timeout=timeout)


def test_login_json_streams_events_while_the_login_waits(tmp_path: Path) -> None:
    approval = threading.Event()
    with FakePlatform(interval=0, approval=approval) as platform:
        proc = subprocess.Popen(
            [*CLI, "login", "--json", "--no-browser"],
            env=_env(tmp_path, PARALLEL_PLATFORM_URL=platform.url),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            lines = _Lines(proc.stdout)
            start = json.loads(lines.next())
            assert start == {"event": "auth_start", "platform_url": platform.url}
            device = json.loads(lines.next())
            assert device["event"] == "device_code" and device["user_code"] == "WDJB-MJHT"
            assert device["verification_uri"] == f"{platform.url}/device"
            assert device["browser_opened"] is False
            waiting = json.loads(lines.next())
            assert waiting["event"] == "auth_waiting"
            # All of that arrived while the login is still waiting for approval.
            assert proc.poll() is None
            assert platform.count(TOKEN) <= 1
            approval.set()
            final = json.loads(lines.next())
            assert lines.next() == ""  # and nothing after it
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    assert proc.returncode == 0
    assert final["event"] == "auth_success" and final["signed_in"] is True
    assert final["org_name"] == "Acme Research" and final["source"] == "parallel-account"
    stored = TokenStore(directory=tmp_path / "config" / "parallel-account").load()
    assert stored is not None
    assert proc.stderr is not None
    err = proc.stderr.read()
    assert "WDJB-MJHT" in err  # the person at the terminal still sees the code
    assert stored.access_token not in err and str(stored.refresh_token) not in err


def test_login_json_ends_with_one_error_line(tmp_path: Path) -> None:
    with FakePlatform(interval=0) as platform:
        platform.poll_script.append("access_denied")
        done = subprocess.run(
            [*CLI, "--json", "login", "--no-browser"],
            env=_env(tmp_path, PARALLEL_PLATFORM_URL=platform.url),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    events = [json.loads(line) for line in done.stdout.splitlines()]  # every line is JSON
    assert [e["event"] for e in events] == [
        "auth_start",
        "device_code",
        "auth_waiting",
        "auth_error",
    ]
    assert events[-1]["error"]["type"] == "AccessDeniedError"
    assert done.returncode == 1
    assert "parallel-account: error:" in done.stderr


_MARKER_BROWSER = "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text(sys.argv[2])"


def test_login_without_a_display_opens_no_browser_and_prints_the_url(tmp_path: Path) -> None:
    marker = tmp_path / "browser-was-opened"
    script = tmp_path / "browser.py"
    script.write_text(_MARKER_BROWSER)
    browser = f"{sys.executable} {script} {marker} %s"
    # The marker browser works: webbrowser, given $BROWSER, runs it.
    probe = tmp_path / "probe"
    subprocess.run(
        [sys.executable, "-c", "import sys, webbrowser; webbrowser.open('https://example.com')"],
        env={**_env(tmp_path), "BROWSER": f"{sys.executable} {script} {probe} %s"},
        check=True,
        timeout=30,
    )
    assert probe.read_text() == "https://example.com"

    with FakePlatform(interval=0) as platform:
        done = subprocess.run(
            [*CLI, "login"],  # a browser is wanted (no --no-browser), but there is no display
            env={**_env(tmp_path, PARALLEL_PLATFORM_URL=platform.url), "BROWSER": browser},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert not marker.exists()
    assert f"{platform.url}/device" in done.stderr and "no browser opened" in done.stderr
