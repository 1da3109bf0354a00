"""Render `spec_facts.py`: the spec's facts that the hand-written layer needs.

The generator turns schemas into models but drops what the hand-written code
must enforce or decide on: bounds, formats, which body field is an
idempotency key, which fields are secret. This module reads them from the
(working copy of the) spec and writes them as plain data, so no spec number is
ever typed by hand in `overrides/`.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from parallel_account_drift.jsondoc import ref_name

from codegen.surface import CURATED, Operation, SurfaceError, object_schema
from codegen.untrusted import escape


def _py(value: object) -> str:
    """A spec value as a Python literal: the one escape (codegen.untrusted) for this file."""
    return escape(value, "python")


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
from typing import Any, Final


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
    # The argument's name in Python where the spec's name is not an identifier.
    python_name: str = ""
    # The whole schema, for an argument the fields above cannot describe (an array, an
    # object, a union, a non-string enum): checked by the schema engine, `$ref`s resolved
    # in the pinned spec. None for plain scalars.
    schema: Any = field(default=None, compare=False, repr=False)

    @property
    def identifier(self) -> str:
        return self.python_name or self.name


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
    # The body takes no fields but `body_fields` (its schema's additionalProperties: false).
    body_closed: bool = False
    idempotency_key_field: str | None = None
    # True when repeating the request cannot do the work twice: an idempotent
    # HTTP method, or a body carrying an idempotency key the server dedupes on.
    idempotent: bool = False
    response_model: str | None = None
    response_fields: tuple[FieldFacts, ...] = field(default=())
    # The generated endpoint module (relative to the package) that builds the request.
    module: str = ""
    summary: str = ""
    # The success body is a JSON array of `response_model`.
    response_array: bool = False
    # The success schema is empty: the method returns None.
    response_empty: bool = False
    # Curated (codegen/curated.toml): return this field of the response model.
    returns_field: str | None = None
    # Curated: a real charge; the client refuses to load if it has no idempotency key.
    moves_money: bool = False
    documented_statuses: tuple[int, ...] = ()
    # The success body's schema, cut to its shape ($refs name entries of SCHEMAS).
    response_schema: Any = field(default=None, compare=False, repr=False)

    def path_param(self, name: str) -> FieldFacts:
        return next(p for p in self.path_params if p.name == name)

    def body_field(self, name: str) -> FieldFacts:
        return next(f for f in self.body_fields if f.name == name)

    def query_param(self, name: str) -> FieldFacts:
        return next(p for p in self.query_params if p.name == name)

'''


_PROSE = frozenset({"title", "description", "example", "examples", "externalDocs", "deprecated"})


def _constraints(schema: Any) -> Any:
    """`schema` without its prose, at every depth (what a value must be, nothing else)."""
    if isinstance(schema, list):
        return [_constraints(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {
        key: value if key in ("enum", "const", "default") else _constraints(value)
        for key, value in schema.items()
        if key not in _PROSE
    }


def needs_schema(schema: dict[str, Any]) -> bool:
    """True for an argument the scalar facts cannot describe (the engine checks it whole)."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    enum = schema.get("enum")
    if isinstance(enum, list) and not all(isinstance(v, str) for v in enum):
        return True
    if any(key in schema for key in ("const", "multipleOf", "$ref", "allOf", "anyOf", "oneOf")):
        return True
    return kind in ("array", "object") and set(_constraints(schema)) != {"type"}


def _field(
    name: str,
    schema: dict[str, Any],
    required: bool,
    python_name: str | None = None,
    *,
    with_schema: bool = False,
) -> str:
    args = [f"name={_py(name)}", f"required={_py(required)}"]
    for spec_key, py_key in CONSTRAINT_KEYS.items():
        value = schema.get(spec_key)
        if spec_key == "type" and isinstance(value, list):  # 3.1 style ["string", "null"]
            value = next((t for t in value if t != "null"), None)
        if spec_key == "enum" and isinstance(value, list):
            args.append(f"{py_key}={_py(tuple(value))}")
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            args.append(f"{py_key}={_py(value)}")
    if is_secret(schema):
        args.append("secret=True")
    if python_name is not None and python_name != name:
        args.append(f"python_name={_py(python_name)}")
    if with_schema and needs_schema(schema):
        args.append(f"schema={_py(_constraints(schema))}")
    return "FieldFacts(" + ", ".join(args) + ")"


def _object_fields(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    return [_field(n, s, n in required) for n, s in schema.get("properties", {}).items()]


def is_secret(schema: dict[str, Any]) -> bool:
    """A value the spec marks `format: password` or `writeOnly`: never shown in a repr."""
    return schema.get("format") == "password" or schema.get("writeOnly") is True


def secret_fields(document: dict[str, Any]) -> dict[str, list[str]]:
    """Component schema name -> its properties marked `format: password` or `writeOnly`."""
    found: dict[str, list[str]] = {}
    for model, schema in document.get("components", {}).get("schemas", {}).items():
        for name, prop in schema.get("properties", {}).items():
            if is_secret(prop):
                found.setdefault(model, []).append(name)
    return found


# The schema keys the client's response check reads (overrides/.../_schema/, the engine).
# Bounds, lengths, patterns and additionalProperties are left out on purpose: an answer
# a little outside them is still readable, and a new field must not break old clients.
_SHAPE_KEYS = frozenset(
    {
        "type",
        "const",
        "format",
        "discriminator",
        "properties",
        "required",
        "items",
        "$ref",
        "anyOf",
        "oneOf",
        "allOf",
        "enum",
        "nullable",
    }
)


def shape(schema: Any) -> Any:
    """A schema cut down to what checking a value's shape needs (no prose, no bounds)."""
    if isinstance(schema, list):
        return [shape(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    kept: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in _SHAPE_KEYS:
            continue
        if key == "properties":
            kept[key] = {name: shape(sub) for name, sub in value.items()}
        elif key == "$ref":
            kept[key] = ref_name(value)  # components are all in SCHEMAS
        elif key == "discriminator":
            kept[key] = value  # {propertyName, mapping}: data, not a schema
        else:
            kept[key] = shape(value)
    return kept


def _tuple(items: list[str]) -> str:
    return f"({''.join(item + ', ' for item in items)})"


def render_charges(found: list[Operation]) -> str:
    """The text of `charges.py`: operations that move money but carry no idempotency key.

    Computed here, not at import: `import parallel_account` reads this one tuple and
    refuses to load when it is not empty, without loading the whole of spec_facts.
    """
    unkeyed = tuple(op.name for op in found if op.moves_money and op.idempotency_key_field is None)
    return (
        '"""Operations that move money (codegen/curated.toml) but whose request carries no\n'
        "idempotency key: a retry could charge twice. `parallel_account` refuses to load\n"
        'while this is not empty."""\n\n'
        f"UNKEYED_CHARGES: tuple[str, ...] = {_py(unkeyed)}\n"
    )


def render_results(found: list[Operation]) -> str:
    """The text of `results.py`: the models the typed methods return, which
    `parallel_account` exports; a model a spec update adds is exported with it."""
    models = sorted({name for op in found for name in op.model_names})
    return (
        '"""The models the typed methods return (their annotations name them), exported by\n'
        "`parallel_account`: a spec update that adds one exports it, one that drops one\n"
        'makes only that name fail."""\n\n'
        f"RESULT_MODELS: tuple[str, ...] = {_py(tuple(models))}\n"
    )


def default_scopes(path: Path = CURATED) -> tuple[str, ...]:
    """curated.toml's `[sign_in] default_scopes`: the OAuth scopes a sign-in asks for."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    scopes = data.get("sign_in", {}).get("default_scopes")
    if (
        not isinstance(scopes, list)
        or not scopes
        or not all(isinstance(s, str) and s and s.split() == [s] for s in scopes)
    ):
        raise SurfaceError(
            f"{path.name}: [sign_in] default_scopes must be a list of scope names "
            "(non-empty strings without spaces)"
        )
    return tuple(scopes)


def render_scopes(scopes: tuple[str, ...]) -> str:
    """The text of `scopes.py`: the scopes `parallel-account login` asks for by default."""
    return (
        '"""The OAuth scopes a sign-in asks for by default (codegen/curated.toml, [sign_in]):\n'
        'the spec names none, so they are curated beside the operations they cover."""\n\n'
        f"DEFAULT_SCOPES: tuple[str, ...] = {_py(scopes)}\n"
    )


def render(document: dict[str, Any], spec_sha256: str, found: list[Operation]) -> str:
    """The text of `spec_facts.py` for a working copy (friendly operationIds) of the spec."""
    entries = []
    for op in found:
        params = {
            where: [
                _field(a.name, a.schema, a.required, a.python_name, with_schema=True)
                for a in op.arguments
                if a.location == where
            ]
            for where in ("path", "query", "body")
        }
        response = object_schema(op.response_schema, document) if op.response_schema else {}
        body = object_schema(op.body_schema, document) if op.body_schema else {}
        args = [
            f"name={_py(op.name)}",
            f"method={_py(op.method)}",
            f"path={_py(op.path)}",
            f"tag={_py(op.tag.lower())}",
            f"requires_auth={_py(op.requires_auth)}",
            f"path_params={_tuple(params['path'])}",
            f"query_params={_tuple(params['query'])}",
            f"body_model={_py(op.body_class)}",
            f"body_fields={_tuple(params['body'])}",
            f"body_closed={_py(body.get('additionalProperties') is False)}",
            f"idempotency_key_field={_py(op.idempotency_key_field)}",
            f"idempotent={_py(op.idempotent)}",
            f"response_model={_py(op.response_class)}",
            f"response_fields={_tuple(_object_fields(response))}",
            f"module={_py(op.module)}",
            f"summary={_py(op.summary)}",
            f"response_array={_py(op.response_array)}",
            f"response_empty={_py(not response)}",
            f"returns_field={_py(op.returns_field)}",
            f"moves_money={_py(op.moves_money)}",
            f"documented_statuses={_py(op.documented_statuses)}",
            f"response_schema={_py(shape(op.response_schema))}",
        ]
        entries.append(f"    {_py(op.name)}: OperationFacts({', '.join(args)}),\n")
    secrets = secret_fields(document)
    return (
        _PRELUDE
        + f"SPEC_SHA256: Final = {_py(spec_sha256)}\n"
        + f"SERVER_URL: Final = {_py(document.get('servers', [{}])[0].get('url'))}\n"
        + "OPERATIONS: Final[dict[str, OperationFacts]] = {\n"
        + "".join(entries)
        + "}\n"
        + "# Component schemas, cut to their shape: what success bodies are checked against.\n"
        + "SCHEMAS: Final[dict[str, Any]] = {\n"
        + "".join(
            f"    {_py(name)}: {_py(shape(schema))},\n"
            for name, schema in document.get("components", {}).get("schemas", {}).items()
        )
        + "}\n"
        + "# Model name -> fields that carry a secret (`format: password` or `writeOnly`).\n"
        + "SECRET_FIELDS: Final[dict[str, tuple[str, ...]]] = {\n"
        + "".join(f"    {_py(m)}: {_py(tuple(names))},\n" for m, names in sorted(secrets.items()))
        + "}\n"
    )
