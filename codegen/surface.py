"""The typed operation surface: what each client method looks like, read from the spec.

For every operation of the (working copy of the) spec this computes the Python
side of it: argument names and annotations, the generated module and model
classes it goes through, the return annotation, the docstring. `codegen.facts`
writes the runtime part into `spec_facts.py`; `codegen/templates/operations.py.jinja`
renders the methods of both clients from the same objects. Names follow the
generator's own rules (`openapi_python_client.strings`), so the surface and the
generated modules always agree.

The few deliberate differences from what the spec alone gives live in
`codegen/curated.toml`, and nowhere else.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openapi_python_client.strings import ClassName, PythonIdentifier
from parallel_account_drift.errors import SpecError
from parallel_account_drift.jsondoc import ref_name, resolve_pointer

from codegen.naming import operations
from codegen.untrusted import escape

CURATED = Path(__file__).resolve().parent / "curated.toml"
# The generator's default prefix for names that are not valid identifiers.
_PREFIX = "field_"
# Body fields with this name make an operation safe to repeat: the server
# deduplicates on it (Stripe-backed, see AddBalanceRequest in the spec).
IDEMPOTENCY_KEY_FIELD = "idempotency_key"
# Methods that HTTP defines as idempotent (RFC 9110 section 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})


# Keyword-only options every method takes after the spec's arguments (see the template).
PER_CALL_OPTIONS = ("extra_headers", "timeout")
# How each method's docstring describes them (the same text for every operation).
PER_CALL_OPTION_DOCS = (
    "    extra_headers: headers for this call only, over the client's default_headers "
    "(Authorization, Content-Type and the idempotency key cannot be set this way).",
    "    timeout: seconds for this call's attempts, an httpx.Timeout, or None for none; "
    "omitted: the client's.",
)


class SurfaceError(SpecError):
    """The spec (or curated.toml) cannot be turned into a method surface."""


@dataclass(frozen=True)
class Argument:
    """One argument of a client method."""

    name: str  # as the spec spells it (the key in the request)
    python_name: str
    location: str  # "path", "query" or "body"
    required: bool
    annotation: str
    schema: dict[str, Any] = field(repr=False, hash=False, compare=False)
    idempotency_key: bool = False

    @property
    def keyword_only(self) -> bool:
        return self.idempotency_key or not self.required or self.location == "query"

    @property
    def signature(self) -> str:
        if self.idempotency_key or not self.required:
            return f"{self.python_name}: {self.annotation} | None = None"
        return f"{self.python_name}: {self.annotation}"


@dataclass(frozen=True)
class Operation:
    """One operation as both clients show it."""

    name: str
    method: str
    path: str
    tag: str
    module: str  # the generated endpoint module, relative to the package
    summary: str
    description: str
    requires_auth: bool
    arguments: tuple[Argument, ...]
    body_schema: dict[str, Any] = field(repr=False, hash=False, compare=False)
    body_class: str | None
    response_schema: dict[str, Any] = field(repr=False, hash=False, compare=False)
    response_class: str | None
    response_array: bool  # the success body is a JSON array of response_class
    returns_field: str | None  # curated: return this field of the response model
    return_annotation: str
    model_names: tuple[str, ...]  # the models the annotations mention
    documented_statuses: tuple[int, ...]
    idempotency_key_field: str | None
    idempotent: bool
    moves_money: bool

    @property
    def python_name(self) -> str:
        return _identifier(self.name)

    @property
    def positional(self) -> tuple[Argument, ...]:
        return tuple(a for a in self.arguments if not a.keyword_only)

    @property
    def keyword(self) -> tuple[Argument, ...]:
        return tuple(a for a in self.arguments if a.keyword_only)


def deref(node: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in node:
        seen += 1
        if seen > 64:
            raise SurfaceError(f"$ref chain too long at {node['$ref']!r}")
        node = resolve_pointer(document, node["$ref"])
    return node


def object_schema(node: dict[str, Any], document: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """`node` dereferenced, with its `allOf` branches folded in (properties and required
    are unions), as the generator makes one model of them."""
    schema = deref(node, document)
    branches = schema.get("allOf")
    if not isinstance(branches, list):
        return schema
    if depth > 16:
        raise SurfaceError("allOf nested more than 16 deep")
    merged = {key: value for key, value in schema.items() if key != "allOf"}
    for branch in branches:
        part = object_schema(branch, document, depth + 1) if isinstance(branch, dict) else {}
        merged["properties"] = {**part.get("properties", {}), **merged.get("properties", {})}
        merged["required"] = [
            *merged.get("required", []),
            *(n for n in part.get("required", []) if n not in merged.get("required", [])),
        ]
        for key, value in part.items():
            merged.setdefault(key, value)
    return merged


def unwrap_optional(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [X, {type: null}]` (FastAPI's `X | None`) as X itself, its bounds included.

    The facts and annotations read constraints from the top level of a schema; without
    this, an optional query parameter with bounds would lose its type and its bounds.
    """
    schema = deref(schema, document)
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if not isinstance(branches, list):
            continue
        real = [deref(b, document) for b in branches if isinstance(b, dict)]
        real = [b for b in real if b.get("type") != "null"]
        if len(real) == 1 and len(real) < len(branches):
            rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            return {**real[0], **rest, "nullable": True}
    return schema


def _ref_class(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return str(ClassName(ref_name(ref), _PREFIX)) if isinstance(ref, str) else None


def _schema_type(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):  # 3.1 style ["string", "null"]
        kind = next((t for t in kind if t != "null"), None)
    if kind is None:
        for branch in schema.get("anyOf", schema.get("oneOf", [])):
            if isinstance(branch, dict) and branch.get("type") not in (None, "null"):
                return _schema_type(branch)
    return kind if isinstance(kind, str) else None


_SCALARS = {"integer": "int", "number": "float", "boolean": "bool", "string": "str"}
_FORMATS = {
    "uuid": "str | UUID",
    "date-time": "datetime.datetime | str",
    "date": "datetime.date | str",
}


def argument_annotation(schema: dict[str, Any], document: dict[str, Any]) -> str:
    """What a caller may pass for a value of this schema."""
    schema = deref(schema, document)
    kind = _schema_type(schema)
    if kind == "string" and schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "array":
        return "list[Any]"
    return "dict[str, Any]" if kind == "object" or "properties" in schema else "Any"


def value_annotation(schema: dict[str, Any], models: set[str]) -> str:
    """The Python type the generated models use for a value of this (response) schema."""
    name = _ref_class(schema)
    if name is not None:
        models.add(name)
        return name
    kind = _schema_type(schema)
    if kind == "array":
        return f"list[{value_annotation(schema.get('items', {}), models)}]"
    if kind == "string" and schema.get("format") == "date-time":
        return "datetime.datetime"
    if kind == "string" and schema.get("format") == "date":
        return "datetime.date"
    return _SCALARS.get(kind or "", "Any")


def load_curated(path: Path = CURATED) -> dict[str, dict[str, Any]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    curated: dict[str, dict[str, Any]] = data.get("operations", {})
    allowed = {"returns_field", "moves_money"}
    for name, entry in curated.items():
        unknown = set(entry) - allowed
        if unknown:
            raise SurfaceError(
                f"{path.name}: [operations.{name}] has unknown keys {sorted(unknown)}"
            )
    return curated


def _json_content(container: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    content = deref(container, document).get("content", {})
    schema: dict[str, Any] = content.get("application/json", {}).get("schema", {})
    return schema


def _success(operation: dict[str, Any]) -> tuple[int | None, dict[str, Any]]:
    codes = sorted(c for c in operation.get("responses", {}) if re.fullmatch(r"2\d\d", c))
    return (int(codes[0]), operation["responses"][codes[0]]) if codes else (None, {})


def _identifier(name: str) -> str:
    return str(PythonIdentifier(name, _PREFIX))


def _arguments(
    name: str,
    operation: dict[str, Any],
    body: dict[str, Any],
    document: dict[str, Any],
    key_field: str | None,
) -> tuple[Argument, ...]:
    found: list[Argument] = []
    for where in ("path", "query"):
        for param in operation.get("parameters", []):
            param = deref(param, document)
            if param.get("in") != where:
                continue
            schema = unwrap_optional(param.get("schema", {}), document)
            found.append(
                Argument(
                    param["name"],
                    _identifier(param["name"]),
                    where,
                    bool(param.get("required")) or where == "path",
                    argument_annotation(schema, document),
                    schema,
                )
            )
    required = set(body.get("required", []))
    for prop, schema in body.get("properties", {}).items():
        found.append(
            Argument(
                prop,
                _identifier(prop),
                "body",
                prop in required,
                argument_annotation(unwrap_optional(schema, document), document),
                unwrap_optional(schema, document),
                idempotency_key=prop == key_field,
            )
        )
    seen: dict[str, Argument] = {}
    for argument in found:
        if argument.python_name in PER_CALL_OPTIONS:
            raise SurfaceError(
                f"{name}: {argument.location} {argument.name!r} would be the argument "
                f"{argument.python_name!r}, which every method takes as a per-call option; "
                "add a naming rule in codegen/naming.py"
            )
        clash = seen.get(argument.python_name)
        if clash is not None or argument.python_name == "self":
            raise SurfaceError(
                f"{name}: {argument.location} {argument.name!r} and "
                f"{clash.location if clash else 'the method'} "
                f"{clash.name if clash else 'itself'!r} would both be the argument "
                f"{argument.python_name!r}"
            )
        seen[argument.python_name] = argument
    return tuple(found)


def _returns(
    name: str,
    schema: dict[str, Any],
    document: dict[str, Any],
    returns_field: str | None,
    models: set[str],
) -> tuple[str | None, bool, str]:
    """(response model class, whether the body is an array of it, the return annotation)."""
    response_class = _ref_class(schema)
    resolved = deref(schema, document) if schema else {}
    array = False
    if response_class is None and _schema_type(resolved) == "array":
        response_class = _ref_class(resolved.get("items", {}))
        array = response_class is not None
    if returns_field is not None:
        prop = resolved.get("properties", {}).get(returns_field)
        if response_class is None or array or prop is None:
            raise SurfaceError(
                f"curated.toml: {name} returns_field {returns_field!r}, but its success body "
                "is not a model with that field; update codegen/curated.toml"
            )
        return response_class, False, value_annotation(prop, models)
    if not resolved:
        return None, False, "None"
    if response_class is not None:
        models.add(response_class)
        return response_class, array, f"list[{response_class}]" if array else response_class
    return None, False, value_annotation(resolved, models)


# Names the clients already use for themselves: an operation named so would be shadowed.
RESERVED_METHOD_NAMES = frozenset(
    {
        "call",
        "close",
        "aclose",
        "with_options",
        "base_url",
        "timeout",
        "max_retries",
        "with_raw_response",
        "mro",
    }
)


def stale_curated(document: dict[str, Any]) -> list[str]:
    """Curated entries naming an operation the (working copy of the) spec no longer has."""
    names = {operation["operationId"] for _, _, operation in operations(document)}
    return sorted(set(load_curated()) - names)


def surface(document: dict[str, Any]) -> list[Operation]:
    """Every operation of a working copy (friendly operationIds) of the spec, in order."""
    curated = load_curated()
    global_security = document.get("security", [])
    found: list[Operation] = []
    for path, method, operation in operations(document):
        name = operation["operationId"]
        if _identifier(name) in RESERVED_METHOD_NAMES or _identifier(name).startswith("_"):
            raise SurfaceError(
                f"{method.upper()} {path}: its method would be named {_identifier(name)!r}, "
                "which the clients use for themselves; add a naming rule in codegen/naming.py"
            )
        entry = curated.get(name, {})
        body_class: str | None = None
        body: dict[str, Any] = {}
        if "requestBody" in operation:
            raw_body = _json_content(operation["requestBody"], document)
            body_class = _ref_class(raw_body) or str(ClassName(f"{name}_body", _PREFIX))
            body = deref(raw_body, document)
        key_field = (
            IDEMPOTENCY_KEY_FIELD if IDEMPOTENCY_KEY_FIELD in body.get("required", []) else None
        )
        status, success = _success(operation)
        response_schema = _json_content(success, document) if success else {}
        models: set[str] = set()
        response_class, array, annotation = _returns(
            name, response_schema, document, entry.get("returns_field"), models
        )
        if response_class is None and response_schema and "$ref" not in response_schema:
            inline = deref(response_schema, document)
            if _schema_type(inline) == "object" and inline.get("properties"):
                # The generator makes a model of an inline object: `<op>_response_<status>`.
                response_class = str(ClassName(f"{name}_response_{status}", _PREFIX))
                models.add(response_class)
                annotation = response_class
        found.append(
            Operation(
                name=name,
                method=method.upper(),
                path=path,
                tag=(operation.get("tags") or ["default"])[0],
                module="",  # filled in by the generator's layout, see `with_modules`
                summary=str(operation.get("summary") or name.replace("_", " ").capitalize()),
                description=str(operation.get("description") or ""),
                requires_auth=bool(operation.get("security", global_security)),
                arguments=_arguments(name, operation, body, document, key_field),
                body_schema=body,
                body_class=body_class,
                response_schema=response_schema,
                response_class=response_class,
                response_array=array,
                returns_field=entry.get("returns_field"),
                return_annotation=annotation,
                model_names=tuple(sorted(models)),
                documented_statuses=tuple(
                    sorted(int(c) for c in operation.get("responses", {}) if c.isdigit())
                ),
                idempotency_key_field=key_field,
                idempotent=method.upper() in IDEMPOTENT_METHODS or key_field is not None,
                moves_money=bool(entry.get("moves_money", False)),
            )
        )
    return found


def with_modules(found: list[Operation], package: Path) -> list[Operation]:
    """Each operation with the dotted name of the endpoint module the generator wrote for it."""
    modules = {p.stem: p for p in (package / "api").glob("*/*.py") if p.stem != "__init__"}
    placed = []
    for op in found:
        module = modules.get(_identifier(op.name))
        if module is None:
            raise SurfaceError(f"{op.name}: the generator wrote no endpoint module for it")
        placed.append(dataclasses.replace(op, module=f"api.{module.parent.name}.{module.stem}"))
    return placed


def wrap(text: str, indent: str, width: int = 84) -> str:
    """Paragraphs re-flowed to `width`; continuation lines indented by `indent`."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.rstrip()) if p.strip()]
    return "\n\n".join(
        textwrap.fill(
            " ".join(p.split()),
            width,
            initial_indent=p[: len(p) - len(p.lstrip())].replace("\n", ""),
            subsequent_indent=indent,
        )
        for p in paragraphs
    )


def bounds(schema: dict[str, Any]) -> list[str]:
    """The spec's rules for a value, in words: `> 0`, `8 to 128 characters`, `format uuid`."""
    rules = []
    for key, words in (
        ("minimum", ">="),
        ("exclusiveMinimum", ">"),
        ("maximum", "<="),
        ("exclusiveMaximum", "<"),
    ):
        if isinstance(schema.get(key), int | float) and not isinstance(schema.get(key), bool):
            rules.append(f"{words} {schema[key]}")
    if "minLength" in schema or "maxLength" in schema:
        rules.append(f"{schema.get('minLength', 0)} to {schema.get('maxLength', 'any')} characters")
    if isinstance(schema.get("enum"), list):
        rules.append("one of " + ", ".join(repr(v) for v in schema["enum"]))
    if isinstance(schema.get("format"), str):
        rules.append(f"format {schema['format']}")
    return rules


def _argument_doc(argument: Argument) -> str:
    schema = argument.schema
    rules = bounds(schema)
    text = f"{argument.location} {'parameter' if argument.location != 'body' else 'field'}"
    text += f" `{argument.name}`" if argument.name != argument.python_name else ""
    if rules:
        text += "; " + ", ".join(rules)
    if argument.idempotency_key:
        text += ". Omitted: a new key is made for this call and reused on every retry"
    elif not argument.required:
        text += ". Omitted when None"
    description = schema.get("description") or schema.get("title")
    if isinstance(description, str) and description and argument.name not in ("",):
        text += f". {description.strip()}"
    return text


def raises(op: Operation) -> list[str]:
    errors = ["InvalidRequestError: an argument breaks the spec's rules; nothing was sent."]
    if op.requires_auth:
        errors.append("AuthenticationError: 401, the token is missing, invalid or expired.")
    if any(a.location == "path" for a in op.arguments):
        errors.append("NotFoundError: 404, no such resource.")
    if op.idempotency_key_field:
        errors.append("ConflictError: 409, the key was already used with other arguments.")
    if 422 in op.documented_statuses:
        errors.append("UnprocessableEntityError: 422, the server refused the arguments.")
    # What every call may raise, once per method, in one line (the class docstring explains).
    errors.append("Also: RateLimitError, InternalServerError, APIStatusError, APIConnectionError.")
    return errors


def retry_rule(op: Operation) -> str:
    if op.idempotency_key_field:
        return (
            f"Retried with the same `{op.idempotency_key_field}` after rate limits, server "
            "errors and lost answers, up to `max_retries`: the server does the work once per "
            "key. Every error carries `.idempotency_key`."
        )
    if op.idempotent:
        return (
            f"Retried after rate limits, server errors and lost answers, up to `max_retries` "
            f"({op.method} is idempotent)."
        )
    return (
        "Not retried once the request may have reached the server (repeating it could do the "
        "work twice); retried only when it surely never left."
    )


def docstring(op: Operation, indent: str = "        ") -> str:
    """The docstring of a client method: the spec's summary and description, then the rules.

    Built as plain text and wrapped first, then escaped once (codegen.untrusted), so no
    line break can fall inside an escape.
    """
    parts = [op.summary.strip().rstrip(".") + "."]
    if op.description.strip():
        parts.append(wrap(op.description, ""))
    parts.append(f"`{op.method} {op.path}`.")
    lines = [f"    {a.python_name}: {_argument_doc(a)}".rstrip(".") + "." for a in op.arguments]
    lines.extend(PER_CALL_OPTION_DOCS)
    parts.append("Args:\n" + "\n".join(wrap(line, "        ") for line in lines))
    returns = op.return_annotation
    if op.returns_field:
        returns += f" (the `{op.returns_field}` field of {op.response_class})"
    parts.append(f"Returns:\n    {returns}")
    parts.append("Raises:\n" + "\n".join(wrap(f"    {e}", "        ") for e in raises(op)))
    parts.append("Retries:\n    " + wrap(retry_rule(op), "    "))
    text = escape("\n\n".join(parts), "docstring")
    return "\n".join(indent + line if line else "" for line in text.split("\n")).lstrip()


def one_line_doc(op: Operation, tail: str) -> str:
    """A one-line docstring: the spec's summary, then `tail` (escaped; see codegen.untrusted)."""
    return escape(" ".join(op.summary.split()).rstrip(".") + ". " + tail, "docstring")
