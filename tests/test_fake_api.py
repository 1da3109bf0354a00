"""The fake Account API (`parallel_account.testing`): endpoints, idempotency, errors, faults.

Most tests run twice through the `http` fixture: once in process on the
transport, once over real HTTP against `fake.serve()`. Paths are typed out
here as a user would, so a wrong path in the spec facts would show.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import select
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from parallel_account import spec
from parallel_account.testing import FAULT_KINDS, FakeAccountAPI, _sample
from parallel_account.testing._spec import MAX_BODY_BYTES
from parallel_account_api.models import (
    BalanceResponse,
    CreateKeyResponse,
    GetAppsForOrgResponseModel,
    HTTPValidationError,
)
from parallel_account_api.spec_facts import OPERATIONS, OperationFacts
from tests.support import HIGHEST, LONGEST, LOWEST, SHORTEST
from tests.test_fake_generic import documented_success, valid_request

TOKEN = "test-token-123"
START = 1_000
BALANCE = "/service/v1/balance"
ADD = "/service/v1/balance/add"
APPS = "/service/v1/apps"


@pytest.fixture
def fake() -> FakeAccountAPI:
    return FakeAccountAPI(token=TOKEN, credit_balance_cents=START)


@pytest.fixture(params=["transport", "server"])
def http(request: pytest.FixtureRequest, fake: FakeAccountAPI) -> Iterator[httpx.Client]:
    """An authenticated client reaching `fake` in process or over loopback HTTP."""
    if request.param == "transport":
        with fake.http_client() as client:
            yield client
        return
    with (
        fake.serve() as base_url,
        httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {TOKEN}"}) as client,
    ):
        yield client


def add(http: httpx.Client, amount: float, key: str, **kwargs: Any) -> httpx.Response:
    return http.post(ADD, json={"amount_cents": amount, "idempotency_key": key}, **kwargs)


def new_app(http: httpx.Client, name: str = "svc") -> str:
    response = http.post(APPS, json={"app_name": name})
    assert response.status_code == 200
    app_id: str = response.json()["app_id"]
    return app_id


def assert_validation_error(response: httpx.Response, *expected: tuple[list[Any], str]) -> None:
    """A 422 whose body fits the spec's HTTPValidationError, listing exactly `expected`."""
    assert response.status_code == 422
    body = response.json()
    schemas = spec()["components"]["schemas"]
    assert set(body) <= set(schemas["HTTPValidationError"]["properties"])
    for item in body["detail"]:
        assert set(schemas["ValidationError"]["required"]) <= set(item)
        assert all(isinstance(part, str | int) for part in item["loc"])
        assert isinstance(item["msg"], str) and item["msg"]
    parsed = HTTPValidationError.from_dict(body)
    assert isinstance(parsed.detail, list)
    assert [(error.loc, error.type_) for error in parsed.detail] == list(expected)


# --- endpoints ------------------------------------------------------------------------------


def test_get_balance(http: httpx.Client) -> None:
    response = http.get(BALANCE)
    assert response.status_code == 200
    assert BalanceResponse.from_dict(response.json()).to_dict() == {
        "org_id": "org_fake",
        "credit_balance_cents": START,
        "pending_debit_balance_cents": 0,
        "will_invoice": False,
    }


def test_add_balance_charges_and_returns_the_new_balance(
    http: httpx.Client, fake: FakeAccountAPI
) -> None:
    response = add(http, 500, "order-0001")
    assert response.status_code == 200
    assert BalanceResponse.from_dict(response.json()).credit_balance_cents == START + 500
    assert fake.balance.credit_balance_cents == START + 500
    assert fake.charges_for("order-0001") == 1


def test_same_key_and_amount_replays_the_stored_answer_without_charging(
    http: httpx.Client, fake: FakeAccountAPI
) -> None:
    first = add(http, 500, "order-0001")
    fake.set_balance(credit_balance_cents=42)  # usage moved the balance meanwhile
    again = add(http, 500, "order-0001")
    assert again.status_code == 200 and again.content == first.content
    assert fake.balance.credit_balance_cents == 42
    entry = fake.ledger["order-0001"]
    assert (entry.amount_cents, entry.charges, entry.replays, entry.conflicts) == (500, 1, 1, 0)


def test_same_key_with_another_amount_is_409_and_not_charged(
    http: httpx.Client, fake: FakeAccountAPI
) -> None:
    add(http, 500, "order-0001")
    response = add(http, 600, "order-0001")
    assert response.status_code == 409
    assert "idempotency_key" in response.json()["detail"]
    assert fake.balance.credit_balance_cents == START + 500
    assert (fake.charges_for("order-0001"), fake.ledger["order-0001"].conflicts) == (1, 1)


@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        ({"amount_cents": LOWEST - 1, "idempotency_key": "k" * SHORTEST}, "amount_cents", "greater_than"),
        ({"amount_cents": HIGHEST + 1, "idempotency_key": "k" * SHORTEST}, "amount_cents", "less_than_equal"),
        ({"amount_cents": LOWEST, "idempotency_key": "k" * (SHORTEST - 1)}, "idempotency_key", "string_too_short"),
        ({"amount_cents": LOWEST, "idempotency_key": "k" * (LONGEST + 1)}, "idempotency_key", "string_too_long"),
        ({"amount_cents": "500", "idempotency_key": "k" * SHORTEST}, "amount_cents", "int_type"),
        ({"amount_cents": True, "idempotency_key": "k" * SHORTEST}, "amount_cents", "int_type"),
        ({"amount_cents": 1.5, "idempotency_key": "k" * SHORTEST}, "amount_cents", "int_from_float"),
        ({"amount_cents": LOWEST, "idempotency_key": 12345678}, "idempotency_key", "string_type"),
        ({"idempotency_key": "k" * SHORTEST}, "amount_cents", "missing"),
    ],
    ids=["zero", "over-max", "key-short", "key-long", "str", "bool", "float", "key-int", "missing"],
)  # fmt: skip
def test_add_balance_refuses_what_the_spec_refuses_with_422(
    http: httpx.Client, fake: FakeAccountAPI, body: dict[str, Any], loc: str, kind: str
) -> None:
    assert_validation_error(http.post(ADD, json=body), (["body", loc], kind))
    assert fake.ledger == {} and fake.balance.credit_balance_cents == START


def test_add_balance_accepts_the_bounds_themselves(
    http: httpx.Client, fake: FakeAccountAPI
) -> None:
    assert add(http, LOWEST, "k" * SHORTEST).status_code == 200
    assert add(http, HIGHEST, "k" * LONGEST).status_code == 200
    assert fake.balance.credit_balance_cents == START + LOWEST + HIGHEST


def test_unreadable_bodies_get_422(http: httpx.Client) -> None:
    headers = {"content-type": "application/json"}
    assert_validation_error(
        http.post(ADD, content=b"{", headers=headers), (["body", 1], "json_invalid")
    )
    assert_validation_error(http.post(ADD, json=[1]), (["body"], "model_attributes_type"))
    assert_validation_error(http.post(ADD), (["body"], "missing"))


def test_apps_create_list_delete(http: httpx.Client, fake: FakeAccountAPI) -> None:
    app_id = new_app(http, "billing-bot")
    assert uuid.UUID(app_id).version == 4
    listed = GetAppsForOrgResponseModel.from_dict(http.get(APPS).json())
    assert [(a.app_id, a.app_name, a.org_id, a.org_name) for a in listed.apps] == [
        (app_id, "billing-bot", "org_fake", "Fake Org")
    ]
    deleted = http.delete(f"{APPS}/{app_id}")
    assert (deleted.status_code, deleted.json()) == (200, None)
    assert http.get(APPS).json() == {"apps": []} and fake.apps == {}
    assert http.delete(f"{APPS}/{app_id}").status_code == 404


def test_keys_create_and_delete(http: httpx.Client, fake: FakeAccountAPI) -> None:
    app_id = new_app(http)
    response = http.post(f"{APPS}/{app_id}/keys", json={"api_key_name": "ci"})
    assert response.status_code == 200
    body = response.json()
    fields = OPERATIONS["create_key"].response_fields
    # Every required field, and only fields the spec has (the fake leaves optional ones out).
    assert {f.name for f in fields if f.required} <= set(body) <= {f.name for f in fields}
    key = CreateKeyResponse.from_dict(body)
    assert (key.app_id, key.app_name, key.api_key_name) == (app_id, "svc", "ci")
    assert type(key.created_at) is int and abs(key.created_at - time.time()) < 60
    assert key.raw_api_key and key.raw_api_key not in key.display_value
    stored = fake.keys[key.api_key_id]
    assert stored.raw_api_key == key.raw_api_key and key.raw_api_key not in repr(stored)
    path = f"{APPS}/{app_id}/keys/{key.api_key_id}"
    assert (http.delete(path).status_code, fake.keys) == (200, {})
    assert http.delete(path).status_code == 404


def test_unknown_apps_and_keys_are_404(http: httpx.Client) -> None:
    unknown = str(uuid.uuid4())
    assert http.post(f"{APPS}/{unknown}/keys", json={"api_key_name": "x"}).status_code == 404
    assert http.delete(f"{APPS}/{unknown}").status_code == 404
    assert http.delete(f"{APPS}/{unknown}/keys/key_1").status_code == 404
    app_a, app_b = new_app(http, "a"), new_app(http, "b")
    key_id = http.post(f"{APPS}/{app_a}/keys", json={"api_key_name": "x"}).json()["api_key_id"]
    assert http.delete(f"{APPS}/{app_b}/keys/{key_id}").status_code == 404  # not that app's key


def test_deleting_an_app_deletes_its_keys(http: httpx.Client, fake: FakeAccountAPI) -> None:
    app_id = new_app(http)
    http.post(f"{APPS}/{app_id}/keys", json={"api_key_name": "x"})
    http.delete(f"{APPS}/{app_id}")
    assert fake.keys == {}


def test_path_parameters_are_validated(http: httpx.Client) -> None:
    assert_validation_error(http.delete(f"{APPS}/not-a-uuid"), (["path", "app_id"], "uuid_parsing"))


def test_unknown_paths_and_methods(http: httpx.Client, fake: FakeAccountAPI) -> None:
    assert http.get("/service/v1/nothing").status_code == 404
    assert http.put(BALANCE).status_code == 405
    # The base path (/account) is part of the URL: a client that drops it gets 404.
    assert http.get(str(http.base_url.copy_with(path=BALANCE))).status_code == 404


# --- methods and shapes the spec leaves open: answered as FastAPI answers them ----------------

# Each path of the spec (an example value in place of each parameter) with its methods.
# The examples are fixed, not random: every xdist worker must collect the same test ids.
_PATH_METHODS: dict[str, set[str]] = {}
for _op in OPERATIONS.values():
    _example = _op.path
    for _number, _param in enumerate(_op.path_params, start=1):
        _value = str(uuid.UUID(int=_number)) if _param.format == "uuid" else f"id_{_number}"
        _example = _example.replace("{" + _param.name + "}", _value)
    _PATH_METHODS.setdefault(_example, set()).add(_op.method)
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "FOO"]


@pytest.mark.parametrize("path", list(_PATH_METHODS))
def test_a_method_a_known_path_lacks_is_405_with_allow(http: httpx.Client, path: str) -> None:
    """FastAPI: 405, `{"detail": "Method Not Allowed"}` and `Allow`, for HEAD, OPTIONS,
    TRACE and unknown methods too (never the stdlib's HTML 501 page). The `Allow` header
    lists every method the path has."""
    allowed = _PATH_METHODS[path]
    for method in (m for m in _METHODS if m not in allowed):
        response = http.request(method, path)
        assert response.status_code == 405, (method, response.text)
        assert response.headers["allow"] == ", ".join(sorted(allowed)), method
        assert response.headers["content-type"] == "application/json", method
        assert response.content == (b"" if method == "HEAD" else b'{"detail":"Method Not Allowed"}')
    assert http.get(BALANCE).status_code == 200  # the connection after HEAD still reads right


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "TRACE", "FOO", "PATCH"])
def test_any_method_on_an_unknown_path_is_a_json_404(http: httpx.Client, method: str) -> None:
    response = http.request(method, "/service/v1/nothing")
    assert (response.status_code, response.headers["content-type"]) == (404, "application/json")
    assert "allow" not in response.headers
    assert response.content == (b"" if method == "HEAD" else b'{"detail":"Not Found"}')


def _raw_exchange(base_url: str, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes to the served fake; its status line, headers and body (until close)."""
    url = httpx.URL(base_url)
    assert url.port is not None
    with socket.create_connection((url.host, url.port), timeout=10) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(1 << 16):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        ("FOO /account/service/v1/balance HTTP/1.1", 405),
        ("get /account/service/v1/balance HTTP/1.1", 405),  # methods are case-sensitive
        ("GET /account/service/v1/balance HTTP/2.0", 505),
        ("GET /account/service/v1/balance HTTP/x", 400),
        ("GET /" + "a" * 70_000 + " HTTP/1.1", 414),
        ("GET /account/service/v1/balance HTTP/1.1\r\n" + "X-Pad: y\r\n" * 101, 431),
        ("POST /account/service/v1/balance/add HTTP/1.1\r\nContent-Length: abc", 400),
        ("POST /account/service/v1/balance/add HTTP/1.1\r\nContent-Length: -5", 400),
        ("POST /account/service/v1/balance/add HTTP/1.1\r\nContent-Length: " + "9" * 5000, 413),
        ("POST /account/service/v1/balance/add HTTP/1.1\r\nContent-Length: 1000000000000", 413),
    ],
    ids=["unknown-method", "lower-case", "http2", "bad-version", "uri-too-long", "too-many-headers",
         "length-not-a-number", "length-negative", "length-5000-digits", "length-1tb"],
)  # fmt: skip
def test_the_served_fake_answers_every_request_in_json(
    fake: FakeAccountAPI, request_head: str, status: int
) -> None:
    """Requests http.server itself refuses get FastAPI's JSON shape too, at once, and the
    server keeps serving; a declared body over the limit is never read."""
    with fake.serve() as base_url:
        started = time.monotonic()
        data = f"{request_head}\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
        got, headers, body = _raw_exchange(base_url, data)
        assert time.monotonic() - started < 5
        assert (got, headers["content-type"]) == (status, "application/json"), body
        assert set(json.loads(body)) == {"detail"}
        token = {"authorization": f"Bearer {TOKEN}"}
        assert httpx.get(f"{base_url}{BALANCE}", headers=token).status_code == 200


def test_a_failure_inside_the_served_fake_is_a_json_500(
    fake: FakeAccountAPI, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug in the fake shows as the real server's 500, logged; the connection is not dropped."""

    def broken(params: object, data: object) -> None:
        raise RuntimeError("a bug in the fake")

    monkeypatch.setattr(fake._account, "op_get_balance", broken)
    token = {"authorization": f"Bearer {TOKEN}"}
    with fake.serve() as base_url, httpx.Client(base_url=base_url, headers=token) as http:
        response = http.get(BALANCE)
        assert (response.status_code, response.json()) == (500, {"detail": "Internal Server Error"})
        assert http.get(APPS).status_code == 200
    assert "a bug in the fake" in caplog.text


def test_a_body_over_the_limit_is_413_both_ways(http: httpx.Client, fake: FakeAccountAPI) -> None:
    big = b'{"amount_cents": 1, "idempotency_key": "' + b"k" * MAX_BODY_BYTES + b'"}'
    response = http.post(ADD, content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and set(response.json()) == {"detail"}
    assert fake.ledger == {} and http.get(BALANCE).status_code == 200


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000 + b"]" * 100_000, b'{"amount_cents": ' + b"9" * 5000 + b"}", b'{"\xff": 1}'],
    ids=["nested-100000-deep", "5000-digit-number", "not-utf-8"],
)
def test_bodies_json_cannot_read_are_400_as_fastapi_answers(
    http: httpx.Client, fake: FakeAccountAPI, body: bytes
) -> None:
    """FastAPI answers 400 "There was an error parsing the body" when `json.loads` fails
    other than with a JSONDecodeError (that one is 422 json_invalid)."""
    response = http.post(ADD, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"detail": "There was an error parsing the body"}
    assert fake.ledger == {} and http.get(BALANCE).status_code == 200


def test_a_number_with_a_zero_fraction_is_an_integer(
    http: httpx.Client, fake: FakeAccountAPI
) -> None:
    """JSON Schema and Pydantic's lax mode: 860.0 is the integer 860 (the spec's own
    validator agrees); 860.5 is refused as FastAPI refuses it."""
    amount = HIGHEST - 1
    response = add(http, float(amount), "k" * SHORTEST)
    assert response.status_code == 200, response.text
    assert fake.balance.credit_balance_cents == START + amount
    assert type(fake.ledger["k" * SHORTEST].amount_cents) is int
    refused = add(http, amount + 0.5, "j" * SHORTEST)
    assert_validation_error(refused, (["body", "amount_cents"], "int_from_float"))
    assert refused.json()["detail"][0]["msg"] == (
        "Input should be a valid integer, got a number with a fractional part"
    )
    infinite = http.post(
        ADD,
        content=b'{"amount_cents": 1e400, "idempotency_key": "' + b"i" * SHORTEST + b'"}',
        headers={"content-type": "application/json"},
    )
    assert_validation_error(infinite, (["body", "amount_cents"], "finite_number"))
    assert fake.balance.credit_balance_cents == START + amount


@pytest.mark.parametrize("op", OPERATIONS.values(), ids=list(OPERATIONS))
def test_every_operation_in_the_spec_answers_a_valid_request(op: OperationFacts) -> None:
    fake = FakeAccountAPI(token=TOKEN)
    with fake.http_client() as http:
        app_id = new_app(http)
        key_id = http.post(f"{APPS}/{app_id}/keys", json={"api_key_name": "x"}).json()["api_key_id"]
        # The modelled operations look these up; any other parameter gets a valid value.
        request = valid_request(op, known={"app_id": app_id, "api_key_id": key_id})
        response = http.request(**request)
    assert response.status_code == documented_success(op)[0], response.json()


@pytest.mark.parametrize("status", [201, 204])
@pytest.mark.parametrize("op", OPERATIONS.values(), ids=list(OPERATIONS))
def test_a_modelled_operation_answers_with_the_status_the_spec_documents(
    monkeypatch: pytest.MonkeyPatch, op: OperationFacts, status: int
) -> None:
    document = copy.deepcopy(spec())
    responses = document["paths"][op.path][op.method.lower()]["responses"]
    old, _ = documented_success(op)
    responses[str(status)] = responses.pop(str(old))
    fake = FakeAccountAPI(token=TOKEN)
    with fake.http_client() as http:
        app_id = new_app(http)
        key_id = http.post(f"{APPS}/{app_id}/keys", json={"api_key_name": "x"}).json()["api_key_id"]
        monkeypatch.setattr(_sample, "_document", lambda: document)
        response = http.request(**valid_request(op, known={"app_id": app_id, "api_key_id": key_id}))
    assert response.status_code == status
    if status == 204:
        assert response.content == b"" and "content-type" not in response.headers


def test_a_query_string_does_not_change_the_route(http: httpx.Client) -> None:
    assert http.get(BALANCE, params={"unknown": "ignored"}).status_code == 200
    assert http.delete(f"{APPS}/not-a-uuid?x=1").status_code == 422


# --- authentication -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "detail"),
    [(None, "Not authenticated"), ("Bearer wrong", "Invalid or expired token"), (f"Basic {TOKEN}", "Not authenticated")],
)  # fmt: skip
def test_missing_or_wrong_token_is_401_and_changes_nothing(
    http: httpx.Client, fake: FakeAccountAPI, header: str | None, detail: str
) -> None:
    headers = {"authorization": header} if header else {}
    http.headers.pop("authorization")
    for response in (
        http.get(BALANCE, headers=headers),
        http.post(ADD, json={"amount_cents": LOWEST}, headers=headers),  # 401 before 422
        http.post(APPS, json={"app_name": "x"}, headers=headers),
    ):
        assert response.status_code == 401
        assert response.json() == {"detail": detail}
        assert response.headers["www-authenticate"] == "Bearer"
    assert fake.apps == {} and fake.ledger == {}


def test_the_token_can_be_rotated(http: httpx.Client, fake: FakeAccountAPI) -> None:
    fake.token = "rotated-token"
    assert http.get(BALANCE).status_code == 401
    assert http.get(BALANCE, headers={"authorization": "Bearer rotated-token"}).status_code == 200


def test_invoice_billed_org_cannot_add_balance(http: httpx.Client, fake: FakeAccountAPI) -> None:
    fake.set_balance(will_invoice=True)
    assert add(http, 500, "order-0001").status_code == 400
    assert fake.ledger == {} and http.get(BALANCE).json()["will_invoice"] is True


def test_requests_are_counted_by_operation(http: httpx.Client, fake: FakeAccountAPI) -> None:
    http.get(BALANCE)
    http.get(BALANCE)
    add(http, 1, "k" * (SHORTEST - 1))
    http.get("/service/v1/nothing")
    assert fake.requests == {"get_balance": 2, "add_balance": 1}


# --- faults ---------------------------------------------------------------------------------


def test_fail_next_answers_with_the_status_and_does_nothing(
    http: httpx.Client, fake: FakeAccountAPI
) -> None:
    fake.fail_next(2, status=503, operation="add_balance", retry_after=2, retry_after_ms=1500)
    assert http.get(BALANCE).status_code == 200  # another operation: untouched
    for _ in range(2):
        response = add(http, 500, "order-0001")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "2"
        assert response.headers["retry-after-ms"] == "1500"
        assert fake.charges_for("order-0001") == 0
    assert add(http, 500, "order-0001").status_code == 200
    assert fake.charges_for("order-0001") == 1
    assert fake.injected == {"status": 2}


def test_fail_next_without_retry_headers_and_with_an_http_date(
    http: httpx.Client, fake: FakeAccountAPI
) -> None:
    fake.fail_next(status=429)
    fake.fail_next(status=503, retry_after="Wed, 21 Oct 2015 07:28:00 GMT")
    first, second = http.get(BALANCE), http.get(BALANCE)
    assert first.status_code == 429 and "retry-after" not in first.headers
    assert second.headers["retry-after"] == "Wed, 21 Oct 2015 07:28:00 GMT"
    assert http.get(BALANCE).status_code == 200


def test_drop_before_commit_loses_the_request(http: httpx.Client, fake: FakeAccountAPI) -> None:
    fake.drop_next(operation="add_balance")
    with pytest.raises(httpx.RemoteProtocolError):
        add(http, 500, "order-0001")
    assert fake.charges_for("order-0001") == 0
    assert fake.balance.credit_balance_cents == START
    assert add(http, 500, "order-0001").status_code == 200  # the retry charges, once
    assert fake.charges_for("order-0001") == 1


def test_drop_after_commit_charges_then_loses_the_answer(
    http: httpx.Client, fake: FakeAccountAPI
) -> None:
    fake.drop_next(operation="add_balance", after_commit=True)
    with pytest.raises(httpx.RemoteProtocolError):
        add(http, 500, "order-0001")
    assert fake.charges_for("order-0001") == 1
    retry = add(http, 500, "order-0001")
    assert retry.status_code == 200 and retry.json()["credit_balance_cents"] == START + 500
    assert fake.ledger["order-0001"].charges == 1
    assert fake.ledger["order-0001"].replays == 1


def test_delay_past_the_read_timeout_times_out_after_committing(
    http: httpx.Client, fake: FakeAccountAPI
) -> None:
    fake.delay_next(2.0, operation="add_balance")
    with pytest.raises(httpx.ReadTimeout):
        add(http, 500, "order-0001", timeout=httpx.Timeout(5, read=0.3))
    assert fake.charges_for("order-0001") == 1


def test_a_delay_within_the_timeout_answers(fake: FakeAccountAPI) -> None:
    fake.delay_next(30.0)
    with fake.http_client(timeout=60) as http:
        started = time.monotonic()
        assert http.get(BALANCE).status_code == 200
    assert time.monotonic() - started < 5  # the transport waits for no one
    fake.delay_next(30.0)
    with fake.http_client(timeout=None) as http:
        assert http.get(BALANCE).status_code == 200


def test_the_served_fake_really_sleeps_out_a_delay(fake: FakeAccountAPI) -> None:
    fake.delay_next(0.3)
    with fake.serve() as base_url:
        started = time.monotonic()
        response = httpx.get(f"{base_url}{BALANCE}", headers={"authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and time.monotonic() - started >= 0.3


def _outcome(http: httpx.Client) -> str:
    try:
        return str(http.get(BALANCE, timeout=httpx.Timeout(5, read=0.2)).status_code)
    except httpx.TransportError as exc:
        return type(exc).__name__


def test_random_faults_are_reproducible_for_a_seed() -> None:
    runs = []
    for _ in range(2):
        fake = FakeAccountAPI(token=TOKEN)
        fake.random_faults(seed=7, rate=0.5, delay_seconds=1.0)
        with fake.http_client() as http:
            runs.append([_outcome(http) for _ in range(40)])
    assert runs[0] == runs[1]
    assert {"200", "RemoteProtocolError", "ReadTimeout"} <= set(runs[0])
    assert any(outcome in {"429", "500", "502", "503"} for outcome in runs[0])


def test_random_faults_honour_rate_kinds_and_operation(fake: FakeAccountAPI) -> None:
    with fake.http_client() as http:
        fake.random_faults(seed=1, rate=0)
        assert {_outcome(http) for _ in range(20)} == {"200"}
        fake.random_faults(seed=1, rate=1, kinds=["status"], statuses=[502], retry_after=0)
        response = http.get(BALANCE)
        assert (response.status_code, response.headers["retry-after"]) == (502, "0")
        fake.random_faults(seed=1, rate=1, operation="add_balance")
        assert http.get(BALANCE).status_code == 200
        fake.clear_faults()
        fake.fail_next(5)
        fake.clear_faults()
        assert http.get(BALANCE).status_code == 200


def test_fault_arguments_are_checked(fake: FakeAccountAPI) -> None:
    with pytest.raises(ValueError, match="add_balanse"):
        fake.fail_next(operation="add_balanse")
    with pytest.raises(ValueError, match="rate"):
        fake.random_faults(seed=1, rate=1.5)
    with pytest.raises(ValueError, match="kinds"):
        fake.random_faults(seed=1, rate=0.5, kinds=["explode"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="n:"):
        fake.drop_next(0)


def test_soak_random_faults_with_retries_never_charge_twice(
    http: httpx.Client, fake: FakeAccountAPI
) -> None:
    fake.random_faults(seed=2024, rate=0.4, delay_seconds=0.5)
    amounts = {f"soak-{i:04d}": 1 + i for i in range(60)}
    for key, amount in amounts.items():
        for _ in range(30):  # a client retrying with the same key, as it should
            try:
                response = add(http, amount, key, timeout=httpx.Timeout(5, read=0.1))
            except (httpx.RemoteProtocolError, httpx.ReadTimeout):
                continue
            if response.status_code == 200:
                break
            assert response.status_code in (429, 500, 502, 503)
        else:
            pytest.fail(f"{key} never succeeded")
    assert {key: fake.charges_for(key) for key in amounts} == dict.fromkeys(amounts, 1)
    assert fake.balance.credit_balance_cents == START + sum(amounts.values())
    assert set(fake.injected) == set(FAULT_KINDS)


# --- concurrency, async, secrets, the command line ------------------------------------------


def test_concurrent_requests_with_one_key_charge_once(fake: FakeAccountAPI) -> None:
    with (
        fake.serve() as base_url,
        httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {TOKEN}"}) as http,
        ThreadPoolExecutor(max_workers=16) as pool,
    ):
        same = list(pool.map(lambda _: add(http, 700, "order-same"), range(32)))
        distinct = list(pool.map(lambda i: add(http, 1, f"order-{i:04d}"), range(32)))
    assert {r.status_code for r in same + distinct} == {200}
    assert len({r.content for r in same}) == 1
    assert fake.charges_for("order-same") == 1
    assert fake.balance.credit_balance_cents == START + 700 + 32


async def test_the_async_client_sees_the_same_fake(fake: FakeAccountAPI) -> None:
    async with fake.async_http_client() as http:
        fake.drop_next(after_commit=True)
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(ADD, json={"amount_cents": 5, "idempotency_key": "async-0001"})
        fake.delay_next(10)
        with pytest.raises(httpx.ReadTimeout):
            await http.get(BALANCE, timeout=httpx.Timeout(5, read=1))
        responses = await asyncio.gather(*(http.get(BALANCE) for _ in range(5)))
    assert {r.json()["credit_balance_cents"] for r in responses} == {START + 5}
    assert fake.charges_for("async-0001") == 1


def test_unauthenticated_convenience_client(fake: FakeAccountAPI) -> None:
    with fake.http_client(authenticated=False) as http:
        assert http.get(BALANCE).status_code == 401


def test_no_secret_in_reprs_or_logs(fake: FakeAccountAPI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="parallel_account.testing")
    with fake.serve() as base_url, httpx.Client(base_url=base_url) as http:
        headers = {"authorization": f"Bearer {TOKEN}"}
        app_id = http.post(APPS, json={"app_name": "x"}, headers=headers).json()["app_id"]
        raw = http.post(f"{APPS}/{app_id}/keys", json={"api_key_name": "x"}, headers=headers)
        raw_key = raw.json()["raw_api_key"]
    shown = " ".join([caplog.text, repr(fake), repr(fake.transport()), repr(fake.keys)])
    assert "POST" in caplog.text  # the requests were logged...
    assert TOKEN not in shown and raw_key not in shown  # ...without their secrets


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, "no base URL printed in time"
    return process.stdout.readline().strip()


def test_the_command_line_serves_until_terminated() -> None:
    command = [
        sys.executable,
        "-m",
        "parallel_account.testing",
        "--port",
        "0",
        "--token",
        "cli-tok",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        base_url = _read_line(process, timeout=20)
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/account")
        response = httpx.get(f"{base_url}{BALANCE}", headers={"authorization": "Bearer cli-tok"})
        assert response.status_code == 200
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_served_fake_stops_cleanly_even_while_a_delay_sleeps(fake: FakeAccountAPI) -> None:
    fake.delay_next(5.0)
    started = time.monotonic()
    with fake.serve() as base_url:
        done = threading.Event()

        def slow_call() -> None:
            try:
                httpx.get(f"{base_url}{BALANCE}", timeout=0.2)
            except httpx.ReadTimeout:
                done.set()

        caller = threading.Thread(target=slow_call)
        caller.start()
        caller.join()
    assert done.is_set() and time.monotonic() - started < 3
