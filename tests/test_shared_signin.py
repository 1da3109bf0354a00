"""A sign-in shared with Parallel's own CLI: its ~/.config/parallel-web-tools/auth.json.

Each test writes that file itself, in that tool's version 1 layout, into a
temporary HOME (with a second organisation and fields this package does not
use, which must survive every write), and runs against the fake platform and,
end to end, the fake Account API served on 127.0.0.1.
"""

from __future__ import annotations

import copy
import errno
import json
import os
import pickle
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from parallel_account import AccountClient
from parallel_account._auth import BearerAuth, resolve_auth
from parallel_account._errors import (
    AuthenticationError,
    CorruptTokenFileError,
    InsecureTokenFileError,
    NotSignedInError,
    ParallelAccountError,
    SignInExpiredError,
    TokenStoreError,
    UnsupportedSignInFileError,
)
from parallel_account.signin import StoredSignIn
from parallel_account.signin._shared_file import LOCK_NAME, auth_file
from parallel_account.signin._shared_sign_in import ParallelCliSignIn, parallel_cli_sign_in
from parallel_account.signin._status import parallel_cli_status
from parallel_account.signin._store import SignInRecord, TokenStore
from parallel_account.testing import FakeAccountAPI
from tests.fake_platform import NOW, REGISTER, TOKEN, FakeClock, FakePlatform
from tests.support import CLI

START = 4321  # cents
SCOPES = ["keys:read", "balance:read", "balance:add"]


# Never the real ~/.config, never a token or profile from the developer's shell.
# Sign-in reads no spec: run once, not again on the superset spec.
pytestmark = [pytest.mark.usefixtures("sign_in_isolated"), pytest.mark.spec_independent]


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePlatform]:
    with FakePlatform() as fake:
        monkeypatch.setenv("PARALLEL_PLATFORM_URL", fake.url)  # as Parallel's CLI reads it
        yield fake


def cli_layout(
    platform: FakePlatform,
    *,
    now: float,
    expires_in: int = 3600,
    client_id: str | None = "registered",
    **control: Any,
) -> dict[str, Any]:
    """A sign-in file as `parallel-cli login` writes it: two orgs, the first one selected."""
    if client_id == "registered":
        client_id = platform.issue_client()
    selected = {
        "access_token": "cli-access-1",
        "access_token_expires_at": int(now) + expires_in,
        "access_token_scopes": SCOPES,
        "refresh_token": platform.issue_refresh_token(),
        "refresh_token_expires_at": int(now) + 86400,
        "authorization_expires_at": int(now) + 30 * 86400,
    }
    selected.update(control)
    return {
        "version": 1,
        "selected_org_id": "org_123",
        "orgs": {
            "org_123": {
                "api_key": "data-api-key-selected",
                "org_name": "Acme Research",
                "control_api": selected,
            },
            "org_other": {
                "api_key": "data-api-key-other",
                "org_name": "Other Org",
                "control_api": {
                    "access_token": "other-access",
                    "access_token_expires_at": int(now) - 100,
                    "access_token_scopes": [],
                    "refresh_token": "other-refresh",
                    "refresh_token_expires_at": int(now) + 10,
                    "authorization_expires_at": None,
                },
            },
        },
        "client_id": client_id,
    }


def write_cli_file(home: Path, layout: dict[str, Any], mode: int = 0o600) -> Path:
    path = home / ".config" / "parallel-web-tools" / "auth.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(layout, indent=2))
    os.chmod(path, mode)
    return path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _changed_only_the_selected_tokens(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Everything but the selected org's rotated token fields is exactly as it was."""
    assert list(after) == list(before)  # top-level keys, in their order
    assert after["orgs"]["org_other"] == before["orgs"]["org_other"]
    assert list(after["orgs"]) == list(before["orgs"])
    kept = copy.deepcopy(after)
    rotated = ("access_token", "access_token_expires_at", "refresh_token")
    for name in rotated:
        kept["orgs"]["org_123"]["control_api"][name] = before["orgs"]["org_123"]["control_api"][
            name
        ]
    kept["orgs"]["org_123"]["control_api"]["refresh_token_expires_at"] = before["orgs"]["org_123"][
        "control_api"
    ]["refresh_token_expires_at"]
    assert kept == before
    assert list(after["orgs"]["org_123"]["control_api"]) == list(
        before["orgs"]["org_123"]["control_api"]
    )


# ---- in process: reading ---------------------------------------------------------------


def test_the_file_is_in_the_home_directory_not_xdg(tmp_path: Path) -> None:
    assert auth_file() == tmp_path / "home" / ".config" / "parallel-web-tools" / "auth.json"


def test_a_fresh_token_is_used_without_a_request(platform: FakePlatform, tmp_path: Path) -> None:
    write_cli_file(tmp_path / "home", cli_layout(platform, now=NOW))
    provider = ParallelCliSignIn(clock=FakeClock())
    assert provider.get_token() == "cli-access-1"
    assert platform.requests == []


def test_no_file_is_no_sign_in_and_creates_nothing(tmp_path: Path) -> None:
    assert parallel_cli_sign_in() is None
    assert parallel_cli_status() is None
    with pytest.raises(NotSignedInError, match="parallel-cli login"):
        ParallelCliSignIn().get_token()
    assert not (tmp_path / "home" / ".config" / "parallel-web-tools").exists()


@pytest.mark.parametrize(
    "change",
    [
        {"selected_org_id": None},
        {"selected_org_id": "org_gone"},
        {"orgs": {"org_123": {"api_key": "k", "org_name": "Acme"}}},  # a data-API key only
    ],
    ids=["none-selected", "selected-missing", "no-control-api"],
)
def test_a_file_without_an_account_api_sign_in_is_no_sign_in(
    platform: FakePlatform, tmp_path: Path, change: dict[str, Any]
) -> None:
    write_cli_file(tmp_path / "home", {**cli_layout(platform, now=NOW), **change})
    assert parallel_cli_sign_in() is None


@pytest.mark.parametrize("version", [2, 0, "1", None, True])
def test_another_layout_version_is_refused_and_left_alone(
    platform: FakePlatform, tmp_path: Path, version: Any
) -> None:
    layout = cli_layout(platform, now=NOW)
    if version is None:
        del layout["version"]
    else:
        layout["version"] = version
    path = write_cli_file(tmp_path / "home", layout)
    before = path.read_bytes()
    with pytest.raises(UnsupportedSignInFileError, match="layout version") as caught:
        parallel_cli_sign_in()
    assert "version 1 only" in str(caught.value) and str(path) in str(caught.value)
    assert path.read_bytes() == before


def test_a_file_open_to_others_is_refused(platform: FakePlatform, tmp_path: Path) -> None:
    path = write_cli_file(tmp_path / "home", cli_layout(platform, now=NOW), mode=0o644)
    with pytest.raises(InsecureTokenFileError, match=f"chmod 600 {path}"):
        parallel_cli_sign_in()


def test_a_corrupt_file_is_refused_without_quoting_a_token(
    platform: FakePlatform, tmp_path: Path
) -> None:
    layout = cli_layout(platform, now=NOW, access_token="secret with spaces")
    write_cli_file(tmp_path / "home", layout)
    with pytest.raises(CorruptTokenFileError, match="access_token") as caught:
        parallel_cli_sign_in()
    assert "secret" not in str(caught.value)
    (tmp_path / "home" / ".config" / "parallel-web-tools" / "auth.json").write_text("{")
    with pytest.raises(CorruptTokenFileError, match="parallel-cli login"):
        parallel_cli_sign_in()


def test_no_token_in_repr_or_pickled_errors(platform: FakePlatform, tmp_path: Path) -> None:
    write_cli_file(tmp_path / "home", cli_layout(platform, now=NOW))
    provider = ParallelCliSignIn()
    current = provider.load()
    assert current is not None
    shown = repr(provider) + repr(current) + repr(BearerAuth(provider))
    assert "cli-access-1" not in shown and str(current.refresh_token) not in shown
    layout = cli_layout(platform, now=NOW, access_token_expires_at=int(NOW) - 1)
    layout["orgs"]["org_123"]["control_api"]["refresh_token"] = "rt-dead-secret"
    write_cli_file(tmp_path / "home", layout)
    with pytest.raises(SignInExpiredError) as caught:
        ParallelCliSignIn(clock=FakeClock()).get_token()
    dumped = pickle.dumps(caught.value)
    assert b"rt-dead-secret" not in dumped and "rt-dead-secret" not in str(caught.value)


# ---- in process: the token chain -------------------------------------------------------


def test_the_chain_uses_it_after_this_packages_own_sign_in(
    platform: FakePlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_cli_file(tmp_path / "home", cli_layout(platform, now=time.time()))
    auth = resolve_auth(None)
    assert isinstance(auth, BearerAuth) and isinstance(auth.provider, ParallelCliSignIn)

    TokenStore().save(
        SignInRecord(client_id="c", platform_url=platform.url, access_token="own-access")
    )
    auth = resolve_auth(None)
    assert isinstance(auth, BearerAuth) and isinstance(auth.provider, StoredSignIn)

    monkeypatch.setenv("PARALLEL_ACCOUNT_TOKEN", "from-env")
    auth = resolve_auth(None)
    assert isinstance(auth, BearerAuth) and auth.provider.get_token() == "from-env"


def test_a_chosen_profile_never_falls_back_to_it(
    platform: FakePlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_cli_file(tmp_path / "home", cli_layout(platform, now=time.time()))
    monkeypatch.setenv("PARALLEL_ACCOUNT_PROFILE", "work")
    with pytest.raises(AuthenticationError, match="no credentials"):
        resolve_auth(None)


def test_status_describes_it(platform: FakePlatform, tmp_path: Path) -> None:
    path = write_cli_file(tmp_path / "home", cli_layout(platform, now=NOW))
    shown = parallel_cli_status(clock=FakeClock())
    assert shown is not None and shown.source == "parallel-cli" and shown.path == path
    assert (shown.org_id, shown.org_name, shown.scopes) == ("org_123", "Acme Research", (*SCOPES,))
    assert shown.platform_url == platform.url and not shown.needs_login
    assert "Parallel's CLI" in shown.describe() and "cli-access-1" not in shown.describe()


def test_status_of_an_expired_shared_sign_in_says_which_login_renews_it(
    platform: FakePlatform, tmp_path: Path
) -> None:
    write_cli_file(
        tmp_path / "home",
        cli_layout(platform, now=NOW, authorization_expires_at=int(NOW) - 1),
    )
    shown = parallel_cli_status(clock=FakeClock())
    assert shown is not None and shown.needs_login and shown.profile == "default"
    assert "has expired; run `parallel-cli login` (or `parallel-account login`)" in (
        shown.describe()
    )


# ---- in process: refreshing ------------------------------------------------------------


def test_an_expiring_token_is_refreshed_and_written_back_in_place(
    platform: FakePlatform, tmp_path: Path
) -> None:
    layout = cli_layout(platform, now=NOW, expires_in=20)  # within the 30 s margin
    path = write_cli_file(tmp_path / "home", layout)
    clock = FakeClock()
    assert ParallelCliSignIn(clock=clock).get_token() == "at-3"
    assert platform.count(TOKEN, grant_type="refresh_token", client_id="client-1") == 1
    after = json.loads(path.read_text())
    _changed_only_the_selected_tokens(layout, after)
    control = after["orgs"]["org_123"]["control_api"]
    assert (control["access_token"], control["refresh_token"]) == ("at-3", "rt-3")
    assert control["access_token_expires_at"] == int(NOW) + 3600
    assert control["refresh_token_expires_at"] == int(NOW) + 86400
    assert _mode(path) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["auth.json"]  # no temp, no lock
    assert (tmp_path / "xdg" / "parallel-account" / LOCK_NAME).exists()  # our lock, our place


def test_without_a_client_id_it_refreshes_as_the_public_client(
    platform: FakePlatform, tmp_path: Path
) -> None:
    layout = cli_layout(platform, now=NOW, expires_in=-5, client_id=None)
    write_cli_file(tmp_path / "home", layout)
    assert ParallelCliSignIn(clock=FakeClock()).get_token() == "at-2"
    assert platform.count(TOKEN, client_id="parallel-cli") == 1
    assert platform.count(REGISTER) == 0  # never registers on a refresh


def test_a_401_refreshes_once_unless_the_token_moved_on(
    platform: FakePlatform, tmp_path: Path
) -> None:
    write_cli_file(tmp_path / "home", cli_layout(platform, now=NOW))
    provider = ParallelCliSignIn(clock=FakeClock())
    assert provider.refresh_token("some-older-token") == "cli-access-1"
    assert platform.requests == []
    assert provider.refresh_token("cli-access-1") == "at-3"
    assert platform.count(TOKEN) == 1


@pytest.mark.parametrize(
    ("control", "why"),
    [
        ({"authorization_expires_at": int(NOW) - 1}, "authorisation ended"),
        ({"access_token_expires_at": 0, "refresh_token_expires_at": int(NOW) - 1}, "expired"),
        ({"access_token_expires_at": 0, "refresh_token": None}, "no refresh token"),
    ],
)
def test_a_sign_in_that_cannot_be_refreshed_asks_for_a_login(
    platform: FakePlatform, tmp_path: Path, control: dict[str, Any], why: str
) -> None:
    write_cli_file(tmp_path / "home", cli_layout(platform, now=NOW, **control))
    with pytest.raises(SignInExpiredError, match="parallel-cli login") as caught:
        ParallelCliSignIn(clock=FakeClock()).get_token()
    assert why in str(caught.value)
    assert platform.requests == []


def test_a_file_removed_while_refreshing_is_not_written_again(
    platform: FakePlatform, tmp_path: Path
) -> None:
    platform.refresh_delay = 0.5
    path = write_cli_file(tmp_path / "home", cli_layout(platform, now=NOW, expires_in=-5))
    remover = threading.Timer(0.2, path.unlink)  # `parallel-cli logout` meanwhile
    remover.start()
    try:
        with pytest.raises(NotSignedInError, match="nothing was written"):
            ParallelCliSignIn(clock=FakeClock()).get_token()
    finally:
        remover.join()
    assert platform.count(TOKEN) == 1
    assert list(path.parent.iterdir()) == []  # no file, no temp file


def test_a_rotated_token_that_cannot_be_written_back_says_so(
    platform: FakePlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_cli_file(tmp_path / "home", cli_layout(platform, now=NOW, expires_in=-5))
    before = path.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", disk_full)
        with pytest.raises(SignInExpiredError, match="could not be written back") as caught:
            ParallelCliSignIn(clock=FakeClock()).get_token()
    message = str(caught.value)
    assert "No space left" in message and "parallel-cli login" in message
    assert "rt-3" not in message and "at-3" not in message
    assert path.read_bytes() == before  # that tool's file is never removed or half-written
    assert sorted(p.name for p in path.parent.iterdir()) == ["auth.json"]  # no temp file left


def test_a_refresh_answer_for_another_organisation_is_refused_and_nothing_written(
    platform: FakePlatform, tmp_path: Path
) -> None:
    path = write_cli_file(tmp_path / "home", cli_layout(platform, now=NOW, expires_in=-5))
    before = path.read_bytes()
    platform.token_overrides["org_id"] = "org_other"
    with pytest.raises(SignInExpiredError, match="names organisation 'org_other'") as caught:
        ParallelCliSignIn(clock=FakeClock()).get_token()
    assert "nothing was written" in str(caught.value) and "parallel-cli login" in str(caught.value)
    assert platform.count(TOKEN, grant_type="refresh_token") == 1
    assert path.read_bytes() == before


def _big_file_with_a_non_ascii_name(platform: FakePlatform) -> dict[str, Any]:
    """Another organisation's long non-ASCII name, as raw UTF-8 text, filling the file."""
    layout = cli_layout(platform, now=NOW, expires_in=-5)
    # 28 KB as UTF-8; escaped (12 bytes a face) 84 KB, past the 64 KB cap.
    layout["orgs"]["org_other"]["org_name"] = "\N{GRINNING FACE}" * 7_000
    return layout


def test_write_back_keeps_raw_utf8_and_the_files_layout(
    platform: FakePlatform, tmp_path: Path
) -> None:
    layout = cli_layout(platform, now=NOW, expires_in=-5)
    layout["orgs"]["org_other"]["org_name"] = "Forschungsgruppe Zürich 研究"
    path = tmp_path / "home" / ".config" / "parallel-web-tools" / "auth.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(layout, indent=4, ensure_ascii=False) + "\n", encoding="utf-8")
    os.chmod(path, 0o600)
    assert ParallelCliSignIn(clock=FakeClock()).get_token() == "at-3"
    text = path.read_text(encoding="utf-8")
    after = json.loads(text)
    _changed_only_the_selected_tokens(layout, after)
    assert "Zürich 研究" in text  # not escaped to \u00fc...
    assert text == json.dumps(after, indent=4, ensure_ascii=False) + "\n"


def test_an_ascii_file_stays_ascii_as_that_cli_writes_it(
    platform: FakePlatform, tmp_path: Path
) -> None:
    layout = cli_layout(platform, now=NOW, expires_in=-5)
    layout["orgs"]["org_other"]["org_name"] = "Zürich"
    path = write_cli_file(tmp_path / "home", layout)  # json.dumps(indent=2): escaped
    ParallelCliSignIn(clock=FakeClock()).get_token()
    raw = path.read_bytes()
    assert raw.isascii() and raw == json.dumps(json.loads(raw), indent=2).encode()


def test_a_file_that_could_not_hold_a_refreshed_sign_in_is_not_refreshed(
    platform: FakePlatform, tmp_path: Path
) -> None:
    # Near the size cap already: the platform must not be asked (it would rotate the
    # refresh token the file then could not take), and the file stays as it is.
    layout = _big_file_with_a_non_ascii_name(platform)
    # 40 KB: readable, but not with two tokens of the longest kind written in.
    layout["orgs"]["org_other"]["org_name"] = "\N{GRINNING FACE}" * 10_000
    path = tmp_path / "home" / ".config" / "parallel-web-tools" / "auth.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(json.dumps(layout, indent=2, ensure_ascii=False).encode())
    os.chmod(path, 0o600)
    assert len(path.read_bytes()) < 64 * 1024
    before = path.read_bytes()
    with pytest.raises(TokenStoreError, match="could not hold a refreshed sign-in") as caught:
        ParallelCliSignIn(clock=FakeClock()).get_token()
    assert "not refreshed" in str(caught.value)
    assert platform.count(TOKEN) == 0
    assert path.read_bytes() == before


def test_a_large_utf8_file_is_refreshed_and_stays_readable(
    platform: FakePlatform, tmp_path: Path
) -> None:
    # Escaping the other organisation's name would double the file past the cap,
    # after the refresh token was already spent: signed out of both tools.
    layout = _big_file_with_a_non_ascii_name(platform)
    path = tmp_path / "home" / ".config" / "parallel-web-tools" / "auth.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(json.dumps(layout, indent=2, ensure_ascii=False).encode())
    os.chmod(path, 0o600)
    assert ParallelCliSignIn(clock=FakeClock()).get_token() == "at-3"
    assert ParallelCliSignIn(clock=FakeClock()).get_token() == "at-3"  # read back: no refresh
    assert platform.count(TOKEN) == 1
    _changed_only_the_selected_tokens(layout, json.loads(path.read_text(encoding="utf-8")))


def test_a_charge_retried_after_that_cli_switched_organisation_stays_with_the_first(
    platform: FakePlatform, tmp_path: Path
) -> None:
    now = time.time()
    layout = cli_layout(platform, now=now)
    other = layout["orgs"]["org_other"]["control_api"]
    other["access_token_expires_at"] = int(now) + 3600  # usable: a switch would be taken up
    home = tmp_path / "home"
    write_cli_file(home, layout)
    api = FakeAccountAPI(token="cli-access-1", credit_balance_cents=START)
    api.fail_next(status=503, operation="add_balance", retry_after=0)
    sent: list[str] = []
    transport = api.transport()

    def recording(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["authorization"])
        return transport.handle_request(request)

    def parallel_cli_switches(seconds: float) -> None:  # `parallel-cli` during the backoff
        write_cli_file(home, {**layout, "selected_org_id": "org_other"})

    with AccountClient(
        base_url=api.base_url,
        http_client=httpx.Client(transport=httpx.MockTransport(recording)),
        sleep=parallel_cli_switches,
    ) as client:
        client.add_balance(500, idempotency_key="order-1234")
        client.get_balance()  # later calls too: this client acts for one organisation
    assert sent == ["Bearer cli-access-1"] * 3
    assert api.charges_for("order-1234") == 1


def test_the_pinned_organisation_signed_out_is_not_signed_in(
    platform: FakePlatform, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    layout = cli_layout(platform, now=NOW)
    write_cli_file(home, layout)
    provider = parallel_cli_sign_in()
    assert provider is not None and provider.org_id == "org_123"
    del layout["orgs"]["org_123"]
    write_cli_file(home, {**layout, "selected_org_id": "org_other"})
    with pytest.raises(NotSignedInError, match="organisation 'org_123'"):
        provider.get_token()


def _refresh_in_thread(barrier: threading.Barrier) -> str:
    barrier.wait(timeout=30)
    return ParallelCliSignIn().get_token()


def test_threads_refreshing_at_once_make_one_request(
    platform: FakePlatform, tmp_path: Path
) -> None:
    platform.refresh_delay = 0.3
    write_cli_file(tmp_path / "home", cli_layout(platform, now=time.time(), expires_in=-5))
    barrier = threading.Barrier(4)
    with ThreadPoolExecutor(max_workers=4) as pool:
        tokens = list(pool.map(lambda _: _refresh_in_thread(barrier), range(4)))
    assert tokens == ["at-3"] * 4
    assert platform.count(TOKEN, grant_type="refresh_token") == 1


# ---- end to end: `parallel-account` with only Parallel CLI's sign-in ---------------------


@pytest.fixture
def account_api() -> FakeAccountAPI:
    return FakeAccountAPI(token="cli-access-1", credit_balance_cents=START)


@pytest.fixture
def api_url(account_api: FakeAccountAPI) -> Iterator[str]:
    with account_api.serve() as url:
        yield url


def _env(tmp_path: Path, platform: FakePlatform, api_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARALLEL_")}
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        PARALLEL_PLATFORM_URL=platform.url,
        PARALLEL_SERVICE_API_URL=api_url,
    )
    return env


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_balance_works_with_only_parallel_clis_sign_in(
    tmp_path: Path, platform: FakePlatform, api_url: str
) -> None:
    write_cli_file(tmp_path / "home", cli_layout(platform, now=time.time()))
    env = _env(tmp_path, platform, api_url)
    balance = _cli("--json", "balance", env=env)
    assert balance.returncode == 0, balance.stderr
    assert json.loads(balance.stdout)["credit_balance_cents"] == START
    status = _cli("--json", "status", env=env)
    document = json.loads(status.stdout)
    assert status.returncode == 0 and document["source"] == "parallel-cli"
    assert document["org_name"] == "Acme Research" and document["path"].endswith("auth.json")
    text = _cli("status", env=env)
    assert "Token source: Parallel CLI's sign-in" in text.stdout
    for run in (balance, status, text):
        assert "cli-access-1" not in run.stdout + run.stderr
    assert platform.requests == []


def test_after_expiry_two_processes_refresh_once_and_the_file_keeps_its_layout(
    tmp_path: Path, platform: FakePlatform, api_url: str, account_api: FakeAccountAPI
) -> None:
    platform.refresh_delay = 0.5  # the first refresh is still in flight when the second asks
    layout = cli_layout(platform, now=time.time(), expires_in=-60)
    path = write_cli_file(tmp_path / "home", layout)
    account_api.token = "at-3"  # what the platform's one refresh hands out
    env = _env(tmp_path, platform, api_url)
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(
            pool.map(
                lambda argv: _cli(*argv, env=env), [("--json", "balance"), ("--json", "balance")]
            )
        )
    for run in runs:
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout)["credit_balance_cents"] == START
    assert platform.count(TOKEN, grant_type="refresh_token") == 1
    after = json.loads(path.read_text())
    _changed_only_the_selected_tokens(layout, after)
    assert after["orgs"]["org_123"]["control_api"]["access_token"] == "at-3"
    assert after["orgs"]["org_123"]["control_api"]["refresh_token"] == "rt-3"
    assert _mode(path) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["auth.json"]


def test_logout_leaves_parallel_clis_sign_in_alone_and_says_so(
    tmp_path: Path, platform: FakePlatform, api_url: str
) -> None:
    path = write_cli_file(tmp_path / "home", cli_layout(platform, now=time.time()))
    before = path.read_bytes()
    run = _cli("logout", env=_env(tmp_path, platform, api_url))
    assert run.returncode == 0 and "Not signed in" in run.stdout
    assert "`parallel-cli logout` ends it" in run.stderr
    assert path.read_bytes() == before and platform.requests == []


def test_the_cli_refuses_another_layout_with_a_clear_message(
    tmp_path: Path, platform: FakePlatform, api_url: str
) -> None:
    path = write_cli_file(tmp_path / "home", {**cli_layout(platform, now=NOW), "version": 2})
    before = path.read_bytes()
    run = _cli("balance", env=_env(tmp_path, platform, api_url))
    assert run.returncode == 1
    assert "layout version 2" in run.stderr and "parallel-account login" in run.stderr
    assert path.read_bytes() == before


def test_the_cli_without_any_sign_in_says_both_logins(
    tmp_path: Path, platform: FakePlatform, api_url: str
) -> None:
    run = _cli("balance", env=_env(tmp_path, platform, api_url))
    assert run.returncode == 3
    assert "parallel-account login" in run.stderr and "parallel-cli login" in run.stderr
    assert not (tmp_path / "home" / ".config").exists()


def test_errors_of_this_module_are_package_errors() -> None:
    # So the CLI maps them to its exit statuses, and callers catch one base class.
    assert issubclass(UnsupportedSignInFileError, ParallelAccountError)
    for cls in (
        CorruptTokenFileError,
        InsecureTokenFileError,
        NotSignedInError,
        SignInExpiredError,
    ):
        assert issubclass(cls, ParallelAccountError)
