"""parallel_account_drift: a mutation corpus over a frozen spec, equivalences, rendering, the CLI.

Every case copies the frozen spec (tests/data/, a copy of openapi.json as it was when
these cases were written), mutates it, and asserts the exact set of (rule id, level,
location) that comes out, so a rule firing where it should not (noise) fails a test
just as surely as one missing. The base never follows openapi.json: adopting an upstream
change (`make spec-update`) cannot break the numbers and names typed here.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import random
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from parallel_account_drift import (
    FORMATS,
    LEVELS,
    REGISTRY,
    Change,
    ExitStatus,
    SpecError,
    compare,
    render,
)

from tests.support import FROZEN_SPEC, ROOT

# Only frozen spec copies here: run once, not again on the superset spec.
pytestmark = pytest.mark.spec_independent

Spec = dict[str, Any]
Mutate = Callable[[Spec], None]
Key = str | int
Expected = tuple[str, str, str]  # (rule id, level, location)

B, N, DOC = "breaking", "non-breaking", "info"


def _frozen() -> Spec:
    spec: Spec = json.loads(FROZEN_SPEC.read_text(encoding="utf-8"))
    return spec


BASE = _frozen()

BAL = "/service/v1/balance"
ADD = "/service/v1/balance/add"
APPS = "/service/v1/apps"
APP = "/service/v1/apps/{app_id}"
KEYS = "/service/v1/apps/{app_id}/keys"
KEY = "/service/v1/apps/{app_id}/keys/{api_key_id}"
ADD_BODY = f"POST {ADD} request body"
APP_BODY = f"POST {APPS} request body"
# Operations documenting a 422 (HTTPValidationError -> ValidationError).
ERROR_OPS = (f"DELETE {APP}", f"DELETE {KEY}", f"POST {APPS}", f"POST {KEYS}", f"POST {ADD}")


# ---------------------------------------------------------------- mutation helpers


def _at(spec: Spec, path: tuple[Key, ...]) -> Any:
    node: Any = spec
    for key in path:
        node = node[key]
    return node


def put(*path: Key, value: Any) -> Mutate:
    def mutate(spec: Spec) -> None:
        _at(spec, path[:-1])[path[-1]] = copy.deepcopy(value)

    return mutate


def drop(*path: Key) -> Mutate:
    def mutate(spec: Spec) -> None:
        del _at(spec, path[:-1])[path[-1]]

    return mutate


def rename(*path: Key, to: str) -> Mutate:
    def mutate(spec: Spec) -> None:
        parent = _at(spec, path[:-1])
        parent[to] = parent.pop(path[-1])

    return mutate


def chain(*steps: Mutate) -> Mutate:
    def mutate(spec: Spec) -> None:
        for step in steps:
            step(spec)

    return mutate


def model(name: str, *rest: Key) -> tuple[Key, ...]:
    return ("components", "schemas", name, *rest)


def prop(name: str, field: str, *rest: Key) -> tuple[Key, ...]:
    return model(name, "properties", field, *rest)


def op(path: str, method: str, *rest: Key) -> tuple[Key, ...]:
    return ("paths", path, method, *rest)


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


PING = {"operationId": "ping", "responses": {"200": {"description": "OK"}}}
LIMIT = {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer"}}
TEXT = {"schema": {"type": "string"}}
APP_NAME = prop("CreateAppRequestModel", "app_name")
AMOUNT = prop("AddBalanceRequest", "amount_cents")
IDEMPOTENCY = prop("AddBalanceRequest", "idempotency_key")
APP_RESPONSE_SCHEMA = op(APPS, "post", "responses", "200", "content", "application/json", "schema")
LOC_ITEMS = prop("ValidationError", "loc", "items", "anyOf")


def any_of_null(path: tuple[Key, ...]) -> dict[str, Any]:
    """The pinned schema at `path` made nullable the OpenAPI 3.1 way (as FastAPI writes it)."""
    schema: dict[str, Any] = _at(BASE, path)
    rest = {k: v for k, v in schema.items() if k != "type"}
    return {**rest, "anyOf": [{"type": schema["type"]}, {"type": "null"}]}


def with_currency(*values: str) -> Mutate:
    return put(
        *prop("AddBalanceRequest", "currency"), value={"type": "string", "enum": list(values)}
    )


def with_status(*values: str) -> Mutate:
    return put(*prop("AppItem", "status"), value={"type": "string", "enum": list(values)})


@dataclass(frozen=True)
class Case:
    """`old` and `new` each mutate their own copy of the pinned spec (`old` may leave it)."""

    name: str
    new: Mutate
    expected: list[Expected]
    old: Mutate | None = None


def each(rule: str, level: str, locations: tuple[str, ...], suffix: str) -> list[Expected]:
    return [(rule, level, f"{where} {suffix}") for where in locations]


CASES = [
    # -- paths and operations
    Case("path-removed", drop("paths", KEY), [("path-removed", B, KEY)]),
    Case("operation-removed", drop(*op(APPS, "post")), [("operation-removed", B, f"POST {APPS}")]),
    Case(
        "path-added",
        put("paths", "/service/v1/ping", value={"get": PING}),
        [("path-added", N, "/service/v1/ping")],
    ),
    Case(
        "operation-added", put(*op(BAL, "put"), value=PING), [("operation-added", N, f"PUT {BAL}")]
    ),
    Case(
        "operation-id-changed",
        put(*op(BAL, "get", "operationId"), value="get_balance"),
        [("operation-id-changed", B, f"GET {BAL}")],
    ),
    Case(
        "operation-tag-changed",
        put(*op(BAL, "get", "tags"), value=["Service"]),
        [("operation-tag-changed", B, f"GET {BAL}")],
    ),
    Case(
        "operation-secondary-tags-changed",
        put(*op(BAL, "get", "tags"), value=["Balance", "Service"]),
        [("operation-secondary-tags-changed", DOC, f"GET {BAL}")],
    ),
    Case(
        "deprecated-changed",
        put(*op(BAL, "get", "deprecated"), value=True),
        [("deprecated-changed", DOC, f"GET {BAL}")],
    ),
    # -- parameters
    Case(
        "request-parameter-added-optional",
        put(*op(APPS, "get", "parameters"), value=[LIMIT]),
        [("request-parameter-added-optional", N, f"GET {APPS} query parameter limit")],
    ),
    Case(
        "request-parameter-added-required",
        put(*op(APPS, "get", "parameters"), value=[{**LIMIT, "required": True}]),
        [("request-parameter-added-required", B, f"GET {APPS} query parameter limit")],
    ),
    Case(
        "request-parameter-removed",
        lambda spec: None,
        [("request-parameter-removed", B, f"GET {APPS} query parameter limit")],
        old=put(*op(APPS, "get", "parameters"), value=[LIMIT]),
    ),
    Case(
        "request-parameter-became-required",
        put(*op(APPS, "get", "parameters"), value=[{**LIMIT, "required": True}]),
        [("request-parameter-became-required", B, f"GET {APPS} query parameter limit")],
        old=put(*op(APPS, "get", "parameters"), value=[LIMIT]),
    ),
    Case(
        "request-parameter-became-optional",
        put(*op(APPS, "get", "parameters"), value=[LIMIT]),
        [("request-parameter-became-optional", N, f"GET {APPS} query parameter limit")],
        old=put(*op(APPS, "get", "parameters"), value=[{**LIMIT, "required": True}]),
    ),
    Case(
        "request-parameter-style-changed",
        put(*op(APPS, "get", "parameters"), value=[{**LIMIT, "explode": False}]),
        [("request-parameter-style-changed", B, f"GET {APPS} query parameter limit")],
        old=put(*op(APPS, "get", "parameters"), value=[LIMIT]),
    ),
    Case(
        "request-format-changed-parameter",
        put(*op(APP, "delete", "parameters", 0, "schema", "format"), value="uri"),
        [("request-format-changed", B, f"DELETE {APP} path parameter app_id")],
    ),
    Case(
        "request-type-changed-parameter",
        put(*op(KEY, "delete", "parameters", 1, "schema", "type"), value="integer"),
        [("request-type-changed", B, f"DELETE {KEY} path parameter api_key_id")],
    ),
    # -- request bodies
    Case(
        "request-body-became-required",
        lambda spec: None,
        [("request-body-became-required", B, APP_BODY)],
        old=put(*op(APPS, "post", "requestBody", "required"), value=False),
    ),
    Case(
        "request-body-added-required",
        put(*op(APP, "delete", "requestBody"), value={"required": True, "content": {}}),
        [("request-body-became-required", B, f"DELETE {APP} request body")],
    ),
    Case(
        "request-body-became-optional",
        put(*op(APPS, "post", "requestBody", "required"), value=False),
        [("request-body-became-optional", N, APP_BODY)],
    ),
    Case(
        "request-body-added",
        put(*op(APP, "delete", "requestBody"), value={"content": {"application/json": TEXT}}),
        [("request-body-added", N, f"DELETE {APP} request body")],
    ),
    Case(
        "request-body-removed",
        drop(*op(KEYS, "post", "requestBody")),
        [("request-body-removed", B, f"POST {KEYS} request body")],
    ),
    Case(
        "request-media-type-added",
        put(*op(ADD, "post", "requestBody", "content", "text/plain"), value=TEXT),
        [("request-media-type-added", N, f"{ADD_BODY} (text/plain)")],
    ),
    Case(
        "request-media-type-removed",
        lambda spec: None,
        [("request-media-type-removed", B, f"{ADD_BODY} (text/plain)")],
        old=put(*op(ADD, "post", "requestBody", "content", "text/plain"), value=TEXT),
    ),
    # -- request schemas
    Case(
        "request-property-added-required",
        chain(
            put(*prop("AddBalanceRequest", "currency"), value={"type": "string"}),
            put(
                *model("AddBalanceRequest", "required"),
                value=["amount_cents", "idempotency_key", "currency"],
            ),
        ),
        [("request-property-added-required", B, f"{ADD_BODY} .currency")],
    ),
    Case(
        "request-property-added-optional",
        put(*prop("AddBalanceRequest", "currency"), value={"type": "string"}),
        [("request-property-added-optional", N, f"{ADD_BODY} .currency")],
    ),
    Case(
        "request-property-removed",
        chain(
            drop(*IDEMPOTENCY), put(*model("AddBalanceRequest", "required"), value=["amount_cents"])
        ),
        [("request-property-removed", B, f"{ADD_BODY} .idempotency_key")],
    ),
    Case(
        "request-property-became-required",
        lambda spec: None,
        [("request-property-became-required", B, f"{ADD_BODY} .idempotency_key")],
        old=put(*model("AddBalanceRequest", "required"), value=["amount_cents"]),
    ),
    Case(
        "request-property-became-optional",
        put(*model("AddBalanceRequest", "required"), value=["amount_cents"]),
        [("request-property-became-optional", N, f"{ADD_BODY} .idempotency_key")],
    ),
    Case(
        # An unrelated type stops the comparison there: no bound noise beneath it.
        "request-type-changed",
        put(*AMOUNT, "type", value="string"),
        [("request-type-changed", B, f"{ADD_BODY} .amount_cents")],
    ),
    Case(
        # integer -> number widens, and `> 0` no longer means `>= 1`.
        "request-type-widened",
        put(*AMOUNT, "type", value="number"),
        [
            ("request-type-widened", N, f"{ADD_BODY} .amount_cents"),
            ("request-bounds-loosened", N, f"{ADD_BODY} .amount_cents"),
        ],
    ),
    Case(
        "request-format-changed",
        put(*IDEMPOTENCY, "format", value="uuid"),
        [("request-format-changed", B, f"{ADD_BODY} .idempotency_key")],
    ),
    Case(
        "request-became-nullable",
        put(*APP_NAME, "type", value=["string", "null"]),
        [("request-became-nullable", N, f"{APP_BODY} .app_name")],
    ),
    Case(
        "request-became-not-nullable",
        lambda spec: None,
        [("request-became-not-nullable", B, f"{APP_BODY} .app_name")],
        old=put(*APP_NAME, value=any_of_null(APP_NAME)),
    ),
    Case(
        "request-enum-value-removed",
        with_currency("usd"),
        [("request-enum-value-removed", B, f"{ADD_BODY} .currency")],
        old=with_currency("usd", "eur"),
    ),
    Case(
        "request-enum-value-added",
        with_currency("usd", "eur"),
        [("request-enum-value-added", N, f"{ADD_BODY} .currency")],
        old=with_currency("usd"),
    ),
    Case(
        "request-enum-constraint-added",
        put(*prop("CreateApiKeyRequestModel", "api_key_name", "enum"), value=["default"]),
        [("request-enum-constraint-added", B, f"POST {KEYS} request body .api_key_name")],
    ),
    Case(
        "request-enum-constraint-removed",
        lambda spec: None,
        [("request-enum-constraint-removed", N, f"POST {KEYS} request body .api_key_name")],
        old=put(*prop("CreateApiKeyRequestModel", "api_key_name", "enum"), value=["default"]),
    ),
    Case(
        "request-variant-added",
        chain(
            drop(*APP_NAME, "type"),
            put(*APP_NAME, "anyOf", value=[{"type": "string"}, {"type": "integer"}]),
        ),
        [("request-variant-added", N, f"{APP_BODY} .app_name")],
    ),
    Case(
        "request-variant-removed",
        lambda spec: None,
        [("request-variant-removed", B, f"{APP_BODY} .app_name")],
        old=chain(
            drop(*APP_NAME, "type"),
            put(*APP_NAME, "anyOf", value=[{"type": "string"}, {"type": "integer"}]),
        ),
    ),
    Case(
        "request-bounds-tightened-maximum",
        put(*AMOUNT, "maximum", value=5000),
        [("request-bounds-tightened", B, f"{ADD_BODY} .amount_cents")],
    ),
    Case(
        "request-bounds-tightened-exclusive-minimum",
        put(*AMOUNT, "exclusiveMinimum", value=99),
        [("request-bounds-tightened", B, f"{ADD_BODY} .amount_cents")],
    ),
    Case(
        "request-bounds-tightened-exclusive-maximum-added",
        chain(drop(*AMOUNT, "maximum"), put(*AMOUNT, "exclusiveMaximum", value=10000)),
        [("request-bounds-tightened", B, f"{ADD_BODY} .amount_cents")],
    ),
    Case(
        "request-bounds-tightened-max-length",
        put(*IDEMPOTENCY, "maxLength", value=64),
        [("request-bounds-tightened", B, f"{ADD_BODY} .idempotency_key")],
    ),
    Case(
        "request-bounds-tightened-min-length",
        put(*IDEMPOTENCY, "minLength", value=16),
        [("request-bounds-tightened", B, f"{ADD_BODY} .idempotency_key")],
    ),
    Case(
        "request-bounds-tightened-multiple-of",
        put(*AMOUNT, "multipleOf", value=100),
        [("request-bounds-tightened", B, f"{ADD_BODY} .amount_cents")],
    ),
    Case(
        "request-bounds-loosened-maximum",
        put(*AMOUNT, "maximum", value=20000),
        [("request-bounds-loosened", N, f"{ADD_BODY} .amount_cents")],
    ),
    Case(
        "request-bounds-loosened-min-length-removed",
        drop(*IDEMPOTENCY, "minLength"),
        [("request-bounds-loosened", N, f"{ADD_BODY} .idempotency_key")],
    ),
    Case(
        "request-pattern-added",
        put(*IDEMPOTENCY, "pattern", value="^[A-Za-z0-9-]+$"),
        [("request-pattern-changed", B, f"{ADD_BODY} .idempotency_key")],
    ),
    Case(
        "request-pattern-removed",
        lambda spec: None,
        [("request-pattern-removed", N, f"{ADD_BODY} .idempotency_key")],
        old=put(*IDEMPOTENCY, "pattern", value="^[A-Za-z0-9-]+$"),
    ),
    Case(
        "request-pattern-generalized",
        put(*IDEMPOTENCY, "pattern", value="^.*$"),
        [("request-pattern-generalized", N, f"{ADD_BODY} .idempotency_key")],
        old=put(*IDEMPOTENCY, "pattern", value="^[A-Za-z0-9-]+$"),
    ),
    Case(
        "request-became-one-of",
        chain(
            drop(*APP_NAME, "type"),
            put(*APP_NAME, "oneOf", value=[{"type": "string"}, {"type": "string", "minLength": 3}]),
        ),
        [
            ("request-became-one-of", B, f"{APP_BODY} .app_name"),
            ("request-variant-added", N, f"{APP_BODY} .app_name"),
        ],
    ),
    Case(
        "default-changed",
        put(*APP_NAME, "default", value="my-app"),
        [("default-changed", N, f"{APP_BODY} .app_name")],
    ),
    Case(
        # A property *named* like a documentation keyword is still a property.
        "property-named-title",
        put(*prop("CreateAppRequestModel", "title"), value={"type": "integer"}),
        [("request-type-changed", B, f"{APP_BODY} .title")],
        old=put(*prop("CreateAppRequestModel", "title"), value={"type": "string"}),
    ),
    Case(
        # One component used both ways is judged both ways: harmless in, breaking out.
        "component-in-both-directions",
        chain(
            put(*APP_RESPONSE_SCHEMA, value=ref("CreateAppRequestModel")),
            put(*model("CreateAppRequestModel", "required"), value=[]),
        ),
        [
            ("request-property-became-optional", N, f"{APP_BODY} .app_name"),
            ("response-property-became-optional", B, f"POST {APPS} response 200 .app_name"),
        ],
        old=put(*APP_RESPONSE_SCHEMA, value=ref("CreateAppRequestModel")),
    ),
    # -- responses
    Case(
        "response-success-status-removed",
        rename(*op(APPS, "post", "responses", "200"), to="201"),
        [
            ("response-success-status-removed", B, f"POST {APPS} response 200"),
            ("response-status-added", N, f"POST {APPS} response 201"),
        ],
    ),
    Case(
        "response-status-removed",
        drop(*op(KEY, "delete", "responses", "422")),
        [("response-status-removed", N, f"DELETE {KEY} response 422")],
    ),
    Case(
        "response-status-added",
        put(*op(BAL, "get", "responses", "404"), value={"description": "Not found"}),
        [("response-status-added", N, f"GET {BAL} response 404")],
    ),
    Case(
        "response-media-type-removed",
        lambda spec: None,
        [("response-media-type-removed", B, f"GET {BAL} response 200 (text/plain)")],
        old=put(*op(BAL, "get", "responses", "200", "content", "text/plain"), value=TEXT),
    ),
    Case(
        "error-response-media-type-removed",
        lambda spec: None,
        [("error-response-media-type-removed", N, f"DELETE {KEY} response 422 (text/plain)")],
        old=put(*op(KEY, "delete", "responses", "422", "content", "text/plain"), value=TEXT),
    ),
    Case(
        "response-media-type-added",
        put(*op(BAL, "get", "responses", "200", "content", "text/plain"), value=TEXT),
        [("response-media-type-added", N, f"GET {BAL} response 200 (text/plain)")],
    ),
    # -- response schemas (BalanceResponse is used by two operations: reported for each)
    Case(
        "response-required-property-removed",
        chain(
            drop(*prop("BalanceResponse", "will_invoice")),
            put(
                *model("BalanceResponse", "required"),
                value=["org_id", "credit_balance_cents", "pending_debit_balance_cents"],
            ),
        ),
        each(
            "response-required-property-removed",
            B,
            (f"GET {BAL}", f"POST {ADD}"),
            "response 200 .will_invoice",
        ),
    ),
    Case(
        "response-optional-property-removed",
        lambda spec: None,
        [("response-optional-property-removed", B, f"POST {APPS} response 200 .note")],
        old=put(*prop("CreateAppResponseModel", "note"), value={"type": "string"}),
    ),
    Case(
        "response-property-added",
        put(*prop("CreateAppResponseModel", "note"), value={"type": "string"}),
        [("response-property-added", N, f"POST {APPS} response 200 .note")],
    ),
    Case(
        "response-property-became-optional",
        put(
            *model("CreateKeyResponse", "required"),
            value=[
                name
                for name in BASE["components"]["schemas"]["CreateKeyResponse"]["required"]
                if name != "created_at"
            ],
        ),
        [("response-property-became-optional", B, f"POST {KEYS} response 200 .created_at")],
    ),
    Case(
        "response-property-became-required",
        lambda spec: None,
        [("response-property-became-required", N, f"POST {APPS} response 200 .app_id")],
        old=put(*model("CreateAppResponseModel", "required"), value=[]),
    ),
    Case(
        "response-type-changed",
        put(*prop("CreateKeyResponse", "created_at", "type"), value="string"),
        [("response-type-changed", B, f"POST {KEYS} response 200 .created_at")],
    ),
    Case(
        "response-type-narrowed",
        put(*prop("BalanceResponse", "credit_balance_cents", "type"), value="integer"),
        each(
            "response-type-narrowed",
            N,
            (f"GET {BAL}", f"POST {ADD}"),
            "response 200 .credit_balance_cents",
        ),
    ),
    Case(
        "response-format-changed",
        put(*prop("CreateAppResponseModel", "app_id", "format"), value="uuid"),
        [("response-format-changed", B, f"POST {APPS} response 200 .app_id")],
    ),
    Case(
        "response-became-nullable-any-of",
        put(
            *prop("BalanceResponse", "org_id"),
            value=any_of_null(prop("BalanceResponse", "org_id")),
        ),
        each("response-became-nullable", B, (f"GET {BAL}", f"POST {ADD}"), "response 200 .org_id"),
    ),
    Case(
        "response-became-nullable-openapi-3-0",
        put(*prop("CreateAppResponseModel", "app_id", "nullable"), value=True),
        [("response-became-nullable", B, f"POST {APPS} response 200 .app_id")],
    ),
    Case(
        "response-became-not-nullable",
        lambda spec: None,
        [("response-became-not-nullable", N, f"POST {APPS} response 200 .app_id")],
        old=put(*prop("CreateAppResponseModel", "app_id", "type"), value=["string", "null"]),
    ),
    Case(
        "response-enum-value-added",
        with_status("active", "suspended"),
        [("response-enum-value-added", B, f"GET {APPS} response 200 .apps[].status")],
        old=with_status("active"),
    ),
    Case(
        "response-enum-value-removed",
        with_status("active"),
        [("response-enum-value-removed", N, f"GET {APPS} response 200 .apps[].status")],
        old=with_status("active", "suspended"),
    ),
    Case(
        "response-enum-constraint-added",
        put(*prop("AppItem", "app_name", "enum"), value=["default"]),
        [("response-enum-constraint-added", N, f"GET {APPS} response 200 .apps[].app_name")],
    ),
    Case(
        "response-enum-constraint-removed",
        lambda spec: None,
        [("response-enum-constraint-removed", B, f"GET {APPS} response 200 .apps[].app_name")],
        old=put(*prop("AppItem", "app_name", "enum"), value=["default"]),
    ),
    Case(
        "response-variant-added",
        put(*LOC_ITEMS, value=[{"type": "string"}, {"type": "integer"}, {"type": "boolean"}]),
        each("response-variant-added", B, ERROR_OPS, "response 422 .detail[].loc[]"),
    ),
    Case(
        "response-variant-removed",
        put(*LOC_ITEMS, value=[{"type": "string"}]),
        each("response-variant-removed", N, ERROR_OPS, "response 422 .detail[].loc[]"),
    ),
    Case(
        "response-bounds-changed",
        put(*prop("BalanceResponse", "org_id", "maxLength"), value=64),
        each("response-bounds-changed", N, (f"GET {BAL}", f"POST {ADD}"), "response 200 .org_id"),
    ),
    Case(
        "response-pattern-changed",
        put(*prop("AppItem", "app_id", "pattern"), value="^app_"),
        [("response-pattern-changed", N, f"GET {APPS} response 200 .apps[].app_id")],
    ),
    # -- security and servers
    Case(
        "security-changed-scopes",
        put(*op(BAL, "get", "security"), value=[{"BearerAuth": ["admin"]}]),
        [("security-changed", B, f"GET {BAL} security")],
    ),
    Case(
        # Every operation declares its own security, so the global one is reported once.
        "security-changed-global",
        put("security", value=[{"BearerAuth": []}]),
        [("security-changed", B, "#/security")],
    ),
    Case(
        "security-loosened-removed",
        drop(*op(BAL, "get", "security")),
        [("security-loosened", N, f"GET {BAL} security")],
    ),
    Case(
        "security-loosened-alternative",
        put(*op(BAL, "get", "security"), value=[{"BearerAuth": []}, {}]),
        [("security-loosened", N, f"GET {BAL} security")],
    ),
    Case(
        "security-scheme-changed",
        put("components", "securitySchemes", "BearerAuth", "scheme", value="basic"),
        [("security-scheme-changed", B, "#/components/securitySchemes/BearerAuth")],
    ),
    Case(
        "security-scheme-removed",
        drop("components", "securitySchemes", "BearerAuth"),
        [("security-scheme-removed", B, "#/components/securitySchemes/BearerAuth")],
    ),
    Case(
        "security-scheme-added",
        put(
            "components",
            "securitySchemes",
            "ApiKey",
            value={"type": "apiKey", "in": "header", "name": "x-api-key"},
        ),
        [("security-scheme-added", N, "#/components/securitySchemes/ApiKey")],
    ),
    Case(
        "server-url-changed",
        put("servers", 0, "url", value="https://api.parallel.ai/account/v2"),
        [("server-url-changed", B, "#/servers")],
    ),
    Case(
        "server-url-changed-operation",
        put(*op(BAL, "get", "servers"), value=[{"url": "https://billing.parallel.ai"}]),
        [("server-url-changed", B, f"GET {BAL} servers")],
    ),
    Case(
        "server-added",
        put("servers", value=[*BASE["servers"], {"url": "https://staging.parallel.ai/account"}]),
        [("server-added", N, "#/servers")],
    ),
    # -- component schemas
    Case(
        "schema-removed",
        lambda spec: None,
        [("schema-removed", B, "#/components/schemas/Legacy")],
        old=put(*model("Legacy"), value={"type": "object"}),
    ),
    Case(
        # Removed + added with the same shape is one rename, and nothing else changes.
        "schema-renamed",
        chain(
            rename(*model("CreateAppResponseModel"), to="AppCreated"),
            put(*APP_RESPONSE_SCHEMA, value=ref("AppCreated")),
        ),
        [("schema-renamed", B, "#/components/schemas/CreateAppResponseModel")],
    ),
    Case(
        "schema-added",
        put(*model("Extra"), value={"type": "object"}),
        [("schema-added", N, "#/components/schemas/Extra")],
    ),
    # -- documentation
    Case(
        "summary-changed",
        put(*op(BAL, "get", "summary"), value="Balance"),
        [("summary-changed", DOC, "#/paths/~1service~1v1~1balance/get/summary")],
    ),
    Case(
        "description-changed",
        put(*AMOUNT, "description", value="Cents."),
        [
            (
                "description-changed",
                DOC,
                "#/components/schemas/AddBalanceRequest/properties/amount_cents/description",
            )
        ],
    ),
    Case(
        "title-changed",
        put("info", "title", value="Account API"),
        [("title-changed", DOC, "#/info/title")],
    ),
    Case(
        "example-changed",
        put(*AMOUNT, "examples", value=[500]),
        [
            (
                "example-changed",
                DOC,
                "#/components/schemas/AddBalanceRequest/properties/amount_cents/examples",
            )
        ],
    ),
    Case(
        "external-docs-changed",
        put(*op(BAL, "get", "externalDocs"), value={"url": "https://docs.parallel.ai"}),
        [("external-docs-changed", DOC, "#/paths/~1service~1v1~1balance/get/externalDocs")],
    ),
    Case(
        "bearer-format-changed",
        put("components", "securitySchemes", "BearerAuth", "bearerFormat", value="opaque"),
        [("bearer-format-changed", DOC, "#/components/securitySchemes/BearerAuth/bearerFormat")],
    ),
    Case(
        "extension-changed",
        put(*op(BAL, "get", "x-internal"), value=True),
        [("extension-changed", DOC, "#/paths/~1service~1v1~1balance/get/x-internal")],
    ),
    Case(
        "version-changed",
        put("info", "version", value="0.2.0"),
        [("version-changed", DOC, "#/info/version")],
    ),
    Case(
        "openapi-version-changed",
        put("openapi", value="3.1.1"),
        [("openapi-version-changed", DOC, "#/openapi")],
    ),
    Case(
        "info-changed",
        put("info", "contact", value={"email": "support@parallel.ai"}),
        [("info-changed", DOC, "#/info/contact")],
    ),
    Case(
        "tag-definition-changed",
        put("tags", value=[t for t in BASE["tags"] if t["name"] != "Service"]),
        [("tag-definition-changed", DOC, "#/tags")],
    ),
    # -- nothing escapes: what no rule classifies is still reported
    Case(
        "unclassified-change-schema",
        put(*prop("CreateAppResponseModel", "app_id", "readOnly"), value=True),
        [("unclassified-change", N, f"POST {APPS} response 200 .app_id")],
    ),
    Case(
        "unclassified-change-additional-properties",
        put(*model("AddBalanceRequest", "additionalProperties"), value=False),
        [("unclassified-change", N, ADD_BODY)],
    ),
    Case(
        "unclassified-change-root",
        put("webhooks", value={"topup": {"post": PING}}),
        [("unclassified-change", N, "#/webhooks")],
    ),
]


def _apply(case: Case) -> tuple[Spec, Spec]:
    old, new = copy.deepcopy(BASE), copy.deepcopy(BASE)
    if case.old is not None:
        case.old(old)
    case.new(new)
    return old, new


def _triples(changes: list[Change]) -> list[Expected]:
    return sorted((c.id, c.level, c.location) for c in changes)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_mutation_gives_exactly_the_expected_changes(case: Case) -> None:
    old, new = _apply(case)
    changes = compare(old, new)
    assert _triples(changes) == sorted(case.expected)
    assert all(c.message and "\n" not in c.message for c in changes)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_side_of_a_case_compares_equal_to_itself(case: Case) -> None:
    for spec in _apply(case):
        assert compare(spec, copy.deepcopy(spec)) == []


def test_every_rule_has_a_mutation() -> None:
    covered = {rule for case in CASES for rule, _, _ in case.expected}
    assert covered == set(REGISTRY)


def test_corpus_levels_match_the_rule_table() -> None:
    for case in CASES:
        for rule, level, _ in case.expected:
            assert REGISTRY[rule].level == level, rule


def test_rule_ids_are_kebab_case_with_a_description() -> None:
    for rule in REGISTRY.values():
        assert rule.id.replace("-", "").isalpha() and rule.id == rule.id.lower(), rule
        assert rule.level in LEVELS and rule.meaning


# ---------------------------------------------------------------- meaning, not text


def _respelled(node: Any, rng: random.Random) -> Any:
    """Keys shuffled at every level and every integer written as a float."""
    if isinstance(node, dict):
        items = list(node.items())
        rng.shuffle(items)
        return {key: _respelled(value, rng) for key, value in items}
    if isinstance(node, list):
        return [_respelled(value, rng) for value in node]
    if isinstance(node, int) and not isinstance(node, bool):
        return float(node)
    return node


def test_reordered_reindented_respelled_spec_is_no_change(tmp_path: Path) -> None:
    text = json.dumps(_respelled(BASE, random.Random(20240611)), indent=7)
    assert "10000.0" in text and text != json.dumps(BASE, indent=7)
    assert compare(BASE, json.loads(text)) == []
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(BASE, separators=(",", ":")), encoding="utf-8")
    new.write_text(text, encoding="utf-8")
    result = _cli(old, new)
    assert (result.returncode, result.stdout, result.stderr) == (0, "No changes.\n", "")


def _reversed_lists(spec: Spec) -> None:
    for item in spec["paths"].values():
        for operation in item.values():
            operation.get("parameters", []).reverse()
    for schema in spec["components"]["schemas"].values():
        schema.get("required", []).reverse()
    spec["tags"].reverse()


NULLABLE_FORMS = [
    {"anyOf": [{"type": "string"}, {"type": "null"}]},
    {"type": ["null", "string"]},
    {"type": "string", "nullable": True},
    {"oneOf": [{"type": "null"}, {"type": "string"}]},
]


@pytest.mark.parametrize(
    ("old_step", "new_step"),
    [
        pytest.param(lambda s: None, _reversed_lists, id="unordered-lists"),
        *[
            pytest.param(
                put(*APP_NAME, value=NULLABLE_FORMS[0]),
                put(*APP_NAME, value=form),
                id=f"nullable-{i}",
            )
            for i, form in enumerate(NULLABLE_FORMS[1:], 1)
        ],
        pytest.param(
            lambda s: None,
            chain(drop(*AMOUNT, "exclusiveMinimum"), put(*AMOUNT, "minimum", value=1)),
            id="integer-exclusive-minimum-0-is-minimum-1",
        ),
        pytest.param(
            lambda s: None,
            chain(put(*AMOUNT, "minimum", value=0), put(*AMOUNT, "exclusiveMinimum", value=True)),
            id="openapi-3.0-boolean-exclusive-minimum",
        ),
        pytest.param(
            lambda s: None,
            put(
                *op(APPS, "get", "responses", "200", "content", "application/json", "schema"),
                value={"allOf": [ref("GetAppsForOrgResponseModel")]},
            ),
            id="single-allOf-wrapper",
        ),
        pytest.param(
            put(*op(APPS, "get", "parameters"), value=[LIMIT]),
            put(
                *op(APPS, "get", "parameters"), value=[{**LIMIT, "style": "form", "explode": True}]
            ),
            id="default-style-spelled-out",
        ),
    ],
)
def test_same_meaning_is_no_change(old_step: Mutate, new_step: Mutate) -> None:
    old, new = copy.deepcopy(BASE), copy.deepcopy(BASE)
    old_step(old)
    old_step(new)
    new_step(new)
    assert compare(old, new) == []


# ---------------------------------------------------------------- references


NODE = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "children": {"type": "array", "items": ref("Node")},
        "parent": {"anyOf": [ref("Node"), {"type": "null"}]},
    },
}
TREE_RESPONSE = {
    "200": {"description": "OK", "content": {"application/json": {"schema": ref("Node")}}}
}


def _with_tree(spec: Spec) -> None:
    spec["components"]["schemas"]["Node"] = copy.deepcopy(NODE)
    spec["paths"]["/tree"] = {
        "get": {"operationId": "tree", "responses": copy.deepcopy(TREE_RESPONSE)}
    }


def test_recursive_schemas_terminate_and_report_once_per_place() -> None:
    old, new = copy.deepcopy(BASE), copy.deepcopy(BASE)
    _with_tree(old)
    _with_tree(new)
    new["components"]["schemas"]["Node"]["properties"]["name"]["type"] = "integer"
    assert _triples(compare(old, new)) == [
        ("response-type-changed", B, "GET /tree response 200 .name")
    ]


def test_mutually_recursive_schemas_terminate() -> None:
    spec = copy.deepcopy(BASE)
    spec["components"]["schemas"]["A"] = {"type": "object", "properties": {"b": ref("B")}}
    spec["components"]["schemas"]["B"] = {"allOf": [ref("A")], "properties": {"a": ref("A")}}
    spec["paths"]["/a"] = {
        "get": {"responses": {"200": {"content": {"application/json": {"schema": ref("A")}}}}}
    }
    assert compare(spec, copy.deepcopy(spec)) == []


@pytest.mark.parametrize(
    ("target", "reason"),
    [("#/components/schemas/Missing", "unresolvable"), ("other.json#/X", "only local")],
)
def test_bad_refs_raise_spec_error(target: str, reason: str) -> None:
    new = copy.deepcopy(BASE)
    put(
        *op(BAL, "get", "responses", "200", "content", "application/json", "schema"),
        value={"$ref": target},
    )(new)
    with pytest.raises(SpecError, match=reason):
        compare(BASE, new)


# ---------------------------------------------------------------- rendering


MIXED = [
    Change("title-changed", "info", "#/info/title", 'title changed from "A" to "B"'),
    Change("path-added", "non-breaking", "/b", "path added (GET)"),
    Change("path-removed", "breaking", "/a|b", "path removed (GET)"),
]


def test_render_json_report_shape() -> None:
    report = json.loads(render(MIXED, "json"))
    assert report == {
        "breaking": True,
        "summary": {"breaking": 1, "non-breaking": 1, "info": 1},
        "changes": [
            {
                "id": "path-removed",
                "level": "breaking",
                "location": "/a|b",
                "message": "path removed (GET)",
            },
            {
                "id": "path-added",
                "level": "non-breaking",
                "location": "/b",
                "message": "path added (GET)",
            },
            {
                "id": "title-changed",
                "level": "info",
                "location": "#/info/title",
                "message": 'title changed from "A" to "B"',
            },
        ],
    }
    assert json.loads(render([], "json")) == {
        "breaking": False,
        "summary": {"breaking": 0, "non-breaking": 0, "info": 0},
        "changes": [],
    }


def test_render_text_is_one_line_per_change_breaking_first() -> None:
    assert render(MIXED, "text").splitlines() == [
        "BREAKING path-removed /a|b: path removed (GET)",
        "NON-BREAKING path-added /b: path added (GET)",
        'INFO title-changed #/info/title: title changed from "A" to "B"',
    ]


def test_render_markdown_has_a_table_per_level_breaking_first() -> None:
    text = render(MIXED, "markdown")
    assert text.startswith("## OpenAPI drift report\n")
    assert "**1 breaking**, 1 non-breaking, 1 info." in text
    assert (
        text.index("### Breaking")
        < text.index("### Non-breaking")
        < text.index("### Documentation")
    )
    # The pipe in the location is escaped so the table keeps three columns.
    assert "| `path-removed` | `/a\\|b` | path removed (GET) |" in text.splitlines()


def test_change_is_frozen_and_render_rejects_unknown_formats() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        MIXED[0].id = "other"  # type: ignore[misc]
    with pytest.raises(ValueError, match="unknown format"):
        render(MIXED, "yaml")  # type: ignore[arg-type]


# ---------------------------------------------------------------- command line


def _cli(*args: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parallel_account_drift", "diff", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _write(directory: Path, name: str, spec: Spec) -> Path:
    path = directory / name
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


@pytest.fixture
def specs(tmp_path: Path) -> dict[str, Path]:
    doc_only, breaking = copy.deepcopy(BASE), copy.deepcopy(BASE)
    put(*op(BAL, "get", "summary"), value="Balance")(doc_only)
    put(*op(BAL, "get", "summary"), value="Balance")(breaking)
    drop(*op(APPS, "post"))(breaking)
    return {
        "base": _write(tmp_path, "base.json", BASE),
        "doc_only": _write(tmp_path, "doc_only.json", doc_only),
        "breaking": _write(tmp_path, "breaking.json", breaking),
    }


def test_cli_exit_1_for_changes_without_breaking_ones(specs: dict[str, Path]) -> None:
    result = _cli(specs["base"], specs["doc_only"], "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["breaking"] is False
    assert report["summary"] == {"breaking": 0, "non-breaking": 0, "info": 1}
    assert [c["id"] for c in report["changes"]] == ["summary-changed"]


def test_cli_exit_2_for_breaking_changes_in_every_format(specs: dict[str, Path]) -> None:
    text = _cli(specs["base"], specs["breaking"])
    assert text.returncode == 2, text.stderr
    assert text.stdout.splitlines() == [
        f"BREAKING operation-removed POST {APPS}: operation removed",
        'INFO summary-changed #/paths/~1service~1v1~1balance/get/summary: summary changed from "Get Balance" to "Balance"',
    ]
    as_json = _cli(specs["base"], specs["breaking"], "--format", "json")
    assert as_json.returncode == 2
    report = json.loads(as_json.stdout)
    assert report["breaking"] is True
    assert report["summary"] == {"breaking": 1, "non-breaking": 0, "info": 1}
    assert report["changes"][0] == {
        "id": "operation-removed",
        "level": "breaking",
        "location": f"POST {APPS}",
        "message": "operation removed",
    }
    markdown = _cli(specs["base"], specs["breaking"], "--format", "markdown")
    assert markdown.returncode == 2
    assert (
        f"| `operation-removed` | `POST {APPS}` | operation removed |"
        in markdown.stdout.splitlines()
    )


def test_cli_exit_0_and_every_format_when_nothing_changed(specs: dict[str, Path]) -> None:
    outputs = {fmt: _cli(specs["base"], specs["base"], "--format", fmt) for fmt in FORMATS}
    assert {fmt: r.returncode for fmt, r in outputs.items()} == dict.fromkeys(FORMATS, 0)
    assert outputs["text"].stdout == "No changes.\n"
    assert json.loads(outputs["json"].stdout)["changes"] == []
    assert "No changes." in outputs["markdown"].stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "not JSON"),
        ('{"swagger": "2.0"}', "not an OpenAPI 3.x document"),
    ],
)
def test_cli_exit_4_with_one_line_for_unreadable_input(
    specs: dict[str, Path], tmp_path: Path, content: str | None, message: str
) -> None:
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content, encoding="utf-8")
    result = _cli(specs["base"], bad)
    assert result.returncode == ExitStatus.UNUSABLE
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr


def test_cli_usage_error_is_exit_64_not_2(specs: dict[str, Path]) -> None:
    # argparse's default status 2 would be read as "breaking change".
    result = _cli(specs["base"], specs["base"], "--format", "yaml")
    assert result.returncode == ExitStatus.USAGE
    assert len(result.stderr.splitlines()) == 1 and "invalid choice" in result.stderr


# ---------------------------------------------------------------- robustness


def _paths_in(node: Any, path: tuple[Key, ...] = ()) -> list[tuple[Key, ...]]:
    found = [path] if path else []
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else []
    )
    for key, child in children:
        found += _paths_in(child, (*path, key))
    return found


def test_malformed_documents_never_crash_and_equal_themselves() -> None:
    # Random deletions and wrong-typed values: compare() either works or raises SpecError.
    rng = random.Random(7)
    junk: list[Any] = [None, True, 0, 1.5, "x", [], {}, ["string", "null"], ref("AppItem")]
    for _ in range(80):
        spec = copy.deepcopy(BASE)
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(_paths_in(spec))
            parent = _at(spec, path[:-1])
            if rng.random() < 0.4:
                del parent[path[-1]]
            else:
                parent[path[-1]] = copy.deepcopy(rng.choice(junk))
        try:
            changes = compare(BASE, spec)
            assert compare(spec, copy.deepcopy(spec)) == []
        except SpecError:
            continue
        for fmt in FORMATS:
            assert render(changes, fmt)
