"""Checking a control request against its JSON Schema: the small subset the control API uses.

The runtime dependencies stay httpx, attrs, python-dateutil and filelock, so this
reads only the keywords `schemas/control-api.json` writes: type, enum, const,
properties, required, additionalProperties, minimum, maximum, minLength,
maxLength, items, minItems (`integers` then makes a whole float an int where an
integer is wanted). Keywords it does not know are ignored (the tests
check the file and every answer against the full Draft 2020-12 rules with the
`jsonschema` package). The first error found is reported, naming the field.
"""

from __future__ import annotations

import math
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
    "integer": (int,),
    "number": (int, float),
}


class SchemaError(Exception):
    """A value that does not match its schema: `field` (dotted path, or None) and why."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


def check(value: Any, schema: dict[str, Any], where: str | None = None) -> None:
    """Raise SchemaError for the first way `value` breaks `schema`."""
    _check_type(value, schema, where)
    if "const" in schema and not _same(value, schema["const"]):
        raise SchemaError(where, f"must be {schema['const']!r}")
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        raise SchemaError(where, f"{_shown(value)} is not one of {schema['enum']}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        _check_number(value, schema, where)
    if isinstance(value, str):
        _check_length(len(value), schema, where, "characters")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            raise SchemaError(where, f"at least {schema['minItems']} items are needed")
        for index, item in enumerate(value):
            check(item, schema.get("items", {}), _join(where, str(index)))
    if isinstance(value, dict):
        _check_object(value, schema, where)


def _check_type(value: Any, schema: dict[str, Any], where: str | None) -> None:
    wanted = schema.get("type")
    if wanted is None:
        return
    names = [wanted] if isinstance(wanted, str) else list(wanted)
    for name in names:
        if isinstance(value, _TYPES[name]) and (name == "boolean" or not isinstance(value, bool)):
            return
        if name == "integer" and isinstance(value, float) and value.is_integer():
            return  # JSON Schema: 1.0 is an integer (`integers` turns it into 1)
    raise SchemaError(where, f"{_shown(value)} is not of type {' or '.join(names)}")


def _check_number(value: float, schema: dict[str, Any], where: str | None) -> None:
    if not math.isfinite(value):
        raise SchemaError(where, "must be a finite number")
    if "minimum" in schema and value < schema["minimum"]:
        raise SchemaError(where, f"{value!r} is below the minimum of {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        raise SchemaError(where, f"{value!r} is over the maximum of {schema['maximum']}")


def _check_length(length: int, schema: dict[str, Any], where: str | None, unit: str) -> None:
    if length < schema.get("minLength", 0):
        raise SchemaError(where, f"at least {schema['minLength']} {unit} are needed")
    if "maxLength" in schema and length > schema["maxLength"]:
        raise SchemaError(where, f"at most {schema['maxLength']} {unit} are allowed")


def _check_object(value: dict[str, Any], schema: dict[str, Any], where: str | None) -> None:
    properties: dict[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            raise SchemaError(_join(where, name), "is required")
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            check(item, properties[name], _join(where, name))
        elif extra is False:
            allowed = ", ".join(properties) or "none"
            raise SchemaError(_join(where, name), f"is not a known field (known: {allowed})")
        elif isinstance(extra, dict):
            check(item, extra, _join(where, name))


def _same(value: Any, expected: Any) -> bool:
    return type(value) is type(expected) and value == expected


def _join(where: str | None, name: str) -> str:
    return f"{where}.{name}" if where else name


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"a {type(value).__name__}"


def integers(value: Any, schema: dict[str, Any]) -> Any:
    """`value` (already checked) with each whole float where the schema wants an integer
    (and not any number) made an int: 2.0 becomes 2, as JSON Schema reads it."""
    wanted = schema.get("type")
    names = [wanted] if isinstance(wanted, str) else list(wanted or [])
    if isinstance(value, float) and "integer" in names and "number" not in names:
        return int(value)
    if isinstance(value, list):
        return [integers(item, schema.get("items", {})) for item in value]
    if isinstance(value, dict):
        properties: dict[str, Any] = schema.get("properties", {})
        return {name: integers(item, properties.get(name, {})) for name, item in value.items()}
    return value
