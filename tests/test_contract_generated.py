"""The generated layer against Stoplight Prism: every operation conforms to openapi.json.

Prism checks each request against the spec (a violation is named in an
`sl-violations` header) and answers from the schemas. The spec has no examples
and Prism runs in static mode, so answers are fixed placeholders: each call
below is made twice and must get the same bytes both times.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from parallel_account_api import AuthenticatedClient
from parallel_account_api.api.apps import create_app, delete_app, list_apps
from parallel_account_api.api.balance import add_balance, get_balance
from parallel_account_api.api.keys import create_key, delete_key
from parallel_account_api.models import (
    AddBalanceRequest,
    BalanceResponse,
    CreateApiKeyRequestModel,
    CreateAppRequestModel,
    CreateAppResponseModel,
    CreateKeyResponse,
    GetAppsForOrgResponseModel,
    HTTPValidationError,
)
from parallel_account_api.spec_facts import OPERATIONS
from parallel_account_api.types import Response
from tests.support import AMOUNT, HIGHEST, KEY, LONGEST, LOWEST, SHORTEST

pytestmark = pytest.mark.prism

APP_ID = uuid.UUID("0b5f6a2e-3c1d-4e8f-9a7b-2d4c6e8f0a1b")


GOOD_KEY = "k" * SHORTEST

Call = Callable[[AuthenticatedClient], Response[Any]]
# Operation -> (a call that fits the spec, the class its 200 answer parses to; None: no model).
CALLS: dict[str, tuple[Call, type | None]] = {
    "list_apps": (lambda c: list_apps.sync_detailed(client=c), GetAppsForOrgResponseModel),
    "create_app": (
        lambda c: create_app.sync_detailed(client=c, body=CreateAppRequestModel(app_name="svc")),
        CreateAppResponseModel,
    ),
    "delete_app": (lambda c: delete_app.sync_detailed(APP_ID, client=c), None),
    "create_key": (
        lambda c: create_key.sync_detailed(
            APP_ID, client=c, body=CreateApiKeyRequestModel(api_key_name="ci")
        ),
        CreateKeyResponse,
    ),
    "delete_key": (lambda c: delete_key.sync_detailed(APP_ID, "key_1", client=c), None),
    "get_balance": (lambda c: get_balance.sync_detailed(client=c), BalanceResponse),
    "add_balance": (
        lambda c: add_balance.sync_detailed(
            client=c,
            body=AddBalanceRequest(amount_cents=HIGHEST, idempotency_key=GOOD_KEY),
        ),
        BalanceResponse,
    ),
}


@pytest.fixture
def client(prism_url: str) -> Iterator[AuthenticatedClient]:
    with AuthenticatedClient(base_url=prism_url, token="x", timeout=httpx.Timeout(10)) as c:
        yield c


def test_every_operation_in_the_spec_is_exercised() -> None:
    # Operations added upstream are run against Prism by tests/test_surface.py.
    assert set(CALLS) <= set(OPERATIONS)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_operation_conforms(client: AuthenticatedClient, name: str) -> None:
    call, model = CALLS[name]
    response = call(client)
    assert response.status_code == 200, response.content
    assert "sl-violations" not in response.headers, response.headers["sl-violations"]
    if model is None:
        assert response.content == b"null" and response.parsed is None
    else:
        assert isinstance(response.parsed, model)
    assert call(client).content == response.content  # static mode: deterministic


def _add(client: AuthenticatedClient, amount: int, key: str) -> Response[Any]:
    body = AddBalanceRequest(amount_cents=amount, idempotency_key=key)
    return add_balance.sync_detailed(client=client, body=body)


@pytest.mark.parametrize(
    ("amount", "key", "field", "rule"),
    [
        (LOWEST - 1, GOOD_KEY, AMOUNT.name, "exclusiveMinimum"),
        (HIGHEST + 1, GOOD_KEY, AMOUNT.name, "maximum"),
        (LOWEST, "k" * (SHORTEST - 1), KEY.name, "minLength"),
        (LOWEST, "k" * (LONGEST + 1), KEY.name, "maxLength"),
    ],
    ids=["amount-at-exclusive-minimum", "amount-over-maximum", "key-too-short", "key-too-long"],
)
def test_a_request_breaking_the_spec_gets_422(
    client: AuthenticatedClient, amount: int, key: str, field: str, rule: str
) -> None:
    response = _add(client, amount, key)
    assert response.status_code == 422
    assert isinstance(response.parsed, HTTPValidationError)
    violations = json.loads(response.headers["sl-violations"])
    assert [(v["location"], v["code"]) for v in violations] == [(["request", "body", field], rule)]


def test_the_bounds_themselves_are_accepted(client: AuthenticatedClient) -> None:
    for amount, key in [(LOWEST, GOOD_KEY), (HIGHEST, "k" * LONGEST)]:
        response = _add(client, amount, key)
        assert response.status_code == 200 and "sl-violations" not in response.headers


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_request_without_a_token_gets_401(prism_url: str, name: str) -> None:
    assert OPERATIONS[name].requires_auth
    # The generated client always adds the header; swap in an httpx client that has none.
    anonymous = AuthenticatedClient(base_url=prism_url, token="unused")
    with anonymous.set_httpx_client(httpx.Client(base_url=prism_url, timeout=10)):
        response = CALLS[name][0](anonymous)
    assert response.status_code == 401
    assert response.parsed is None  # 401 is not in the spec: the generated layer gives None
    assert response.headers["www-authenticate"].lower().startswith("bearer")
