"""Render `api.md`: the API reference of both clients, from the same surface as the methods.

Every generated method (its signature, arguments with the spec's bounds, return model
and that model's fields, errors and retry rule) comes from `codegen.surface`, so the
reference cannot disagree with `operations.py`. The clients' options, `with_options`
and the token chain come from their docstrings (`codegen.client_doc`, the one
description), the errors from `_errors.py` (`codegen.errors_doc`: its tree and each
class's docstring); the rest of the hand-written part (`call`, closing, helpers) is
curated in the template, codegen/templates/api.md.jinja; tests/test_reference.py checks
it against the code (every public attribute and parameter of the clients is named there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jinja2
from openapi_python_client.strings import ClassName

from codegen import client_doc, errors_doc, facts, surface
from codegen.untrusted import escape

TEMPLATE = "api.md.jinja"
_NOT_IN_REPR = "Secret: left out of `repr()`. "


@dataclass(frozen=True)
class Row:
    """One line of an argument or field table."""

    name: str
    where: str
    type: str
    required: bool
    rules: str
    description: str


@dataclass(frozen=True)
class Model:
    """A model some method returns (directly or inside a list), with its fields."""

    name: str
    description: str
    fields: tuple[Row, ...]


def _description(schema: dict[str, Any]) -> str:
    text = schema.get("description") or schema.get("title") or ""
    return escape(text, "markdown") if isinstance(text, str) else ""


def signature(op: surface.Operation) -> str:
    """The method's Python signature, without `self`, as the generated method has it."""
    parts = [a.signature for a in op.positional]
    if op.keyword:
        parts += ["*", *(a.signature for a in op.keyword)]
    return f"{op.python_name}({', '.join(parts)}) -> {op.return_annotation}"


def arguments(op: surface.Operation) -> list[Row]:
    rows = []
    for a in op.arguments:
        note = ""
        if a.idempotency_key:
            note = "Omitted: a new key is made for the call and reused on every retry. "
        elif not a.required:
            note = "Omitted when None. "
        rows.append(
            Row(
                name=a.python_name,
                where=f"{a.location} `{a.name}`" if a.name != a.python_name else a.location,
                type=escape(a.annotation, "markdown"),
                required=a.required and not a.idempotency_key,
                rules=escape(", ".join(surface.bounds(a.schema)), "markdown"),
                description=note + _description(a.schema),
            )
        )
    return rows


def _models_by_class(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    schemas = document.get("components", {}).get("schemas", {})
    return {str(ClassName(name, "field_")): schema for name, schema in schemas.items()}


def models(found: list[surface.Operation], document: dict[str, Any]) -> list[Model]:
    """Every model a method returns, and the models their fields name, sorted by name."""
    known = _models_by_class(document)
    for op in found:  # inline success objects get a model named after the operation
        if op.response_class and op.response_class not in known and op.response_schema:
            known[op.response_class] = surface.deref(op.response_schema, document)
    pending = sorted({name for op in found for name in op.model_names})
    done: dict[str, Model] = {}
    while pending:
        name = pending.pop()
        if name in done or name not in known:
            continue
        schema = surface.object_schema(known[name], document)
        required = set(schema.get("required", []))
        rows = []
        for field, sub in schema.get("properties", {}).items():
            nested: set[str] = set()
            plain = surface.unwrap_optional(sub, document)
            rows.append(
                Row(
                    name=field,
                    where="",
                    type=escape(surface.value_annotation(sub, nested), "markdown"),
                    required=field in required,
                    rules=escape(", ".join(surface.bounds(plain)), "markdown"),
                    description=(_NOT_IN_REPR if facts.is_secret(plain) else "")
                    + _description(plain),
                )
            )
            pending += sorted(nested - done.keys())
        done[name] = Model(name, _description(schema), tuple(rows))
    return [done[name] for name in sorted(done)]


def render(
    env: jinja2.Environment, found: list[surface.Operation], document: dict[str, Any], sha: str
) -> str:
    """The text of `api.md` for a working copy (friendly operationIds) of the spec."""
    return env.get_template(TEMPLATE).render(
        operations=found,
        signatures={op.name: signature(op) for op in found},
        arguments={op.name: arguments(op) for op in found},
        raises={op.name: surface.raises(op) for op in found},
        retries={op.name: surface.retry_rule(op) for op in found},
        models=models(found, document),
        summaries={op.name: escape(op.summary, "markdown").rstrip(".") for op in found},
        descriptions={op.name: escape(op.description, "markdown") for op in found},
        spec_sha256=sha,
        client=client_doc.read(),
        errors=errors_doc.read(),
    )
