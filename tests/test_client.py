"""AccountClient and AsyncAccountClient over httpx.MockTransport: no network, no real sleeps."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import parallel_account as pa
from codegen.naming import operations, with_friendly_names
from parallel_account._retry import RetryPolicy
from parallel_account_api.spec_facts import OPERATIONS
from tests.support import HIGHEST, LONGEST, ROOT, SHORTEST

TOKEN = "tok-3f9a1c0e5b7d42a8"
RAW_KEY = "sk-live-RAWKEY-9c8b7a6d5e4f"
APP_ID = "6f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b"
BALANCE = {
    "org_id": "org_1",
    "credit_balance_cents": 1234,
    "pending_debit_balance_cents": 0,
    "will_invoice": False,
}
KEY = {
    "api_key_id": "key_1",
    "api_key_name": "ci",
    "app_id": APP_ID,
    "app_name": "billing",
    "created_by_user_id": "u_1",
    "created_by_user_email": "ops@example.com",
    "display_value": "sk-...4e4f",
    "raw_api_key": RAW_KEY,
    "created_at": 1_700_000_000,
}
APP = {"app_name": "billing", "org_name": "Acme", "app_id": APP_ID, "org_id": "org_1"}
# method name -> (args, success body, check of the result)
METHODS: dict[str, tuple[tuple[Any, ...], Any, Callable[[Any], bool]]] = {
    "get_balance": ((), BALANCE, lambda r: r.credit_balance_cents == 1234),
    "add_balance": ((500,), BALANCE, lambda r: isinstance(r, pa.BalanceResponse)),
    "list_apps": ((), {"apps": [APP]}, lambda r: [a.app_id for a in r] == [APP_ID]),
    "create_app": (("billing",), {"app_id": APP_ID}, lambda r: r.app_id == APP_ID),
    "delete_app": ((uuid.UUID(APP_ID),), None, lambda r: r is None),
    "create_key": ((APP_ID, "ci"), KEY, lambda r: r.raw_api_key == RAW_KEY),
    "delete_key": ((APP_ID, "key_1"), None, lambda r: r is None),
}
STATUS_ERRORS = {
    401: pa.AuthenticationError,
    403: pa.PermissionDeniedError,
    404: pa.NotFoundError,
    409: pa.ConflictError,
    422: pa.UnprocessableEntityError,
    429: pa.RateLimitError,
    500: pa.InternalServerError,
}


class Recorder:
    """A MockTransport handler answering from a script; records every request."""

    def __init__(
        self, *script: httpx.Response | BaseException | Callable[[httpx.Request], Any]
    ) -> None:
        self.script = list(script)
        self.requests: list[httpx.Request] = []
        # Snapshots at send time: a retried Request object may be mutated later (auth header).
        self.bodies: list[bytes] = []
        self.auth: list[str | None] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(request.read())
        self.auth.append(request.headers.get("authorization"))
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, BaseException):
            raise step
        if callable(step) and not isinstance(step, httpx.Response):
            made = step(request)  # made fresh for this request: no copy needed
            assert isinstance(made, httpx.Response)
            return made
        assert isinstance(step, httpx.Response)
        # A fresh copy each time: a Response's stream belongs to the one client that read it.
        return httpx.Response(step.status_code, headers=step.headers, content=step.content)


def ok(body: Any) -> httpx.Response:
    return httpx.Response(200, json=body)


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.calls.append(seconds)


def run(
    kind: str,
    handler: Recorder,
    method: str,
    *args: Any,
    sleeps: Sleeps | None = None,
    call_kwargs: dict[str, Any] | None = None,
    **options: Any,
) -> Any:
    """Call `method` on a sync or async client over `handler`; return the result."""
    sleeps = sleeps or Sleeps()
    options.setdefault("token", TOKEN)
    policy = options.pop("policy", RetryPolicy(random=lambda: 1.0))
    if kind == "sync":
        with pa.AccountClient(
            http_client=httpx.Client(transport=httpx.MockTransport(handler)),
            sleep=sleeps,
            policy=policy,
            **options,
        ) as client:
            return getattr(client, method)(*args, **(call_kwargs or {}))

    async def main() -> Any:
        async with pa.AsyncAccountClient(
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
            sleep=sleeps.async_sleep,
            policy=policy,
            **options,
        ) as client:
            return await getattr(client, method)(*args, **(call_kwargs or {}))

    return asyncio.run(main())


KINDS = ["sync", "async"]


# --- every method, both faces --------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", sorted(METHODS))
def test_success(kind: str, method: str) -> None:
    args, body, check = METHODS[method]
    handler = Recorder(ok(body))
    assert check(run(kind, handler, method, *args))
    (request,) = handler.requests
    operation = OPERATIONS[method]
    assert request.method == operation.method
    assert handler.auth == [f"Bearer {TOKEN}"]
    assert request.url.path == "/account" + operation.path.format(app_id=APP_ID, api_key_id="key_1")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("status", sorted(STATUS_ERRORS))
def test_status_errors(kind: str, method: str, status: int) -> None:
    args, _, _ = METHODS[method]
    body = (
        {"detail": [{"loc": ["body", "x"], "msg": "bad", "type": "value_error"}]}
        if status == 422
        else {"detail": "no"}
    )
    handler = Recorder(httpx.Response(status, json=body, headers={"x-request-id": "req_42"}))
    with pytest.raises(STATUS_ERRORS[status]) as caught:
        run(kind, handler, method, *args, max_retries=0)
    error = caught.value
    assert isinstance(error, pa.APIStatusError)
    assert type(error) is STATUS_ERRORS[status]
    assert error.status_code == status and error.request_id == "req_42"
    assert error.response is not None and error.response.status_code == status
    assert f"HTTP {status}" in str(error)
    if status == 422:
        assert isinstance(error, pa.UnprocessableEntityError)
        assert error.detail == body["detail"]
    assert len(handler.requests) == 1


def test_other_status_raises_the_base_status_error() -> None:
    handler = Recorder(httpx.Response(418, text="teapot"))
    with pytest.raises(pa.APIStatusError) as caught:
        run("sync", handler, "get_balance")
    assert type(caught.value) is pa.APIStatusError and caught.value.status_code == 418


def test_success_body_that_breaks_the_spec_is_an_error_not_a_none() -> None:
    with pytest.raises(pa.APIError, match="does not match the spec"):
        run("sync", Recorder(ok({"org_id": "x"})), "get_balance")
    with pytest.raises(pa.APIError, match="not JSON"):
        run("sync", Recorder(httpx.Response(200, text="<html>")), "get_balance")


def test_every_operation_in_the_spec_has_a_method_on_both_clients() -> None:
    document = with_friendly_names(json.loads((ROOT / "openapi.json").read_text()))
    names = {op["operationId"] for _, _, op in operations(document)}
    assert names == set(OPERATIONS)
    # METHODS holds sample calls of the operations this file tests in depth; an operation
    # added upstream is exercised by tests/test_surface.py, which reads the facts.
    assert set(METHODS) <= names
    for name in names:
        assert callable(getattr(pa.AccountClient, name, None)), name
        assert asyncio.iscoroutinefunction(getattr(pa.AsyncAccountClient, name, None)), name


# --- retries -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_add_balance_retries_resend_the_identical_body_and_key(kind: str) -> None:
    handler = Recorder(
        httpx.ReadError("connection reset by peer"),
        httpx.Response(503),
        httpx.Response(429, headers={"Retry-After": "2"}),
        ok(BALANCE),
    )
    sleeps = Sleeps()
    result = run(kind, handler, "add_balance", 2500, sleeps=sleeps, max_retries=3)
    assert result.credit_balance_cents == 1234
    assert len(handler.requests) == 4
    assert len(set(handler.bodies)) == 1
    body = json.loads(handler.bodies[0])
    assert body["amount_cents"] == 2500 and uuid.UUID(body["idempotency_key"]).version == 4
    assert sleeps.calls == [0.5, 1.0, 2.0]  # backoff (jitter pinned to 1.0), then Retry-After


def test_each_add_balance_call_gets_its_own_key() -> None:
    handler = Recorder(ok(BALANCE))
    with pa.AccountClient(
        TOKEN, http_client=httpx.Client(transport=httpx.MockTransport(handler))
    ) as client:
        client.add_balance(100)
        client.add_balance(100)
        client.add_balance(100, idempotency_key="order-000042")
    keys = [json.loads(b)["idempotency_key"] for b in handler.bodies]
    assert keys[0] != keys[1] and keys[2] == "order-000042"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.Response(503),
        httpx.RemoteProtocolError("closed"),
        httpx.Response(500),
    ],
    ids=["read-timeout", "503", "dropped", "500"],
)
@pytest.mark.parametrize("method", ["create_app", "create_key"])
def test_non_idempotent_calls_are_sent_once_after_they_may_have_arrived(
    kind: str, failure: Any, method: str
) -> None:
    handler = Recorder(failure, ok(METHODS[method][1]))
    with pytest.raises(pa.APIError) as caught:
        run(kind, handler, method, *METHODS[method][0], max_retries=5)
    assert len(handler.requests) == 1
    error = caught.value
    assert error.idempotency_key is None and error.outcome_unknown
    assert "may have been carried out" in str(error) and method in str(error)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("busy")],
)
def test_non_idempotent_calls_are_retried_when_the_request_never_left(
    kind: str, failure: Exception
) -> None:
    handler = Recorder(failure, ok({"app_id": APP_ID}))
    assert run(kind, handler, "create_app", "billing").app_id == APP_ID
    assert len(handler.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 418])
def test_non_retryable_statuses_are_not_retried(status: int) -> None:
    handler = Recorder(httpx.Response(status, json={"detail": "x"}), ok(BALANCE))
    with pytest.raises(pa.APIStatusError):
        run("sync", handler, "get_balance")
    assert len(handler.requests) == 1


# 409 only when the server says when to come back (tests/test_hardening.py has the rest).
@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried_up_to_max_retries(status: int) -> None:
    handler = Recorder(httpx.Response(status, json={"detail": "x"}))
    sleeps = Sleeps()
    with pytest.raises(pa.APIStatusError) as caught:
        run("sync", handler, "get_balance", sleeps=sleeps, max_retries=2)
    assert caught.value.status_code == status
    assert len(handler.requests) == 3 and sleeps.calls == [0.5, 1.0]


def test_backoff_doubles_is_capped_and_jittered() -> None:
    top = RetryPolicy(random=lambda: 1.0)
    assert [top.backoff(n) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 8, 8]
    low = RetryPolicy(random=lambda: 0.0)
    assert [low.backoff(n) for n in (1, 5)] == [0.25, 4.0]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "3600"}, 60.0),
        ({"retry-after-ms": "90000"}, 60.0),
        ({"retry-after": email.utils.formatdate(1_000_030, usegmt=True)}, 30.0),
        ({"retry-after": email.utils.formatdate(1_000_000 + 600, usegmt=True)}, 60.0),
        ({"retry-after": email.utils.formatdate(999_000, usegmt=True)}, 0.0),
        ({"retry-after": "soon"}, 0.5),
    ],
)
@pytest.mark.parametrize("kind", KINDS)
def test_retry_after_is_honoured_and_capped(
    kind: str, headers: dict[str, str], expected: float
) -> None:
    policy = RetryPolicy(random=lambda: 1.0, clock=lambda: 1_000_000.0)
    handler = Recorder(httpx.Response(429, headers=headers), ok(BALANCE))
    sleeps = Sleeps()
    run(kind, handler, "get_balance", sleeps=sleeps, policy=policy)
    assert sleeps.calls == [pytest.approx(expected)]


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_outcome_is_said_plainly_with_the_key(kind: str) -> None:
    handler = Recorder(httpx.ReadTimeout("timed out"))
    with pytest.raises(pa.APITimeoutError) as caught:
        run(
            kind,
            handler,
            "add_balance",
            900,
            call_kwargs={"idempotency_key": "invoice-77-topup"},
            max_retries=2,
        )
    error = caught.value
    assert len(handler.requests) == 3
    assert error.idempotency_key == "invoice-77-topup" and error.outcome_unknown
    assert (
        "outcome unknown" in str(error)
        and "invoice-77-topup" in str(error)
        and "safe" in str(error)
    )


def test_known_outcome_errors_carry_the_key_without_alarm() -> None:
    handler = Recorder(httpx.Response(402, json={"detail": "card declined"}))
    with pytest.raises(pa.APIStatusError) as caught:
        run(
            "sync", handler, "add_balance", 900, call_kwargs={"idempotency_key": "invoice-78-topup"}
        )
    assert caught.value.idempotency_key == "invoice-78-topup" and not caught.value.outcome_unknown
    assert "card declined" in str(caught.value)
    never_sent = Recorder(httpx.ConnectError("refused"))
    with pytest.raises(pa.APIConnectionError) as refused:
        run("sync", never_sent, "add_balance", 900, max_retries=0)
    assert refused.value.idempotency_key is not None and not refused.value.outcome_unknown


def test_with_options_shares_the_pool_and_changes_only_the_options() -> None:
    handler = Recorder(httpx.Response(503))
    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = pa.AccountClient(TOKEN, http_client=http, sleep=Sleeps(), max_retries=4)
    quick = client.with_options(max_retries=0, timeout=2.5)
    assert quick._http is client._http
    assert (quick.max_retries, quick.timeout.read) == (0, 2.5)
    assert (client.max_retries, client.timeout.read) == (4, 30.0)
    with pytest.raises(pa.InternalServerError):
        quick.get_balance()
    assert len(handler.requests) == 1
    quick.close()
    assert not http.is_closed
    with pytest.raises(pa.InvalidRequestError, match="max_retries"):
        client.with_options(max_retries=-1)


def test_owned_pool_is_closed_and_a_given_one_is_not() -> None:
    given = httpx.Client(transport=httpx.MockTransport(Recorder(ok(BALANCE))))
    with pa.AccountClient(TOKEN, http_client=given):
        pass
    assert not given.is_closed
    owned = pa.AccountClient(TOKEN)
    owned.close()
    assert owned._http.is_closed


def test_each_client_refuses_the_other_kind_of_http_client_naming_its_twin() -> None:
    async_pool, sync_pool = httpx.AsyncClient(), httpx.Client()
    with pytest.raises(pa.InvalidRequestError) as sync_face:
        pa.AccountClient(TOKEN, http_client=async_pool)  # type: ignore[arg-type]
    assert str(sync_face.value) == (
        "http_client: got AsyncClient; expected an httpx.Client "
        "(use AsyncAccountClient for an httpx.AsyncClient)"
    )
    with pytest.raises(pa.InvalidRequestError) as async_face:
        pa.AsyncAccountClient(TOKEN, http_client=sync_pool)  # type: ignore[arg-type]
    assert str(async_face.value) == (
        "http_client: got Client; expected an httpx.AsyncClient "
        "(use AccountClient for an httpx.Client)"
    )
    sync_pool.close()


# --- auth ----------------------------------------------------------------------------------


def test_callable_token_rotates_and_is_asked_again_after_a_401() -> None:
    tokens = iter(["t-1", "t-2", "t-3"])
    handler = Recorder(httpx.Response(401), ok(BALANCE))
    run("sync", handler, "get_balance", token=lambda: next(tokens))
    assert handler.auth == ["Bearer t-1", "Bearer t-2"]


def test_static_token_401_is_not_retried() -> None:
    handler = Recorder(httpx.Response(401, json={"detail": "expired"}))
    with pytest.raises(pa.AuthenticationError):
        run("sync", handler, "get_balance")
    assert len(handler.requests) == 1


def test_token_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARALLEL_ACCOUNT_TOKEN", "env-token-1")
    handler = Recorder(ok(BALANCE))
    run("sync", handler, "get_balance", token=None)
    assert handler.auth == ["Bearer env-token-1"]


def test_no_credentials_fails_before_any_request(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.delenv("PARALLEL_ACCOUNT_TOKEN", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    with pytest.raises(pa.AuthenticationError, match="PARALLEL_ACCOUNT_TOKEN") as caught:
        pa.AccountClient()
    assert caught.value.response is None and "parallel-account login" in str(caught.value)


def test_base_url_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    assert pa.AccountClient(TOKEN).base_url == "https://api.parallel.ai/account"
    monkeypatch.setenv("PARALLEL_SERVICE_API_URL", "http://127.0.0.1:8080/account/")
    assert pa.AccountClient(TOKEN).base_url == "http://127.0.0.1:8080/account"
    for url in ("http://[::1]:9/x", "http://localhost:1", "http://127.8.0.1"):
        assert pa.AccountClient(TOKEN, base_url=url).base_url == url
    for url in (
        "http://api.parallel.ai/account",
        "http://10.0.0.1/x",
        "ftp://x",
        "api.parallel.ai",
    ):
        with pytest.raises(pa.InvalidRequestError, match="base_url"):
            pa.AccountClient(TOKEN, base_url=url)
    monkeypatch.setenv("PARALLEL_SERVICE_API_URL", "http://evil.example/account")
    with pytest.raises(pa.InvalidRequestError, match="PARALLEL_SERVICE_API_URL"):
        pa.AccountClient(TOKEN)


def test_user_agent_names_package_python_and_spec() -> None:
    handler = Recorder(ok(BALANCE))
    run("sync", handler, "get_balance")
    agent = handler.requests[0].headers["user-agent"]
    assert agent.startswith(f"parallel-account-client/{pa.__version__} (python 3.")
    assert agent.endswith(f"; spec {pa.SPEC_SHA256[:8]})")


# --- validation ----------------------------------------------------------------------------

add = OPERATIONS["add_balance"]
MAX_CENTS, MIN_KEY, MAX_KEY = HIGHEST, SHORTEST, LONGEST
BAD_INPUTS: list[tuple[str, tuple[Any, ...], dict[str, Any], str]] = [
    ("add_balance", (0,), {}, "amount_cents"),
    ("add_balance", (-1,), {}, "amount_cents"),
    ("add_balance", (MAX_CENTS + 1,), {}, "amount_cents"),
    ("add_balance", (10**12,), {}, "amount_cents"),
    ("add_balance", (True,), {}, "amount_cents"),
    ("add_balance", (25.0,), {}, "amount_cents"),
    ("add_balance", (25.5,), {}, "amount_cents"),
    ("add_balance", ("2500",), {}, "amount_cents"),
    ("add_balance", (None,), {}, "amount_cents"),
    ("add_balance", (float("nan"),), {}, "amount_cents"),
    ("add_balance", (100,), {"idempotency_key": "k" * (MIN_KEY - 1)}, "idempotency_key"),
    ("add_balance", (100,), {"idempotency_key": "k" * (MAX_KEY + 1)}, "idempotency_key"),
    ("add_balance", (100,), {"idempotency_key": ""}, "idempotency_key"),
    ("add_balance", (100,), {"idempotency_key": 12345678}, "idempotency_key"),
    ("add_balance", (100,), {"idempotency_key": uuid.uuid4()}, "idempotency_key"),
    ("create_app", (None,), {}, "app_name"),
    ("create_app", (42,), {}, "app_name"),
    ("create_app", (b"bytes",), {}, "app_name"),
    ("delete_app", ("not-a-uuid",), {}, "app_id"),
    ("delete_app", ("",), {}, "app_id"),
    ("delete_app", (None,), {}, "app_id"),
    ("delete_app", (12345,), {}, "app_id"),
    ("delete_app", ("../../balance",), {}, "app_id"),
    ("create_key", ("nope", "ci"), {}, "app_id"),
    ("create_key", (APP_ID, None), {}, "api_key_name"),
    ("create_key", (APP_ID, ["ci"]), {}, "api_key_name"),
    ("delete_key", (APP_ID, ""), {}, "api_key_id"),
    ("delete_key", (APP_ID, None), {}, "api_key_id"),
    ("delete_key", (APP_ID, 7), {}, "api_key_id"),
    ("delete_key", ("zzz", "key_1"), {}, "app_id"),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("method", "args", "kwargs", "parameter"), BAD_INPUTS)
def test_bad_input_is_rejected_before_any_request(
    kind: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], parameter: str
) -> None:
    handler = Recorder(ok(BALANCE))

    def call_sync() -> None:
        with pa.AccountClient(
            TOKEN, http_client=httpx.Client(transport=httpx.MockTransport(handler))
        ) as c:
            getattr(c, method)(*args, **kwargs)

    async def call_async() -> None:
        async with pa.AsyncAccountClient(
            TOKEN, http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler))
        ) as c:
            await getattr(c, method)(*args, **kwargs)

    with pytest.raises(pa.InvalidRequestError) as caught:
        call_sync() if kind == "sync" else asyncio.run(call_async())
    message = str(caught.value)
    assert message.startswith(f"{parameter}: ")
    assert "expected" in message  # says what is allowed
    assert isinstance(caught.value, ValueError)
    assert handler.requests == []


def test_amount_message_states_the_spec_bounds() -> None:
    with pytest.raises(pa.InvalidRequestError) as caught:
        run("sync", Recorder(ok(BALANCE)), "add_balance", 0)
    bound = add.body_field("amount_cents")
    assert f"{int(bound.exclusive_minimum or 0)} < amount_cents <= {MAX_CENTS}" in str(caught.value)


@pytest.mark.parametrize(
    "token",
    ["", " ", "s3cr3t en", "s3cr3t\n", "s3cr3t\x00x", "\ts3cr3t"],
    ids=["empty", "space", "inner", "newline", "nul", "tab"],
)
def test_bad_tokens_are_refused_without_echoing_them(token: str) -> None:
    with pytest.raises(pa.InvalidRequestError, match=r"^token: ") as caught:
        pa.AccountClient(token)
    if token.strip():
        assert token.strip() not in str(caught.value)


def test_bad_options_are_refused() -> None:
    for kwargs in (
        {"timeout": -1},
        {"timeout": "30"},
        {"max_retries": -1},
        {"max_retries": 1.5},
        {"max_retries": True},
    ):
        with pytest.raises(pa.InvalidRequestError):
            pa.AccountClient(TOKEN, **kwargs)
    with pytest.raises(pa.InvalidRequestError, match="http_client"):
        pa.AccountClient(TOKEN, http_client=httpx.AsyncClient())  # type: ignore[arg-type]


def test_uuid_app_ids_are_normalised() -> None:
    handler = Recorder(httpx.Response(200, json=None))
    run("sync", handler, "delete_app", APP_ID.upper())
    assert handler.requests[0].url.path.endswith(f"/apps/{APP_ID}")


# --- idempotency keys ----------------------------------------------------------------------


def test_idempotency_key_for_is_stable_and_unambiguous() -> None:
    key = pa.idempotency_key_for("invoice", 1042)
    assert key == pa.idempotency_key_for("invoice", 1042)
    assert uuid.UUID(key).version == 5
    assert MIN_KEY <= len(key) <= MAX_KEY
    assert key != pa.idempotency_key_for("invoice", "1042")
    assert pa.idempotency_key_for("ab", "c") != pa.idempotency_key_for("a", "bc")
    with pytest.raises(pa.InvalidRequestError):
        pa.idempotency_key_for()
    with pytest.raises(pa.InvalidRequestError):
        pa.idempotency_key_for(1.5)  # type: ignore[arg-type]


# --- secrets -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_secrets_never_reach_logs_reprs_or_errors(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx's and httpcore's included
    texts: list[str] = []
    for method, (args, body, _) in METHODS.items():
        flaky = OPERATIONS[method].idempotent  # a retry (and its WARNING) where one is allowed
        script = (httpx.Response(503), ok(body)) if flaky else (ok(body),)
        results = run(kind, Recorder(*script), method, *args)
        texts += [repr(results), str(results)]
        for status in (401, 422, 500):
            handler = Recorder(httpx.Response(status, json={"detail": "x"}))
            with pytest.raises(pa.APIError) as caught:
                run(kind, handler, method, *args, max_retries=0)
            texts += [str(caught.value), repr(caught.value), repr(caught.value.args)]
    for failure in (httpx.ReadTimeout("t"), httpx.ConnectError("c")):
        with pytest.raises(pa.APIError) as caught:
            run(kind, Recorder(failure), "add_balance", 100, max_retries=1)
        texts += [str(caught.value), repr(caught.value)]
    client = pa.AccountClient(TOKEN)
    texts += [repr(client), repr(client.with_options(max_retries=0)), repr(client._auth)]
    texts += [r.getMessage() for r in caplog.records]
    assert any("GET /service/v1/balance -> 200" in t for t in texts)  # the logs did capture
    assert any("retrying after HTTP 503" in t for t in texts)
    for text in texts:
        assert TOKEN not in text
        assert RAW_KEY not in text


def test_log_switch_installs_one_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    logger = logging.getLogger("parallel_account")
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "level", logging.NOTSET)
    monkeypatch.setenv("PARALLEL_ACCOUNT_LOG", "debug")
    pa.AccountClient(TOKEN)
    pa.AccountClient(TOKEN)
    assert len(logger.handlers) == 1 and logger.level == logging.DEBUG


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["delete_app", "delete_key"])
def test_delete_that_may_have_worked_then_404_counts_as_done(kind: str, method: str) -> None:
    handler = Recorder(httpx.ReadError("reset"), httpx.Response(404, json={"detail": "gone"}))
    assert run(kind, handler, method, *METHODS[method][0]) is None
    assert len(handler.requests) == 2


@pytest.mark.parametrize(
    "first", [httpx.ConnectError("refused"), httpx.Response(429)], ids=["never-sent", "429"]
)
def test_delete_404_after_an_attempt_that_surely_did_nothing_is_an_error(first: Any) -> None:
    handler = Recorder(first, httpx.Response(404, json={"detail": "no such app"}))
    with pytest.raises(pa.NotFoundError):
        run("sync", handler, "delete_app", APP_ID)
    assert len(handler.requests) == 2


# --- failures outside the HTTP exchange still carry the key ---------------------------------


def _failing_on_second_call(first: str) -> Callable[[], str]:
    calls = iter([first])

    def token() -> str:
        try:
            return next(calls)
        except StopIteration:
            raise RuntimeError("token service down") from None

    return token


@pytest.mark.parametrize("kind", KINDS)
def test_token_failure_on_a_retry_after_a_lost_answer_keeps_the_key(kind: str) -> None:
    handler = Recorder(httpx.ReadError("reset after the charge"), ok(BALANCE))
    with pytest.raises(pa.APIError) as caught:
        run(kind, handler, "add_balance", 700, token=_failing_on_second_call(TOKEN))
    error = caught.value
    assert len(handler.requests) == 1
    assert error.idempotency_key is not None and error.outcome_unknown
    assert isinstance(error.__cause__, RuntimeError)
    assert "outcome unknown" in str(error) and error.idempotency_key in str(error)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("body", [{"org_id": 1}, "not json"], ids=["bad-shape", "not-json"])
def test_unreadable_success_answer_to_a_charge_says_outcome_unknown(kind: str, body: Any) -> None:
    answer = (
        httpx.Response(200, json=body) if isinstance(body, dict) else httpx.Response(200, text=body)
    )
    with pytest.raises(pa.APIError) as caught:
        run(kind, Recorder(answer), "add_balance", 700)
    assert caught.value.idempotency_key is not None and caught.value.outcome_unknown


def test_undecodable_body_is_an_api_error_with_the_key() -> None:
    handler = Recorder(
        lambda request: httpx.Response(
            200, content=b"not gzip", headers={"content-encoding": "gzip"}
        )
    )
    with pytest.raises(pa.APIConnectionError, match="answer could not be read") as caught:
        run("sync", handler, "add_balance", 700, max_retries=1)
    assert len(handler.requests) == 2  # idempotent: retried with the same key
    assert caught.value.idempotency_key is not None and caught.value.outcome_unknown


@pytest.mark.parametrize("kind", KINDS)
def test_ctrl_c_during_a_charge_names_the_key(kind: str) -> None:
    handler = Recorder(KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt) as caught:
        run(kind, handler, "add_balance", 700, call_kwargs={"idempotency_key": "order-31337-x"})
    assert any("order-31337-x" in note for note in getattr(caught.value, "__notes__", []))


class ProviderWithNewline:
    def get_token(self) -> str:
        return TOKEN + "\nX-Injected: 1"

    def refresh_token(self, rejected: str) -> str | None:
        return None


@pytest.mark.parametrize("kind", KINDS)
def test_a_provider_token_with_a_newline_never_reaches_the_wire_or_a_message(kind: str) -> None:
    handler = Recorder(ok(BALANCE))
    with pytest.raises(pa.InvalidRequestError) as caught:
        run(kind, handler, "add_balance", 700, token=ProviderWithNewline())
    assert handler.requests == []
    error: BaseException | None = caught.value
    while error is not None:  # the whole chain, as a traceback would print it
        assert TOKEN not in str(error) and TOKEN not in repr(error.args)
        error = error.__cause__ or error.__context__


@pytest.mark.parametrize("kind", KINDS)
def test_errors_keep_the_request_but_not_the_token(kind: str) -> None:
    with pytest.raises(pa.APIStatusError) as caught:
        run(kind, Recorder(httpx.Response(403, json={"detail": "no"})), "get_balance")
    error = caught.value
    assert error.request is not None and error.response is not None
    assert "authorization" not in error.request.headers
    assert "authorization" not in error.response.request.headers


@pytest.mark.parametrize("value", ["nan", "-5", "inf", "", "1e999"])
def test_unusable_retry_after_falls_back_to_backoff(value: str) -> None:
    policy = RetryPolicy(random=lambda: 1.0)
    assert policy.retry_after(httpx.Response(429, headers={"retry-after": value})) is None
    assert policy.retry_after(httpx.Response(429, headers={"retry-after-ms": value})) is None


def test_async_stored_provider_runs_off_the_event_loop() -> None:
    import threading

    threads: list[str] = []

    def token() -> str:
        threads.append(threading.current_thread().name)
        return TOKEN

    run("async", Recorder(ok(BALANCE)), "get_balance", token=token)
    assert threads and threads[0] != threading.main_thread().name


@pytest.mark.parametrize(
    "body",
    [
        {**BALANCE, "credit_balance_cents": "12"},
        {**BALANCE, "will_invoice": "no"},
        {**BALANCE, "credit_balance_cents": True},
        {k: v for k, v in BALANCE.items() if k != "org_id"},
        [BALANCE],
    ],
    ids=["cents-as-str", "bool-as-str", "cents-as-bool", "missing-field", "list"],
)
def test_success_body_with_wrong_types_is_refused(body: Any) -> None:
    with pytest.raises(pa.APIError, match="does not match the spec"):
        run("sync", Recorder(ok(body)), "get_balance")


def test_extra_fields_in_a_success_body_are_tolerated() -> None:
    assert (
        run("sync", Recorder(ok({**BALANCE, "currency": "usd"})), "get_balance").org_id == "org_1"
    )
