"""Render `facts.json`: the spec facts the Python client uses, for clients in any language.

`spec_facts.py` (codegen.facts) is the same knowledge as Python data; this is it
as one JSON document, shipped in the wheel beside it and served by the fake at
`GET /__fake/facts`, so a Go or TypeScript client validates and retries as the
Python one does. Bounds keep the spec's own JSON Schema keywords
(`exclusiveMinimum`, `maxLength`, ...), so they can be handed to any JSON
Schema validator. Its shape is described by
`overrides/parallel_account/schemas/facts.schema.json`.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from codegen.facts import CONSTRAINT_KEYS, is_secret
from codegen.surface import Argument, Operation, object_schema

#: The client's retry table: plain literals in its `_retry` module, read here without
#: importing the package (which imports what this module generates).
RETRY_SOURCE = Path(__file__).resolve().parents[1] / "overrides" / "parallel_account" / "_retry.py"
RETRY_TABLE_NAMES = (
    "RETRY_STATUSES",
    "RETRY_AFTER_ONLY_STATUSES",
    "SHOULD_RETRY_HEADER",
    "DELAY_HEADERS",
    "MAX_RETRIES",
    "INITIAL_DELAY",
    "BACKOFF_FACTOR",
    "MAX_DELAY",
    "MAX_RETRY_AFTER",
    "JITTER_FLOOR",
)


def retry_table(source: Path = RETRY_SOURCE) -> dict[str, Any]:
    """The retry table's literals from `source`, by name; ValueError naming what is missing."""
    found: dict[str, Any] = {}
    for node in ast.parse(source.read_text("utf-8")).body:
        if not isinstance(node, ast.Assign):
            continue
        target = node.targets[0]
        if isinstance(target, ast.Name) and target.id in RETRY_TABLE_NAMES:
            try:
                found[target.id] = ast.literal_eval(node.value)
            except ValueError:
                raise ValueError(f"{source}: {target.id} is not a plain literal") from None
    missing = [name for name in RETRY_TABLE_NAMES if name not in found]
    if missing:
        raise ValueError(f"{source}: the retry table lacks {', '.join(missing)}")
    return found


def retry_policy(table: dict[str, Any]) -> dict[str, Any]:
    """facts.json's `retry_policy`: the table, under names other languages can read."""
    return {
        "statuses": list(table["RETRY_STATUSES"]),
        "statuses_only_with_delay_header": list(table["RETRY_AFTER_ONLY_STATUSES"]),
        "should_retry_header": table["SHOULD_RETRY_HEADER"],
        "delay_headers": list(table["DELAY_HEADERS"]),
        "max_delay_header_seconds": table["MAX_RETRY_AFTER"],
        "max_retries": table["MAX_RETRIES"],
        "backoff": {
            "initial_seconds": table["INITIAL_DELAY"],
            "factor": table["BACKOFF_FACTOR"],
            "max_seconds": table["MAX_DELAY"],
            "jitter_floor": table["JITTER_FLOOR"],
        },
    }


def retry_rules(table: dict[str, Any]) -> dict[str, str]:
    """What each value of an operation's `retry` means, in words made from the table."""
    statuses = ", ".join(str(status) for status in table["RETRY_STATUSES"])
    conditional = ", ".join(str(status) for status in table["RETRY_AFTER_ONLY_STATUSES"])
    in_millis, in_seconds = table["DELAY_HEADERS"]
    header = table["SHOULD_RETRY_HEADER"]
    return {
        "safe": (
            "repeating the request cannot do the work twice (an idempotent HTTP method, or a "
            "body carrying an idempotency key the server dedupes on): retry after exactly the "
            f"statuses {statuses} (no other status; {conditional} only when the answer has "
            f"{in_millis} or {in_seconds}; the header `{header}: true` or `false` decides "
            f"instead when present), a timeout or a lost connection, with the same idempotency "
            f"key; wait as {in_millis} (milliseconds), else {in_seconds} (seconds or an HTTP "
            f"date) says, at most {table['MAX_RETRY_AFTER']:g} s, else back off (see "
            "retry_policy)"
        ),
        "only_if_never_sent": (
            "a retry could do the work twice: retry only when the request surely never left "
            "(the connection could not be made); after a lost answer report that the outcome "
            "is unknown"
        ),
    }


def _schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The constraints of one parameter or field, under their JSON Schema names."""
    kept: dict[str, Any] = {}
    for key in CONSTRAINT_KEYS:
        value = schema.get(key)
        if key == "type" and isinstance(value, list):  # 3.1 style ["string", "null"]
            value = next((t for t in value if t != "null"), None)
        if value is not None:
            kept[key] = value
    return kept


def _field(name: str, schema: dict[str, Any], required: bool) -> dict[str, Any]:
    return {
        "name": name,
        "required": required,
        "secret": is_secret(schema),
        "schema": _schema(schema),
    }


def _arguments(op: Operation, where: str) -> list[dict[str, Any]]:
    found: list[Argument] = [a for a in op.arguments if a.location == where]
    return [_field(a.name, a.schema, a.required) for a in found]


def _operation(op: Operation, document: dict[str, Any]) -> dict[str, Any]:
    response = object_schema(op.response_schema, document) if op.response_schema else {}
    required = set(response.get("required", []))
    successes = [status for status in op.documented_statuses if 200 <= status < 300]
    return {
        "method": op.method,
        "path": op.path,
        "summary": op.summary,
        "tag": op.tag.lower(),
        "requires_auth": op.requires_auth,
        "path_params": _arguments(op, "path"),
        "query_params": _arguments(op, "query"),
        "body": None
        if op.body_class is None
        else {"model": op.body_class, "fields": _arguments(op, "body")},
        "idempotency_key_field": op.idempotency_key_field,
        "retry": "safe" if op.idempotent else "only_if_never_sent",
        "moves_money": op.moves_money,
        "documented_statuses": list(op.documented_statuses),
        "success_status": min(successes, default=200),
        "response": {
            "model": op.response_class,
            "array": op.response_array,
            "empty": not response,
            "returns_field": op.returns_field,
            "fields": [
                _field(name, schema, name in required)
                for name, schema in response.get("properties", {}).items()
            ],
        },
    }


def render(document: dict[str, Any], spec_sha256: str, found: list[Operation]) -> str:
    """The text of `facts.json` for a working copy (friendly operationIds) of the spec."""
    table = retry_table()
    facts = {
        "generated_by": "make generate (codegen/facts_json.py); do not edit",
        "schema": "parallel_account/schemas/facts.schema.json",
        "spec_sha256": spec_sha256,
        "server_url": document.get("servers", [{}])[0].get("url"),
        "retry_rules": retry_rules(table),
        "retry_policy": retry_policy(table),
        "operations": {op.name: _operation(op, document) for op in found},
    }
    return json.dumps(facts, indent=2, ensure_ascii=False) + "\n"
