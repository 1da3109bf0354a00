"""The validator: a schema compiled, once, into one function naming a value's first problem.

`compile_check(schema, resolver)` gives a `Check`: it returns None when the value is
valid, else `"<location>: <problem>"`, the location built only on failure as the
problem travels up (`.apps[3].app_id: expected string, got null`).

Speed matters (the client checks a list of 10,000 apps on every call): checks compare
exact Python types (what `json.loads` makes) in sets, plain fields are checked inline,
and an array of flat objects is checked column-wise at C speed before falling back to
the row-by-row check that names the problem.
"""

from __future__ import annotations

import datetime
import math
import operator
import re
import weakref
from collections.abc import Callable, Mapping
from itertools import chain
from operator import itemgetter
from typing import Any, Final

from parallel_account._schema._resolve import (
    MAX_DEPTH,
    Resolver,
    SchemaError,
    SchemaRefError,
    siblings,
)

# A check returns None when the value is fine, else "<location suffix>: <problem>".
Check = Callable[[Any], "str | None"]

PY_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}
_NAMES: Final[dict[type, str]] = {
    type(None): "null",
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}

# Compiled on first use: most clients never meet a format (import time matters for the CLI).
_PATTERNS: Final[dict[str, str]] = {
    "date-time": r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)",
    "date": r"\d{4}-\d\d-\d\d",
    "uuid": r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    "email": r"[^@\s]+@[^@\s]+",
    "uri": r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]*",
}


def _shaped(fmt: str, text: str) -> bool:
    return re.fullmatch(_PATTERNS[fmt], text, re.ASCII) is not None


def _date_time(text: str) -> bool:
    if not _shaped("date-time", text):
        return False
    try:
        datetime.datetime.fromisoformat(text.upper().replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        return False
    return True


def _date(text: str) -> bool:
    if not _shaped("date", text):
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


# The formats checked; any other format is an annotation (as JSON Schema 2020-12 says).
FORMATS: Final[dict[str, Callable[[str], bool]]] = {
    "date-time": _date_time,
    "date": _date,
    "uuid": lambda text: _shaped("uuid", text),
    "email": lambda text: _shaped("email", text),
    "uri": lambda text: _shaped("uri", text),
}


def type_name(value: Any) -> str:
    kind = type(value)
    return _NAMES.get(kind, kind.__name__)


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"a {type_name(value)}"


def json_equal(a: Any, b: Any) -> bool:
    """Equal as JSON values: 1 == 1.0, but True is not 1 and "1" is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def _fine(value: Any) -> str | None:
    return None


def _nothing(value: Any) -> str | None:
    return ": no value is allowed here (schema false)"


def types_of(schema: Mapping[str, Any]) -> frozenset[type] | None:
    """The Python types a schema's `type` (and 3.0 `nullable`) allows; None: any."""
    kinds = schema.get("type")
    if kinds is None:
        return None
    names = [kinds] if isinstance(kinds, str) else list(kinds)
    if schema.get("nullable") is True:
        names.append("null")
    unknown = [n for n in names if n not in PY_TYPES]
    if unknown:
        raise SchemaError(f"type {unknown[0]!r} is not a JSON Schema type")
    return frozenset(t for n in names for t in PY_TYPES[n])


def _numeric(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


Bound = tuple[str, Any, Callable[[Any, Any], Any]]


def bounds(schema: Mapping[str, Any]) -> list[Bound]:
    """(keyword, limit, test(value, limit)) for each numeric bound, in 3.0 and 3.1 forms."""
    found: list[Bound] = []
    low: Any = schema.get("minimum")
    high: Any = schema.get("maximum")
    low_open: Any = schema.get("exclusiveMinimum")
    high_open: Any = schema.get("exclusiveMaximum")
    if _numeric(low):  # OpenAPI 3.0: `exclusiveMinimum: true` is a flag on `minimum`
        found.append(
            ("exclusiveMinimum", low, operator.gt)
            if low_open is True
            else ("minimum", low, operator.ge)
        )
    if _numeric(high):
        found.append(
            ("exclusiveMaximum", high, operator.lt)
            if high_open is True
            else ("maximum", high, operator.le)
        )
    if _numeric(low_open):
        found.append(("exclusiveMinimum", low_open, operator.gt))
    if _numeric(high_open):
        found.append(("exclusiveMaximum", high_open, operator.lt))
    return found


_WORDS: Final = {
    "minimum": "below the minimum of",
    "maximum": "over the maximum of",
    "exclusiveMinimum": "not above the exclusive minimum of",
    "exclusiveMaximum": "not below the exclusive maximum of",
}


class Compiler:
    """Compiles schemas of one document; each `$ref` is compiled once and shared."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self._named: dict[str, Check] = {}
        # Refs being compiled: a reference back to one (through a value) gets a trampoline.
        self._cells: dict[str, list[Check]] = {}
        self._depth = 0

    def ref(self, ref: object, guard: frozenset[str]) -> Check:
        """The check of the schema `ref` names. `guard`: refs entered since the last step
        into a value; meeting one of them again is a loop no value could end."""
        name = self.resolver.canonical(str(ref))
        if name in guard:
            raise SchemaRefError(str(ref), "is cyclic: it refers to itself without nesting")
        if name in self._named:
            return self._named[name]
        if name in self._cells:
            cell = self._cells[name]
            return lambda value: cell[0](value)
        target = self.resolver.schema(ref)
        self._cells[name] = cell = []
        check = self.compile(target, guard | {name})
        cell.append(check)
        del self._cells[name]
        self._named[name] = check
        return check

    def compile(self, schema: Any, guard: frozenset[str] = frozenset()) -> Check:
        if schema is True:
            return _fine
        if schema is False:
            return _nothing
        if not isinstance(schema, dict):
            raise SchemaError(f"a schema must be an object or a boolean, not {shown(schema)}")
        if self._depth >= MAX_DEPTH:
            raise SchemaError(f"a schema nested more than {MAX_DEPTH} levels deep")
        self._depth += 1
        try:
            checks: list[Check] = []
            if "$ref" in schema:
                checks.append(self.ref(schema["$ref"], guard))
                schema = siblings(schema)
            checks += self._keywords(schema, guard)
        finally:
            self._depth -= 1
        if not checks:
            return _fine
        if len(checks) == 1:
            return checks[0]
        return _all(checks)

    def _keywords(self, schema: dict[str, Any], guard: frozenset[str]) -> list[Check]:
        checks: list[Check] = []
        if isinstance(schema.get("allOf"), list):
            checks += [self.compile(part, guard) for part in schema["allOf"]]
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list):
                branches = [self.compile(b, guard) for b in schema[key]]
                picked = self._discriminated(schema, key, guard)
                checks.append(
                    _one_of(branches, picked) if key == "oneOf" else _any_of(branches, picked)
                )
        if "not" in schema:
            inner = self.compile(schema["not"], guard)
            checks.append(
                lambda v: ": must not match the schema under `not`" if inner(v) is None else None
            )
        types = types_of(schema)
        is_object = any(k in schema for k in ("properties", "required", "additionalProperties"))
        # An object schema's type check is done by the object check itself (one call).
        if types is not None and not (is_object and types == _DICT_ONLY):
            checks.append(_of_type(types))
        if "const" in schema:
            const = schema["const"]
            checks.append(lambda v: None if json_equal(v, const) else f": must be {shown(const)}")
        if isinstance(schema.get("enum"), list):
            checks.append(_enum(schema["enum"]))
        checks += _scalars(schema)
        if is_object or any(k in schema for k in ("minProperties", "maxProperties")):
            checks.append(self._object(schema, types == _DICT_ONLY, guard))
        if any(
            k in schema for k in ("items", "prefixItems", "minItems", "maxItems", "uniqueItems")
        ):
            checks.append(self._array(schema))
        return checks

    def _discriminated(
        self, schema: dict[str, Any], key: str, guard: frozenset[str]
    ) -> tuple[str, dict[str, Check]] | None:
        """(property, its value -> the branch's check) for a discriminator over `$ref` branches."""
        discriminator = schema.get("discriminator")
        if not isinstance(discriminator, dict) or not isinstance(
            discriminator.get("propertyName"), str
        ):
            return None
        by_target: dict[str, Any] = {}
        for branch in schema[key]:
            if isinstance(branch, dict) and isinstance(branch.get("$ref"), str):
                by_target[self.resolver.canonical(branch["$ref"])] = branch
        names: dict[str, Check] = {}
        for pointer, branch in by_target.items():
            names[pointer.rsplit("/", 1)[-1]] = self.compile(branch, guard)
        for tag, ref in (discriminator.get("mapping") or {}).items():
            branch = by_target.get(self.resolver.canonical(str(ref)), {"$ref": ref})
            names[str(tag)] = self.compile(branch, guard)
        return discriminator["propertyName"], names

    def _object(self, schema: dict[str, Any], strict: bool, guard: frozenset[str]) -> Check:
        required = tuple(r for r in schema.get("required", []) if isinstance(r, str))
        properties: dict[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties", True)
        extra_check = None if extra is True else self.compile(extra, frozenset())
        fewest, most = schema.get("minProperties"), schema.get("maxProperties")
        # Fields whose schema is only a type are checked inline: no call per field.
        simple: list[tuple[str, frozenset[type]]] = []
        nested: list[tuple[str, Check]] = []
        for name, sub in properties.items():
            plain = isinstance(sub, dict) and set(sub) - _IGNORED_IN_PLAIN <= {"type", "nullable"}
            types = types_of(sub) if plain else None
            if types is not None and int not in types:
                simple.append((name, types))
            else:
                nested.append((name, self.compile(sub, frozenset())))
        known = frozenset(properties)

        def of_object(value: Any) -> str | None:
            if type(value) is not dict:
                # Without `type: object` in the schema, a non-object passes (JSON Schema).
                return f": expected object, got {type_name(value)}" if strict else None
            for name in required:
                if name not in value:
                    return f".{name}: required field missing"
            for name, types in simple:
                if name in value and type(value[name]) not in types:
                    expected = " or ".join(sorted({_NAMES[t] for t in types}))
                    return f".{name}: expected {expected}, got {type_name(value[name])}"
            for name, check in nested:
                if name in value:
                    problem = check(value[name])
                    if problem is not None:
                        return f".{name}{problem}"
            if extra_check is not None:
                for name in value.keys() - known:
                    problem = extra_check(value[name])
                    if problem is not None:
                        if extra is False:
                            return (
                                f".{name}: not a known field (known: {', '.join(known) or 'none'})"
                            )
                        return f".{name}{problem}"
            if fewest is not None and len(value) < fewest:
                return f": at least {fewest} fields are needed"
            if most is not None and len(value) > most:
                return f": at most {most} fields are allowed"
            return None

        if (
            not nested
            and {name for name, _ in simple} == set(required)
            and extra_check is None
            and fewest is None
            and most is None
        ):
            # Every field required and plain: arrays of these are checked column-wise.
            _FLAT[of_object] = ([name for name, _ in simple], [types for _, types in simple])
        return of_object

    def _array(self, schema: dict[str, Any]) -> Check:
        prefix = [self.compile(s) for s in schema.get("prefixItems") or []]
        items = schema.get("items")
        item = self.compile(items) if items is not None else _fine
        flat = _FLAT.get(item)
        fewest, most = schema.get("minItems"), schema.get("maxItems")
        unique = schema.get("uniqueItems") is True

        def of_array(value: Any) -> str | None:
            if type(value) is not list:
                return None
            if fewest is not None and len(value) < fewest:
                return f": at least {fewest} items are needed, got {len(value)}"
            if most is not None and len(value) > most:
                return f": at most {most} items are allowed, got {len(value)}"
            for index, check in enumerate(prefix[: len(value)]):
                problem = check(value[index])
                if problem is not None:
                    return f"[{index}]{problem}"
            rest = value[len(prefix) :] if prefix else value
            if item is not _fine and not (flat is not None and _flat_rows_fine(rest, *flat)):
                for index, element in enumerate(rest, start=len(prefix)):
                    problem = item(element)
                    if problem is not None:
                        return f"[{index}]{problem}"
            if unique:
                for i, a in enumerate(value):
                    if any(json_equal(a, b) for b in value[i + 1 :]):
                        return f"[{i}]: appears twice, but items must be unique"
            return None

        return of_array


# Keys that may stand next to `type` in a property still checked inline.
_IGNORED_IN_PLAIN: Final = frozenset(
    {"title", "description", "example", "examples", "deprecated", "readOnly", "writeOnly"}
)


def _all(checks: list[Check]) -> Check:
    def all_of(value: Any) -> str | None:
        for check in checks:
            problem = check(value)
            if problem is not None:
                return problem
        return None

    return all_of


def _any_of(branches: list[Check], picked: tuple[str, dict[str, Check]] | None) -> Check:
    def any_of(value: Any) -> str | None:
        if picked is not None and type(value) is dict and value.get(picked[0]) in picked[1]:
            return picked[1][value[picked[0]]](value)
        first = None
        for check in branches:
            problem = check(value)
            if problem is None:
                return None
            first = first or problem
        return first

    return any_of


def _one_of(branches: list[Check], picked: tuple[str, dict[str, Check]] | None) -> Check:
    def one_of(value: Any) -> str | None:
        if picked is not None and type(value) is dict and value.get(picked[0]) in picked[1]:
            return picked[1][value[picked[0]]](value)
        problems = [check(value) for check in branches]
        matched = problems.count(None)
        if matched == 1:
            return None
        if matched == 0:
            return next((p for p in problems if p is not None), ": oneOf has no branches")
        return f": matches {matched} branches of oneOf, but must match exactly one"

    return one_of


def _of_type(types: frozenset[type]) -> Check:
    expected = " or ".join(sorted({_NAMES[t] for t in types}))
    integral_float = int in types and float not in types

    def of_type(value: Any) -> str | None:
        kind = type(value)
        if kind in types or (integral_float and kind is float and value.is_integer()):
            return None
        return f": expected {expected}, got {type_name(value)}"

    return of_type


def _enum(allowed: list[Any]) -> Check:
    if all(type(option) is str for option in allowed):
        strings = frozenset(allowed)
        return lambda v: (
            None if type(v) is str and v in strings else f": {shown(v)} is not one of {allowed}"
        )
    return lambda v: (
        None if any(json_equal(v, o) for o in allowed) else f": {shown(v)} is not one of {allowed}"
    )


def _bound(words: str, limit: float, passes: Callable[[Any, Any], Any]) -> Check:
    def bound(value: Any) -> str | None:
        if _numeric(value) and not passes(value, limit):
            return f": {shown(value)} is {words} {limit}"
        return None

    return bound


def _scalars(schema: dict[str, Any]) -> list[Check]:
    """Checks of numbers (bounds, multipleOf) and strings (lengths, pattern, format)."""
    checks: list[Check] = []
    for keyword, limit, passes in bounds(schema):
        checks.append(_bound(_WORDS[keyword], limit, passes))
    step: Any = schema.get("multipleOf")
    if _numeric(step) and step > 0:

        def multiple(v: Any) -> str | None:
            if not _numeric(v):
                return None
            quotient = v / step
            if math.isfinite(quotient) and math.isclose(quotient, round(quotient), abs_tol=1e-9):
                return None
            return f": {shown(v)} is not a multiple of {step}"

        checks.append(multiple)
    fewest, most = schema.get("minLength"), schema.get("maxLength")
    if isinstance(fewest, int) or isinstance(most, int):
        low = fewest if isinstance(fewest, int) else 0

        def length(v: Any) -> str | None:
            if type(v) is not str:
                return None
            if len(v) < low:
                return f": at least {low} characters are needed, got {len(v)}"
            if isinstance(most, int) and len(v) > most:
                return f": at most {most} characters are allowed, got {len(v)}"
            return None

        checks.append(length)
    if isinstance(schema.get("pattern"), str):
        try:
            compiled = re.compile(schema["pattern"])
        except re.error as exc:
            raise SchemaError(f"pattern {schema['pattern']!r} cannot be read: {exc}") from None
        checks.append(
            lambda v: (
                f": {shown(v)} does not match {compiled.pattern!r}"
                if type(v) is str and compiled.search(v) is None
                else None
            )
        )
    test = FORMATS.get(schema.get("format", "")) if isinstance(schema.get("format"), str) else None
    if test is not None:
        fmt = schema["format"]
        checks.append(
            lambda v: (
                f": {shown(v)} is not a valid {fmt}" if type(v) is str and not test(v) else None
            )
        )
    return checks


# Object checks whose fields are all required and plain: (names, their allowed types).
_FLAT: weakref.WeakKeyDictionary[Check, tuple[list[str], list[frozenset[type]]]] = (
    weakref.WeakKeyDictionary()
)
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


def compile_check(schema: Any, resolver: Resolver | None = None) -> Check:
    """One function giving the first problem of a value against `schema` (None if fine).

    Raises SchemaError (SchemaRefError for a `$ref`) for a schema it cannot use.
    """
    return Compiler(resolver or Resolver()).compile(schema)


def refusing_check(schema: Any, resolver: Resolver) -> Check:
    """`compile_check`, but a schema the engine cannot use gives a check that refuses every
    value, saying why (for the client at run time: an error, never a raw exception)."""
    try:
        return compile_check(schema, resolver)
    except SchemaError as exc:
        reason = f": the spec's schema here cannot be checked ({exc})"
        return lambda value: reason


def checker(schema: Any, schemas: Mapping[str, Any]) -> Check:
    """`refusing_check` for a schema whose `$ref`s name entries of `schemas` (SCHEMAS)."""
    return refusing_check(schema, Resolver.from_components(schemas))
