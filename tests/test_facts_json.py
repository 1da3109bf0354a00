"""facts.json: the spec facts as JSON for other languages, checked against its shipped schema
and against spec_facts.py (both are written by `make generate` from the same spec)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
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


def _retried_by_the_facts(policy: dict[str, Any], status: int, headers: dict[str, str]) -> bool:
    """The retry decision a client in another language makes from facts.json alone."""
    should = headers.get(policy["should_retry_header"], "").strip().lower()
    if should in ("true", "false"):
        return should == "true"
    if status in policy["statuses_only_with_delay_header"]:
        return any(name in headers for name in policy["delay_headers"])
    return status in policy["statuses"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"retry-after": "1"}, {"retry-after-ms": "5"}, {"x-should-retry": "true"}],
    ids=["plain", "retry-after", "retry-after-ms", "should-retry"],
)
def test_the_retry_policy_in_facts_is_the_clients(headers: dict[str, str]) -> None:
    from parallel_account._retry import RetryPolicy

    policy = _facts()["retry_policy"]
    client = RetryPolicy()
    for status in range(400, 600):
        answer = httpx.Response(status, headers=headers)
        assert client.retryable_answer(answer) == _retried_by_the_facts(policy, status, headers), (
            status
        )
    for denied in ("false", "FALSE"):
        retried = {"x-should-retry": denied, **({"retry-after": "1"} if headers else {})}
        assert not client.retryable_answer(httpx.Response(503, headers=retried))
        assert not _retried_by_the_facts(policy, 503, {"x-should-retry": "false"})
    backoff = policy["backoff"]
    assert (client.max_retries, client.max_retry_after) == (
        policy["max_retries"],
        policy["max_delay_header_seconds"],
    )
    assert (client.initial_delay, client.max_delay, client.jitter_floor) == (
        backoff["initial_seconds"],
        backoff["max_seconds"],
        backoff["jitter_floor"],
    )
    no_jitter = RetryPolicy(random=lambda: 1.0)
    assert no_jitter.backoff(2) == backoff["initial_seconds"] * backoff["factor"]


def test_the_retry_prose_names_exactly_the_statuses_retried() -> None:
    facts = _facts()
    prose = facts["retry_rules"]["safe"]
    policy = facts["retry_policy"]
    assert "5xx" not in prose
    for status in (*policy["statuses"], *policy["statuses_only_with_delay_header"]):
        assert str(status) in prose
    for header in (policy["should_retry_header"], *policy["delay_headers"]):
        assert header in prose
    never = {501, 505} - set(policy["statuses"])  # 5xx the client does not retry
    assert never and not any(str(status) in prose for status in never)


def test_the_retry_table_is_read_without_importing_the_package(tmp_path: Path) -> None:
    from codegen.facts_json import RETRY_SOURCE, retry_table

    assert retry_table()["RETRY_STATUSES"] == tuple(_facts()["retry_policy"]["statuses"])
    text = RETRY_SOURCE.read_text("utf-8")
    broken = tmp_path / "_retry.py"
    broken.write_text(text.replace("MAX_DELAY = ", "MAX_DELAY_ = "), "utf-8")
    with pytest.raises(ValueError, match="lacks MAX_DELAY"):
        retry_table(broken)
    computed = text.replace("MAX_RETRIES = 2", "MAX_RETRIES = int('2')")
    assert computed != text
    broken.write_text(computed, "utf-8")
    with pytest.raises(ValueError, match="MAX_RETRIES is not a plain literal"):
        retry_table(broken)
