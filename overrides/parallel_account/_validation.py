"""Check arguments against the spec's facts before anything is sent.

Bounds, lengths and formats come from `parallel_account_api.spec_facts`, which
`make generate` writes from openapi.json: a changed bound upstream changes the
check here without anyone editing this file. A violation raises
InvalidRequestError naming the parameter, what was wrong and what is allowed.
"""

from __future__ import annotations

import math
import re
import uuid
from typing import Any

from parallel_account._errors import InvalidRequestError
from parallel_account._schema import FORMATS, Check, Resolver, refusing_check
from parallel_account_api.spec_facts import FieldFacts


def check_encodable(name: str, value: str) -> None:
    """Refuse text that cannot travel as UTF-8 (a lone surrogate, as from surrogateescape)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequestError(
            f"{name}: a str of {len(value)} characters that is not valid Unicode text (a lone "
            "surrogate); expected text that can be encoded as UTF-8"
        ) from None


def _describe(value: object) -> str:
    """The offending value for a message: short scalars as they are, otherwise only the type."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return f"an int of {len(str(abs(value))) if abs(value).bit_length() < 14000 else 'thousands of'} digits"
    if isinstance(value, str) and (len(value) > 40 or not value.isprintable()):
        if len(value) <= 40 and value.isascii():
            return ascii(value)
        return f"a str of {len(value)} characters"
    if isinstance(value, str | int | float | bool) or value is None:
        return repr(value)
    return f"a {type(value).__name__}"


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _allowed_range(name: str, facts: FieldFacts) -> str:
    low = (
        f"{_fmt(facts.exclusive_minimum)} < "
        if facts.exclusive_minimum is not None
        else f"{_fmt(facts.minimum)} <= "
        if facts.minimum is not None
        else ""
    )
    high = (
        f" < {_fmt(facts.exclusive_maximum)}"
        if facts.exclusive_maximum is not None
        else f" <= {_fmt(facts.maximum)}"
        if facts.maximum is not None
        else ""
    )
    return f"{low}{name}{high}"


def _in_range(value: float, facts: FieldFacts) -> bool:
    return not (
        (facts.minimum is not None and value < facts.minimum)
        or (facts.maximum is not None and value > facts.maximum)
        or (facts.exclusive_minimum is not None and value <= facts.exclusive_minimum)
        or (facts.exclusive_maximum is not None and value >= facts.exclusive_maximum)
    )


# Whatever the spec's bounds, no amount or count is this large; a larger number is a bug
# on the caller's side (and Python cannot even print one of over 4300 digits).
MAX_MAGNITUDE = 10**30


def check_integer(name: str, value: object, facts: FieldFacts) -> int:
    allowed = f"an int with {_allowed_range(name, facts)}"
    # bool is an int subclass, and True would quietly mean 1 cent.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(f"{name}: got {_describe(value)}; expected {allowed}")
    if abs(value) > MAX_MAGNITUDE or not _in_range(value, facts):
        raise InvalidRequestError(f"{name}: {_describe(value)} is out of range; expected {allowed}")
    return value


def check_number(name: str, value: object, facts: FieldFacts) -> float:
    allowed = f"a number with {_allowed_range(name, facts)}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_MAGNITUDE:
        raise InvalidRequestError(f"{name}: {_describe(value)} is out of range; expected {allowed}")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidRequestError(f"{name}: got {_describe(value)}; expected {allowed}")
    if not _in_range(value, facts):
        raise InvalidRequestError(f"{name}: {_describe(value)} is out of range; expected {allowed}")
    return value


def _length_rule(facts: FieldFacts, *, non_empty: bool) -> str:
    low = facts.min_length if facts.min_length is not None else (1 if non_empty else None)
    if low is not None and facts.max_length is not None:
        return f"{low} to {facts.max_length} characters"
    if low is not None:
        return f"at least {low} character{'s' if low != 1 else ''}"
    if facts.max_length is not None:
        return f"at most {facts.max_length} characters"
    return "any length"


def check_string(name: str, value: object, facts: FieldFacts, *, non_empty: bool = False) -> str:
    """A str within the spec's length bounds (and non-empty where a path segment needs it)."""
    rule = _length_rule(facts, non_empty=non_empty)
    if not isinstance(value, str):
        raise InvalidRequestError(f"{name}: got {_describe(value)}; expected a str of {rule}")
    low = facts.min_length if facts.min_length is not None else (1 if non_empty else 0)
    if len(value) < low or (facts.max_length is not None and len(value) > facts.max_length):
        raise InvalidRequestError(
            f"{name}: {len(value)} characters is out of range; expected a str of {rule}"
        )
    if facts.pattern is not None and re.search(facts.pattern, value) is None:
        raise InvalidRequestError(f"{name}: {_describe(value)} does not match {facts.pattern!r}")
    if facts.enum is not None and value not in facts.enum:
        raise InvalidRequestError(f"{name}: {_describe(value)} is not one of {list(facts.enum)}")
    return value


def check_uuid(name: str, value: object) -> str:
    """A uuid.UUID or a UUID string; returned in canonical lowercase hyphenated form."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    raise InvalidRequestError(
        f"{name}: got {_describe(value)}; expected a UUID (uuid.UUID or a string like "
        "'123e4567-e89b-12d3-a456-426614174000')"
    )


# Characters that would end a path segment or change how the URL layer reads it:
# `/` starts another segment, `?` and `#` end the path, `%` would be read as an escape,
# and white space or controls are rewritten or refused by some layer between us and
# the server.
_SEGMENT_BREAKERS = re.compile(r"[/?#%\\\s\x00-\x1f\x7f]")


# URLs longer than about 8 KB are refused by common servers and proxies (414); no id
# comes near this, and a longer one is a bug on the caller's side, said before sending.
MAX_PATH_SEGMENT = 1024


def check_path_segment(name: str, value: str) -> str:
    """A value that stays one path segment, sent as written.

    `.` and `..` are removed by URL normalisation (RFC 3986 section 5.2.4), so
    `DELETE .../keys/..` would address the app itself: refused, like any value the
    URL layer would split or rewrite.
    """
    if len(value) > MAX_PATH_SEGMENT:
        raise InvalidRequestError(
            f"{name}: a str of {len(value)} characters; expected at most {MAX_PATH_SEGMENT} "
            "characters for a value that goes into the URL"
        )
    if value in (".", "..") or _SEGMENT_BREAKERS.search(value):
        raise InvalidRequestError(
            f"{name}: {_describe(value)} cannot be a path segment; expected a value without "
            "'/', '?', '#', '%', '\\', white space or control characters, and not '.' or '..'"
        )
    return value


_FACT_KEYWORDS = (
    ("format", "format"),
    ("minimum", "minimum"),
    ("maximum", "maximum"),
    ("exclusiveMinimum", "exclusive_minimum"),
    ("exclusiveMaximum", "exclusive_maximum"),
    ("minLength", "min_length"),
    ("maxLength", "max_length"),
    ("pattern", "pattern"),
)


def field_schema(facts: FieldFacts) -> dict[str, Any]:
    """An argument's JSON schema: the whole one where the facts carry it, else the scalar
    facts written as one (for the schema engine's sampler and checks)."""
    if isinstance(facts.schema, dict):
        return facts.schema
    schema: dict[str, Any] = {"type": facts.type} if facts.type else {}
    for keyword, attribute in _FACT_KEYWORDS:
        if getattr(facts, attribute) is not None:
            schema[keyword] = getattr(facts, attribute)
    if facts.enum is not None:
        schema["enum"] = list(facts.enum)
    return schema


def spec_resolver() -> Resolver:
    """The resolver of the pinned spec's `$ref`s (the spec read on first use)."""
    if not _RESOLVER:
        from parallel_account._spec import spec

        _RESOLVER.append(Resolver(spec()))
    return _RESOLVER[0]


_SCHEMA_CHECKS: dict[int, tuple[FieldFacts, Check]] = {}
_RESOLVER: list[Resolver] = []


def json_form(value: object) -> Any:
    """What the value is as JSON: generated models by their `to_dict`, containers inside."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if isinstance(value, list | tuple):
        return [json_form(item) for item in value]
    if isinstance(value, dict):
        return {key: json_form(item) for key, item in value.items()}
    return value


def schema_check(facts: FieldFacts) -> Check:
    """The compiled check of an argument's whole schema (`facts.schema`), made once."""
    cached = _SCHEMA_CHECKS.get(id(facts))
    if cached is None or cached[0] is not facts:
        compiled = refusing_check(facts.schema, spec_resolver())
        cached = _SCHEMA_CHECKS[id(facts)] = (facts, compiled)
    return cached[1]


def check_schema(name: str, value: object, facts: FieldFacts) -> None:
    """Check an argument the scalar facts cannot describe against its whole schema.

    Done by the schema engine, `$ref`s resolved in the pinned spec (read on first use):
    `items: .items[2].quantity: expected integer, got string`.
    """
    if facts.schema is None:
        return
    try:
        problem = schema_check(facts)(json_form(value))
    except RecursionError:
        problem = ": nested too deeply"
    if problem is not None:
        where, _, why = problem.partition(": ")
        raise InvalidRequestError(f"{name}{where}: {why}")


# String formats checked here by the schema engine's own test (times are parsed by the
# request builder, uuids above), with an example for the message.
_TEXT_FORMATS = {"email": "someone@example.com", "uri": "https://example.com/"}


def check_field(
    name: str, value: object, facts: FieldFacts, *, path_segment: bool = False
) -> object:
    """Check `value` against one parameter's or property's facts; return it normalised."""
    if isinstance(value, str):
        check_encodable(name, value)
    check_schema(name, value, facts)
    if facts.format == "uuid":
        return check_uuid(name, value)
    if facts.type == "integer":
        return check_integer(name, value, facts)
    if facts.type == "number":
        return check_number(name, value, facts)
    if facts.type == "string":
        # An empty path segment would silently address a different resource.
        text = check_string(name, value, facts, non_empty=path_segment)
        if facts.format in _TEXT_FORMATS and not FORMATS[facts.format](text):
            raise InvalidRequestError(
                f"{name}: {_describe(text)} is not an {facts.format}; "
                f"expected e.g. {_TEXT_FORMATS[facts.format]!r}"
            )
        return check_path_segment(name, text) if path_segment else text
    if facts.type == "boolean" and not isinstance(value, bool):
        raise InvalidRequestError(f"{name}: got {_describe(value)}; expected True or False")
    return value
