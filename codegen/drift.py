"""Semantic drift between two OpenAPI 3.x documents, classified for a generated client.

`python -m codegen.drift OLD NEW [--format text|json|markdown]` compares two JSON
documents by meaning: key order, whitespace and number spelling (`10000` vs
`10000.0`) are not changes, list order is ignored where the specification gives it
no meaning (parameters, `required`, `enum`, tags, servers), and local `$ref`s are
followed (cycles are cut). Each difference becomes a `Change` with a stable rule id
(see `RULES`), a level, a location and a one-line message.

"Breaking" is judged for this project: a caller of the regenerated client, or an
already released client talking to the new server, may fail. That is why some
changes the server side thinks harmless are breaking here (a response enum value
added, an operationId or first tag changed, a component schema renamed).

Schemas are judged in the direction they are used: one reached from a parameter
or request body is a request schema, one reached from a response is a response
schema, and a component used both ways is judged both ways, once per operation.

Exit status: 0 no changes, 1 changes but none breaking, 2 at least one breaking
change, 3 input unreadable or not OpenAPI 3.x (one line on stderr) or bad usage.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, Literal, NoReturn
from urllib.parse import unquote

Json = Any  # a decoded JSON value
Level = Literal["breaking", "non-breaking", "info"]
Format = Literal["text", "json", "markdown"]
Direction = Literal["request", "response"]

LEVELS: Final[tuple[Level, ...]] = ("breaking", "non-breaking", "info")
FORMATS: Final[tuple[Format, ...]] = ("text", "json", "markdown")

EXIT_NO_CHANGES: Final = 0
EXIT_CHANGES: Final = 1
EXIT_BREAKING: Final = 2
EXIT_ERROR: Final = 3

_B: Final = "breaking"
_N: Final = "non-breaking"
_I: Final = "info"

# Rule id -> (level, what it means). Ids are part of the report format: never reuse
# or rename one; add a new id instead. A rule always has the same level.
RULES: Final[Mapping[str, tuple[Level, str]]] = {
    # Paths and operations.
    "path-removed": (_B, "a path and every operation under it were removed"),
    "operation-removed": (_B, "an operation (path + method) was removed"),
    "path-added": (_N, "a new path"),
    "operation-added": (_N, "a new operation on an existing path"),
    "operation-id-changed": (_B, "operationId changed: the generated function is renamed"),
    "operation-tag-changed": (_B, "first tag changed: the generated module moves"),
    "operation-secondary-tags-changed": (_I, "tags other than the first changed"),
    "deprecated-changed": (_I, "an operation, parameter or schema was (un)deprecated"),
    # Request parameters.
    "request-parameter-added-required": (_B, "a new required parameter"),
    "request-parameter-added-optional": (_N, "a new optional parameter"),
    "request-parameter-removed": (_B, "a parameter was removed: its generated argument goes"),
    "request-parameter-became-required": (_B, "an optional parameter became required"),
    "request-parameter-became-optional": (_N, "a required parameter became optional"),
    "request-parameter-style-changed": (_B, "a parameter's style or explode changed"),
    # Request bodies.
    "request-body-added": (_N, "a new optional request body"),
    "request-body-removed": (_B, "the request body was removed"),
    "request-body-became-required": (_B, "the request body became (or was added as) required"),
    "request-body-became-optional": (_N, "the request body became optional"),
    "request-media-type-added": (_N, "a request body accepts a new media type"),
    "request-media-type-removed": (_B, "a request body no longer accepts a media type"),
    # Request schemas (bodies and parameters).
    "request-property-added-required": (_B, "a new required request property"),
    "request-property-added-optional": (_N, "a new optional request property"),
    "request-property-removed": (_B, "a request property was removed from the model"),
    "request-property-became-required": (_B, "an optional request property became required"),
    "request-property-became-optional": (_N, "a required request property became optional"),
    "request-type-changed": (_B, "a request type changed (not a widening)"),
    "request-type-widened": (_N, "a request type accepts more (e.g. integer -> number)"),
    "request-format-changed": (_B, "a request format changed, was added or removed"),
    "request-became-nullable": (_N, "a request value now accepts null"),
    "request-became-not-nullable": (_B, "a request value no longer accepts null"),
    "request-enum-value-added": (_N, "a request enum accepts a new value"),
    "request-enum-value-removed": (_B, "a request enum value was removed"),
    "request-enum-constraint-added": (_B, "a free request value became an enum"),
    "request-enum-constraint-removed": (_N, "a request enum became a free value"),
    "request-variant-added": (_N, "an anyOf/oneOf request alternative was added"),
    "request-variant-removed": (_B, "an anyOf/oneOf request alternative was removed"),
    "request-bounds-tightened": (_B, "a request min/max/length/items/multipleOf tightened"),
    "request-bounds-loosened": (_N, "a request min/max/length/items/multipleOf loosened"),
    "request-pattern-changed": (_B, "a request pattern was added or changed"),
    "request-pattern-removed": (_N, "a request pattern was removed"),
    "default-changed": (_N, "a default value changed (silently changes behaviour)"),
    # Responses.
    "response-success-status-removed": (_B, "a 2xx response was removed"),
    "response-status-removed": (_N, "a non-2xx response was removed"),
    "response-status-added": (_N, "a new response status"),
    "response-media-type-removed": (_B, "a 2xx response no longer offers a media type"),
    "error-response-media-type-removed": (_N, "a non-2xx response lost a media type"),
    "response-media-type-added": (_N, "a response offers a new media type"),
    # Response schemas.
    "response-required-property-removed": (_B, "a required response property was removed"),
    "response-optional-property-removed": (_B, "an optional response property was removed"),
    "response-property-added": (_N, "a new response property"),
    "response-property-became-optional": (_B, "a required response property became optional"),
    "response-property-became-required": (_N, "an optional response property became required"),
    "response-type-changed": (_B, "a response type changed (not a narrowing)"),
    "response-type-narrowed": (_N, "a response type promises less (e.g. number -> integer)"),
    "response-format-changed": (_B, "a response format changed, was added or removed"),
    "response-became-nullable": (_B, "a response value may now be null"),
    "response-became-not-nullable": (_N, "a response value is no longer null"),
    "response-enum-value-added": (_B, "a response enum value was added: generated enums raise"),
    "response-enum-value-removed": (_N, "a response enum value was removed"),
    "response-enum-constraint-added": (_N, "a free response value became an enum"),
    "response-enum-constraint-removed": (_B, "a response enum became a free value"),
    "response-variant-added": (_B, "an anyOf/oneOf response alternative was added"),
    "response-variant-removed": (_N, "an anyOf/oneOf response alternative was removed"),
    "response-bounds-changed": (_N, "a response min/max/length bound changed"),
    "response-pattern-changed": (_N, "a response pattern changed"),
    # Security and servers.
    "security-changed": (_B, "a security requirement was added or changed"),
    "security-loosened": (_N, "a security requirement was relaxed or removed"),
    "security-scheme-changed": (_B, "a security scheme's type, scheme or location changed"),
    "security-scheme-removed": (_B, "a security scheme was removed"),
    "security-scheme-added": (_N, "a security scheme was added"),
    "server-url-changed": (_B, "a server URL was changed or removed"),
    "server-added": (_N, "a server URL was added"),
    # Component schemas (one generated model class each).
    "schema-removed": (_B, "a component schema was removed: its model class goes"),
    "schema-renamed": (_B, "a component schema was renamed: its model class is renamed"),
    "schema-added": (_N, "a new component schema"),
    # Documentation only.
    "summary-changed": (_I, "a summary changed"),
    "description-changed": (_I, "a description changed"),
    "title-changed": (_I, "a title changed (info.title or a schema title)"),
    "example-changed": (_I, "an example or examples changed"),
    "external-docs-changed": (_I, "externalDocs changed"),
    "bearer-format-changed": (_I, "a bearer token format hint changed"),
    "extension-changed": (_I, "an x- extension changed"),
    "version-changed": (_I, "info.version changed"),
    "openapi-version-changed": (_I, "the openapi version field changed"),
    "info-changed": (_I, "contact, license or terms of service changed"),
    "tag-definition-changed": (_I, "a top-level tag definition was added or removed"),
    # Anything no rule above explains: never silently dropped.
    "unclassified-change": (_N, "a change no rule classifies; review it by hand"),
}

_METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_DOC_RULES: Final[Mapping[str, str]] = {
    "summary": "summary-changed",
    "description": "description-changed",
    "title": "title-changed",
    "example": "example-changed",
    "examples": "example-changed",
    "externalDocs": "external-docs-changed",
    "bearerFormat": "bearer-format-changed",
}
# Keys whose value maps user-chosen names to objects: a name there is never a keyword.
_MAP_KEYS: Final = frozenset(
    {
        "paths", "webhooks", "properties", "patternProperties", "$defs", "definitions",
        "dependentSchemas", "schemas", "responses", "parameters", "requestBodies", "headers",
        "securitySchemes", "links", "callbacks", "pathItems", "content", "encoding",
        "variables", "mapping", "scopes",
    }
)  # fmt: skip
# Keys whose values are data, not documents: never searched for documentation keys.
_OPAQUE_KEYS: Final = frozenset({"enum", "const", "default", "required", "security"})
_SCHEMA_KEYS: Final = frozenset(
    {
        "$ref", "type", "format", "nullable", "enum", "const", "anyOf", "oneOf", "allOf",
        "properties", "required", "items", "additionalProperties", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems",
        "maxItems", "minProperties", "maxProperties", "multipleOf", "pattern", "default",
        "deprecated",
    }
)  # fmt: skip
_PARAMETER_KEYS: Final = frozenset(
    {"name", "in", "required", "schema", "content", "deprecated", "style", "explode"}
)
_OPERATION_KEYS: Final = frozenset(
    {"tags", "operationId", "parameters", "requestBody", "responses", "deprecated"}
    | {"security", "servers"}
)
_PATH_ITEM_KEYS: Final = frozenset({*_METHODS, "parameters", "servers"})
_ROOT_KEYS: Final = frozenset(
    {"openapi", "info", "paths", "components", "servers", "security", "tags"}
)
_DEFAULT_STYLE: Final[Mapping[str, str]] = {"path": "simple", "header": "simple"}
_MAX_DEPTH: Final = 64  # far deeper than any real schema; a backstop for odd cycles


@dataclass(frozen=True)
class Change:
    """One classified difference between two documents."""

    id: str
    level: Level
    location: str
    message: str


class SpecError(ValueError):
    """The input cannot be read or compared; the message is one line for a human."""


# ---------------------------------------------------------------- public API


def compare(old: dict[str, Json], new: dict[str, Json]) -> list[Change]:
    """Every meaningful change from `old` to `new`, breaking first, in a stable order.

    Raises SpecError for a dangling or non-local `$ref`.
    """
    for name, doc in (("old", old), ("new", new)):
        if not isinstance(doc, dict):
            raise SpecError(f"{name} document is not a JSON object")
    report = _Report()
    _Comparer(_Doc(old), _Doc(new), report).run()
    _walk_docs(old, new, "#", report, as_map=False)
    return report.changes()


def sort_changes(changes: Iterable[Change]) -> list[Change]:
    """Breaking first, then non-breaking, then info; by location, id, message within."""
    return sorted(changes, key=lambda c: (LEVELS.index(c.level), c.location, c.id, c.message))


def summarize(changes: Iterable[Change]) -> dict[Level, int]:
    counts: dict[Level, int] = dict.fromkeys(LEVELS, 0)
    for change in changes:
        counts[change.level] += 1
    return counts


def exit_code(changes: Sequence[Change]) -> int:
    if any(c.level == "breaking" for c in changes):
        return EXIT_BREAKING
    return EXIT_CHANGES if changes else EXIT_NO_CHANGES


def report_dict(changes: Iterable[Change]) -> dict[str, Json]:
    """The JSON report: {"breaking": bool, "summary": {level: n}, "changes": [...]}."""
    ordered = sort_changes(changes)
    counts = summarize(ordered)
    return {
        "breaking": counts["breaking"] > 0,
        "summary": dict(counts),
        "changes": [
            {"id": c.id, "level": c.level, "location": c.location, "message": c.message}
            for c in ordered
        ],
    }


def render(changes: Iterable[Change], fmt: Format) -> str:
    """The report as text (one line per change), JSON or Markdown (a pull request body)."""
    ordered = sort_changes(changes)
    if fmt == "json":
        return json.dumps(report_dict(ordered), indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return _render_markdown(ordered)
    if fmt == "text":
        if not ordered:
            return "No changes.\n"
        return "".join(f"{c.level.upper()} {c.id} {c.location}: {c.message}\n" for c in ordered)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def load(path: str | Path) -> dict[str, Json]:
    """Read an OpenAPI 3.x JSON document, or raise SpecError with a one-line reason."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(f"cannot read {path}: {reason}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3."):
        raise SpecError(f"{path}: not an OpenAPI 3.x document (no 'openapi: 3.x' field)")
    return document


# ---------------------------------------------------------------- rendering

_LEVEL_TITLES: Final[Mapping[Level, str]] = {
    "breaking": "Breaking changes",
    "non-breaking": "Non-breaking changes",
    "info": "Documentation changes",
}


def _render_markdown(changes: list[Change]) -> str:
    counts = summarize(changes)
    lines = ["## OpenAPI drift report", ""]
    if not changes:
        return "\n".join([*lines, "No changes.", ""])
    lines.append(
        f"**{counts['breaking']} breaking**, {counts['non-breaking']} non-breaking, "
        f"{counts['info']} info."
    )
    for level in LEVELS:
        rows = [c for c in changes if c.level == level]
        if not rows:
            continue
        lines += ["", f"### {_LEVEL_TITLES[level]} ({len(rows)})", ""]
        lines += ["| Rule | Location | Change |", "| --- | --- | --- |"]
        lines += [f"| `{c.id}` | `{_md_cell(c.location)}` | {_md_cell(c.message)} |" for c in rows]
    return "\n".join([*lines, ""])


def _md_cell(text: str) -> str:
    # A pipe would end the cell even inside a code span; a backtick would end the span.
    return " ".join(text.split()).replace("|", "\\|").replace("`", "'")


# ---------------------------------------------------------------- JSON helpers


def _canon(value: Json) -> Json:
    """JSON with whole floats as ints (10000.0 == 10000), so equal meaning compares equal."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _canon(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canon(v) for v in value]
    return value


def _key(value: Json) -> str:
    # Text form, so values hash and `true` never equals `1` (Python's True == 1).
    return json.dumps(_canon(value), sort_keys=True, ensure_ascii=False)


def _same(a: Json, b: Json) -> bool:
    return _key(a) == _key(b)


def _show(value: Json, limit: int = 60) -> str:
    text = " ".join(json.dumps(_canon(value), ensure_ascii=False).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show_key(mapping: Mapping[str, Json], key: str) -> str:
    return _show(mapping[key]) if key in mapping else "(none)"


def _changed(key: str, old: Mapping[str, Json], new: Mapping[str, Json]) -> str:
    return f"{key} changed from {_show_key(old, key)} to {_show_key(new, key)}"


def _show_number(value: float | None) -> str:
    return "none" if value is None else _show(value)


def _obj(value: Json) -> dict[str, Json]:
    return value if isinstance(value, dict) else {}


def _names(value: Json) -> set[str]:
    return {v for v in value if isinstance(v, str)} if isinstance(value, list) else set()


def _number(value: Json) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


# ---------------------------------------------------------------- documents


class _Doc:
    """One document and its local `$ref` resolution."""

    def __init__(self, root: dict[str, Json]) -> None:
        self.root = root

    def pointer(self, ref: str) -> Json:
        node: Json = self.root
        for raw in ref[2:].split("/") if ref != "#" else []:
            token = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                raise SpecError(f"unresolvable $ref {ref!r}")
        return node

    def deref(self, node: Json) -> tuple[Json, str | None]:
        """Follow a chain of `$ref`s; sibling keywords override the target (OpenAPI 3.1)."""
        name: str | None = None
        followed: set[str] = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#"):
                raise SpecError(f"unsupported $ref {ref!r}: only local '#/...' references")
            if ref in followed:
                raise SpecError(f"$ref {ref!r} refers to itself")
            followed.add(ref)
            target = self.pointer(ref)
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **siblings} if siblings and isinstance(target, dict) else target
            name = ref
        return node, name

    def obj(self, node: Json) -> dict[str, Json]:
        return _obj(self.deref(node)[0])


class _Report:
    def __init__(self) -> None:
        # An ordered set: the same finding reached twice is reported once.
        self._changes: dict[Change, None] = {}

    def add(self, rule: str, location: str, message: str) -> None:
        self._changes[Change(rule, RULES[rule][0], location, message)] = None

    def changes(self) -> list[Change]:
        return sort_changes(self._changes)


def _unclassified(
    report: _Report,
    old: Mapping[str, Json],
    new: Mapping[str, Json],
    known: frozenset[str],
    where: str,
    per_key: bool = False,
) -> None:
    """Report keys no rule looks at, so that nothing changes without a line in the report."""
    for key in sorted(old.keys() | new.keys()):
        if key in known or key in _DOC_RULES or key.startswith("x-"):
            continue
        if key not in old or key not in new or not _same(old[key], new[key]):
            at = f"{where}/{_escape(key)}" if per_key else where
            report.add("unclassified-change", at, _changed(key, old, new))


# ---------------------------------------------------------------- schema views


@dataclass(frozen=True)
class _View:
    """A schema with `$ref`s resolved and nullability taken out of its spelling.

    `nullable: true` (3.0), `type: [x, "null"]`, `anyOf/oneOf: [x, {type: null}]` and a
    null enum member (3.1) all mean the same, so they all become `nullable=True`.
    """

    raw: dict[str, Json]
    ref: str | None
    nullable: bool
    types: frozenset[str] | None  # None: any type
    enum: frozenset[str] | None  # canonical JSON text of each value; None: no enum
    variants: tuple[Json, ...] | None  # anyOf/oneOf with two or more non-null branches


def _view(doc: _Doc, node: Json, depth: int = 0) -> _View:
    resolved, ref = doc.deref(node)
    schema, merged_refs = _merge_all_of(doc, _as_schema(resolved), set())
    ref = ref or ("+".join(merged_refs) if merged_refs else None)
    nullable = schema.get("nullable") is True
    for kind in ("anyOf", "oneOf"):
        branches = schema.get(kind)
        if not isinstance(branches, list):
            continue
        rest = [b for b in branches if not _is_null(doc, b)]
        nullable = nullable or len(rest) < len(branches)
        siblings = {k: v for k, v in schema.items() if k != kind}
        if len(rest) == 1 and depth < _MAX_DEPTH:
            # `anyOf: [X, null]` is X made nullable; the siblings (title, default) apply to X.
            inner = _view(doc, {**siblings, **_as_schema(rest[0])}, depth + 1)
            return replace(inner, nullable=inner.nullable or nullable, ref=inner.ref or ref)
        if len(rest) > 1:
            return _View(siblings, ref, nullable, None, None, tuple(rest))
    types, null_type = _types_of(schema)
    enum, null_enum = _enum_of(schema)
    return _View(schema, ref, nullable or null_type or null_enum, types, enum, None)


def _as_schema(node: Json) -> dict[str, Json]:
    if node is False:
        return {"not": {}}
    return _obj(node)


def _merge_all_of(
    doc: _Doc, schema: dict[str, Json], seen: set[str]
) -> tuple[dict[str, Json], list[str]]:
    """Fold `allOf` branches into one schema (properties and required are unions)."""
    branches = schema.get("allOf")
    if not isinstance(branches, list):
        return schema, []
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    names: list[str] = []
    for branch in branches:
        resolved, ref = doc.deref(branch)
        if ref is not None:
            if ref in seen:
                continue  # a cycle through allOf: the branch is already folded in
            names.append(ref)
        part, inner = _merge_all_of(doc, _as_schema(resolved), seen | {ref} if ref else seen)
        names += inner
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**_obj(value), **_obj(merged.get("properties"))}
            elif key == "required":
                merged["required"] = sorted(_names(merged.get("required")) | _names(value))
            else:
                merged.setdefault(key, value)
    return merged, names


def _is_null(doc: _Doc, node: Json) -> bool:
    schema = _obj(doc.deref(node)[0])
    return (
        schema.get("type") in ("null", ["null"])
        or schema.get("enum") == [None]
        or ("const" in schema and schema["const"] is None)
    )


def _types_of(schema: Mapping[str, Json]) -> tuple[frozenset[str] | None, bool]:
    value = schema.get("type")
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return None, False
    types = frozenset(t for t in value if isinstance(t, str))
    if "null" in types and len(types) > 1:
        return types - {"null"}, True
    return types, False


def _enum_of(schema: Mapping[str, Json]) -> tuple[frozenset[str] | None, bool]:
    values = [schema["const"]] if "const" in schema else schema.get("enum")
    if not isinstance(values, list):
        return None, False
    keys = frozenset(_key(v) for v in values)
    if "null" in keys and len(keys) > 1:
        return keys - {"null"}, True
    return keys, False


def _widens(old: frozenset[str] | None, new: frozenset[str] | None) -> bool:
    """Whether every value of a type in `old` is also of a type in `new`."""
    if new is None:
        return True
    if old is None:
        return False
    return all(t in new or (t == "integer" and "number" in new) for t in old)


_Seen = frozenset[tuple[str | None, str | None]]  # $ref pairs on the current path
Bound = tuple[float, bool]  # (value, exclusive)
_INTEGER: Final = frozenset({"integer"})


def _lower(schema: Mapping[str, Json], integer: bool) -> Bound | None:
    """The effective lower bound, whether spelled the 3.0 way (boolean) or the 3.1 way."""
    bounds = _bounds(schema, "minimum", "exclusiveMinimum")
    if not bounds:
        return None
    value, exclusive = max(bounds)  # the tightest: larger, and exclusive beats inclusive
    if integer:  # for integers `> 0` and `>= 1` are the same constraint
        return (math.floor(value) + 1 if exclusive else math.ceil(value), False)
    return value, exclusive


def _upper(schema: Mapping[str, Json], integer: bool) -> Bound | None:
    bounds = _bounds(schema, "maximum", "exclusiveMaximum")
    if not bounds:
        return None
    value, exclusive = min(bounds, key=lambda b: (b[0], not b[1]))
    if integer:
        return (math.ceil(value) - 1 if exclusive else math.floor(value), False)
    return value, exclusive


def _bounds(schema: Mapping[str, Json], inclusive_key: str, exclusive_key: str) -> list[Bound]:
    inclusive = _number(schema.get(inclusive_key))
    exclusive = schema.get(exclusive_key)
    if isinstance(exclusive, bool):  # OpenAPI 3.0: a flag on the inclusive bound
        return [(inclusive, exclusive)] if inclusive is not None else []
    found = [(inclusive, False)] if inclusive is not None else []
    number = _number(exclusive)
    return found + ([(number, True)] if number is not None else [])


def _show_bound(bound: Bound | None, sign: str) -> str:
    if bound is None:
        return "none"
    return f"{sign}{'' if bound[1] else '='} {_show(bound[0])}"


# ---------------------------------------------------------------- comparison


class _Comparer:
    def __init__(self, old: _Doc, new: _Doc, report: _Report) -> None:
        self.old = old
        self.new = new
        self.report = report

    def add(self, rule: str, location: str, message: str) -> None:
        self.report.add(rule, location, message)

    def run(self) -> None:
        old, new = self.old.root, self.new.root
        self.root_fields(old, new)
        self.servers("#/servers", _servers(old), _servers(new))
        self.security("#/security", old.get("security"), new.get("security"))
        self.security_schemes()
        self.component_schemas()
        self.paths()
        _unclassified(self.report, old, new, _ROOT_KEYS, "#", per_key=True)

    # -- document level

    def root_fields(self, old: Mapping[str, Json], new: Mapping[str, Json]) -> None:
        if old.get("openapi") != new.get("openapi"):
            self.add("openapi-version-changed", "#/openapi", _changed("openapi", old, new))
        old_info, new_info = _obj(old.get("info")), _obj(new.get("info"))
        if not _same(old_info.get("version"), new_info.get("version")):
            self.add("version-changed", "#/info/version", _changed("version", old_info, new_info))
        for key in sorted(old_info.keys() | new_info.keys()):
            if key in ("title", "summary", "description", "version") or key.startswith("x-"):
                continue
            if not _same(old_info.get(key), new_info.get(key)):
                where = f"#/info/{_escape(key)}"
                self.add("info-changed", where, _changed(key, old_info, new_info))
        old_tags, new_tags = _tag_names(old.get("tags")), _tag_names(new.get("tags"))
        for name in sorted(old_tags - new_tags):
            self.add("tag-definition-changed", "#/tags", f"tag {name!r} no longer defined")
        for name in sorted(new_tags - old_tags):
            self.add("tag-definition-changed", "#/tags", f"tag {name!r} defined")

    def servers(self, where: str, old: list[str], new: list[str]) -> None:
        removed = [u for u in old if u not in new]
        added = [u for u in new if u not in old]
        if len(removed) == 1 and len(added) == 1:
            self.add(
                "server-url-changed", where, f"server URL changed from {removed[0]} to {added[0]}"
            )
            return
        for url in removed:
            self.add("server-url-changed", where, f"server {url} removed")
        for url in added:
            self.add("server-added", where, f"server {url} added")

    def security(self, where: str, old: Json, new: Json) -> None:
        old_alts, new_alts = _alternatives(old), _alternatives(new)
        if set(old_alts) == set(new_alts):
            return
        shown = f"{_show_alternatives(old_alts)} to {_show_alternatives(new_alts)}"
        text = f"security changed from {shown}"
        still_accepted = all(any(_satisfies(a, b) for b in new_alts) for a in old_alts)
        self.add("security-loosened" if still_accepted else "security-changed", where, text)

    def security_schemes(self) -> None:
        old = _obj(_obj(self.old.root.get("components")).get("securitySchemes"))
        new = _obj(_obj(self.new.root.get("components")).get("securitySchemes"))
        for name in sorted(old.keys() | new.keys()):
            where = f"#/components/securitySchemes/{_escape(name)}"
            if name not in new:
                self.add("security-scheme-removed", where, f"security scheme {name} removed")
            elif name not in old:
                self.add("security-scheme-added", where, f"security scheme {name} added")
            else:
                before = _strip_docs(self.old.obj(old[name]))
                after = _strip_docs(self.new.obj(new[name]))
                if not _same(before, after):
                    msg = f"security scheme {name} changed from {_show(before)} to {_show(after)}"
                    self.add("security-scheme-changed", where, msg)

    def component_schemas(self) -> None:
        old = _obj(_obj(self.old.root.get("components")).get("schemas"))
        new = _obj(_obj(self.new.root.get("components")).get("schemas"))
        added = sorted(new.keys() - old.keys())
        shapes = {name: _key(_strip_docs(new[name])) for name in added}
        for name in sorted(old.keys() - new.keys()):
            shape = _key(_strip_docs(old[name]))
            matches = [a for a in added if shapes[a] == shape]
            where = f"#/components/schemas/{_escape(name)}"
            if len(matches) == 1:  # same shape under a new name: one rename, not two changes
                added.remove(matches[0])
                msg = f"schema {name} renamed to {matches[0]} (generated model class renamed)"
                self.add("schema-renamed", where, msg)
            else:
                self.add(
                    "schema-removed",
                    where,
                    f"schema {name} removed (generated model class removed)",
                )
        for name in added:
            self.add(
                "schema-added", f"#/components/schemas/{_escape(name)}", f"schema {name} added"
            )

    # -- paths and operations

    def paths(self) -> None:
        old, new = _paths_by_template(self.old.root), _paths_by_template(self.new.root)
        for template in sorted(old.keys() | new.keys()):
            if template not in new:
                path, item = old[template]
                methods = ", ".join(m.upper() for m in _METHODS if m in self.old.obj(item))
                self.add("path-removed", path, f"path removed ({methods or 'no operations'})")
            elif template not in old:
                path, item = new[template]
                methods = ", ".join(m.upper() for m in _METHODS if m in self.new.obj(item))
                self.add("path-added", path, f"path added ({methods or 'no operations'})")
            else:
                self.path_item(old[template], new[template])

    def path_item(self, old: tuple[str, Json], new: tuple[str, Json]) -> None:
        old_item, new_item = self.old.obj(old[1]), self.new.obj(new[1])
        path = new[0]
        for method in _METHODS:
            where = f"{method.upper()} {path}"
            if method in old_item and method not in new_item:
                self.add("operation-removed", where, "operation removed")
            elif method in new_item and method not in old_item:
                self.add("operation-added", where, "operation added")
            elif method in old_item:
                self.operation(where, (old_item, old_item[method]), (new_item, new_item[method]))
        _unclassified(self.report, old_item, new_item, _PATH_ITEM_KEYS | {"$ref"}, path)

    def operation(
        self, where: str, old: tuple[dict[str, Json], Json], new: tuple[dict[str, Json], Json]
    ) -> None:
        old_op, new_op = _obj(old[1]), _obj(new[1])
        self.operation_identity(where, old_op, new_op)
        self.parameters(where, self.parameter_map(self.old, old), self.parameter_map(self.new, new))
        self.request_body(where, old_op.get("requestBody"), new_op.get("requestBody"))
        self.responses(where, _obj(old_op.get("responses")), _obj(new_op.get("responses")))
        if "security" in old_op or "security" in new_op:
            old_sec = old_op["security"] if "security" in old_op else self.old.root.get("security")
            new_sec = new_op["security"] if "security" in new_op else self.new.root.get("security")
            self.security(f"{where} security", old_sec, new_sec)
        if any("servers" in node for node in (*old, *new) if isinstance(node, dict)):
            old_servers = _servers(old_op, old[0], self.old.root)
            self.servers(f"{where} servers", old_servers, _servers(new_op, new[0], self.new.root))
        _unclassified(self.report, old_op, new_op, _OPERATION_KEYS, where)

    def operation_identity(
        self, where: str, old: Mapping[str, Json], new: Mapping[str, Json]
    ) -> None:
        if old.get("operationId") != new.get("operationId"):
            self.add("operation-id-changed", where, _changed("operationId", old, new))
        old_tags, new_tags = _tag_list(old.get("tags")), _tag_list(new.get("tags"))
        old_first, new_first = old_tags[0] if old_tags else None, new_tags[0] if new_tags else None
        if old_first != new_first:
            msg = f"first tag changed from {_show(old_first)} to {_show(new_first)} (module moves)"
            self.add("operation-tag-changed", where, msg)
        if set(old_tags[1:]) != set(new_tags[1:]):
            msg = f"tags changed from {_show(old_tags)} to {_show(new_tags)}"
            self.add("operation-secondary-tags-changed", where, msg)
        self.deprecation(where, old, new)

    def deprecation(self, where: str, old: Mapping[str, Json], new: Mapping[str, Json]) -> None:
        before, after = old.get("deprecated") is True, new.get("deprecated") is True
        if before != after:
            self.add(
                "deprecated-changed", where, "now deprecated" if after else "no longer deprecated"
            )

    # -- parameters

    def parameter_map(
        self, doc: _Doc, item_and_op: tuple[dict[str, Json], Json]
    ) -> dict[tuple[str, str], dict[str, Json]]:
        """Path-level parameters overridden by operation-level ones, keyed by (in, name)."""
        found: dict[tuple[str, str], dict[str, Json]] = {}
        for level in (item_and_op[0], _obj(item_and_op[1])):
            raw = level.get("parameters")
            for node in raw if isinstance(raw, list) else []:
                param = doc.obj(node)
                place, name = str(param.get("in", "")), str(param.get("name", ""))
                found[(place, name.lower() if place == "header" else name)] = param
        return found

    def parameters(
        self,
        where: str,
        old: dict[tuple[str, str], dict[str, Json]],
        new: dict[tuple[str, str], dict[str, Json]],
    ) -> None:
        for key in sorted(old.keys() | new.keys()):
            place, name = key
            at = f"{where} {place} parameter {name}"
            if key not in new:
                self.add("request-parameter-removed", at, "parameter removed")
            elif key not in old:
                required = new[key].get("required") is True
                rule = (
                    "request-parameter-added-required"
                    if required
                    else "request-parameter-added-optional"
                )
                self.add(rule, at, f"{'required' if required else 'optional'} parameter added")
            else:
                self.parameter(at, old[key], new[key])

    def parameter(self, at: str, old: dict[str, Json], new: dict[str, Json]) -> None:
        before, after = old.get("required") is True, new.get("required") is True
        if before and not after:
            self.add("request-parameter-became-optional", at, "parameter became optional")
        elif after and not before:
            self.add("request-parameter-became-required", at, "parameter became required")
        before_style, after_style = _serialization(old), _serialization(new)
        if before_style != after_style:
            msg = f"serialization changed from {before_style} to {after_style}"
            self.add("request-parameter-style-changed", at, msg)
        self.deprecation(at, old, new)
        self.schema(_param_schema(old), _param_schema(new), at, "", "request")
        _unclassified(self.report, old, new, _PARAMETER_KEYS, at)

    # -- request bodies

    def request_body(self, where: str, old_raw: Json, new_raw: Json) -> None:
        at = f"{where} request body"
        if old_raw is None and new_raw is None:
            return
        old, new = self.old.obj(old_raw), self.new.obj(new_raw)
        before, after = old.get("required") is True, new.get("required") is True
        if new_raw is None:
            self.add("request-body-removed", at, "request body removed")
            return
        if old_raw is None:
            rule = "request-body-became-required" if after else "request-body-added"
            self.add(rule, at, f"{'required' if after else 'optional'} request body added")
            return
        if before != after:
            rule = "request-body-became-required" if after else "request-body-became-optional"
            self.add(rule, at, f"request body became {'required' if after else 'optional'}")
        self.content(at, old, new, "request", success=True)
        _unclassified(self.report, old, new, frozenset({"content", "required"}), at)

    # -- responses

    def responses(self, where: str, old: dict[str, Json], new: dict[str, Json]) -> None:
        old_codes = {_status(code): value for code, value in old.items()}
        new_codes = {_status(code): value for code, value in new.items()}
        for code in sorted(old_codes.keys() | new_codes.keys()):
            at = f"{where} response {code}"
            success = code.startswith("2")
            if code not in new_codes:
                rule = "response-success-status-removed" if success else "response-status-removed"
                self.add(rule, at, f"response {code} removed")
            elif code not in old_codes:
                self.add("response-status-added", at, f"response {code} added")
            else:
                before, after = self.old.obj(old_codes[code]), self.new.obj(new_codes[code])
                self.content(at, before, after, "response", success=success)
                _unclassified(self.report, before, after, frozenset({"content"}), at)

    def content(
        self,
        at: str,
        old: dict[str, Json],
        new: dict[str, Json],
        direction: Direction,
        success: bool,
    ) -> None:
        """Compare the media types of a request body or response and their schemas."""
        old_media = {k.lower(): _obj(v) for k, v in _obj(old.get("content")).items()}
        new_media = {k.lower(): _obj(v) for k, v in _obj(new.get("content")).items()}
        for media in sorted(old_media.keys() | new_media.keys()):
            label = at if media == "application/json" else f"{at} ({media})"
            if media not in new_media:
                self.add(
                    _media_removed_rule(direction, success), label, f"media type {media} removed"
                )
            elif media not in old_media:
                self.add(f"{direction}-media-type-added", label, f"media type {media} added")
            else:
                before, after = old_media[media], new_media[media]
                if "schema" in before or "schema" in after:
                    self.schema(
                        before.get("schema", {}), after.get("schema", {}), label, "", direction
                    )
                _unclassified(self.report, before, after, frozenset({"schema"}), label)

    # -- schemas

    def schema(
        self,
        old_raw: Json,
        new_raw: Json,
        base: str,
        ptr: str,
        direction: Direction,
        seen: _Seen = frozenset(),
        check_null: bool = True,
    ) -> None:
        """Compare two schemas reached the same way; `seen` holds the $ref pairs on this path."""
        if len(seen) > _MAX_DEPTH:
            return
        old, new = _view(self.old, old_raw), _view(self.new, new_raw)
        pair = (old.ref, new.ref)
        if pair != (None, None):
            if pair in seen:
                return  # a cycle: this pair is already being compared further up
            seen = seen | {pair}
        at = f"{base} {ptr}" if ptr else base
        if check_null:
            self.nullability(old, new, at, direction)
        if old.variants or new.variants:
            self.variants(old, new, base, ptr, direction, seen)
            _unclassified(self.report, old.raw, new.raw, _SCHEMA_KEYS, at)
            return
        if not self.types(old, new, at, direction):
            return  # an unrelated type: details below it would only be noise
        self.keywords(old, new, at, direction)
        self.properties(old, new, base, ptr, direction, seen)
        self.children(old, new, base, ptr, direction, seen)
        _unclassified(self.report, old.raw, new.raw, _SCHEMA_KEYS, at)

    def nullability(self, old: _View, new: _View, at: str, direction: Direction) -> None:
        if old.nullable == new.nullable:
            return
        became = "became-nullable" if new.nullable else "became-not-nullable"
        self.add(
            f"{direction}-{became}",
            at,
            "now accepts null" if new.nullable else "no longer accepts null",
        )

    def types(self, old: _View, new: _View, at: str, direction: Direction) -> bool:
        """Report a type change; True when the schemas are still worth comparing inside."""
        if old.types == new.types:
            return True
        text = f"type changed from {_show_types(old.types)} to {_show_types(new.types)}"
        if direction == "request" and _widens(old.types, new.types):
            self.add("request-type-widened", at, text)
            return True
        if direction == "response" and _widens(new.types, old.types):
            self.add("response-type-narrowed", at, text)
            return True
        self.add(f"{direction}-type-changed", at, text)
        return False

    def keywords(self, old: _View, new: _View, at: str, direction: Direction) -> None:
        before, after = old.raw, new.raw
        if before.get("format") != after.get("format"):
            self.add(f"{direction}-format-changed", at, _changed("format", before, after))
        self.enum(old.enum, new.enum, at, direction)
        self.numeric_bounds(old, new, at, direction)
        for key, tighter in _LENGTH_KEYS.items():
            self.length_bound(key, tighter, before, after, at, direction)
        self.multiple_of(before, after, at, direction)
        self.pattern(before, after, at, direction)
        if _show_key(before, "default") != _show_key(after, "default"):
            self.add("default-changed", at, _changed("default", before, after))
        self.deprecation(at, before, after)

    def enum(
        self, old: frozenset[str] | None, new: frozenset[str] | None, at: str, direction: Direction
    ) -> None:
        if old == new:
            return
        if old is None or new is None:
            kind = "added" if old is None else "removed"
            values = ", ".join(sorted(new or old or ()))
            self.add(
                f"{direction}-enum-constraint-{kind}", at, f"enum constraint {kind} ({values})"
            )
            return
        for value in sorted(old - new):
            self.add(f"{direction}-enum-value-removed", at, f"enum value {value} removed")
        for value in sorted(new - old):
            self.add(f"{direction}-enum-value-added", at, f"enum value {value} added")

    def bound_change(self, at: str, direction: Direction, tightened: bool, text: str) -> None:
        if direction == "response":
            self.add("response-bounds-changed", at, text)
        else:
            self.add(
                "request-bounds-tightened" if tightened else "request-bounds-loosened", at, text
            )

    def numeric_bounds(self, old: _View, new: _View, at: str, direction: Direction) -> None:
        old_int, new_int = old.types == _INTEGER, new.types == _INTEGER
        for label, sign, find in (("lower", ">", _lower), ("upper", "<", _upper)):
            before, after = find(old.raw, old_int), find(new.raw, new_int)
            if before == after:
                continue
            # Tighter: a bound appears, or moves inwards (an exclusive bound beats an equal one).
            flip = 1 if label == "lower" else -1
            tight = before is None or (
                after is not None and (flip * after[0], after[1]) > (flip * before[0], before[1])
            )
            verb = "tightened" if tight else "loosened"
            text = f"{label} bound {verb} from {_show_bound(before, sign)} to {_show_bound(after, sign)}"
            self.bound_change(at, direction, tight, text)

    def length_bound(
        self,
        key: str,
        raise_tightens: bool,
        old: Mapping[str, Json],
        new: Mapping[str, Json],
        at: str,
        direction: Direction,
    ) -> None:
        before, after = _number(old.get(key)), _number(new.get(key))
        if before == after:
            return
        if before is None or after is None:
            tight = after is not None  # a bound added tightens, one removed loosens
        else:
            tight = (after > before) == raise_tightens
        verb = "tightened" if tight else "loosened"
        text = f"{key} {verb} from {_show_number(before)} to {_show_number(after)}"
        self.bound_change(at, direction, tight, text)

    def multiple_of(
        self, old: Mapping[str, Json], new: Mapping[str, Json], at: str, direction: Direction
    ) -> None:
        before, after = _number(old.get("multipleOf")), _number(new.get("multipleOf"))
        if before == after:
            return
        # Looser only if every old multiple is still a multiple: the new step divides the old.
        tight = after is not None and (before is None or not _divides(after, before))
        verb = "tightened" if tight else "loosened"
        text = f"multipleOf {verb} from {_show_number(before)} to {_show_number(after)}"
        self.bound_change(at, direction, tight, text)

    def pattern(
        self, old: Mapping[str, Json], new: Mapping[str, Json], at: str, direction: Direction
    ) -> None:
        if old.get("pattern") == new.get("pattern"):
            return
        text = _changed("pattern", old, new)
        if direction == "response":
            self.add("response-pattern-changed", at, text)
        elif "pattern" in new:
            self.add("request-pattern-changed", at, text)
        else:
            self.add("request-pattern-removed", at, text)

    def properties(
        self,
        old: _View,
        new: _View,
        base: str,
        ptr: str,
        direction: Direction,
        seen: _Seen,
    ) -> None:
        old_props, new_props = _obj(old.raw.get("properties")), _obj(new.raw.get("properties"))
        old_req, new_req = _names(old.raw.get("required")), _names(new.raw.get("required"))
        names = old_props.keys() | new_props.keys() | old_req | new_req
        for name in sorted(names):
            at = f"{base} {ptr}.{name}"
            if name not in new_props and name not in new_req:
                self.property_removed(at, direction, name in old_req)
            elif name not in old_props and name not in old_req:
                self.property_added(at, direction, name in new_req)
            else:
                self.property_requirement(at, direction, name in old_req, name in new_req)
                self.schema(
                    old_props.get(name, {}),
                    new_props.get(name, {}),
                    base,
                    f"{ptr}.{name}",
                    direction,
                    seen,
                )

    def property_removed(self, at: str, direction: Direction, required: bool) -> None:
        if direction == "request":
            self.add("request-property-removed", at, "property removed")
        elif required:
            self.add("response-required-property-removed", at, "required property removed")
        else:
            self.add("response-optional-property-removed", at, "optional property removed")

    def property_added(self, at: str, direction: Direction, required: bool) -> None:
        text = f"{'required' if required else 'optional'} property added"
        if direction == "response":
            self.add("response-property-added", at, text)
        else:
            self.add(
                "request-property-added-required"
                if required
                else "request-property-added-optional",
                at,
                text,
            )

    def property_requirement(
        self, at: str, direction: Direction, before: bool, after: bool
    ) -> None:
        if before == after:
            return
        state = "required" if after else "optional"
        self.add(f"{direction}-property-became-{state}", at, f"property became {state}")

    def children(
        self,
        old: _View,
        new: _View,
        base: str,
        ptr: str,
        direction: Direction,
        seen: _Seen,
    ) -> None:
        """Array items and map values (additionalProperties); absent means any."""
        if "items" in old.raw or "items" in new.raw:
            self.schema(
                old.raw.get("items", {}),
                new.raw.get("items", {}),
                base,
                f"{ptr}[]",
                direction,
                seen,
            )
        before, after = old.raw.get("additionalProperties"), new.raw.get("additionalProperties")
        if before is False or after is False:
            if before is not after:  # `false` is a rule of its own; a schema is compared below
                msg = _changed("additionalProperties", old.raw, new.raw)
                self.add("unclassified-change", f"{base} {ptr}" if ptr else base, msg)
        elif isinstance(before, dict) or isinstance(after, dict):
            self.schema(_obj(before), _obj(after), base, f"{ptr}.*", direction, seen)

    def variants(
        self,
        old: _View,
        new: _View,
        base: str,
        ptr: str,
        direction: Direction,
        seen: _Seen,
    ) -> None:
        """anyOf/oneOf alternatives, matched by $ref name or type, not by position."""
        at = f"{base} {ptr}" if ptr else base
        old_keyed = _keyed_variants(self.old, old)
        new_keyed = _keyed_variants(self.new, new)
        for key in sorted(old_keyed.keys() | new_keyed.keys()):
            if key not in new_keyed:
                self.add(f"{direction}-variant-removed", at, f"alternative {key} removed")
            elif key not in old_keyed:
                self.add(f"{direction}-variant-added", at, f"alternative {key} added")
            else:
                self.schema(
                    old_keyed[key], new_keyed[key], base, ptr, direction, seen, check_null=False
                )


_LENGTH_KEYS: Final[Mapping[str, bool]] = {
    # key -> whether raising it tightens the constraint
    "minLength": True,
    "maxLength": False,
    "minItems": True,
    "maxItems": False,
    "minProperties": True,
    "maxProperties": False,
}


def _divides(step: float, value: float) -> bool:
    quotient = value / step
    return math.isclose(quotient, round(quotient))


def _show_types(types: frozenset[str] | None) -> str:
    return "any" if types is None else "|".join(sorted(types))


def _keyed_variants(doc: _Doc, view: _View) -> dict[str, Json]:
    """Alternatives by a stable key; a plain schema is one alternative of itself."""
    if view.variants is None:
        return {_variant_key(view, 0): _without_null(view.raw)}
    keyed: dict[str, Json] = {}
    for index, branch in enumerate(view.variants):
        key = _variant_key(_view(doc, branch), index)
        keyed[key if key not in keyed else f"{key}#{index}"] = branch
    return keyed


def _variant_key(view: _View, index: int) -> str:
    if view.ref:
        return view.ref.rsplit("/", 1)[-1]
    return _show_types(view.types) if view.types is not None else f"#{index}"


def _without_null(schema: dict[str, Json]) -> dict[str, Json]:
    """The schema minus its null spelling (already compared), for use as one alternative."""
    result = {k: v for k, v in schema.items() if k != "nullable"}
    types, _ = _types_of(schema)
    if types is not None:
        result["type"] = sorted(types) if len(types) > 1 else next(iter(types))
    return result


def _status(code: str) -> str:
    """Status keys compare case-insensitively ("2xx" is "2XX"); "default" stays as is."""
    return code.lower() if code.lower() == "default" else code.upper()


def _media_removed_rule(direction: Direction, success: bool) -> str:
    if direction == "request":
        return "request-media-type-removed"
    return "response-media-type-removed" if success else "error-response-media-type-removed"


def _param_schema(param: Mapping[str, Json]) -> Json:
    if "schema" in param:
        return param["schema"]
    for media in _obj(param.get("content")).values():
        return _obj(media).get("schema", {})
    return {}


def _serialization(param: Mapping[str, Json]) -> str:
    """Effective style and explode, so spelling out a default is not a change."""
    style = param.get("style", _DEFAULT_STYLE.get(str(param.get("in")), "form"))
    explode = param.get("explode", style == "form") is True
    return f"style={style} explode={str(explode).lower()}"


def _paths_by_template(root: Mapping[str, Json]) -> dict[str, tuple[str, Json]]:
    """Paths keyed with parameter names blanked: /a/{id} and /a/{app_id} are one route."""
    return {
        re.sub(r"\{[^}/]*\}", "{}", path): (path, item)
        for path, item in _obj(root.get("paths")).items()
    }


def _servers(*levels: Mapping[str, Json]) -> list[str]:
    """Effective server URLs (variables at their defaults) from the first level that has any."""
    for level in levels:
        servers = level.get("servers")
        if isinstance(servers, list) and servers:
            return sorted({_server_url(_obj(s)) for s in servers})
    return ["/"]


def _server_url(server: Mapping[str, Json]) -> str:
    url = str(server.get("url", "/"))
    for name, variable in _obj(server.get("variables")).items():
        url = url.replace("{" + name + "}", str(_obj(variable).get("default", "")))
    return url.rstrip("/") or "/"


Alternative = frozenset[tuple[str, frozenset[str]]]


def _alternatives(requirements: Json) -> list[Alternative]:
    """Security requirement objects as sets; an absent or empty list means no auth needed."""
    if not isinstance(requirements, list) or not requirements:
        return [frozenset()]
    return [
        frozenset((name, frozenset(_names(scopes))) for name, scopes in _obj(req).items())
        for req in requirements
    ]


def _satisfies(held: Alternative, asked: Alternative) -> bool:
    """Whether a client holding `held` credentials meets the requirement `asked`."""
    have = dict(held)
    return all(name in have and scopes <= have[name] for name, scopes in asked)


def _show_alternatives(alternatives: list[Alternative]) -> str:
    def one(alt: Alternative) -> str:
        parts = [f"{n}[{','.join(sorted(s))}]" if s else n for n, s in sorted(alt)]
        return " + ".join(parts) or "none"

    return " or ".join(sorted(one(a) for a in alternatives))


def _tag_names(tags: Json) -> set[str]:
    return (
        {str(t["name"]) for t in tags if isinstance(t, dict) and "name" in t}
        if isinstance(tags, list)
        else set()
    )


def _tag_list(tags: Json) -> list[str]:
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


# ---------------------------------------------------------------- documentation


def _strip_docs(node: Json, as_map: bool = False) -> Json:
    """The node without documentation keys, to compare shapes (renames, schemes)."""
    if isinstance(node, list):
        return [_strip_docs(v) for v in node]
    if not isinstance(node, dict):
        return node
    if as_map:
        return {k: _strip_docs(v) for k, v in node.items()}
    return {
        k: v if k in _OPAQUE_KEYS else _strip_docs(v, k in _MAP_KEYS)
        for k, v in node.items()
        if k not in _DOC_RULES and not k.startswith("x-")
    }


def _walk_docs(old: Json, new: Json, pointer: str, report: _Report, as_map: bool) -> None:
    """Report documentation changes at their JSON pointer, once, without following $refs."""
    if isinstance(old, list) and isinstance(new, list):
        for index, (a, b) in _paired(old, new):
            _walk_docs(a, b, f"{pointer}/{index}", report, as_map=False)
        return
    if not isinstance(old, dict) or not isinstance(new, dict):
        return
    if not as_map and ("$ref" in old) != ("$ref" in new):
        return  # inlined on one side only: its documentation lives at the referenced place
    for key in sorted(old.keys() | new.keys()):
        child = f"{pointer}/{_escape(key)}"
        if as_map or (key not in _DOC_RULES and not key.startswith("x-")):
            if key in old and key in new and key not in _OPAQUE_KEYS:
                _walk_docs(
                    old[key], new[key], child, report, as_map=not as_map and key in _MAP_KEYS
                )
            continue
        if key in old and key in new and _same(old[key], new[key]):
            continue
        rule = _DOC_RULES.get(key, "extension-changed")
        if key not in old:
            report.add(rule, child, f"{key} added: {_show(new[key])}")
        elif key not in new:
            report.add(rule, child, f"{key} removed (was {_show(old[key])})")
        else:
            report.add(rule, child, f"{key} changed from {_show(old[key])} to {_show(new[key])}")


def _paired(old: list[Json], new: list[Json]) -> Iterator[tuple[int, tuple[Json, Json]]]:
    """Match list items by identity (name/in, url or $ref), else by position if same length."""
    old_keys, new_keys = [_item_key(v) for v in old], [_item_key(v) for v in new]
    if None not in old_keys and None not in new_keys and _unique(old_keys) and _unique(new_keys):
        where = {k: i for i, k in enumerate(old_keys)}
        for index, key in enumerate(new_keys):
            if key in where:
                yield index, (old[where[key]], new[index])
    elif len(old) == len(new):
        yield from enumerate(zip(old, new, strict=True))


def _item_key(item: Json) -> str | None:
    if not isinstance(item, dict):
        return None
    for field in ("name", "url", "$ref"):
        if isinstance(item.get(field), str):
            return f"{field}:{item.get('in', '')}:{item[field]}"
    return None


def _unique(keys: list[str | None]) -> bool:
    return len(set(keys)) == len(keys)


# ---------------------------------------------------------------- command line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse's own status 2 would read as "breaking change found".
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(
        prog="python -m codegen.drift",
        description="Classify the changes between two OpenAPI 3.x JSON documents.",
        epilog="Exit status: 0 no changes, 1 non-breaking changes only, 2 breaking changes, 3 error.",
    )
    parser.add_argument("old", help="the previous document (e.g. the pinned openapi.json)")
    parser.add_argument("new", help="the candidate document")
    parser.add_argument(
        "--format", choices=FORMATS, default="text", help="report format (default: text)"
    )
    args = parser.parse_args(argv)
    try:
        changes = compare(load(args.old), load(args.new))
    except SpecError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    sys.stdout.write(render(changes, args.format))
    return exit_code(changes)


if __name__ == "__main__":
    sys.exit(main())
