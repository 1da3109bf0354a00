"""Checking a success body against the spec's response schema, at every depth.

The generated `from_dict` trusts what it is given (a number where a name belongs,
null inside a list, a string where cents belong would all pass or fail somewhere
deep with a raw exception), and a wrong balance shown as money is worse than an
error. `checker(schema)` compiles the schema facts (`spec_facts.SCHEMAS`) into one
function per schema, once, which names the first problem and where it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any, str], "str | None"]


def _is_integer(value: Any) -> bool:
    return (type(value) is int) or (type(value) is float and value.is_integer())


_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": lambda v: type(v) in (int, float),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


class _Compiler:
    def __init__(self, schemas: Mapping[str, Any]) -> None:
        self._schemas = schemas
        self._named: dict[str, Check] = {}

    def ref(self, name: str) -> Check:
        if name not in self._named:
            cell: list[Check] = []
            # Recursive schemas: callers hold this trampoline until the real one is built.
            self._named[name] = lambda value, at: cell[0](value, at)
            cell.append(self.compile(self._schemas.get(name, {})))
            self._named[name] = cell[0]
        return self._named[name]

    def compile(self, schema: Any) -> Check:
        if not isinstance(schema, dict) or not schema:
            return lambda value, at: None
        if "$ref" in schema:
            return self.ref(str(schema["$ref"]).rsplit("/", 1)[-1])
        checks: list[Check] = []
        for key in ("anyOf", "oneOf"):
            if key in schema:
                checks.append(self._any([self.compile(b) for b in schema[key]]))
        for branch in schema.get("allOf", []):
            checks.append(self.compile(branch))
        kinds = schema.get("type")
        if kinds is not None:
            names = [kinds] if isinstance(kinds, str) else list(kinds)
            if schema.get("nullable"):
                names.append("null")
            checks.append(self._type(names))
        if "enum" in schema:
            allowed = list(schema["enum"])
            checks.append(
                lambda v, at: None if v in allowed else f"{at}: {v!r:.40} is not one of {allowed}"
            )
        if "properties" in schema or "required" in schema:
            checks.append(self._object(schema))
        if "items" in schema:
            checks.append(self._array(self.compile(schema["items"])))
        if len(checks) == 1:
            return checks[0]

        def all_of(value: Any, at: str) -> str | None:
            for check in checks:
                problem = check(value, at)
                if problem is not None:
                    return problem
            return None

        return all_of

    @staticmethod
    def _any(branches: list[Check]) -> Check:
        def any_of(value: Any, at: str) -> str | None:
            first = None
            for check in branches:
                problem = check(value, at)
                if problem is None:
                    return None
                first = first or problem
            return first

        return any_of

    @staticmethod
    def _type(names: list[str]) -> Check:
        tests = [_TYPES[n] for n in names if n in _TYPES]
        expected = " or ".join(names)

        def of_type(value: Any, at: str) -> str | None:
            for test in tests:
                if test(value):
                    return None
            return f"{at}: expected {expected}, got {_kind(value)}"

        return of_type

    def _object(self, schema: dict[str, Any]) -> Check:
        required = list(schema.get("required", []))
        fields = [(name, self.compile(sub)) for name, sub in schema.get("properties", {}).items()]

        def of_object(value: Any, at: str) -> str | None:
            if not isinstance(value, dict):
                return None  # the type check, if the schema has one, says what is wrong
            for name in required:
                if name not in value:
                    return f"{at}.{name}: required field missing"
            for name, check in fields:
                if name in value:
                    problem = check(value[name], f"{at}.{name}")
                    if problem is not None:
                        return problem
            return None

        return of_object

    @staticmethod
    def _array(item: Check) -> Check:
        def of_array(value: Any, at: str) -> str | None:
            if not isinstance(value, list):
                return None
            for index, element in enumerate(value):
                problem = item(element, f"{at}[{index}]")
                if problem is not None:
                    return problem
            return None

        return of_array


def checker(schema: Any, schemas: Mapping[str, Any]) -> Check:
    """One function that returns the first problem of a value against `schema`, or None."""
    return _Compiler(schemas).compile(schema)
