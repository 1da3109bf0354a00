"""Render `spec_facts.py`: the spec's facts that the hand-written layer needs.

The generator turns schemas into models but drops what the hand-written code
must enforce or decide on: bounds, formats, which body field is an
idempotency key, which fields are secret. This module reads them from the
(working copy of the) spec and writes them as plain data, so no spec number is
ever typed by hand in `overrides/`.
"""

from __future__ import annotations

import re
from typing import Any

from codegen.naming import operations

# Body fields with this name make an operation safe to repeat: the server
# deduplicates on it (Stripe-backed, see AddBalanceRequest in the spec).
IDEMPOTENCY_KEY_FIELD = "idempotency_key"
# Methods that HTTP defines as idempotent (RFC 9110 section 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
CONSTRAINT_KEYS = {
    "type": "type",
    "format": "format",
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusiveMinimum": "exclusive_minimum",
    "exclusiveMaximum": "exclusive_maximum",
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "enum": "enum",
}

_PRELUDE = '''"""Facts of the Account API spec for the hand-written layer (bounds, paths, safety).

Read by `parallel_account` for validation and retry decisions; regenerated with
the rest of this package so a changed bound or a new operation flows through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final


@dataclass(frozen=True)
class FieldFacts:
    """Constraints of one path parameter or body property, as the spec states them."""

    name: str
    required: bool
    type: str | None = None
    format: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    enum: tuple[object, ...] | None = None
    secret: bool = False


@dataclass(frozen=True)
class OperationFacts:
    """One operation: where it lives, what it takes, whether repeating it is safe."""

    name: str
    method: str
    path: str
    tag: str
    requires_auth: bool
    path_params: tuple[FieldFacts, ...] = ()
    query_params: tuple[FieldFacts, ...] = ()
    body_model: str | None = None
    body_fields: tuple[FieldFacts, ...] = ()
    idempotency_key_field: str | None = None
    # True when repeating the request cannot do the work twice: an idempotent
    # HTTP method, or a body carrying an idempotency key the server dedupes on.
    idempotent: bool = False
    response_model: str | None = None
    response_fields: tuple[FieldFacts, ...] = field(default=())

    def path_param(self, name: str) -> FieldFacts:
        return next(p for p in self.path_params if p.name == name)

    def body_field(self, name: str) -> FieldFacts:
        return next(f for f in self.body_fields if f.name == name)

    def query_param(self, name: str) -> FieldFacts:
        return next(p for p in self.query_params if p.name == name)

'''


def _deref(node: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _field(name: str, schema: dict[str, Any], required: bool) -> str:
    args = [f"name={name!r}", f"required={required!r}"]
    for spec_key, py_key in CONSTRAINT_KEYS.items():
        value = schema.get(spec_key)
        if spec_key == "type" and isinstance(value, list):  # 3.1 style ["string", "null"]
            value = next((t for t in value if t != "null"), None)
        if spec_key == "enum" and isinstance(value, list):
            args.append(f"{py_key}={tuple(value)!r}")
        elif isinstance(value, str | int | float):
            args.append(f"{py_key}={value!r}")
    if schema.get("format") == "password" or schema.get("writeOnly") is True:
        args.append("secret=True")
    return "FieldFacts(" + ", ".join(args) + ")"


def _object_fields(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    return [_field(n, s, n in required) for n, s in schema.get("properties", {}).items()]


def _json_schema(
    container: dict[str, Any], document: dict[str, Any]
) -> tuple[str | None, dict[str, Any]]:
    """(component name or None, resolved schema) of a requestBody/response's JSON content."""
    content = _deref(container, document).get("content", {}).get("application/json", {})
    schema = content.get("schema", {})
    name = schema["$ref"].rsplit("/", 1)[-1] if "$ref" in schema else None
    return name, _deref(schema, document)


def _success_response(operation: dict[str, Any]) -> dict[str, Any]:
    codes = sorted(code for code in operation.get("responses", {}) if re.fullmatch(r"2\d\d", code))
    return operation["responses"][codes[0]] if codes else {}


def secret_fields(document: dict[str, Any]) -> dict[str, list[str]]:
    """Component schema name -> its properties marked `format: password` or `writeOnly`."""
    found: dict[str, list[str]] = {}
    for model, schema in document.get("components", {}).get("schemas", {}).items():
        for name, prop in schema.get("properties", {}).items():
            if prop.get("format") == "password" or prop.get("writeOnly") is True:
                found.setdefault(model, []).append(name)
    return found


def render(document: dict[str, Any], spec_sha256: str) -> str:
    """The text of `spec_facts.py` for a working copy (friendly operationIds) of the spec."""
    global_security = document.get("security", [])
    entries = []
    for path, method, operation in operations(document):
        params = [_deref(p, document) for p in operation.get("parameters", [])]
        path_params, query_params = (
            [
                _field(p["name"], _deref(p.get("schema", {}), document), bool(p.get("required")))
                for p in params
                if p.get("in") == where
            ]
            for where in ("path", "query")
        )
        body_model: str | None = None
        body_schema: dict[str, Any] = {}
        if "requestBody" in operation:
            body_model, body_schema = _json_schema(operation["requestBody"], document)
        body_fields = _object_fields(body_schema)
        key_field = (
            IDEMPOTENCY_KEY_FIELD
            if IDEMPOTENCY_KEY_FIELD in body_schema.get("required", [])
            else None
        )
        response_model, response_schema = _json_schema(_success_response(operation), document)
        security = operation.get("security", global_security)
        idempotent = method.upper() in IDEMPOTENT_METHODS or key_field is not None
        args = [
            f"name={operation['operationId']!r}",
            f"method={method.upper()!r}",
            f"path={path!r}",
            f"tag={(operation.get('tags') or ['default'])[0].lower()!r}",
            f"requires_auth={bool(security)!r}",
            f"path_params=({''.join(p + ', ' for p in path_params)})",
            f"query_params=({''.join(p + ', ' for p in query_params)})",
            f"body_model={body_model!r}",
            f"body_fields=({''.join(f + ', ' for f in body_fields)})",
            f"idempotency_key_field={key_field!r}",
            f"idempotent={idempotent!r}",
            f"response_model={response_model!r}",
            f"response_fields=({''.join(f + ', ' for f in _object_fields(response_schema))})",
        ]
        entries.append(f"    {operation['operationId']!r}: OperationFacts({', '.join(args)}),\n")
    secrets = secret_fields(document)
    return (
        _PRELUDE
        + f"SPEC_SHA256: Final = {spec_sha256!r}\n"
        + f"SERVER_URL: Final = {document.get('servers', [{}])[0].get('url')!r}\n"
        + "OPERATIONS: Final[dict[str, OperationFacts]] = {\n"
        + "".join(entries)
        + "}\n"
        + "# Model name -> fields that carry a secret (`format: password` or `writeOnly`).\n"
        + "SECRET_FIELDS: Final[dict[str, tuple[str, ...]]] = {\n"
        + "".join(f"    {m!r}: {tuple(names)!r},\n" for m, names in sorted(secrets.items()))
        + "}\n"
    )
