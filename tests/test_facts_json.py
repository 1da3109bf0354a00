"""facts.json: the spec facts as JSON for other languages, checked against its shipped schema
and against spec_facts.py (both are written by `make generate` from the same spec)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from parallel_account_api.spec_facts import OPERATIONS, SPEC_SHA256, FieldFacts
from tests.support import ROOT

FACTS = ROOT / "generated" / "parallel_account_api" / "facts.json"
SCHEMA = ROOT / "overrides" / "parallel_account" / "schemas" / "facts.schema.json"

_JSON_NAMES = {
    "type": "type",
    "format": "format",
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusive_minimum": "exclusiveMinimum",
    "exclusive_maximum": "exclusiveMaximum",
    "min_length": "minLength",
    "max_length": "maxLength",
    "pattern": "pattern",
    "enum": "enum",
}


def _facts() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(FACTS.read_text("utf-8"))
    return document


def _expected_field(field: FieldFacts) -> dict[str, Any]:
    schema = {
        json_name: list(value) if isinstance(value, tuple) else value
        for name, json_name in _JSON_NAMES.items()
        if (value := getattr(field, name)) is not None
    }
    return {
        "name": field.name,
        "required": field.required,
        "secret": field.secret,
        "schema": schema,
    }


def test_facts_json_matches_its_schema() -> None:
    schema = json.loads(SCHEMA.read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(_facts(), schema)


def test_the_schema_refuses_a_document_of_another_shape() -> None:
    broken = _facts()
    first = next(iter(broken["operations"].values()))
    first["retry"] = "sometimes"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, json.loads(SCHEMA.read_text("utf-8")))


def test_facts_json_says_what_spec_facts_says() -> None:
    facts = _facts()
    assert facts["spec_sha256"] == SPEC_SHA256
    assert list(facts["operations"]) == list(OPERATIONS)
    for name, op in OPERATIONS.items():
        entry = facts["operations"][name]
        assert (entry["method"], entry["path"], entry["summary"]) == (
            op.method,
            op.path,
            op.summary,
        )
        assert entry["path_params"] == [_expected_field(f) for f in op.path_params]
        assert entry["query_params"] == [_expected_field(f) for f in op.query_params]
        body = [_expected_field(f) for f in op.body_fields] if op.body_model else None
        assert (entry["body"] or {}).get("fields") == body
        assert entry["idempotency_key_field"] == op.idempotency_key_field
        assert entry["retry"] == ("safe" if op.idempotent else "only_if_never_sent")
        assert entry["moves_money"] == op.moves_money
        assert entry["documented_statuses"] == list(op.documented_statuses)
        assert entry["response"]["fields"] == [_expected_field(f) for f in op.response_fields]
        assert entry["response"]["returns_field"] == op.returns_field


def test_every_retry_value_is_explained() -> None:
    facts = _facts()
    assert {op["retry"] for op in facts["operations"].values()} <= facts["retry_rules"].keys()
