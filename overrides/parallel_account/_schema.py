"""Checking a success body against the spec's response schema, at every depth.

The generated `from_dict` trusts what it is given (a number where a name belongs,
null inside a list, a string where cents belong would all pass or fail somewhere
deep with a raw exception), and a wrong balance shown as money is worse than an
error. `checker(schema)` compiles the schema facts (`spec_facts.SCHEMAS`) into one
function per schema, once, which names the first problem and where it is.

Speed matters (a list of 10,000 apps is checked on every call), so checks compare
exact Python types (what `json.loads` makes) in sets, and a problem's location is
built only on failure, as it travels up (`.apps[3].app_id: expected string, got null`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import chain
from operator import itemgetter
from typing import Any

# A check returns None when the value is fine, else "<location suffix>: <problem>".
Check = Callable[[Any], "str | None"]

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}
_NAMES = {
    type(None): "null",
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}


def _fine(value: Any) -> str | None:
    return None


class _Compiler:
    def __init__(self, schemas: Mapping[str, Any]) -> None:
        self._schemas = schemas
        self._named: dict[str, Check] = {}

    def ref(self, name: str) -> Check:
        if name not in self._named:
            cell: list[Check] = []
            # Recursive schemas: callers hold this trampoline until the real one is built.
            self._named[name] = lambda value: cell[0](value)
            cell.append(self.compile(self._schemas.get(name, {})))
            self._named[name] = cell[0]
        return self._named[name]

    def compile(self, schema: Any) -> Check:
        if not isinstance(schema, dict) or not schema:
            return _fine
        if "$ref" in schema:
            return self.ref(str(schema["$ref"]).rsplit("/", 1)[-1])
        checks: list[Check] = []
        for key in ("anyOf", "oneOf"):
            if key in schema:
                checks.append(self._any([self.compile(b) for b in schema[key]]))
        checks += [self.compile(branch) for branch in schema.get("allOf", [])]
        types = self._types(schema)
        is_object = "properties" in schema or "required" in schema
        # An object schema's type check is done by the object check itself (one call).
        if types is not None and not (is_object and types == _DICT_ONLY):
            checks.append(self._type(types))
        if "enum" in schema:
            allowed = list(schema["enum"])
            checks.append(
                lambda v: None if v in allowed else f": {v!r:.40} is not one of {allowed}"
            )
        if is_object:
            checks.append(self._object(schema, strict=types == _DICT_ONLY))
        if "items" in schema:
            checks.append(self._array(self.compile(schema["items"])))
        if not checks:
            return _fine
        if len(checks) == 1:
            return checks[0]

        def all_of(value: Any) -> str | None:
            for check in checks:
                problem = check(value)
                if problem is not None:
                    return problem
            return None

        return all_of

    @staticmethod
    def _any(branches: list[Check]) -> Check:
        def any_of(value: Any) -> str | None:
            first = None
            for check in branches:
                problem = check(value)
                if problem is None:
                    return None
                first = first or problem
            return first

        return any_of

    @staticmethod
    def _types(schema: dict[str, Any]) -> frozenset[type] | None:
        kinds = schema.get("type")
        if kinds is None:
            return None
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        if schema.get("nullable"):
            names.append("null")
        return frozenset(t for n in names for t in _PY_TYPES.get(n, ()))

    @staticmethod
    def _type(types: frozenset[type]) -> Check:
        expected = " or ".join(sorted({_NAMES[t] for t in types}))
        integral_float = int in types and float not in types

        def of_type(value: Any) -> str | None:
            kind = type(value)
            if kind in types or (integral_float and kind is float and value.is_integer()):
                return None
            return f": expected {expected}, got {_NAMES.get(kind, kind.__name__)}"

        return of_type

    def _object(self, schema: dict[str, Any], *, strict: bool) -> Check:
        required = tuple(schema.get("required", []))
        properties = schema.get("properties", {})
        # Fields whose schema is only a type are checked inline: no call per field.
        simple: list[tuple[str, frozenset[type]]] = []
        nested: list[tuple[str, Check]] = []
        for name, sub in properties.items():
            types = self._types(sub) if isinstance(sub, dict) else None
            if types is not None and set(sub) <= {"type", "nullable"} and int not in types:
                simple.append((name, types))
            else:
                nested.append((name, self.compile(sub)))

        def of_object(value: Any) -> str | None:
            if type(value) is not dict:
                # Without `type: object` in the schema, a non-object passes (JSON Schema).
                kind = type(value)
                return (
                    f": expected object, got {_NAMES.get(kind, kind.__name__)}" if strict else None
                )
            for name in required:
                if name not in value:
                    return f".{name}: required field missing"
            for name, types in simple:
                if name in value and type(value[name]) not in types:
                    kind = type(value[name])
                    expected = " or ".join(sorted({_NAMES[t] for t in types}))
                    return f".{name}: expected {expected}, got {_NAMES.get(kind, kind.__name__)}"
            for name, check in nested:
                if name in value:
                    problem = check(value[name])
                    if problem is not None:
                        return f".{name}{problem}"
            return None

        if not nested and {name for name, _ in simple} == set(required):
            # Every field required and plain: arrays of these are checked column-wise.
            _FLAT[of_object] = ([name for name, _ in simple], [types for _, types in simple])
        return of_object

    @staticmethod
    def _array(item: Check) -> Check:
        flat = _FLAT.get(item)

        def of_array(value: Any) -> str | None:
            if type(value) is not list:
                return None
            if flat is not None and _flat_rows_fine(value, *flat):
                return None
            for index, element in enumerate(value):
                problem = item(element)
                if problem is not None:
                    return f"[{index}]{problem}"
            return None

        return of_array


# Object checks whose fields are all required and plain: (names, their allowed types).
_FLAT: dict[Check, tuple[list[str], list[frozenset[type]]]] = {}
_DICT_ONLY = frozenset({dict})
_STR_ONLY = frozenset({str})


def _flat_rows_fine(rows: list[Any], names: list[str], types: list[frozenset[type]]) -> bool:
    """True when every row is an object with every field of an allowed type.

    Done with C-level iteration (itemgetter, str.join, set), several times faster than a
    Python loop per row; anything else (False) sends the caller to the row-by-row check, which
    finds and names the problem.
    """
    if not rows:
        return True
    if not set(map(type, rows)) <= _DICT_ONLY or not names:
        return not names and set(map(type, rows)) <= _DICT_ONLY
    try:
        table = list(map(itemgetter(*names), rows))
    except KeyError:
        return False
    if len(names) == 1:
        table = [(value,) for value in table]
    if all(allowed == _STR_ONLY for allowed in types):
        # str.join refuses anything but str, at C speed: the common case (ids, names).
        try:
            "".join(chain.from_iterable(table))
        except TypeError:
            return False
        return True
    columns = zip(*table, strict=True)
    return all(
        set(map(type, column)) <= allowed for column, allowed in zip(columns, types, strict=True)
    )


def checker(schema: Any, schemas: Mapping[str, Any]) -> Check:
    """One function giving the first problem of a value against `schema` (None if fine)."""
    return _Compiler(schemas).compile(schema)
