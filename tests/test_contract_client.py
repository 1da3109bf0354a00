"""The hand-written client against Stoplight Prism: what it sends conforms to openapi.json.

Every method of `AccountClient` and `AsyncAccountClient` runs against Prism,
which names any request that breaks the spec in an `sl-violations` header. An
httpx response hook on the client's own `http_client` records every answer, so
the checks see exactly what went over the wire. Requests that break the spec
are built with the generated layer (the client's own validation would refuse
them) and sent through the client's attempt loop, so Prism's 422 and 401 come
back as this package's errors.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import parallel_account as pa
from parallel_account._request import Call
from parallel_account_api.api.apps import delete_app as generated_delete_app
from parallel_account_api.api.balance import add_balance as generated_add_balance
from parallel_account_api.models import (
    AddBalanceRequest,
    AppItem,
    BalanceResponse,
    CreateAppResponseModel,
    CreateKeyResponse,
    HTTPValidationError,
)
from parallel_account_api.spec_facts import OPERATIONS
from tests.support import AMOUNT, FACES, HIGHEST, KEY, LONGEST, LOWEST, SHORTEST

pytestmark = pytest.mark.prism

TOKEN = "contract-token"
APP_ID = "0b5f6a2e-3c1d-4e8f-9a7b-2d4c6e8f0a1b"
GOOD_KEY = "contract-" + "k" * (SHORTEST - len("contract-"))


def _is_apps(result: object) -> bool:
    return isinstance(result, list) and all(isinstance(app, AppItem) for app in result)


# method -> (arguments, path it must request, check that the result parsed into the models)
METHODS: dict[str, tuple[tuple[Any, ...], str, Callable[[object], bool]]] = {
    "get_balance": ((), "/service/v1/balance", lambda r: isinstance(r, BalanceResponse)),
    "add_balance": (
        (HIGHEST,),
        "/service/v1/balance/add",
        lambda r: isinstance(r, BalanceResponse),
    ),
    "list_apps": ((), "/service/v1/apps", _is_apps),
    "create_app": (("svc",), "/service/v1/apps", lambda r: isinstance(r, CreateAppResponseModel)),
    "delete_app": ((APP_ID,), f"/service/v1/apps/{APP_ID}", lambda r: r is None),
    "create_key": (
        (APP_ID, "ci"),
        f"/service/v1/apps/{APP_ID}/keys",
        lambda r: isinstance(r, CreateKeyResponse),
    ),
    "delete_key": ((APP_ID, "key_1"), f"/service/v1/apps/{APP_ID}/keys/key_1", lambda r: r is None),
}


class Wire:
    """Every response the client's httpx client received, via its event hooks."""

    def __init__(self) -> None:
        self.responses: list[httpx.Response] = []

    def record(self, response: httpx.Response) -> None:
        self.responses.append(response)

    async def arecord(self, response: httpx.Response) -> None:
        self.responses.append(response)

    def violations(self) -> list[str]:
        return [r.headers["sl-violations"] for r in self.responses if "sl-violations" in r.headers]


async def _call(
    face: str,
    prism_url: str,
    wire: Wire,
    use: Callable[[Any], Any],
    token: str | httpx.Auth = TOKEN,
) -> Any:
    """Run `use(client)` on a sync or async client whose http_client records into `wire`."""
    if face == "sync":
        http = httpx.Client(event_hooks={"response": [wire.record]})
        with http, pa.AccountClient(token, base_url=prism_url, timeout=10, http_client=http) as c:
            return use(c)
    ahttp = httpx.AsyncClient(event_hooks={"response": [wire.arecord]})
    async with (
        ahttp,
        pa.AsyncAccountClient(token, base_url=prism_url, timeout=10, http_client=ahttp) as ac,
    ):
        return await use(ac)


def test_every_operation_has_a_method_on_both_clients_and_is_exercised() -> None:
    # Operations added upstream are run against Prism by tests/test_surface.py.
    assert set(METHODS) <= set(OPERATIONS)
    for name in METHODS:
        assert callable(getattr(pa.AccountClient, name))
        assert callable(getattr(pa.AsyncAccountClient, name))


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("name", sorted(METHODS))
async def test_every_method_conforms_and_parses(prism_url: str, face: str, name: str) -> None:
    args, path, parsed = METHODS[name]
    wire = Wire()
    result = await _call(face, prism_url, wire, lambda c: getattr(c, name)(*args))
    assert parsed(result), result
    assert wire.violations() == []
    [response] = wire.responses  # one attempt: nothing was retried
    assert response.status_code == 200
    assert (response.request.method, response.request.url.path) == (OPERATIONS[name].method, path)


@pytest.mark.parametrize("face", FACES)
async def test_add_balance_with_a_key_and_the_lowest_amount_conforms(
    prism_url: str, face: str
) -> None:
    wire = Wire()
    for amount, key in [(LOWEST, GOOD_KEY), (HIGHEST, "k" * LONGEST)]:

        def use(client: Any, amount: int = amount, key: str = key) -> Any:
            return client.add_balance(amount, idempotency_key=key)

        assert isinstance(await _call(face, prism_url, wire, use), BalanceResponse)
    assert wire.violations() == []
    sent = [json.loads(r.request.content) for r in wire.responses]
    assert sent == [
        {AMOUNT.name: LOWEST, KEY.name: GOOD_KEY},
        {AMOUNT.name: HIGHEST, KEY.name: "k" * LONGEST},
    ]


# --- requests that break the spec, built with the generated layer ----------------------------


def _add_balance_call(amount: int, key: str) -> Call[BalanceResponse]:
    """add_balance as the client would send it, minus the client's validation."""
    body = AddBalanceRequest(amount_cents=amount, idempotency_key=key)
    return Call(
        OPERATIONS["add_balance"],
        generated_add_balance.request_kwargs(body=body),
        lambda r: BalanceResponse.from_dict(r.json()),
        idempotency_key=key,
    )


def _delete_app_call(app_id: str) -> Call[None]:
    kwargs = generated_delete_app.request_kwargs(app_id=app_id)  # type: ignore[arg-type]
    return Call(OPERATIONS["delete_app"], kwargs, lambda r: None)


BROKEN: dict[str, tuple[Call[Any], tuple[list[str], str]]] = {
    "amount-at-exclusive-minimum": (
        _add_balance_call(LOWEST - 1, GOOD_KEY),
        (["request", "body", AMOUNT.name], "exclusiveMinimum"),
    ),
    "amount-over-maximum": (
        _add_balance_call(HIGHEST + 1, GOOD_KEY),
        (["request", "body", AMOUNT.name], "maximum"),
    ),
    "key-too-short": (
        _add_balance_call(LOWEST, "k" * (SHORTEST - 1)),
        (["request", "body", KEY.name], "minLength"),
    ),
    "key-too-long": (
        _add_balance_call(LOWEST, "k" * (LONGEST + 1)),
        (["request", "body", KEY.name], "maxLength"),
    ),
    "app-id-not-a-uuid": (
        _delete_app_call("not-a-uuid"),
        (["request", "path", "app_id"], "format"),
    ),
}


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("case", sorted(BROKEN))
async def test_a_request_breaking_the_spec_surfaces_as_unprocessable_entity(
    prism_url: str, face: str, case: str
) -> None:
    call, expected = BROKEN[case]
    wire = Wire()
    with pytest.raises(pa.UnprocessableEntityError) as caught:
        await _call(face, prism_url, wire, lambda c: c._run(call))
    error = caught.value
    [response] = wire.responses  # a 422 is not retried
    assert error.status_code == 422 and error.response is response
    violations = json.loads(response.headers["sl-violations"])
    assert [(v["location"], v["code"]) for v in violations] == [expected]
    # `.detail` is the body's validation errors, in the spec's HTTPValidationError shape.
    assert error.detail and error.detail == error.body["detail"]
    parsed = HTTPValidationError.from_dict(error.body)
    assert isinstance(parsed.detail, list) and len(parsed.detail) == len(error.detail)
    assert error.idempotency_key == call.idempotency_key
    assert not error.outcome_unknown  # a 422 means nothing was done


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("name", sorted(METHODS))
async def test_a_request_without_a_token_surfaces_as_authentication_error(
    prism_url: str, face: str, name: str
) -> None:
    args, _, _ = METHODS[name]
    wire = Wire()
    no_auth = httpx.Auth()  # the base class sends the request as it is: no Authorization
    with pytest.raises(pa.AuthenticationError) as caught:
        await _call(face, prism_url, wire, lambda c: getattr(c, name)(*args), token=no_auth)
    [response] = wire.responses  # a 401 is not retried
    assert "authorization" not in response.request.headers
    assert caught.value.status_code == 401 and caught.value.response is response
    assert response.headers["www-authenticate"].lower().startswith("bearer")
    if name == "add_balance":
        assert caught.value.idempotency_key is not None
        assert caught.value.idempotency_key == json.loads(response.request.content)[KEY.name]


async def test_uuid_path_arguments_are_sent_in_canonical_form(prism_url: str) -> None:
    wire = Wire()

    def use(client: pa.AccountClient) -> None:
        client.delete_app(uuid.UUID(APP_ID.upper()))
        client.delete_app(APP_ID.upper())

    await _call("sync", prism_url, wire, use)
    assert wire.violations() == []
    assert [r.request.url.path for r in wire.responses] == [f"/service/v1/apps/{APP_ID}"] * 2
