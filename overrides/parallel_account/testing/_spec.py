"""Routing and validation, all from the spec facts (`parallel_account_api.spec_facts`).

A request's path picks its operation (404, or 405 for a known path with another
method); its path and query parameters and JSON body are checked against the
spec's constraints, with errors in Pydantic's shape as FastAPI reports them
(422). Parameters arrive as text and are parsed as FastAPI parses them ("5" is
an integer, "true" and "on" booleans); unknown query parameters are ignored.
"""

from __future__ import annotations

import datetime
import json
import math
import operator
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Final
from urllib.parse import parse_qsl, unquote, urlsplit

from parallel_account._schema import FORMATS
from parallel_account._validation import schema_check
from parallel_account.testing._answer import JSON, Answer, detail, number
from parallel_account_api.spec_facts import OPERATIONS, SERVER_URL, FieldFacts, OperationFacts

# The real base URL has a path (/account); the fake keeps it so a client that
# drops the base path (urljoin with "/service/...") fails here as it would in production.
BASE_PATH: Final = urlsplit(SERVER_URL).path.rstrip("/")

#: A parsed path or query parameter: by its type in the spec (all values, for an array).
ParamValue = str | int | float | bool | list[str]
#: Path and query parameters by name, parsed (a path parameter wins a clash of names).
Params = dict[str, ParamValue]
Body = dict[str, JSON]
Errors = list[dict[str, JSON]]


def _route_pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", path)  # literal, name, literal, name, ...
    regex = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts)
    )
    return re.compile(re.escape(BASE_PATH) + regex)


def routes(operations: Iterable[OperationFacts]) -> list[tuple[re.Pattern[str], OperationFacts]]:
    """The routing table for these operations: each path as a pattern, with its operation."""
    return [(_route_pattern(op.path), op) for op in operations]


_ROUTES: Final = routes(OPERATIONS.values())


def route(method: str, path: str) -> tuple[OperationFacts, dict[str, str]] | Answer:
    """The operation and its (unquoted) path parameters, or the 404/405 answer.

    As FastAPI routes: methods are case-sensitive, HEAD and OPTIONS are not implied by
    GET, and any method a known path lacks (TRACE, FOO, ...) is 405 with an `Allow`
    header listing the methods the path has (FastAPI lists only the first route's).
    """
    allowed: set[str] = set()
    for pattern, op in _ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        if op.method == method:
            return op, {name: unquote(value) for name, value in match.groupdict().items()}
        allowed.add(op.method)
    if allowed:
        return detail(405, "Method Not Allowed", [("allow", ", ".join(sorted(allowed)))])
    return detail(404, "Not Found")


#: The largest request body the fake reads (the served fake refuses a larger declared
#: Content-Length before reading it): every body the spec allows is far smaller.
MAX_BODY_BYTES: Final = 1 << 20


def too_large() -> Answer:
    """The answer to a body over `MAX_BODY_BYTES`: 413, as the proxy in front of the API gives."""
    return detail(413, f"Request body too large: at most {MAX_BODY_BYTES} bytes")


def validate(
    op: OperationFacts, path_params: Mapping[str, str], query: str, raw_body: bytes
) -> tuple[Params, Body, Errors]:
    """The parsed parameters, the JSON body as a dict (empty if the operation takes none), and
    every validation error, in FastAPI's order (path, query, body)."""
    params: Params = {}
    errors: Errors = []
    for facts in op.path_params:
        value, wrong = _parse_param(facts, path_params[facts.name], ["path", facts.name])
        errors += wrong
        params.setdefault(facts.name, value)
    given: dict[str, list[str]] = {}
    for name, text in parse_qsl(query, keep_blank_values=True):
        given.setdefault(name, []).append(text)
    for facts in op.query_params:
        loc: list[str | int] = ["query", facts.name]
        texts = given.get(facts.name)
        if not texts:
            if facts.required:
                errors.append(_error(loc, "Field required", "missing", None))
            continue
        # FastAPI takes the last of repeated values, or all of them for an array.
        value, wrong = (texts, []) if facts.type == "array" else _parse_param(facts, texts[-1], loc)
        errors += wrong
        params.setdefault(facts.name, value)
    data: Body = {}
    if op.body_model is not None:
        data, body_errors = _parse_body(op, raw_body)
        errors += body_errors
    return params, data, errors


def known_operation(name: str | None) -> str | None:
    """`name` itself if the spec has such an operation (or it is None); ValueError otherwise."""
    if name is not None and name not in OPERATIONS:
        raise ValueError(f"operation: {name!r} is not one of {sorted(OPERATIONS)}")
    return name


def _error(loc: list[str | int], msg: str, kind: str, value: JSON) -> dict[str, JSON]:
    return {"type": kind, "loc": loc, "msg": msg, "input": value}


# Strict JSON types (bool is not an integer here, though Python says it is). A number with a
# zero fraction (860.0) is an integer, as JSON Schema and Pydantic's lax mode have it
# (`_integral` turns it into one first).
_TYPE_CHECKS: Final[dict[str, tuple[str, str, Callable[[object], bool]]]] = {
    "integer": ("int_type", "Input should be a valid integer", lambda v: type(v) in (int, float)),
    "number": ("float_type", "Input should be a valid number", lambda v: type(v) in (int, float)),
    "string": ("string_type", "Input should be a valid string", lambda v: isinstance(v, str)),
    "boolean": ("bool_type", "Input should be a valid boolean", lambda v: isinstance(v, bool)),
}
_BOUNDS: Final = (
    ("minimum", operator.ge, "greater_than_equal", "greater than or equal to"),
    ("exclusive_minimum", operator.gt, "greater_than", "greater than"),
    ("maximum", operator.le, "less_than_equal", "less than or equal to"),
    ("exclusive_maximum", operator.lt, "less_than", "less than"),
)


def _integral(value: float, loc: list[str | int]) -> tuple[int, Errors]:
    """A JSON number where the spec wants an integer, as Pydantic (lax) takes it: 860.0 is 860."""
    if not math.isfinite(value):
        return 0, [_error(loc, "Input should be a finite number", "finite_number", value)]
    if not value.is_integer():
        msg = "Input should be a valid integer, got a number with a fractional part"
        return 0, [_error(loc, msg, "int_from_float", value)]
    return int(value), []


def _parses(parse: Callable[[str], object]) -> Callable[[str], bool]:
    """True for text `parse` reads: the times as FastAPI's Pydantic reads request input,
    any ISO 8601 form Python's `fromisoformat` takes (naive, no seconds, basic format),
    not only RFC 3339."""

    def valid(text: str) -> bool:
        try:
            parse(text)
        except ValueError:
            return False
        return True

    return valid


# The formats the fake refuses in a request, as FastAPI's Pydantic types do: the times
# leniently (above), email and uri by the schema engine's own test.
_FORMAT_CHECKS: Final[dict[str, tuple[Callable[[str], bool], str, str]]] = {
    "date-time": (
        _parses(datetime.datetime.fromisoformat),
        "datetime_parsing",
        "Input should be a valid datetime",
    ),
    "date": (_parses(datetime.date.fromisoformat), "date_parsing", "Input should be a valid date"),
    "email": (FORMATS["email"], "value_error", "value is not a valid email address"),
    "uri": (FORMATS["uri"], "url_parsing", "Input should be a valid URL"),
}


def _check(facts: FieldFacts, value: JSON, loc: list[str | int]) -> Errors:
    """Pydantic-style errors for one value against the spec's constraints (strict types)."""
    check = _TYPE_CHECKS.get(facts.type or "")
    if check is not None and not check[2](value):
        return [_error(loc, check[1], check[0], value)]
    if facts.type == "integer" and type(value) is float:
        value, wrong = _integral(value, loc)
        if wrong:
            return wrong
    if facts.format == "uuid":
        try:
            uuid.UUID(str(value))
        except ValueError:
            return [_error(loc, "Input should be a valid UUID", "uuid_parsing", value)]
    elif isinstance(value, str) and facts.format in _FORMAT_CHECKS:
        valid, kind, msg = _FORMAT_CHECKS[facts.format]
        if not valid(value):
            return [_error(loc, msg, kind, value)]
    if type(value) in (int, float):
        for attr, ok, kind, words in _BOUNDS:
            bound = getattr(facts, attr)
            if bound is not None and not ok(value, bound):
                return [_error(loc, f"Input should be {words} {number(bound)}", kind, value)]
    if isinstance(value, str):
        if facts.min_length is not None and len(value) < facts.min_length:
            msg = f"String should have at least {facts.min_length} characters"
            return [_error(loc, msg, "string_too_short", value)]
        if facts.max_length is not None and len(value) > facts.max_length:
            msg = f"String should have at most {facts.max_length} characters"
            return [_error(loc, msg, "string_too_long", value)]
        if facts.pattern is not None and re.search(facts.pattern, value) is None:
            msg = f"String should match pattern '{facts.pattern}'"
            return [_error(loc, msg, "string_pattern_mismatch", value)]
    if facts.enum is not None and value not in facts.enum:
        return [_error(loc, "Input should be one of the allowed values", "enum", value)]
    return _whole(facts, value, loc)


def _whole(facts: FieldFacts, value: JSON, loc: list[str | int]) -> Errors:
    """An argument the scalar facts cannot describe (an array, an object, a union), checked
    against its whole schema by the package's schema engine; the error at its place."""
    if facts.schema is None:
        return []
    try:
        problem = schema_check(facts)(value)
    except RecursionError:
        return [_error(loc, "Input is nested too deeply", "schema", None)]
    if problem is None:
        return []
    where, _, why = problem.partition(": ")
    steps: list[str | int] = []
    for name, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", where):
        steps.append(int(index) if index else name)
    return [_error([*loc, *steps], f"Input should match the schema: {why}", "schema", value)]


# Text to a value as Pydantic's lax mode does it for a path or query parameter.
_INTEGER: Final = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*(?:\.0+)?")
_TRUE: Final = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE: Final = frozenset({"0", "off", "f", "false", "n", "no"})


def _parse_param(facts: FieldFacts, text: str, loc: list[str | int]) -> tuple[ParamValue, Errors]:
    """The parameter's value by its type in the spec, and its errors (their input: the text)."""
    value: ParamValue = text
    if facts.type == "integer":
        if _INTEGER.fullmatch(text.strip()) is None:
            msg = "Input should be a valid integer, unable to parse string as an integer"
            return text, [_error(loc, msg, "int_parsing", text)]
        value = int(text.strip().split(".")[0])
    elif facts.type == "number":
        try:
            if not text.strip().isascii():  # float() reads other scripts' digits; Pydantic does not
                raise ValueError(text)
            value = float(text.strip())
        except ValueError:
            msg = "Input should be a valid number, unable to parse string as a number"
            return text, [_error(loc, msg, "float_parsing", text)]
    elif facts.type == "boolean":
        if text.lower() not in _TRUE and text.lower() not in _FALSE:
            msg = "Input should be a valid boolean, unable to interpret input"
            return text, [_error(loc, msg, "bool_parsing", text)]
        value = text.lower() in _TRUE
    errors = _check(facts, value, loc)
    for error in errors:
        error["input"] = text
    return value, errors


def _parse_body(op: OperationFacts, raw: bytes) -> tuple[Body, Errors]:
    """The JSON body as a dict, plus the validation errors FastAPI would report for it."""
    if not raw.strip():
        return {}, [_error(["body"], "Field required", "missing", None)]
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        return {}, [_error(["body", exc.pos], "JSON decode error", "json_invalid", {})]
    except (RecursionError, ValueError) as exc:  # too deep, over 4300 digits, not UTF-8
        raise UnparseableBody from exc
    if not isinstance(data, dict):
        msg = "Input should be a valid dictionary or object to extract fields from"
        return {}, [_error(["body"], msg, "model_attributes_type", data)]
    errors: Errors = []
    if op.body_closed:
        known = {facts.name for facts in op.body_fields}
        for name in data:
            if name not in known:
                extra = "Extra inputs are not permitted"
                errors.append(_error(["body", name], extra, "extra_forbidden", data[name]))
    for facts in op.body_fields:
        loc: list[str | int] = ["body", facts.name]
        if facts.name not in data:
            if facts.required:
                errors.append(_error(loc, "Field required", "missing", data))
            continue
        value = data[facts.name]
        wrong = _check(facts, value, loc)
        errors += wrong
        if not wrong and facts.type == "integer" and type(value) is float:
            data[facts.name] = int(value)  # the operation sees what Pydantic would give it
    return data, errors


class UnparseableBody(Exception):
    """A body `json` cannot turn into values: FastAPI answers 400, not 422 (`unparseable`)."""


def unparseable() -> Answer:
    """FastAPI's answer when reading the body fails other than as a JSON syntax error."""
    return detail(400, "There was an error parsing the body")
