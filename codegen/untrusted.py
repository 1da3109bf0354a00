"""The spec is untrusted input: its names are checked and its text escaped here, and only here.

Everything codegen writes (generated/ Python, api.md, spec_facts.py) takes names and
prose from openapi.json, which the nightly adoption fetches from the network. Two rules
keep a hostile spec from becoming code:

1. `check_names(document)` refuses, before anything is generated or written, every
   operation, parameter, field, schema, tag and enum name (and path) outside a plain
   alphabet, with an `UnsafeSpecError` naming the kind of name, the name (shown
   escaped and cut short) and where it is (a JSON pointer). What it accepts is then
   normalised exactly as openapi-python-client does (`openapi_python_client.strings`:
   `PythonIdentifier`, `ClassName`; keywords and builtins get a trailing `_`, as
   `class_`), and `codegen.surface` uses those same functions, so the generator's
   modules and our methods agree. `codegen.spec` runs it on every fetched or
   normalised document (so `make spec`, `spec-check` and `spec-update` refuse such a
   spec before writing anything) and `codegen.generate` before the generator runs.
2. `escape(value, into)` is the one way spec text enters generated text: a Python
   docstring, a Markdown table cell (api.md) or a Python literal (spec_facts.py,
   operations.py). facts.json is serialised by `json.dumps`, which escapes by
   construction.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, Literal

from parallel_account_drift.errors import SpecError
from parallel_account_drift.jsondoc import escape_token


class UnsafeSpecError(SpecError):
    """A name or value of the spec that generated code may not take in."""


@dataclass(frozen=True)
class NameRule:
    """What one kind of name may be."""

    pattern: re.Pattern[str]
    allowed: str  # in words, for the error message
    max_chars: int


_WORD = "[A-Za-z0-9_]+"
_IDENTIFIER = NameRule(
    re.compile("[A-Za-z_][A-Za-z0-9_]*"),
    "ASCII letters, digits and _, not starting with a digit",
    128,
)
# Header names (`X-Request-Id`), dotted query names, FastAPI's schema names.
_DOTTED = NameRule(
    re.compile(rf"[A-Za-z_][A-Za-z0-9_]*(?:[.-]{_WORD})*"),
    "ASCII letters, digits and _, words joined by single . or -, not starting with a digit",
    128,
)
RULES: Final[dict[str, NameRule]] = {
    "operation": _IDENTIFIER,
    "enum name": _IDENTIFIER,  # x-enum-varnames
    "parameter": _DOTTED,
    "field": _DOTTED,
    "schema": _DOTTED,
    "tag": NameRule(
        re.compile(rf"{_WORD}(?:[ .-]{_WORD})*"),
        "ASCII letters, digits and _, words joined by single spaces, . or -",
        128,
    ),
    # Values, not names, but the generator derives member names from them.
    "enum value": NameRule(
        re.compile(r"[^\x00-\x1f\x7f-\U0010ffff\"'\\`{}|]*"),
        "printable ASCII without quotes, backslashes, backticks, braces or |",
        128,
    ),
    "path": NameRule(
        re.compile(r"(?:/(?:[A-Za-z0-9._~-]|\{[A-Za-z_][A-Za-z0-9_]*\})*)+"),
        "/-separated ASCII letters, digits, . _ ~ - and {parameter} templates",
        512,
    ),
}
HTTP_METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Keywords whose values are schemas, or lists or maps of schemas (JSON Schema, OpenAPI 3.0/3.1).
_SUBSCHEMA: Final = ("items", "additionalProperties", "not", "contains", "propertyNames")
_SUBSCHEMA_LISTS: Final = ("allOf", "anyOf", "oneOf", "prefixItems")
_SUBSCHEMA_MAPS: Final = ("patternProperties", "$defs", "definitions", "dependentSchemas")


def shown(text: str, limit: int = 60) -> str:
    """`text` for a one-line message: quoted, escaped, cut to `limit` characters."""
    cut = text if len(text) <= limit else text[:limit]
    more = "" if cut is text else f"... ({len(text)} characters)"
    return ascii(cut) + more


def check_name(kind: str, name: object, where: str) -> None:
    """Raise UnsafeSpecError unless `name` is a `kind` name generated code may take in."""
    rule = RULES[kind]
    if not isinstance(name, str):
        raise UnsafeSpecError(f"{kind} name at {where} is not a string: {shown(repr(name))}")
    if len(name) > rule.max_chars or not rule.pattern.fullmatch(name):
        raise UnsafeSpecError(
            f"{kind} name {shown(name)} at {where} is refused: allowed are {rule.allowed}, "
            f"at most {rule.max_chars} characters (the spec is not trusted as code)"
        )


def _pointer(*tokens: str) -> str:
    return "".join("/" + escape_token(token) for token in tokens)


def _schemas(schema: Any, where: str) -> Iterator[tuple[dict[str, Any], str]]:
    """Every schema object inside `schema` (itself included), with its pointer; no $ref
    is followed (what it names is checked where it is defined). Iterative: no recursion."""
    pending: list[tuple[Any, str]] = [(schema, where)]
    while pending:
        node, at = pending.pop()
        if not isinstance(node, dict):
            continue
        yield node, at
        for key in _SUBSCHEMA:
            pending.append((node.get(key), f"{at}/{key}"))
        for key in _SUBSCHEMA_LISTS:
            branches = node.get(key)
            if isinstance(branches, list):
                pending += [(b, f"{at}/{key}/{i}") for i, b in enumerate(branches)]
        for key in ("properties", *_SUBSCHEMA_MAPS):
            members = node.get(key)
            if isinstance(members, dict):
                pending += [(v, f"{at}/{key}/{escape_token(str(k))}") for k, v in members.items()]


def _check_schema(schema: Any, where: str) -> None:
    for node, at in _schemas(schema, where):
        properties = node.get("properties")
        if isinstance(properties, dict):
            for name in properties:
                check_name("field", name, f"{at}/properties")
        enum = node.get("enum")
        if isinstance(enum, list):
            for index, value in enumerate(enum):
                if isinstance(value, str):
                    check_name("enum value", value, f"{at}/enum/{index}")
        varnames = node.get("x-enum-varnames")
        if isinstance(varnames, list):
            for index, value in enumerate(varnames):
                check_name("enum name", value, f"{at}/x-enum-varnames/{index}")


def _check_content(holder: Any, where: str) -> None:
    """The schemas of a request body, response or parameter (`content` and `schema`)."""
    if not isinstance(holder, dict):
        return
    _check_schema(holder.get("schema"), f"{where}/schema")
    content = holder.get("content")
    if isinstance(content, dict):
        for media, entry in content.items():
            if isinstance(entry, dict):
                _check_schema(entry.get("schema"), f"{where}/content/{escape_token(media)}/schema")
    headers = holder.get("headers")
    if isinstance(headers, dict):
        for name, header in headers.items():
            _check_content(header, f"{where}/headers/{escape_token(str(name))}")


def _check_parameters(parameters: Any, where: str) -> None:
    if not isinstance(parameters, list):
        return
    for index, parameter in enumerate(parameters):
        at = f"{where}/parameters/{index}"
        if isinstance(parameter, dict) and "$ref" not in parameter:
            check_name("parameter", parameter.get("name"), f"{at}/name")
            _check_content(parameter, at)


def _check_operation(operation: dict[str, Any], at: str) -> None:
    if "operationId" in operation:
        check_name("operation", operation["operationId"], f"{at}/operationId")
    tags = operation.get("tags")
    if isinstance(tags, list):
        for index, tag in enumerate(tags):
            check_name("tag", tag, f"{at}/tags/{index}")
    _check_parameters(operation.get("parameters"), at)
    _check_content(operation.get("requestBody"), f"{at}/requestBody")
    responses = operation.get("responses")
    if isinstance(responses, dict):
        for status, response in responses.items():
            _check_content(response, f"{at}/responses/{escape_token(str(status))}")


def check_names(document: dict[str, Any]) -> None:
    """Raise UnsafeSpecError for the first name of `document` generated code may not take in.

    Checked: paths; operationIds, tags and parameter names of every operation; the names
    of component schemas, parameters, request bodies, responses and headers; every field
    (property) name, string enum value and `x-enum-varnames` entry of every schema,
    inline ones included. The walk visits each node once: linear in the document's size.
    """
    paths = document.get("paths")
    if isinstance(paths, dict):
        for path, item in paths.items():
            check_name("path", path, "/paths")
            if not isinstance(item, dict):
                continue
            at = _pointer("paths", path)
            _check_parameters(item.get("parameters"), at)
            for method in HTTP_METHODS:
                if isinstance(item.get(method), dict):
                    _check_operation(item[method], f"{at}/{method}")
    components = document.get("components")
    if not isinstance(components, dict):
        return
    for section in ("schemas", "parameters", "requestBodies", "responses", "headers"):
        members = components.get(section)
        if not isinstance(members, dict):
            continue
        for name, member in members.items():
            check_name("schema", name, _pointer("components", section))
            at = _pointer("components", section, name)
            if section == "schemas":
                _check_schema(member, at)
            elif section == "parameters" and isinstance(member, dict):
                check_name("parameter", member.get("name"), f"{at}/name")
                _check_content(member, at)
            else:
                _check_content(member, at)


# ---------------------------------------------------------------- escaping

Into = Literal["docstring", "markdown", "python"]
# A `<` that Markdown could read as the start of raw HTML (a tag, comment or directive).
_TAG_START: Final = re.compile(r"<(?=[A-Za-z/!?])")


def _visible(ch: str) -> str:
    """A character that may not appear in generated text, written out as its escape."""
    code = ord(ch)
    return (
        f"\\x{code:02x}"
        if code <= 0xFF
        else f"\\u{code:04x}"
        if code <= 0xFFFF
        else f"\\U{code:08x}"
    )


def escape(value: object, into: Into) -> str:
    """Spec text (or, for `python`, any JSON value) made safe to place in generated text.

    - `docstring`: the inside of a `\"\"\"...\"\"\"` docstring. Backslashes and every `"` are
      escaped (so no quote, wherever it falls, can end the docstring), `\\r` dropped,
      and other characters that are not printable written out as `\\xNN` text. The
      docstring then reads as the spec's text.
    - `markdown`: one Markdown table cell: one line (whitespace runs become one space),
      `\\` and `|` escaped, a `<` that could open an HTML tag as `&lt;` (no raw HTML),
      unprintable characters written out.
    - `python`: a complete Python literal (str, int, finite float, bool, None, and
      lists, tuples and dicts of them); a non-finite number raises UnsafeSpecError.
    """
    if into == "python":
        return _literal(value)
    if not isinstance(value, str):
        raise TypeError(f"escape(..., {into!r}) takes a str, not {type(value).__name__}")
    if into == "docstring":
        text = value.replace("\r", "").replace("\\", "\\\\").replace('"', '\\"')
        return "".join(ch if ch.isprintable() or ch == "\n" else "\\" + _visible(ch) for ch in text)
    text = " ".join(value.split()).replace("\\", "\\\\").replace("|", "\\|")
    text = _TAG_START.sub("&lt;", text)
    return "".join(ch if ch.isprintable() else "\\" + _visible(ch) for ch in text)


def _literal(value: object) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise UnsafeSpecError(f"the number {value!r} has no JSON meaning; use a finite bound")
    if value is None or isinstance(value, bool | int | float | str):
        return repr(value)
    if isinstance(value, tuple):
        items = [_literal(item) for item in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(value, list):
        return f"[{', '.join(_literal(item) for item in value)}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"escape(..., 'python') takes JSON values, not {type(value).__name__}")
