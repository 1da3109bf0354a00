"""The fake follows the spec by itself: operations it does not model, and query parameters.

A spec update can add an operation before anyone writes its `op_<name>` method
in `parallel_account/testing/_state.py`. The fake then still authenticates and
validates the request as the spec says, and answers with a body built from the
spec's response schema (`_sample`, as Prism's static mode does). The facts are
generated, so a changed spec cannot be loaded here at runtime; instead these
tests (1) run the sample builder on many schemas, on a frozen copy of the
spec's components and on the live ones, (2) remove `op_` methods from `Account`
with monkeypatch, (3) patch operations with query parameters, or a whole new
operation, into the routing table. Nothing here names a number or an operation
of the live spec: they come from `spec_facts` and `spec()`.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime
import json
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import jsonschema  # type: ignore[import-untyped]
import pydantic
import pytest

import parallel_account as pa
from parallel_account import _request, spec
from parallel_account._schema import MAX_REF_REPEATS, Resolver, SchemaRefError, sample
from parallel_account._validation import field_schema, spec_resolver
from parallel_account.testing import FakeAccountAPI, _sample, _spec
from parallel_account.testing._answer import Answer, json_answer
from parallel_account.testing._sample import spec_answer
from parallel_account.testing._spec import Body, Params
from parallel_account.testing._state import Account
from parallel_account_api.spec_facts import OPERATIONS, FieldFacts, OperationFacts
from tests.support import FROZEN_SPEC

TOKEN = "generic-token"
SPEC: dict[str, Any] = spec()


# --- helpers: what the spec says, read independently of the fake ----------------------------


def documented_success(op: OperationFacts, document: Mapping[str, Any] = SPEC) -> tuple[int, Any]:
    """The lowest documented 2xx status and its JSON schema (None: no JSON body)."""
    responses = document["paths"][op.path][op.method.lower()]["responses"]
    codes = sorted(int(code) for code in responses if re.fullmatch(r"2\d\d", code))
    status = codes[0] if codes else 200
    key = str(status) if codes else next(k for k in ("2XX", "2xx", "default") if k in responses)
    response = Resolver(document).node(responses[key])
    media = (response.get("content") or {}).get("application/json")
    return status, None if media is None or status == 204 else media.get("schema", {})


def validator(schema: Any, document: Mapping[str, Any] = SPEC) -> Any:
    """A JSON Schema 2020-12 validator for `schema`, its `$ref`s resolved in `document`."""
    root = {**schema, "components": document.get("components", {})}
    if "$defs" in document:
        root["$defs"] = document["$defs"]
    return jsonschema.Draft202012Validator(
        root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def assert_valid(value: Any, schema: Any, document: Mapping[str, Any] = SPEC) -> None:
    errors = [e.message for e in validator(schema, document).iter_errors(value)]
    assert errors == [], (value, errors)


def valid_value(facts: FieldFacts) -> Any:
    """A value the spec accepts for a parameter or body field (the engine's sample; a fresh
    uuid, so that ids differ)."""
    if facts.format == "uuid":
        return str(uuid.uuid4())
    return sample(field_schema(facts), spec_resolver())


def as_text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def valid_request(op: OperationFacts, known: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Arguments for `httpx.Client.request` making a valid request to `op`.

    Path parameters named in `known` take those values (ids of things the fake holds).
    """
    values = {p.name: as_text(valid_value(p)) for p in op.path_params}
    path = op.path.format_map(
        {n: quote(v, safe="") for n, v in {**values, **(known or {})}.items()}
    )
    query = {q.name: as_text(valid_value(q)) for q in op.query_params if q.required}
    request: dict[str, Any] = {"method": op.method, "url": path, "params": query}
    if op.body_model is not None:
        request["json"] = {f.name: valid_value(f) for f in op.body_fields}
    return request


def state(fake: FakeAccountAPI) -> tuple[Any, ...]:
    return fake.balance, fake.ledger, fake.apps, fake.keys


def unmodel(monkeypatch: pytest.MonkeyPatch, op: OperationFacts) -> None:
    """Take `op`'s behaviour out of the fake, as if the spec had just added it."""
    monkeypatch.delattr(Account, f"op_{op.name}", raising=False)


def patch_operation(monkeypatch: pytest.MonkeyPatch, op: OperationFacts) -> None:
    """Put `op` (new, or replacing the one of that name) into the facts and routing table."""
    monkeypatch.setitem(OPERATIONS, op.name, op)
    monkeypatch.setattr(_spec, "_ROUTES", _spec.routes(OPERATIONS.values()))


def record_params(monkeypatch: pytest.MonkeyPatch, op: OperationFacts) -> None:
    """Make `op` answer 200 with the repr of every parameter it was given."""

    def recorder(self: Account, params: Params, data: Body) -> Answer:
        return json_answer(200, {name: repr(value) for name, value in params.items()})

    monkeypatch.setattr(Account, f"op_{op.name}", recorder, raising=False)


@contextlib.contextmanager
def clients(fake: FakeAccountAPI, way: str) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """An authenticated and an anonymous client reaching `fake` in process or over loopback."""
    with contextlib.ExitStack() as stack:
        if way == "transport":
            http = stack.enter_context(fake.http_client())
            anonymous = stack.enter_context(fake.http_client(authenticated=False))
        else:
            base_url = stack.enter_context(fake.serve())
            auth = {"authorization": f"Bearer {fake.token}"}
            http = stack.enter_context(httpx.Client(base_url=base_url, headers=auth))
            anonymous = stack.enter_context(httpx.Client(base_url=base_url))
        yield http, anonymous


@pytest.fixture(params=["transport", "server"])
def way(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fake() -> FakeAccountAPI:
    return FakeAccountAPI(token=TOKEN)


@pytest.fixture
def http(fake: FakeAccountAPI) -> Iterator[httpx.Client]:
    with fake.http_client() as client:
        yield client


# --- 1. the sample builder -------------------------------------------------------------------

DOC: dict[str, Any] = {
    "components": {
        "schemas": {
            "Cat": {
                "type": "object",
                "required": ["kind", "lives"],
                "properties": {"kind": {"type": "string"}, "lives": {"type": "integer", "maximum": 9}},
            },
            "Dog": {
                "type": "object",
                "required": ["kind", "bark"],
                "properties": {"kind": {"type": "string"}, "bark": {"type": "boolean"}},
            },
            "Named": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "minLength": 3}}},
            "Aged": {"type": "object", "required": ["age"], "properties": {"age": {"type": "integer", "minimum": 18}}},
            "Alias": {"$ref": "#/components/schemas/Named"},
            "a/b~c": {"type": "string", "const": "escaped"},
        }
    }
}  # fmt: skip

# (schema, the exact value expected). Each is also checked to validate, below.
EXACT: list[tuple[Any, Any]] = [
    ({}, None),
    (True, None),
    ({"type": "null"}, None),
    ({"description": "anything"}, None),
    ({"type": "string"}, "string"),
    ({"type": "integer"}, 0),
    ({"type": "number"}, 0),
    ({"type": "boolean"}, True),
    ({"type": "string", "example": "ex", "examples": ["x"], "default": "d", "enum": ["ex", "x", "d"]}, "ex"),
    ({"type": "string", "examples": ["first", "second"], "default": "d"}, "first"),
    ({"type": "integer", "default": 7, "enum": [3, 7]}, 7),
    ({"type": "string", "enum": ["b", "a"]}, "b"),
    ({"const": {"fixed": [1, 2]}}, {"fixed": [1, 2]}),
    ({"type": ["string", "null"], "default": None}, None),
    ({"type": "string", "format": "date-time"}, "2019-08-24T14:15:22Z"),
    ({"type": "string", "format": "date"}, "2019-08-24"),
    ({"type": "string", "format": "uuid"}, "095be615-a8ad-4c33-8e9c-c7612fbf6c9f"),
    ({"type": "string", "format": "email"}, "user@example.com"),
    ({"type": "string", "format": "uri"}, "http://example.com"),
    ({"type": "string", "format": "no-such-format"}, "string"),
    ({"type": "string", "minLength": 10}, "stringxxxx"),
    ({"type": "string", "maxLength": 3}, "str"),
    ({"type": "string", "minLength": 2, "maxLength": 2}, "st"),
    ({"type": "integer", "exclusiveMinimum": 0}, 1),
    ({"type": "integer", "minimum": 5, "maximum": 9}, 5),
    ({"type": "integer", "maximum": -3}, -3),
    ({"type": "integer", "exclusiveMaximum": 0}, -1),
    ({"type": "integer", "exclusiveMinimum": 2.5}, 3),
    ({"type": "integer", "minimum": 5, "exclusiveMinimum": True}, 6),  # OpenAPI 3.0 style
    ({"type": "integer", "minimum": 7, "multipleOf": 5}, 10),
    ({"type": "integer", "maximum": -1, "multipleOf": 4}, -4),
    ({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.5}, 0.25),
    ({"type": "number", "minimum": 0.5}, 0.5),
    ({"type": "number", "exclusiveMinimum": 0}, 1),
    ({"type": ["string", "null"]}, "string"),
    ({"type": ["null", "integer"]}, 0),
    ({"type": "integer", "nullable": True}, 0),
    ({"type": "array", "items": {"type": "integer"}}, [0]),
    ({"type": "array"}, [None]),
    ({"type": "array", "items": {"type": "boolean"}, "minItems": 3}, [True, True, True]),
    ({"type": "array", "items": {"type": "boolean"}, "maxItems": 0}, []),
    ({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False}, ["string", 0]),
    ({"type": "object"}, {}),
    ({"properties": {"a": {"type": "integer"}}}, {"a": 0}),  # no type: implied by the keywords
    ({"type": "object", "properties": {"r": {"type": "string"}, "o": {"type": "boolean"}}, "required": ["r"]}, {"r": "string", "o": True}),
    ({"type": "object", "required": ["loose"]}, {"loose": None}),
    ({"type": "object", "additionalProperties": {"type": "integer"}, "minProperties": 2}, {"additionalProp1": 0, "additionalProp2": 0}),
    ({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["b"], "maxProperties": 1}, {"b": 0}),
    ({"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 3}]}, 3),
    ({"oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}]}, {"kind": "string", "lives": 0}),
    (
        {
            "oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
            "discriminator": {"propertyName": "kind", "mapping": {"cat": "#/components/schemas/Cat"}},
        },
        {"kind": "cat", "lives": 0},
    ),
    ({"allOf": [{"$ref": "#/components/schemas/Named"}, {"$ref": "#/components/schemas/Aged"}]}, {"name": "string", "age": 18}),
    ({"allOf": [{"type": "integer", "minimum": 2}, {"minimum": 4, "maximum": 9}]}, 4),
    ({"allOf": [{"type": "number"}, {"type": "integer", "exclusiveMinimum": 0}]}, 1),
    ({"$ref": "#/components/schemas/Alias", "description": "a $ref with siblings"}, {"name": "string"}),
    ({"$ref": "#/components/schemas/a~1b~0c"}, "escaped"),
]  # fmt: skip


@pytest.mark.parametrize(("schema", "expected"), EXACT, ids=[str(i) for i in range(len(EXACT))])
def test_sample_picks_the_value_prism_would(schema: Any, expected: Any) -> None:
    given = copy.deepcopy(schema)
    value = sample(schema, Resolver(DOC))
    assert value == expected and type(value) is type(expected)
    assert schema == given  # the schema is not changed
    assert sample(schema, Resolver(DOC)) == value  # deterministic
    json.dumps(value, allow_nan=False)
    if isinstance(schema, dict):
        assert_valid(value, schema, DOC)


@pytest.mark.parametrize(
    "ref", ["#/components/schemas/Missing", "#/nowhere/0", "other.json#/Thing"]
)
def test_sample_of_an_unresolvable_ref_is_an_error_naming_it(ref: str) -> None:
    with pytest.raises(SchemaRefError, match=re.escape(ref)):
        sample({"$ref": ref}, Resolver(DOC))


# (schema, a check beyond validation) for values that are valid in more than one way.
CHECKED: list[tuple[dict[str, Any], Any]] = [
    ({"type": "string", "pattern": r"^[a-z0-9-]{3,63}$"}, None),
    ({"type": "string", "pattern": r"^[A-Z]+$", "minLength": 8, "maxLength": 12}, None),
    ({"type": "string", "pattern": r"^\d{3}-[^a]x(ab|cd)\1$"}, None),
    ({"type": "string", "pattern": r"^(?P<w>o+)k(?P=w)$"}, None),
    ({"type": "string", "pattern": r"key_[0-9a-f]{32}"}, None),
    ({"type": "string", "pattern": r"^\S+@\S+\.[a-z]{2,}$", "maxLength": 40}, None),
    ({"type": "string", "format": "date-time", "pattern": "Z$"}, None),
    ({"type": "number", "minimum": 0.1, "maximum": 0.2, "multipleOf": 0.05}, None),
    ({"type": "integer", "minimum": -10, "maximum": -2, "multipleOf": 3}, None),
    ({"type": "string", "format": "date-time"}, lambda v: v.endswith("Z") and datetime.datetime.fromisoformat(v).tzinfo),
    ({"type": "string", "format": "date"}, datetime.date.fromisoformat),
    ({"type": "string", "format": "uuid"}, uuid.UUID),
    ({"type": "string", "format": "email"}, lambda v: re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]+", v)),
    ({"type": "string", "format": "uri"}, lambda v: urlsplit(v).scheme and urlsplit(v).netloc),
    ({"type": "string", "format": "ipv4"}, None),
    ({"type": "string", "format": "ipv6"}, None),
    ({"type": "string", "format": "time"}, None),
]  # fmt: skip


@pytest.mark.parametrize(("schema", "check"), CHECKED, ids=[str(i) for i in range(len(CHECKED))])
def test_sample_fits_formats_patterns_and_bounds(schema: dict[str, Any], check: Any) -> None:
    value = sample(schema)
    assert_valid(value, schema, {})
    if "pattern" in schema:
        assert re.search(schema["pattern"], value)
    if check is not None:
        assert check(value)


RECURSIVE: dict[str, dict[str, Any]] = {
    "linked list, nullable next": {
        "type": "object",
        "required": ["value", "next"],
        "properties": {
            "value": {"type": "integer"},
            "next": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]},
        },
    },
    "tree, optional children": {
        "type": "object",
        "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}},
    },
    "3.1 type list with null": {
        "type": ["object", "null"],
        "required": ["parent"],
        "properties": {"parent": {"$ref": "#/$defs/Node"}},
    },
    "through allOf": {
        "allOf": [{"type": "object", "properties": {"more": {"$ref": "#/$defs/Node"}}}]
    },
}
UNSATISFIABLE: dict[str, dict[str, Any]] = {
    "required self, both sides": {
        "type": "object",
        "required": ["left", "right"],
        "properties": {"left": {"$ref": "#/$defs/Node"}, "right": {"$ref": "#/$defs/Node"}},
    },
    "array of itself, minItems": {
        "type": "array",
        "minItems": 2,
        "items": {"$ref": "#/$defs/Node"},
    },
}


# Loops no value could end: the resolver refuses them, naming the ref.
CYCLIC: dict[str, dict[str, Any]] = {
    "alias loop": {"$ref": "#/$defs/Node"},
    "allOf itself": {"allOf": [{"$ref": "#/$defs/Node"}]},
    "oneOf itself": {"oneOf": [{"$ref": "#/$defs/Node"}]},
}


@pytest.mark.parametrize("name", CYCLIC)
def test_a_ref_cycle_without_nesting_is_an_error_naming_it(name: str) -> None:
    with pytest.raises(SchemaRefError, match=r"#/\$defs/Node.*cyclic"):
        sample({"$ref": "#/$defs/Node"}, Resolver({"$defs": {"Node": CYCLIC[name]}}))


@pytest.mark.parametrize("name", [*RECURSIVE, *UNSATISFIABLE])
def test_recursive_schemas_end(name: str) -> None:
    node = RECURSIVE.get(name) or UNSATISFIABLE[name]
    document = {"$defs": {"Node": node}}
    started = time.monotonic()
    value = sample({"$ref": "#/$defs/Node"}, Resolver(document))
    assert time.monotonic() - started < 2
    assert len(json.dumps(value)) < 100_000
    if name in RECURSIVE:  # a finite value exists: the sample is one
        assert_valid(value, {"$ref": "#/$defs/Node"}, document)


def test_a_recursive_nullable_schema_ends_in_null_openapi_30_style() -> None:
    node = {
        "type": "object",
        "nullable": True,  # not JSON Schema: jsonschema cannot check this one
        "required": ["parent"],
        "properties": {"parent": {"$ref": "#/$defs/Node"}},
    }
    assert sample({"$ref": "#/$defs/Node"}, Resolver({"$defs": {"Node": node}})) == {"parent": None}


def test_a_recursive_sample_goes_a_few_levels_deep_then_stops() -> None:
    node = RECURSIVE["linked list, nullable next"]
    value = sample({"$ref": "#/$defs/Node"}, Resolver({"$defs": {"Node": node}}))
    depth = 0
    while value is not None:
        depth, value = depth + 1, value["next"]
    assert 1 <= depth <= MAX_REF_REPEATS


# The components of the frozen spec copy (tests/data/): the builder's answer for them is
# pinned here, whatever the live spec does later.
FROZEN_COMPONENTS: dict[str, Any] = {
    "schemas": json.loads(FROZEN_SPEC.read_text(encoding="utf-8"))["components"]["schemas"]
}
_KEY_STRINGS = (
    "api_key_id", "api_key_name", "app_id", "app_name",
    "created_by_user_email", "created_by_user_id", "display_value",
)  # fmt: skip
FROZEN_SAMPLES: dict[str, Any] = {
    "AddBalanceRequest": {"amount_cents": 1, "idempotency_key": "stringxx"},
    "AppItem": {"app_id": "string", "app_name": "string", "org_id": "string", "org_name": "string"},
    "BalanceResponse": {"credit_balance_cents": 0, "org_id": "string", "pending_debit_balance_cents": 0, "will_invoice": True},
    "CreateKeyResponse": {**dict.fromkeys(_KEY_STRINGS, "string"), "created_at": 0, "raw_api_key": "pa$$word"},
    "GetAppsForOrgResponseModel": {"apps": [{"app_id": "string", "app_name": "string", "org_id": "string", "org_name": "string"}]},
    "ValidationError": {"loc": ["string"], "msg": "string", "type": "string"},
}  # fmt: skip


@pytest.mark.parametrize("name", FROZEN_SAMPLES)
def test_sample_of_the_frozen_components(name: str) -> None:
    document = {"components": copy.deepcopy(FROZEN_COMPONENTS)}
    ref = {"$ref": f"#/components/schemas/{name}"}
    value = sample(ref, Resolver(document))
    assert value == FROZEN_SAMPLES[name]
    assert_valid(value, ref, document)
    assert document == {"components": FROZEN_COMPONENTS}


@pytest.mark.parametrize("name", SPEC.get("components", {}).get("schemas", {}))
def test_sample_of_every_live_component_validates(name: str) -> None:
    document = copy.deepcopy(SPEC)
    ref = {"$ref": f"#/components/schemas/{name}"}
    assert_valid(sample(ref, Resolver(document)), ref)
    assert document == SPEC


# --- 2. the answer for an operation, from the spec document ----------------------------------


@pytest.mark.parametrize("op", OPERATIONS.values(), ids=list(OPERATIONS))
def test_spec_answer_of_every_live_operation(op: OperationFacts) -> None:
    answer = spec_answer(op)
    status, schema = documented_success(op)
    assert answer.status == status
    if schema is None:
        assert answer.body == b""
        return
    assert ("content-type", "application/json") in answer.headers
    assert_valid(json.loads(answer.body), schema)


PROBE_PATH = "/service/v1/probe"
PROBE = OperationFacts(name="probe", method="GET", path=PROBE_PATH, tag="probe", requires_auth=True)
OBJECT = {
    "type": "object",
    "required": ["n"],
    "properties": {"n": {"type": "integer", "minimum": 4}},
}


def _responses(responses: dict[str, Any]) -> dict[str, Any]:
    """A spec with one extra operation, GET PROBE_PATH, with these responses."""
    document = copy.deepcopy(SPEC)
    document["paths"][PROBE_PATH] = {"get": {"operationId": "probe", "responses": responses}}
    document.setdefault("components", {})["responses"] = {
        "Probed": {"description": "ok", "content": {"application/json": {"schema": OBJECT}}}
    }
    document["components"]["examples"] = {"Seven": {"value": {"n": 7}}}
    return document


def _json(schema: Any, **media: Any) -> dict[str, Any]:
    return {"description": "ok", "content": {"application/json": {"schema": schema, **media}}}


ANSWERS: list[tuple[dict[str, Any], int, list[tuple[str, str]], bytes]] = [
    ({"201": _json(OBJECT), "200": _json({"type": "string"}), "404": _json({})}, 200, [("content-type", "application/json")], b'"string"'),
    ({"202": _json(OBJECT), "422": _json({})}, 202, [("content-type", "application/json")], b'{"n":4}'),
    ({"2XX": _json(OBJECT)}, 200, [("content-type", "application/json")], b'{"n":4}'),
    ({"200": {"$ref": "#/components/responses/Probed"}}, 200, [("content-type", "application/json")], b'{"n":4}'),
    ({"200": _json(OBJECT, example={"n": 5})}, 200, [("content-type", "application/json")], b'{"n":5}'),
    ({"200": _json(OBJECT, examples={"seven": {"$ref": "#/components/examples/Seven"}})}, 200, [("content-type", "application/json")], b'{"n":7}'),
    ({"200": _json({})}, 200, [("content-type", "application/json")], b"null"),
    ({"200": {"description": "ok", "content": {"application/json": {}}}}, 200, [("content-type", "application/json")], b"null"),
    ({"204": {"description": "gone"}}, 204, [], b""),
    ({"204": _json(OBJECT)}, 204, [], b""),
    ({"200": {"description": "no body"}}, 200, [], b""),
    ({"200": {"description": "ok", "content": {"text/plain": {"schema": {"type": "string"}}}}}, 200, [("content-type", "text/plain")], b"string"),
    ({"200": {"description": "ok", "content": {"text/csv": {"schema": {"type": "string"}}, "application/problem+json": {"schema": OBJECT}}}}, 200, [("content-type", "application/problem+json")], b'{"n":4}'),
    ({"default": _json(OBJECT)}, 200, [("content-type", "application/json")], b'{"n":4}'),
]  # fmt: skip


@pytest.mark.parametrize(
    ("responses", "status", "headers", "body"), ANSWERS, ids=[str(i) for i in range(len(ANSWERS))]
)
def test_spec_answer_takes_the_lowest_2xx_and_its_example_or_schema(
    monkeypatch: pytest.MonkeyPatch,
    responses: dict[str, Any],
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    monkeypatch.setattr(_sample, "_document", lambda: _responses(responses))
    answer = spec_answer(PROBE)
    assert (answer.status, answer.headers, answer.body) == (status, headers, body)


# --- 3. through the fake: an operation without an op_ method ---------------------------------


@pytest.mark.parametrize("op", OPERATIONS.values(), ids=list(OPERATIONS))
def test_an_unmodelled_operation_answers_from_the_spec(
    monkeypatch: pytest.MonkeyPatch, fake: FakeAccountAPI, way: str, op: OperationFacts
) -> None:
    unmodel(monkeypatch, op)
    before = state(fake)
    status, schema = documented_success(op)
    sent = 0
    with clients(fake, way) as (http, anonymous):
        if op.requires_auth:
            refused = anonymous.request(**valid_request(op))
            sent += 1
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"] == "Bearer"
        request = valid_request(op)
        answers = [http.request(**request) for _ in range(2)]
        sent += 2
    for response in answers:
        assert response.status_code == status, response.text
        if schema is None:
            assert response.content == b""
        else:
            assert response.headers["content-type"] == "application/json"
            assert_valid(response.json(), schema)
    assert answers[0].content == answers[1].content  # the same answer to the same request
    assert fake.requests == {op.name: sent}
    assert state(fake) == before  # and no state changes


PROBE_QUERY = FieldFacts(name="probe_limit", required=True, type="integer", minimum=1, maximum=50)


def _with_probe_query(op: OperationFacts) -> OperationFacts:
    return dataclasses.replace(op, query_params=(*op.query_params, PROBE_QUERY))


@pytest.mark.parametrize("op", OPERATIONS.values(), ids=list(OPERATIONS))
def test_an_unmodelled_operation_is_validated_first(
    monkeypatch: pytest.MonkeyPatch, fake: FakeAccountAPI, op: OperationFacts
) -> None:
    unmodel(monkeypatch, op)
    probed = _with_probe_query(op)
    patch_operation(monkeypatch, probed)
    request = valid_request(probed)
    query = request.pop("params")
    loc = ["query", PROBE_QUERY.name]
    with fake.http_client() as http, fake.http_client(authenticated=False) as anonymous:
        if op.requires_auth:  # 401 before 422, as FastAPI resolves security first
            assert anonymous.request(**request).status_code == 401
        missing = http.request(
            **request, params={k: v for k, v in query.items() if k != PROBE_QUERY.name}
        )
        wrong = http.request(**request, params={**query, PROBE_QUERY.name: "abc"})
        low = http.request(**request, params={**query, PROBE_QUERY.name: "0"})
        if op.body_model is not None:
            bad_body = http.request(**{**request, "json": None}, params=query, content=b"[]")
        good = http.request(**request, params=query)
    assert missing.status_code == 422
    assert missing.json()["detail"] == [
        {"type": "missing", "loc": loc, "msg": "Field required", "input": None}
    ]
    assert wrong.status_code == 422
    assert wrong.json()["detail"] == [
        {
            "type": "int_parsing",
            "loc": loc,
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "input": "abc",
        }
    ]
    assert low.status_code == 422
    assert low.json()["detail"] == [
        {
            "type": "greater_than_equal",
            "loc": loc,
            "msg": "Input should be greater than or equal to 1",
            "input": "0",
        }
    ]
    if op.body_model is not None:
        assert bad_body.status_code == 422
        assert [e["loc"] for e in bad_body.json()["detail"]] == [["body"]]
    status, schema = documented_success(op)
    assert good.status_code == status
    if schema is not None:
        assert_valid(good.json(), schema)


@pytest.mark.parametrize("op", OPERATIONS.values(), ids=list(OPERATIONS))
def test_faults_apply_to_an_unmodelled_operation(
    monkeypatch: pytest.MonkeyPatch, fake: FakeAccountAPI, http: httpx.Client, op: OperationFacts
) -> None:
    unmodel(monkeypatch, op)
    fake.fail_next(status=503, operation=op.name, retry_after=1)
    fake.drop_next(operation=op.name, after_commit=True)
    fake.delay_next(5.0, operation=op.name)
    failed = http.request(**valid_request(op))
    assert (failed.status_code, failed.headers["retry-after"]) == (503, "1")
    with pytest.raises(httpx.RemoteProtocolError):
        http.request(**valid_request(op))
    with pytest.raises(httpx.ReadTimeout):
        http.request(**valid_request(op), timeout=httpx.Timeout(5, read=0.5))
    assert http.request(**valid_request(op)).status_code == documented_success(op)[0]
    assert fake.requests == {op.name: 4}
    assert fake.injected == {"status": 1, "drop_after_commit": 1, "delay": 1}


# --- 4. a whole new operation, as a spec update would add it --------------------------------

NEW_PATH = "/service/v1/widgets/{widget_id}/probe"
NEW_RESPONSE = {
    "type": "object",
    "required": ["widget_id", "sizes", "checked_at", "owner"],
    "properties": {
        "widget_id": {"type": "string", "format": "uuid"},
        "sizes": {
            "type": "array",
            "minItems": 2,
            "items": {"type": "integer", "exclusiveMinimum": 0},
        },
        "checked_at": {"type": "string", "format": "date-time"},
        "owner": {"$ref": "#/components/schemas/ProbeOwner"},
        "note": {"anyOf": [{"type": "string", "maxLength": 4}, {"type": "null"}]},
    },
}
NEW_OWNER = {
    "type": "object",
    "required": ["email", "tier"],
    "properties": {
        "email": {"type": "string", "format": "email"},
        "tier": {"type": "string", "enum": ["gold", "silver"]},
        "manager": {"$ref": "#/components/schemas/ProbeOwner"},
    },
}
NEW_OP = OperationFacts(
    name="probe_widget",
    method="POST",
    path=NEW_PATH,
    tag="widgets",
    requires_auth=True,
    path_params=(FieldFacts(name="widget_id", required=True, type="string", format="uuid"),),
    query_params=(
        FieldFacts(name="depth", required=True, type="integer", minimum=1, maximum=3),
        FieldFacts(name="mode", required=False, type="string", enum=("fast", "slow")),
    ),
    body_model="ProbeRequest",
    body_fields=(FieldFacts(name="label", required=True, type="string", min_length=2),),
)


@pytest.fixture
def new_operation(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The spec with NEW_OP added, served by the fake (facts, routes and document patched)."""
    document = copy.deepcopy(SPEC)
    document["paths"][NEW_PATH] = {
        "post": {
            "operationId": NEW_OP.name,
            "responses": {
                "201": {"description": "probed", "content": {"application/json": {"schema": NEW_RESPONSE}}},
                "422": {"description": "invalid"},
            },
        }
    }  # fmt: skip
    document.setdefault("components", {}).setdefault("schemas", {})["ProbeOwner"] = NEW_OWNER
    monkeypatch.setattr(_sample, "_document", lambda: document)
    patch_operation(monkeypatch, NEW_OP)
    return document


def test_a_new_operation_in_the_spec_is_served(
    new_operation: dict[str, Any], fake: FakeAccountAPI, way: str
) -> None:
    widget = str(uuid.uuid4())
    path = NEW_PATH.format(widget_id=widget)
    with clients(fake, way) as (http, anonymous):
        refused = anonymous.post(path, params={"depth": "2"}, json={"label": "ok"})
        invalid = http.post("/service/v1/widgets/nope/probe", params={"depth": "9"}, json={})
        good = http.post(
            path, params={"depth": " 2 ", "mode": "slow", "x": "y"}, json={"label": "ok"}
        )
        again = http.post(path, params={"depth": "1"}, json={"label": "ok", "extra": 1})
    assert refused.status_code == 401
    assert invalid.status_code == 422
    assert [(e["loc"], e["type"]) for e in invalid.json()["detail"]] == [
        (["path", "widget_id"], "uuid_parsing"),
        (["query", "depth"], "less_than_equal"),
        (["body", "label"], "missing"),
    ]
    assert good.status_code == 201
    body = good.json()
    assert_valid(body, NEW_RESPONSE, new_operation)
    assert body["owner"]["tier"] == "gold" and "manager" in body["owner"]
    assert again.content == good.content
    assert fake.requests == {NEW_OP.name: 4}


# --- 5. query parameters ---------------------------------------------------------------------

# Any operation will do: its method is replaced by one that echoes the parameters.
OP = next(iter(OPERATIONS.values()))


def _echo(monkeypatch: pytest.MonkeyPatch, fake: FakeAccountAPI, *query_params: FieldFacts) -> Any:
    """A function sending a valid request to OP (with these query params) plus `params`."""
    probed = dataclasses.replace(OP, query_params=query_params)
    patch_operation(monkeypatch, probed)
    record_params(monkeypatch, probed)
    request = valid_request(probed)
    request.pop("params")

    def send(params: Any) -> httpx.Response:
        with fake.http_client() as http:
            return http.request(**request, params=params)

    return send


@pytest.mark.parametrize(
    ("facts", "text", "parsed"),
    [
        (FieldFacts(name="q", required=True, type="integer"), "5", 5),
        (FieldFacts(name="q", required=True, type="integer"), " -5 ", -5),
        (FieldFacts(name="q", required=True, type="integer"), "5.00", 5),
        (FieldFacts(name="q", required=True, type="integer"), "1_000", 1000),
        (FieldFacts(name="q", required=True, type="number"), "2.5", 2.5),
        (FieldFacts(name="q", required=True, type="number"), "1e3", 1000.0),
        (FieldFacts(name="q", required=True, type="boolean"), "yes", True),
        (FieldFacts(name="q", required=True, type="boolean"), "OFF", False),
        (FieldFacts(name="q", required=True, type="string"), "a b!", "a b!"),
        (FieldFacts(name="q", required=True, type="string"), "", ""),
        (FieldFacts(name="q", required=True), "untyped", "untyped"),
        (FieldFacts(name="q", required=True, type="string", format="uuid"), str(uuid.UUID(int=1)), str(uuid.UUID(int=1))),
        (FieldFacts(name="q", required=True, type="string", enum=("a", "b")), "b", "b"),
        (FieldFacts(name="q", required=True, type="integer", enum=(1, 2)), "2", 2),
        (FieldFacts(name="q", required=True, type="string", pattern="^v[0-9]+$"), "v12", "v12"),
        (FieldFacts(name="q", required=True, type="integer", exclusive_maximum=10), "9", 9),
    ],
)  # fmt: skip
def test_query_parameters_are_parsed_from_text(
    monkeypatch: pytest.MonkeyPatch, fake: FakeAccountAPI, facts: FieldFacts, text: str, parsed: Any
) -> None:
    send = _echo(monkeypatch, fake, facts)
    response = send({"q": text})
    assert response.status_code == 200, response.json()
    assert response.json()["q"] == repr(parsed)


@pytest.mark.parametrize(
    ("facts", "text", "kind", "msg"),
    [
        (FieldFacts(name="q", required=True, type="integer"), "abc", "int_parsing", "Input should be a valid integer, unable to parse string as an integer"),
        (FieldFacts(name="q", required=True, type="integer"), "", "int_parsing", "Input should be a valid integer, unable to parse string as an integer"),
        (FieldFacts(name="q", required=True, type="number"), "1,5", "float_parsing", "Input should be a valid number, unable to parse string as a number"),
        (FieldFacts(name="q", required=True, type="boolean"), "maybe", "bool_parsing", "Input should be a valid boolean, unable to interpret input"),
        (FieldFacts(name="q", required=True, type="integer", minimum=3), "2", "greater_than_equal", "Input should be greater than or equal to 3"),
        (FieldFacts(name="q", required=True, type="integer", exclusive_minimum=3), "3", "greater_than", "Input should be greater than 3"),
        (FieldFacts(name="q", required=True, type="number", maximum=1.5), "1.6", "less_than_equal", "Input should be less than or equal to 1.5"),
        (FieldFacts(name="q", required=True, type="integer", exclusive_maximum=10), "10", "less_than", "Input should be less than 10"),
        (FieldFacts(name="q", required=True, type="string", min_length=3), "ab", "string_too_short", "String should have at least 3 characters"),
        (FieldFacts(name="q", required=True, type="string", max_length=3), "abcd", "string_too_long", "String should have at most 3 characters"),
        (FieldFacts(name="q", required=True, type="string", pattern="^v[0-9]+$"), "x1", "string_pattern_mismatch", "String should match pattern '^v[0-9]+$'"),
        (FieldFacts(name="q", required=True, type="string", enum=("a", "b")), "c", "enum", "Input should be one of the allowed values"),
        (FieldFacts(name="q", required=True, type="string", format="uuid"), "not-a-uuid", "uuid_parsing", "Input should be a valid UUID"),
    ],
)  # fmt: skip
def test_query_parameters_are_validated(
    monkeypatch: pytest.MonkeyPatch,
    fake: FakeAccountAPI,
    facts: FieldFacts,
    text: str,
    kind: str,
    msg: str,
) -> None:
    send = _echo(monkeypatch, fake, facts)
    response = send({"q": text})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [{"type": kind, "loc": ["query", "q"], "msg": msg, "input": text}]
    }


def test_missing_unknown_repeated_and_array_query_parameters(
    monkeypatch: pytest.MonkeyPatch, fake: FakeAccountAPI
) -> None:
    send = _echo(
        monkeypatch,
        fake,
        FieldFacts(name="need", required=True, type="integer"),
        FieldFacts(name="also", required=True, type="string"),
        FieldFacts(name="maybe", required=False, type="boolean"),
        FieldFacts(name="tags", required=False, type="array"),
    )
    missing = send({})
    assert missing.status_code == 422
    assert missing.json()["detail"] == [
        {"type": "missing", "loc": ["query", "need"], "msg": "Field required", "input": None},
        {"type": "missing", "loc": ["query", "also"], "msg": "Field required", "input": None},
    ]
    ok = send(
        [
            ("need", "1"),
            ("need", "2"),
            ("also", "x"),
            ("unknown", "ignored"),
            ("tags", "a"),
            ("tags", "b+c"),
        ]
    )
    assert ok.status_code == 200
    assert {k: v for k, v in ok.json().items() if k in ("need", "also", "maybe", "tags")} == {
        "need": "2",  # the last of repeated values, as FastAPI takes it
        "also": "'x'",
        "tags": "['a', 'b+c']",
    }
    assert send("need=3&also=a+b%21").json()["also"] == repr("a b!")  # form-decoded, as Starlette


def test_path_parameters_are_parsed_like_query_parameters(
    monkeypatch: pytest.MonkeyPatch, fake: FakeAccountAPI
) -> None:
    op = OperationFacts(
        name="probe_page",
        method="GET",
        path="/service/v1/pages/{page}",
        tag="probe",
        requires_auth=True,
        path_params=(FieldFacts(name="page", required=True, type="integer", minimum=1),),
    )
    patch_operation(monkeypatch, op)
    record_params(monkeypatch, op)
    with fake.http_client() as http:
        assert http.get("/service/v1/pages/7").json() == {"page": "7"}
        zero = http.get("/service/v1/pages/0").json()["detail"]
        text = http.get("/service/v1/pages/seven").json()["detail"]
    assert [(e["loc"], e["type"], e["input"]) for e in zero + text] == [
        (["path", "page"], "greater_than_equal", "0"),
        (["path", "page"], "int_parsing", "seven"),
    ]


# Inputs whose parsing Pydantic (and so FastAPI) decides; the fake must agree.
PARITY = {
    "integer": (int, ["5", " 5 ", "+5", "-0", "05", "5.0", "5.5", "5.", "1e3", "1_000", "1__0", "_1", "0x10", "", "abc", "\u0665", "inf", "1_000.0", "\u00a05\u2003"]),
    "number": (float, ["1.5", " 2 ", "1e3", "1_0.5", "1__0", ".5", "5.", "", "abc", "0x1", "\u0665", "inf", "-Infinity", "\u00a05"]),
    "boolean": (bool, ["true", "True", "1", "0", "yes", "off", "t", "F", "Y", "n", "2", "", " on", "truthy", "OFF", "TRUE"]),
}  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "text"), [(kind, text) for kind, (_, texts) in PARITY.items() for text in texts]
)
def test_query_parsing_agrees_with_pydantic(
    monkeypatch: pytest.MonkeyPatch, fake: FakeAccountAPI, kind: str, text: str
) -> None:
    send = _echo(monkeypatch, fake, FieldFacts(name="q", required=True, type=kind))
    response = send({"q": text})
    error: Any = None
    try:
        expected: Any = pydantic.TypeAdapter(PARITY[kind][0]).validate_python(text)
    except pydantic.ValidationError as exc:
        expected, error = None, exc.errors()[0]
    if error is not None:
        assert response.status_code == 422
        got = response.json()["detail"][0]
        assert (got["type"], got["msg"]) == (error["type"], error["msg"])
    else:
        assert response.status_code == 200, response.json()
        assert response.json()["q"] == repr(expected)


@pytest.mark.parametrize("fmt", ["date-time", "date", "email", "uri", "uuid"])
def test_the_fake_refuses_a_string_not_in_its_format(fmt: str) -> None:
    """A body field or query parameter whose spec format is one FastAPI checks (its Pydantic
    type) is refused with a 422 error at its place; the engine's sample of it is accepted."""
    facts = FieldFacts(name="field", required=True, type="string", format=fmt)
    wrong = _spec._check(facts, "0", ["body", "field"])
    assert [(e["loc"], e["input"]) for e in wrong] == [(["body", "field"], "0")]
    assert _spec._check(facts, sample(field_schema(facts), spec_resolver()), ["body"]) == []


BODY_OPERATIONS = [op for op in OPERATIONS.values() if op.body_fields]


@pytest.mark.parametrize("op", BODY_OPERATIONS, ids=lambda op: op.name)
@pytest.mark.parametrize("closed", [True, False])
def test_a_closed_body_refuses_an_extra_field_and_an_open_one_ignores_it(
    op: OperationFacts, closed: bool
) -> None:
    """additionalProperties: false on a request body (`body_closed`): FastAPI's model forbids
    extra fields (422 extra_forbidden at the field); otherwise it ignores them."""
    body = {facts.name: valid_value(facts) for facts in op.body_fields}
    body["not-a-field"] = 1
    _, errors = _spec._parse_body(
        dataclasses.replace(op, body_closed=closed), json.dumps(body).encode()
    )
    expected = [(["body", "not-a-field"], "extra_forbidden")] if closed else []
    assert [(e["loc"], e["type"]) for e in errors] == expected


ANSWERED_WITH_OBJECTS = [
    op
    for op in OPERATIONS.values()
    if not op.response_array and any(f.type == "string" and f.required for f in op.response_fields)
]


@pytest.mark.parametrize("op", ANSWERED_WITH_OBJECTS, ids=lambda op: op.name)
def test_an_unmodelled_answer_echoes_what_the_request_named(op: OperationFacts) -> None:
    """For an operation the fake does not model, a top-level answer field named as a path
    parameter or body field takes the request's value when the answer still fits its schema."""
    facts = next(f for f in op.response_fields if f.type == "string" and f.required)
    given = valid_value(facts)  # a value its schema allows (a fresh uuid for a uuid)
    echoed = json.loads(_sample.spec_answer(op, {facts.name: given}).body)
    assert echoed[facts.name] == given
    kept = json.loads(_sample.spec_answer(op, {facts.name: 7}).body)  # not a string: not taken
    assert kept[facts.name] == json.loads(_sample.spec_answer(op).body)[facts.name] != 7


@pytest.mark.parametrize(
    ("fmt", "value"),
    [
        ("date-time", "2026-11-22T09:30:00Z"),
        ("date-time", "2026-11-22T09:30:00"),  # naive: FastAPI takes it
        ("date-time", datetime.datetime(2026, 11, 22, 9, 30)),
        ("date-time", datetime.datetime(2026, 11, 22, 9, 30, tzinfo=datetime.UTC)),
        ("date", "2026-11-22"),
        ("date", datetime.date(2026, 11, 22)),
        ("email", "someone@example.com"),
        ("uri", "https://example.com/path?q=1"),
    ],
)
def test_what_the_client_sends_for_a_format_the_fake_takes(fmt: str, value: object) -> None:
    facts = FieldFacts(name="field", required=True, type="string", format=fmt)
    sent = _request._json_value("field", value, facts)  # what goes on the wire
    assert _spec._check(facts, sent, ["body", "field"]) == []


@pytest.mark.parametrize(
    ("fmt", "text"), [("email", "nope"), ("uri", "not a uri"), ("date-time", "null")]
)
def test_the_client_refuses_before_sending_what_the_fake_refuses(fmt: str, text: str) -> None:
    facts = FieldFacts(name="field", required=True, type="string", format=fmt)
    assert _spec._check(facts, text, ["body", "field"]) != []
    with pytest.raises(pa.InvalidRequestError, match=r"^field: "):
        _request._json_value("field", text, facts)
