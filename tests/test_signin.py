"""Device-flow sign-in against a fake platform on 127.0.0.1: login, refresh, logout, status."""

from __future__ import annotations

import errno
import io
import json
import logging
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from parallel_account._auth import BearerAuth, resolve_auth, stored_sign_in
from parallel_account._errors import (
    APIStatusError,
    AuthenticationError,
    InvalidRequestError,
    ParallelAccountError,
)
from parallel_account.signin import (
    DEFAULT_SCOPE,
    AccessDeniedError,
    CorruptTokenFileError,
    DeviceCode,
    DeviceCodeExpiredError,
    DeviceFlowError,
    InsecureTokenFileError,
    NotSignedInError,
    SignInExpiredError,
    StoredSignIn,
    _answers,
    _machine_facts,
    _platform,
    _polling,
    login,
    logout,
    print_instructions,
    status,
)
from parallel_account.signin._store import SignInRecord, TokenStore
from tests.fake_platform import DEVICE_CODE, NOW, REGISTER, REVOKE, TOKEN, FakeClock, FakePlatform

ALL_SCOPES = (
    "keys:read keys:create keys:delete apps:read apps:create apps:delete balance:read balance:add"
)


# Never the real ~/.config, never a token or profile from the developer's shell.
# Sign-in reads no spec: run once, not again on the superset spec.
pytestmark = [pytest.mark.usefixtures("sign_in_isolated"), pytest.mark.spec_independent]


@pytest.fixture
def fake() -> Iterator[FakePlatform]:
    with FakePlatform() as platform:
        yield platform


@pytest.fixture
def shown() -> list[DeviceCode]:
    return []


def _login(fake: FakePlatform, clock: FakeClock, shown: list[DeviceCode], **kwargs: Any) -> Any:
    return login(platform_url=fake.url, show=shown.append, sleep=clock.sleep, clock=clock, **kwargs)


def _store_signed_in(fake: FakePlatform, *, now: float = NOW, **changes: Any) -> SignInRecord:
    """A stored sign-in whose client and refresh token the fake knows; expiries relative to `now`."""
    values: dict[str, Any] = {
        "client_id": fake.issue_client(),
        "platform_url": fake.url,
        "access_token": "at-old",
        "refresh_token": fake.issue_refresh_token(),
        "scope": ALL_SCOPES,
        "org_id": "org_123",
        "org_name": "Acme Research",
        "access_token_expires_at": int(now) + 3600,
        "refresh_token_expires_at": int(now) + 86400,
    }
    values.update(changes)
    record = SignInRecord(**values)
    TokenStore().save(record)
    return record


# ---- login ---------------------------------------------------------------------


def test_login_happy_path(fake: FakePlatform, clock: FakeClock, shown: list[DeviceCode]) -> None:
    opened: list[str] = []
    result = _login(
        fake, clock, shown, open_browser=True, browser=opened.append, no_display=lambda: None
    )

    assert [r.path for r in fake.requests] == [REGISTER, DEVICE_CODE, TOKEN]
    register, device, token = fake.requests
    assert register.content_type.startswith("application/json")
    assert register.body == {
        "client_name": "parallel-account-client",
        "platform": _machine_facts.platform_facts(),
    }
    assert device.content_type == "application/x-www-form-urlencoded"
    assert device.params == {"client_id": "client-1", "scope": ALL_SCOPES}
    assert token.params["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code"
    assert token.params["device_code"] == "device-2"

    (code,) = shown
    assert code.user_code == "WDJB-MJHT"
    assert code.verification_uri == f"{fake.url}/device"
    assert code.verification_uri_complete == f"{fake.url}/device?user_code=WDJB-MJHT"
    assert opened == [code.verification_uri_complete]
    assert clock.sleeps == [5 + 1]  # interval plus the safety margin, before the first poll

    stored = TokenStore().load()
    assert stored is not None
    assert (stored.client_id, stored.access_token, stored.refresh_token) == (
        "client-1",
        "at-3",
        "rt-3",
    )
    assert stored.access_token_expires_at == int(NOW) + 6 + 3600
    assert stored.refresh_token_expires_at == int(NOW) + 6 + 86400
    assert stored.platform_url == fake.url and stored.token_type == "Bearer"
    assert result.signed_in and result.org_name == "Acme Research" and result.org_id == "org_123"
    assert result.scopes == ("keys:read", "balance:read")  # as granted, not as asked
    assert "at-3" not in repr(result) + result.describe()


def test_default_scope_is_all_eight() -> None:
    assert DEFAULT_SCOPE == ALL_SCOPES


def test_the_browser_stays_closed_unless_asked(
    fake: FakePlatform, clock: FakeClock, shown: list[DeviceCode]
) -> None:
    opened: list[str] = []
    _login(fake, clock, shown, browser=opened.append)
    assert opened == []


def test_a_second_login_reuses_the_client_id(
    fake: FakePlatform, clock: FakeClock, shown: list[DeviceCode]
) -> None:
    _login(fake, clock, shown)
    _login(fake, clock, shown)
    assert fake.count(REGISTER) == 1
    assert fake.count(DEVICE_CODE, client_id="client-1") == 2


def test_pending_three_times_then_success(
    fake: FakePlatform, clock: FakeClock, shown: list[DeviceCode]
) -> None:
    fake.poll_script.extend(["authorization_pending"] * 3)
    _login(fake, clock, shown)
    assert fake.count(TOKEN) == 4
    assert clock.sleeps == [6, 6, 6, 6]
    assert TokenStore().load() is not None


def test_slow_down_adds_five_seconds_each_time(
    fake: FakePlatform, clock: FakeClock, shown: list[DeviceCode]
) -> None:
    fake.poll_script.extend(["slow_down", "authorization_pending", "slow_down"])
    _login(fake, clock, shown, poll_margin=0.5)
    assert clock.sleeps == [5.5, 10.5, 10.5, 15.5]
    assert fake.count(TOKEN) == 4


def test_missing_interval_and_expiry_default_to_5_s_and_600_s(
    fake: FakePlatform, clock: FakeClock, shown: list[DeviceCode]
) -> None:
    fake.interval = None
    fake.expires_in = None
    fake.poll_script.extend(["authorization_pending"] * 1000)
    with pytest.raises(DeviceCodeExpiredError):
        _login(fake, clock, shown)
    assert shown[0].interval == 5 and shown[0].expires_in == 600
    assert set(clock.sleeps[:-1]) == {6}
    assert sum(clock.sleeps) == pytest.approx(600)
    assert fake.count(TOKEN) == 99  # at 6, 12, ... 594; none at the deadline itself


def test_access_denied_writes_nothing(
    fake: FakePlatform, clock: FakeClock, shown: list[DeviceCode]
) -> None:
    fake.poll_script.extend(["authorization_pending", "access_denied"])
    with pytest.raises(AccessDeniedError, match="declined") as caught:
        _login(fake, clock, shown)
    assert caught.value.error == "access_denied"
    assert not TokenStore().path.exists()


def test_expired_token_from_the_server(
    fake: FakePlatform, clock: FakeClock, shown: list[DeviceCode]
) -> None:
    fake.poll_script.append("expired_token")
    with pytest.raises(DeviceCodeExpiredError, match="parallel-account login") as caught:
        _login(fake, clock, shown)
    assert caught.value.error == "expired_token"
    assert not TokenStore().path.exists()


def test_the_device_code_expires_on_our_side_too(
    fake: FakePlatform, clock: FakeClock, shown: list[DeviceCode]
) -> None:
    fake.expires_in = 12
    fake.poll_script.extend(["authorization_pending"] * 10)
    with pytest.raises(DeviceCodeExpiredError, match="WDJB-MJHT expired"):
        _login(fake, clock, shown)
    assert clock.sleeps == [6, 6]  # poll at 6 s; at 12 s the code is dead: no pointless poll
    assert fake.count(TOKEN) == 1
    assert not TokenStore().path.exists()


def test_an_unknown_client_id_leads_to_a_new_registration(
    fake: FakePlatform, clock: FakeClock, shown: list[DeviceCode]
) -> None:
    # A sign-in stored against a platform that has since forgotten its client_id.
    TokenStore().save(
        SignInRecord(client_id="forgotten", platform_url=fake.url, access_token="at-x")
    )
    _login(fake, clock, shown)
    assert [r.path for r in fake.requests] == [DEVICE_CODE, REGISTER, DEVICE_CODE, TOKEN]
    assert fake.requests[0].params["client_id"] == "forgotten"
    stored = TokenStore().load()
    assert stored is not None and stored.client_id == "client-1"


def test_ctrl_c_while_polling_writes_nothing(
    fake: FakePlatform, clock: FakeClock, shown: list[DeviceCode]
) -> None:
    previous = _store_signed_in(fake)
    before = TokenStore().path.read_bytes()
    fake.poll_script.extend(["authorization_pending"] * 5)

    def sleep(seconds: float) -> None:
        if clock.sleeps:
            raise KeyboardInterrupt
        clock.sleep(seconds)

    with pytest.raises(KeyboardInterrupt):
        login(platform_url=fake.url, show=shown.append, sleep=sleep, clock=clock)
    assert fake.count(TOKEN) == 1
    assert TokenStore().path.read_bytes() == before
    assert TokenStore().load() == previous
    assert [p.name for p in TokenStore().directory.iterdir() if p.suffix == ".tmp"] == []


def test_the_default_sleep_wakes_in_short_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    naps: list[float] = []

    def fake_sleep(seconds: float) -> None:
        naps.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    monkeypatch.setattr(time, "sleep", fake_sleep)
    _polling.interruptible_sleep(6.1)
    assert max(naps) <= 0.2 and sum(naps) == pytest.approx(6.1)


def test_login_never_replaces_a_corrupt_file(
    fake: FakePlatform, clock: FakeClock, shown: list[DeviceCode]
) -> None:
    store = TokenStore()
    store.save(SignInRecord(client_id="c", platform_url=fake.url, access_token="at"))
    store.path.write_text('{"version": 1, "client_id": ')
    with pytest.raises(CorruptTokenFileError, match=str(store.path)):
        _login(fake, clock, shown)
    assert store.path.read_text() == '{"version": 1, "client_id": '
    assert fake.requests == []


def test_login_refuses_a_platform_url_that_would_leak_tokens() -> None:
    with pytest.raises(InvalidRequestError, match="unencrypted"):
        login(platform_url="http://platform.example.com")


def test_the_default_instructions(fake: FakePlatform) -> None:
    out = io.StringIO()
    code = DeviceCode("ABCD-EFGH", "https://p/device", "https://p/device?c=1", 600, 5, "dc-secret")
    print_instructions(code, file=out)
    text = out.getvalue()
    assert "https://p/device" in text and "ABCD-EFGH" in text and "https://p/device?c=1" in text
    assert "dc-secret" not in text + repr(code)


# ---- refresh ---------------------------------------------------------------------


def test_a_fresh_token_is_used_without_a_request(fake: FakePlatform, clock: FakeClock) -> None:
    _store_signed_in(fake)
    assert StoredSignIn(clock=clock).get_token() == "at-old"
    assert fake.requests == []


def test_refresh_within_30_s_of_expiry_persists_the_new_tokens(
    fake: FakePlatform, clock: FakeClock
) -> None:
    old = _store_signed_in(fake, access_token_expires_at=int(NOW) + 29)
    provider = StoredSignIn(clock=clock)
    assert provider.get_token() == "at-3"
    assert fake.count(TOKEN, refresh_token=str(old.refresh_token)) == 1
    stored = TokenStore().load()
    assert stored is not None
    assert (stored.access_token, stored.refresh_token) == ("at-3", "rt-3")
    assert stored.access_token_expires_at == int(NOW) + 3600
    assert (stored.org_name, stored.scope) == ("Acme Research", ALL_SCOPES)  # kept
    assert provider.get_token() == "at-3"
    assert fake.count(TOKEN) == 1


def test_a_refresh_without_a_new_refresh_token_keeps_the_old_one(
    fake: FakePlatform, clock: FakeClock
) -> None:
    fake.rotate_refresh_tokens = False
    old = _store_signed_in(fake, access_token_expires_at=int(NOW) - 1)
    assert StoredSignIn(clock=clock).get_token() == "at-3"
    stored = TokenStore().load()
    assert stored is not None and stored.refresh_token == old.refresh_token
    assert stored.refresh_token_expires_at == old.refresh_token_expires_at


def test_an_expired_refresh_token_asks_for_a_new_login(
    fake: FakePlatform, clock: FakeClock
) -> None:
    _store_signed_in(
        fake, access_token_expires_at=int(NOW) - 100, refresh_token_expires_at=int(NOW) - 1
    )
    with pytest.raises(SignInExpiredError, match="run `parallel-account login`") as caught:
        StoredSignIn(clock=clock).get_token()
    assert isinstance(caught.value, AuthenticationError)
    assert fake.requests == []  # known dead: not even asked
    assert status(clock=clock).needs_login


def test_a_refresh_answer_for_another_organisation_is_refused_and_nothing_written(
    fake: FakePlatform, clock: FakeClock
) -> None:
    _store_signed_in(fake, access_token_expires_at=int(NOW) - 1)
    before = TokenStore().path.read_bytes()
    fake.token_overrides["org_id"] = "org_elsewhere"
    with pytest.raises(SignInExpiredError, match="names organisation 'org_elsewhere'") as caught:
        StoredSignIn(clock=clock).get_token()
    assert "nothing was written" in str(caught.value)
    assert "parallel-account login" in str(caught.value)
    assert fake.count(TOKEN) == 1
    assert TokenStore().path.read_bytes() == before


def test_a_refresh_token_the_platform_rejects_asks_for_a_new_login(
    fake: FakePlatform, clock: FakeClock
) -> None:
    _store_signed_in(fake, access_token_expires_at=int(NOW) - 1, refresh_token="rt-revoked")
    with pytest.raises(
        SignInExpiredError, match=r"invalid_grant.*parallel-account login"
    ) as caught:
        StoredSignIn(clock=clock).get_token()
    assert "rt-revoked" not in str(caught.value) + repr(caught.value)
    assert fake.count(TOKEN) == 1


def test_a_forgotten_client_on_refresh_asks_for_a_new_login(
    fake: FakePlatform, clock: FakeClock
) -> None:
    _store_signed_in(fake, client_id="forgotten", access_token_expires_at=int(NOW) - 1)
    with pytest.raises(SignInExpiredError, match="parallel-account login"):
        StoredSignIn(clock=clock).get_token()


def test_a_server_error_on_refresh_carries_no_secret(fake: FakePlatform, clock: FakeClock) -> None:
    record = _store_signed_in(fake, access_token_expires_at=int(NOW) - 1)
    fake.clients.clear()
    fake.clients.add(record.client_id)

    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"detail": "maintenance"})

    with (
        httpx.Client(transport=httpx.MockTransport(broken)) as http,
        pytest.raises(APIStatusError, match="HTTP 503") as caught,
    ):
        StoredSignIn(clock=clock, http=http).get_token()
    assert caught.value.request is None and caught.value.response is None
    assert record.refresh_token is not None
    assert record.refresh_token not in str(caught.value)
    assert TokenStore().load() == record  # nothing changed


def test_refresh_after_a_401_unless_the_token_already_moved_on(
    fake: FakePlatform, clock: FakeClock
) -> None:
    _store_signed_in(fake)
    provider = StoredSignIn(clock=clock)
    assert provider.refresh_token("at-older") == "at-old"  # someone refreshed already
    assert fake.requests == []
    assert provider.refresh_token("at-old") == "at-3"
    assert fake.count(TOKEN) == 1


def test_a_stored_platform_url_must_still_be_safe(fake: FakePlatform, clock: FakeClock) -> None:
    _store_signed_in(
        fake, platform_url="http://platform.example.com", access_token_expires_at=int(NOW) - 1
    )
    with pytest.raises(InvalidRequestError, match="unencrypted"):
        StoredSignIn(clock=clock).get_token()


def test_signed_out_meanwhile(fake: FakePlatform, clock: FakeClock) -> None:
    _store_signed_in(fake)
    provider = StoredSignIn(clock=clock)
    TokenStore().delete()
    with pytest.raises(NotSignedInError, match="parallel-account login"):
        provider.get_token()


def _refresh_in_child(directory: str, barrier: Any, results: Any) -> None:
    """One of the racing processes (spawned, so it shares nothing with the test process)."""
    provider = StoredSignIn(directory=Path(directory))
    barrier.wait(timeout=60)
    try:
        results.put(provider.get_token())
    except Exception as exc:  # reported, so the test shows what went wrong
        results.put(f"error: {exc!r}")


def test_eight_processes_refreshing_at_once_make_one_request(fake: FakePlatform) -> None:
    fake.refresh_delay = 0.3  # the first refresh is still in flight when the others arrive
    now = time.time()  # the children use the real clock
    old = _store_signed_in(fake, now=now, access_token_expires_at=int(now) - 5)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(8)
    results = context.Queue()
    directory = str(TokenStore().directory)
    workers = [
        context.Process(target=_refresh_in_child, args=(directory, barrier, results))
        for _ in range(8)
    ]
    for worker in workers:
        worker.start()
    tokens = sorted(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert fake.count(TOKEN, grant_type="refresh_token") == 1
    assert fake.count(TOKEN, refresh_token=str(old.refresh_token)) == 1
    assert tokens == ["at-3"] * 8
    stored = TokenStore().load()
    assert stored is not None and (stored.access_token, stored.refresh_token) == ("at-3", "rt-3")


# ---- logout and status -------------------------------------------------------


def test_logout_revokes_and_deletes(fake: FakePlatform) -> None:
    record = _store_signed_in(fake)
    result = logout()
    assert result.was_signed_in and result.revoked and result.revoke_error is None
    assert fake.revoked == [record.refresh_token]
    (revoke,) = [r for r in fake.requests if r.path == REVOKE]
    assert revoke.content_type == "application/x-www-form-urlencoded"
    assert revoke.params == {"refresh_token": record.refresh_token}  # that field alone
    assert not TokenStore().path.exists()
    assert "revoked" in result.describe()


def test_logout_deletes_even_when_revoking_fails(fake: FakePlatform) -> None:
    _store_signed_in(fake)
    fake.revoke_status = 500
    result = logout()
    assert result.was_signed_in and not result.revoked
    assert result.revoke_error is not None and "HTTP 500" in result.revoke_error
    assert "NOT revoked" in result.describe()
    assert not TokenStore().path.exists()


def test_logout_deletes_even_when_the_platform_is_gone(fake: FakePlatform) -> None:
    _store_signed_in(fake)
    fake.__exit__(None, None, None)  # the port now refuses connections
    try:
        result = logout()
        assert not result.revoked and "connection failed" in str(result.revoke_error)
        assert not TokenStore().path.exists()
    finally:
        fake.__enter__()  # so the fixture can stop it again


def test_logout_when_not_signed_in(fake: FakePlatform) -> None:
    result = logout()
    assert not result.was_signed_in and not result.revoked
    assert fake.requests == []


def test_logout_removes_a_corrupt_file(fake: FakePlatform) -> None:
    store = TokenStore()
    store.save(SignInRecord(client_id="c", platform_url=fake.url, access_token="at"))
    store.path.write_text("{")
    result = logout()
    assert result.was_signed_in and not result.revoked and "unreadable" in str(result.revoke_error)
    assert not store.path.exists()


def test_logout_still_revokes_a_file_refused_for_its_mode(fake: FakePlatform) -> None:
    record = _store_signed_in(fake)
    TokenStore().path.chmod(0o644)
    with pytest.raises(InsecureTokenFileError, match="chmod 600"):
        status()
    assert logout().revoked
    assert fake.revoked == [record.refresh_token]


def test_status_never_shows_a_token(fake: FakePlatform, clock: FakeClock) -> None:
    assert not status().signed_in
    assert "parallel-account login" in status().describe()
    record = _store_signed_in(fake)
    result = status(clock=clock)
    assert result.signed_in and not result.needs_login
    assert result.org_name == "Acme Research" and result.scopes == tuple(ALL_SCOPES.split())
    assert result.access_token_expires_at is not None
    assert result.access_token_expires_at.timestamp() == NOW + 3600
    text = repr(result) + result.describe() + json.dumps(str(result))
    assert record.access_token not in text and str(record.refresh_token) not in text
    assert "Acme Research" in result.describe()


# ---- wiring into the client's auth resolution ---------------------------------


def test_resolve_auth_picks_the_stored_sign_in(fake: FakePlatform) -> None:
    _store_signed_in(fake, now=time.time())  # resolve_auth's provider uses the real clock
    auth = resolve_auth(None)
    assert isinstance(auth, BearerAuth) and isinstance(auth.provider, StoredSignIn)
    assert "at-old" not in repr(auth)

    seen: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        ok = request.headers["Authorization"] == "Bearer at-3"
        return httpx.Response(200 if ok else 401, json={})

    with httpx.Client(transport=httpx.MockTransport(api), auth=auth) as client:
        assert client.get("https://api.parallel.ai/account/balance").status_code == 200
    # The 401 made the stored sign-in refresh once; the retry carried the new token.
    assert seen == ["Bearer at-old", "Bearer at-3"]
    assert fake.count(TOKEN, grant_type="refresh_token") == 1


def test_the_environment_token_wins_over_the_stored_sign_in(
    fake: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store_signed_in(fake)
    monkeypatch.setenv("PARALLEL_ACCOUNT_TOKEN", "from-env")
    auth = resolve_auth(None)
    assert isinstance(auth, BearerAuth) and not isinstance(auth.provider, StoredSignIn)


def test_resolve_auth_without_any_sign_in_raises() -> None:
    assert stored_sign_in() is None
    with pytest.raises(AuthenticationError, match="parallel-account login"):
        resolve_auth(None)


def test_stored_sign_in_follows_the_profile(
    fake: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store_signed_in(fake)
    monkeypatch.setenv("PARALLEL_ACCOUNT_PROFILE", "other")
    assert stored_sign_in() is None
    provider = stored_sign_in("default")
    assert isinstance(provider, StoredSignIn) and provider.profile == "default"


def test_an_unusable_stored_sign_in_fails_loudly_not_as_no_credentials(fake: FakePlatform) -> None:
    _store_signed_in(fake)
    TokenStore().path.chmod(0o644)
    with pytest.raises(InsecureTokenFileError, match="chmod 600"):
        resolve_auth(None)


def test_the_poll_error_codes_are_kept(fake: FakePlatform, clock: FakeClock) -> None:
    fake.poll_script.append("unsupported_grant_type")
    with pytest.raises(DeviceFlowError, match="unsupported_grant_type") as caught:
        login(platform_url=fake.url, show=lambda code: None, sleep=clock.sleep, clock=clock)
    assert caught.value.error == "unsupported_grant_type"
    assert deque(fake.poll_script) == deque()


def test_no_secret_in_reprs_or_log_records(
    fake: FakePlatform, clock: FakeClock, shown: list[DeviceCode], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _login(fake, clock, shown)
    clock.now += 3600  # due for a refresh
    provider = StoredSignIn(clock=clock)
    assert provider.get_token() == "at-4"
    grant = _answers.TokenGrant.from_body({"access_token": "at-x", "refresh_token": "rt-x"})
    with _platform.Platform(fake.url) as platform:
        shown_objects = [shown[0], grant, platform, provider, TokenStore(), TokenStore().load()]
    text = caplog.text + " ".join(repr(o) + str(o) for o in shown_objects)
    for secret in ("at-3", "rt-3", "at-4", "rt-4", "at-x", "rt-x", shown[0].device_code):
        assert secret not in text
    assert "getServiceKeys/token" in caplog.text  # the records were captured


def test_a_passing_server_fault_while_polling_does_not_end_the_sign_in(
    fake: FakePlatform, clock: FakeClock, shown: list[DeviceCode]
) -> None:
    fake.poll_script.extend(
        ["authorization_pending", "http:503", "http:502", "authorization_pending"]
    )
    _login(fake, clock, shown)
    assert fake.count(TOKEN) == 5
    assert TokenStore().load() is not None


# ---- a hostile world (issue 10) ------------------------------------------------


@pytest.mark.parametrize(
    ("lifetimes", "access_at"),
    [
        pytest.param({"expires_in": 1e20}, int(NOW) + 6 + _answers.MAX_LIFETIME, id="1e20"),
        pytest.param({"expires_in": 10**30}, int(NOW) + 6 + _answers.MAX_LIFETIME, id="10**30"),
        pytest.param({"expires_in": "1e300"}, int(NOW) + 6 + _answers.MAX_LIFETIME, id="str"),
        pytest.param({"expires_in": -5}, int(NOW) + 6, id="negative"),
        pytest.param(
            {"refresh_token_expires_in": 1e300, "authorization_expires_in": 1e19},
            int(NOW) + 6 + 3600,
            id="others",
        ),
    ],
)
def test_absurd_lifetimes_are_clamped(
    fake: FakePlatform,
    clock: FakeClock,
    shown: list[DeviceCode],
    lifetimes: dict[str, Any],
    access_at: int,
) -> None:
    fake.token_overrides = lifetimes
    result = _login(fake, clock, shown)
    stored = TokenStore().load()
    assert stored is not None and stored.access_token_expires_at == access_at
    for at in (stored.refresh_token_expires_at, stored.authorization_expires_at):
        assert at is None or at <= int(NOW) + 6 + _answers.MAX_LIFETIME
    assert "expires" in result.describe() and status(clock=clock).signed_in


@pytest.mark.parametrize(
    ("overrides", "raw", "match"),
    [
        pytest.param({"expires_in": "soon"}, None, "expires_in", id="word"),
        pytest.param({"expires_in": [1]}, None, "expires_in", id="list"),
        pytest.param({"expires_in": True}, None, "expires_in", id="bool"),
        pytest.param({}, b'{"access_token": "at", "expires_in": NaN}', "not a JSON", id="NaN"),
        pytest.param({}, b'{"access_token": "at", "expires_in": 1e400}', "not a JSON", id="inf"),
        pytest.param({}, b"[" * 100_000 + b"]" * 100_000, "not a JSON", id="deep"),
        pytest.param({}, b'{"access_token": "at", "n": ' + b"9" * 5000 + b"}", "not a", id="5000"),
        pytest.param({}, b"\xff\xfe", "not a JSON", id="not-utf-8"),
        pytest.param({"refresh_token": "r\u00e9"}, None, "refresh_token", id="non-ascii-rt"),
        pytest.param({"access_token": "\ud800"}, None, "access_token", id="surrogate-at"),
    ],
)
def test_unusable_token_answers_are_clear_errors_and_write_nothing(
    fake: FakePlatform,
    clock: FakeClock,
    shown: list[DeviceCode],
    overrides: dict[str, Any],
    raw: bytes | None,
    match: str,
) -> None:
    fake.token_overrides = overrides
    fake.raw_token_answer = raw
    with pytest.raises(DeviceFlowError, match=match):
        _login(fake, clock, shown)
    assert not TokenStore().path.exists()


def test_a_huge_platform_answer_is_not_read_whole(
    fake: FakePlatform, clock: FakeClock, shown: list[DeviceCode]
) -> None:
    fake.raw_token_answer = b'{"access_token": "at", "pad": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    with pytest.raises(DeviceFlowError, match="larger than"):
        _login(fake, clock, shown)


def test_absurd_device_code_lifetimes_are_clamped(
    fake: FakePlatform, clock: FakeClock, shown: list[DeviceCode]
) -> None:
    fake.device_overrides = {"expires_in": 1e300, "interval": 1e300}
    out = io.StringIO()
    fake.poll_script.append("access_denied")
    with pytest.raises(AccessDeniedError):
        _login(fake, clock, shown)
    print_instructions(shown[0], file=out)
    assert shown[0].expires_in == _answers.MAX_DEVICE_CODE_LIFETIME
    assert shown[0].interval == _answers.MAX_INTERVAL
    assert "expires in 1440 min" in out.getvalue()


def _plant(path: Path, how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Put something broken where the sign-in file goes."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if how == "symlink":
        target = path.parent / "elsewhere"
        target.write_text("{}")
        path.symlink_to(target)
        return
    if how == "fifo":
        os.mkfifo(path, 0o600)
        return
    content = {
        "deep": b"[" * 30_000 + b"]" * 30_000,
        "digits": b'{"version": ' + b"1" * 5000 + b"}",
        "not-utf-8": b"\xc3\x28",
        "huge": b" " * (1024 * 1024),
    }.get(how, b'{"version": 1}')
    path.write_bytes(content)
    path.chmod(0o600)
    if how == "mode-0666":
        path.chmod(0o666)
    elif how == "dir-0777":
        path.parent.chmod(0o777)
    elif how == "other-user":
        me = os.geteuid()
        monkeypatch.setattr(os, "geteuid", lambda: me + 4242)


@pytest.mark.parametrize(
    "how",
    [
        "deep",
        "digits",
        "not-utf-8",
        "huge",
        "symlink",
        "fifo",
        "mode-0666",
        "dir-0777",
        "other-user",
    ],
)
def test_logout_always_removes_a_broken_file(
    fake: FakePlatform, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    path = TokenStore().path
    _plant(path, how, monkeypatch)
    with pytest.raises(ParallelAccountError) as caught:  # clear errors, each naming the file
        status()
    assert str(path) in str(caught.value) or str(path.parent) in str(caught.value)
    result = logout()
    assert result.was_signed_in and not result.revoked
    assert not path.exists() and not path.is_symlink()
    assert fake.requests == []


def test_a_refresh_whose_save_fails_must_be_renewed_and_status_says_so(
    fake: FakePlatform, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store_signed_in(fake, access_token_expires_at=int(NOW) - 1)

    def disk_full(self: TokenStore, record: SignInRecord) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(TokenStore, "save", disk_full)
        with pytest.raises(SignInExpiredError) as caught:
            StoredSignIn(clock=clock).get_token()
    message = str(caught.value)
    assert "could not be saved" in message and "No space left" in message
    assert "parallel-account login" in message and "renew" in message
    now = status(clock=clock)
    assert now.needs_login  # never reported as a valid sign-in
    assert fake.count(TOKEN) == 1


def test_a_refresh_that_keeps_the_refresh_token_survives_a_failed_save(
    fake: FakePlatform, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.rotate_refresh_tokens = False  # the stored refresh token stays good
    _store_signed_in(fake, access_token_expires_at=int(NOW) - 1)

    def disk_full(self: TokenStore, record: SignInRecord) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(TokenStore, "save", disk_full)
        assert StoredSignIn(clock=clock).get_token() == "at-3"
    assert not status(clock=clock).needs_login


def test_status_and_instructions_escape_platform_text_and_print_real_lines(
    fake: FakePlatform, clock: FakeClock, shown: list[DeviceCode]
) -> None:
    hostile = "\x1b[2J\x1b]0;pwned\x07\u202e"
    fake.device_overrides = {
        "user_code": f"AB{hostile}",
        "verification_uri": f"{fake.url}/{hostile}",
    }
    fake.token_overrides = {"org_name": f"Acme{hostile}\nFAKE LINE", "scope": f"a {hostile}"}
    out = io.StringIO()
    result = login(
        platform_url=fake.url,
        show=lambda code: print_instructions(code, file=out),
        sleep=clock.sleep,
        clock=clock,
    )
    for text in (out.getvalue(), result.describe()):
        assert not any(ch in text for ch in "\x1b\x07\u202e"), text
        assert "\\x1b" in text
    assert "\nFAKE LINE" not in result.describe() and "\\nFAKE LINE" in result.describe()
    assert len(result.describe().splitlines()) >= 4
