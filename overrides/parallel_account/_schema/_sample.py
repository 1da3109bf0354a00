"""The sampler: a valid instance of a schema, chosen as Prism's static mode chooses one.

- the schema's `example`, first `examples`, `default`, `const` or first `enum` value;
- `$ref` resolved by the resolver (siblings apply too); `allOf` merged; `anyOf`/`oneOf`:
  the first branch that is not `null` (a discriminator property set to the branch's name);
- by type: objects with every property (required or not) and `minProperties`;
  arrays with one item, or `minItems` (at most `maxItems`); strings by `format`
  (date-time, date, time, uuid, email, uri, ...) or "string", fitted to
  `pattern`, `minLength` and `maxLength`; numbers 0 or the nearest value inside
  the bounds (exclusive ones too) and a multiple of `multipleOf`; booleans true;
  a schema saying nothing (`{}`): null.

The same schema always gives the same value. Recursive schemas end: once a
`$ref` repeats on the way down, optional properties are left out, arrays get
only `minItems` items and a nullable choice takes null; after a few repeats the
value is the smallest of its type. `uniqueItems` is not enforced.
"""

from __future__ import annotations

import importlib
import math
import re
import string
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeGuard

from parallel_account._schema._check import Compiler
from parallel_account._schema._resolve import (
    MAX_DEPTH,
    MAX_REF_REPEATS,
    Resolver,
    siblings,
)

JSON = Any

FORMAT_SAMPLES: Final[dict[str, str]] = {
    "date-time": "2019-08-24T14:15:22Z",
    "date": "2019-08-24",
    "time": "14:15:22Z",
    "duration": "P3D",
    "uuid": "095be615-a8ad-4c33-8e9c-c7612fbf6c9f",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "uri": "http://example.com",
    "url": "http://example.com",
    "iri": "http://example.com",
    "uri-reference": "../dictionary",
    "iri-reference": "../dictionary",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.168.0.1",
    "ipv6": "2001:db8::1",
    "password": "pa$$word",
    "byte": "U3dhZ2dlciByb2Nrcw==",
    "json-pointer": "/json/pointer",
    "regex": "/regex/",
}
_DEFAULT_STRING: Final = "string"
_LOWER_BOUNDS: Final = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS: Final = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")


def sample(schema: JSON, resolver: Resolver | None = None) -> JSON:
    """A value valid for `schema`, deterministic; `$ref`s resolve with `resolver`.

    Raises SchemaRefError for an unknown or cyclic `$ref`.
    """
    resolver = resolver or Resolver()
    Compiler(resolver).compile(schema)  # an unknown or cyclic ref is an error, not a value
    return _Sampler(resolver).value(schema, (), 0)


class _Sampler:
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver

    def value(self, schema: JSON, refs: tuple[str, ...], depth: int) -> JSON:
        schema, refs = self.deref(schema, refs)
        if schema is None or depth > MAX_DEPTH:
            return _smallest(schema or {})
        cyclic = len(set(refs)) < len(refs)
        given = _given(schema)
        if given:
            return given[0]
        if isinstance(schema.get("allOf"), list):
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                resolved, refs = self.deref(part, refs)
                merged = _merge(merged, resolved or {})
            return self.value(merged, refs, depth + 1)
        for key in ("oneOf", "anyOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                return self.choice(schema, key, refs, depth, cyclic)
        kind = _type(schema, prefer_null=cyclic)
        if kind == "object":
            return self.object(schema, refs, depth, cyclic)
        if kind == "array":
            return self.array(schema, refs, depth, cyclic)
        if kind == "string":
            return _string(schema)
        if kind in ("integer", "number"):
            return _number(schema, integer=kind == "integer")
        if kind == "boolean":
            return True
        return None

    def deref(
        self, schema: JSON, refs: tuple[str, ...]
    ) -> tuple[dict[str, JSON] | None, tuple[str, ...]]:
        """The schema behind `$ref`s (siblings of a `$ref` merged in), and the refs followed.

        None when a ref repeats too often on the way down: the caller cuts the value short.
        An unknown or cyclic ref raises SchemaRefError (from the resolver).
        """
        if schema is True or schema is None:
            return {}, refs
        if not isinstance(schema, dict):
            return None, refs
        while isinstance(schema.get("$ref"), str):
            ref = schema["$ref"]
            refs = (*refs, self.resolver.canonical(ref))
            if refs.count(refs[-1]) > MAX_REF_REPEATS:
                return None, refs
            target = self.resolver.schema(ref)
            target = {} if target is True else target
            if target is False:
                return None, refs
            rest = siblings(schema)
            schema = _merge(rest, target) if rest else target
        return schema, refs

    def choice(
        self, schema: dict[str, JSON], key: str, refs: tuple[str, ...], depth: int, cyclic: bool
    ) -> JSON:
        branches: list[JSON] = schema[key]
        nulls = [b for b in branches if self.is_null(b, refs)]
        others = [b for b in branches if not self.is_null(b, refs)]
        if cyclic and nulls:
            return None
        branch = (others or nulls)[0]
        base = {k: v for k, v in schema.items() if k not in (key, "discriminator")}
        resolved, refs = self.deref(branch, refs)
        value = self.value(_merge(base, resolved or {}), refs, depth + 1)
        tag = _discriminator(schema.get("discriminator"), branch, self.resolver)
        if tag is not None and isinstance(value, dict):
            value[tag[0]] = tag[1]
        return value

    def is_null(self, schema: JSON, refs: tuple[str, ...]) -> bool:
        resolved, _ = self.deref(schema, refs)
        return resolved is not None and (
            resolved.get("type") == "null" or ("const" in resolved and resolved["const"] is None)
        )

    def object(
        self, schema: dict[str, JSON], refs: tuple[str, ...], depth: int, cyclic: bool
    ) -> dict[str, JSON]:
        properties = schema.get("properties") or {}
        required = [r for r in schema.get("required") or [] if isinstance(r, str)]
        extra = schema.get("additionalProperties")
        extra_schema = extra if isinstance(extra, dict) else {}
        out: dict[str, JSON] = {}
        for name, sub in properties.items():
            if name in required or not cyclic:
                out[name] = self.value(sub, refs, depth + 1)
        for name in required:
            if name not in out:
                out[name] = self.value(extra_schema, refs, depth + 1)
        i = 1
        while len(out) < (schema.get("minProperties") or 0) and extra is not False:
            out.setdefault(f"additionalProp{i}", self.value(extra_schema, refs, depth + 1))
            i += 1
        most = schema.get("maxProperties")
        for name in [n for n in reversed(out) if n not in required]:
            if isinstance(most, int) and len(out) > most:
                del out[name]
        return out

    def array(
        self, schema: dict[str, JSON], refs: tuple[str, ...], depth: int, cyclic: bool
    ) -> list[JSON]:
        items = schema.get("items")
        prefix = schema.get("prefixItems")
        if isinstance(items, list):  # the tuple form of older drafts
            prefix, items = items, schema.get("additionalItems")
        prefix = prefix if isinstance(prefix, list) else []
        count = max(schema.get("minItems") or 0, len(prefix), 0 if cyclic else 1)
        if isinstance(schema.get("maxItems"), int):
            count = min(count, schema["maxItems"])
        if items is False:
            count = min(count, len(prefix))
        return [
            self.value(prefix[i] if i < len(prefix) else items, refs, depth + 1)
            for i in range(count)
        ]


def _given(schema: Mapping[str, JSON]) -> tuple[JSON] | tuple[()]:
    """The value the schema names itself: `example`, `examples`, `default`, `const`, `enum`."""
    if "example" in schema:
        return (schema["example"],)
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:  # 3.1: a list (a map is tolerated)
        return (examples[0],)
    if isinstance(examples, dict) and examples:
        return (next(iter(examples.values())),)
    for key in ("default", "const"):
        if key in schema:
            return (schema[key],)
    enum = schema.get("enum")
    return (enum[0],) if isinstance(enum, list) and enum else ()


def _discriminator(discriminator: JSON, branch: JSON, resolver: Resolver) -> tuple[str, str] | None:
    """(property name, value) naming the chosen `$ref` branch, for a schema with a discriminator."""
    if not isinstance(discriminator, dict) or not isinstance(branch, dict):
        return None
    name, ref = discriminator.get("propertyName"), branch.get("$ref")
    if not isinstance(name, str) or not isinstance(ref, str):
        return None
    mapping = discriminator.get("mapping") or {}
    target = resolver.canonical(ref)
    value = next((k for k, v in mapping.items() if resolver.canonical(str(v)) == target), None)
    return name, value if value is not None else ref.rsplit("/", 1)[-1]


def _type(schema: Mapping[str, JSON], prefer_null: bool) -> str | None:
    """The schema's type: the first that is not null (null itself in a cycle, if allowed)."""
    kind = schema.get("type")
    if isinstance(kind, list):
        if prefer_null and "null" in kind:
            return "null"
        kind = next((k for k in kind if k != "null"), "null" if kind else None)
    if prefer_null and schema.get("nullable") is True:
        return "null"
    if isinstance(kind, str):
        return kind
    # No type given: what the keywords imply.
    implied = (
        ("object", ("properties", "required", "additionalProperties", "minProperties")),
        ("array", ("items", "prefixItems", "minItems", "maxItems")),
        ("string", ("minLength", "maxLength", "pattern", "format")),
        ("number", ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")),
    )
    return next((kind for kind, keys in implied if any(k in schema for k in keys)), None)


def _smallest(schema: Mapping[str, JSON]) -> JSON:
    """The value a cut-short branch gets: the smallest of its type, without looking deeper."""
    smallest: dict[str | None, JSON] = {
        "object": {},
        "array": [],
        "string": "",
        "integer": 0,
        "number": 0,
        "boolean": False,
    }
    return smallest.get(_type(schema, prefer_null=True))


def _merge(first: Mapping[str, JSON], second: Mapping[str, JSON]) -> dict[str, JSON]:
    """Both schemas at once (for `allOf`, `$ref` siblings, a chosen branch); `first` wins ties."""
    out = dict(first)
    for key, value in second.items():
        if key not in out:
            out[key] = value
        elif key == "properties" and isinstance(value, dict) and isinstance(out[key], dict):
            mine = out[key]
            both = {n: {"allOf": [mine[n], s]} for n, s in value.items() if n in mine}
            out[key] = {**value, **mine, **both}
        elif key == "required" and isinstance(value, list) and isinstance(out[key], list):
            out[key] = list(dict.fromkeys([*out[key], *value]))
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            out["allOf"] = [*out.get("allOf", []), {key: value}]
        elif key in _LOWER_BOUNDS + _UPPER_BOUNDS and _numeric(value) and _numeric(out[key]):
            out[key] = (max if key in _LOWER_BOUNDS else min)(out[key], value)
        elif key == "type" and value != out[key]:
            mine_types = out[key] if isinstance(out[key], list) else [out[key]]
            their_types = value if isinstance(value, list) else [value]
            common = [t for t in mine_types if t in their_types]
            if "integer" in mine_types + their_types and "number" in mine_types + their_types:
                common = common or ["integer"]
            out[key] = common if len(common) != 1 else common[0]
        elif key == "enum" and isinstance(value, list) and isinstance(out[key], list):
            out[key] = [v for v in out[key] if v in value] or out[key]
    return out


def _numeric(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- Scalars ------------------------------------------------------------------------------


def _number(schema: Mapping[str, JSON], integer: bool) -> int | float:
    """0 if allowed, else the allowed value nearest to it, a multiple of `multipleOf` if given."""
    low, low_open = _bound(schema, "minimum", "exclusiveMinimum", lower=True)
    high, high_open = _bound(schema, "maximum", "exclusiveMaximum", lower=False)
    given_step = schema.get("multipleOf")
    step = float(given_step) if _numeric(given_step) and given_step > 0 else None

    def allowed(v: float) -> bool:
        above = low is None or (v > low if low_open else v >= low)
        below = high is None or (v < high if high_open else v <= high)
        return above and below

    def fits(v: float) -> bool:
        whole = not integer or float(v).is_integer()
        return allowed(v) and whole and (step is None or _multiple(v, step))

    candidates = [0.0]
    for edge, way in ((low, 1), (high, -1)):
        if edge is None:
            continue
        if step is not None:
            start = (math.ceil(edge / step) if way > 0 else math.floor(edge / step)) * step
        else:
            start = float(math.ceil(edge) if way > 0 else math.floor(edge)) if integer else edge
        candidates += [start, start + way * (step or 1), edge + way]
    if low is not None and high is not None:
        candidates.append((low + high) / 2)
    chosen = next((v for v in candidates if fits(v)), None)
    if chosen is None:  # bounds and multipleOf disagree: keep inside the bounds at least
        chosen = next((v for v in candidates if allowed(v)), candidates[-1])
    return int(chosen) if integer or float(chosen).is_integer() else chosen


def _bound(
    schema: Mapping[str, JSON], inclusive_key: str, exclusive_key: str, lower: bool
) -> tuple[float | None, bool]:
    """The tighter of the inclusive and exclusive bound, and whether it is exclusive."""
    inclusive = schema.get(inclusive_key)
    exclusive = schema.get(exclusive_key)
    if exclusive is True and _numeric(inclusive):  # OpenAPI 3.0: a flag on the inclusive one
        return float(inclusive), True
    found = [
        (float(v), is_open) for v, is_open in ((inclusive, False), (exclusive, True)) if _numeric(v)
    ]
    if not found:
        return None, False
    # The tighter one; at equal values the exclusive one.
    return max(found, key=lambda b: (b[0] if lower else -b[0], b[1]))


def _multiple(value: float, step: float) -> bool:
    quotient = value / step
    return math.isclose(quotient, round(quotient), rel_tol=0, abs_tol=1e-9)


def _string(schema: Mapping[str, JSON]) -> str:
    """A string fitting the schema's format, pattern and lengths (as far as they agree)."""
    given_shortest, given_longest = schema.get("minLength"), schema.get("maxLength")
    shortest: int = given_shortest if isinstance(given_shortest, int) else 0
    longest: int | None = given_longest if isinstance(given_longest, int) else None
    pattern = schema.get("pattern") if isinstance(schema.get("pattern"), str) else None
    fmt = schema.get("format")
    base = FORMAT_SAMPLES.get(fmt, _DEFAULT_STRING) if isinstance(fmt, str) else _DEFAULT_STRING
    candidates = [base]  # the format's value or "string" first, if the pattern allows it
    if pattern is not None:
        candidates += _from_pattern(pattern, shortest)
    fitted: list[str] = []
    for text in candidates:
        padded = text + "x" * max(0, shortest - len(text))
        fitted += [text, padded]
        if longest is not None:
            fitted += [text[:longest], padded[:longest]]
    fitted.append("x" * shortest)

    def fits(text: str) -> bool:
        return len(text) >= shortest and (longest is None or len(text) <= longest)

    def matches(text: str) -> bool:
        return pattern is None or _search(pattern, text)

    return next(
        (t for t in fitted if fits(t) and matches(t)),
        next((t for t in fitted if fits(t)), base),
    )


def _search(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return True  # a pattern Python cannot read: nothing to fit


# --- Strings from a regular expression (best effort; every result is checked) --------------

_parser: Any = importlib.import_module("re._parser")  # the stdlib's own regex parser (3.11+)
_CHARS: Final = string.ascii_lowercase + string.ascii_uppercase + string.digits + "_-. @:/"


def _from_pattern(pattern: str, shortest: int) -> list[str]:
    """Strings matching `pattern`: repeats at their fewest, then stretched toward `shortest`."""
    try:
        parsed = _parser.parse(pattern)
    except (re.error, RecursionError):
        return []
    found: list[str] = []
    for extra in dict.fromkeys((0, 1, shortest)):
        try:
            text = _generate(parsed, extra, {})
        except (ValueError, KeyError, RecursionError):
            continue
        if _search(pattern, text):
            found.append(text)
    return found


def _generate(items: Any, extra: int, groups: dict[int, str]) -> str:
    out: list[str] = []
    for op, av in items:
        if op is _parser.LITERAL:
            out.append(chr(av))
        elif op is _parser.NOT_LITERAL:
            out.append(next(c for c in _CHARS if ord(c) != av))
        elif op is _parser.ANY:
            out.append("a")
        elif op is _parser.IN:
            out.append(_char_in(av))
        elif op in (_parser.MAX_REPEAT, _parser.MIN_REPEAT, _parser.POSSESSIVE_REPEAT):
            low, high, sub = av
            times = low + extra if high is _parser.MAXREPEAT else min(high, low + extra)
            out.append("".join(_generate(sub, extra, groups) for _ in range(times)))
        elif op is _parser.SUBPATTERN:
            group, _add, _del, sub = av
            text = _generate(sub, extra, groups)
            if group is not None:
                groups[group] = text
            out.append(text)
        elif op is _parser.ATOMIC_GROUP:
            out.append(_generate(av, extra, groups))
        elif op is _parser.BRANCH:
            out.append(_generate(av[1][0], extra, groups))
        elif op is _parser.GROUPREF:
            out.append(groups[av])
        elif op in (_parser.AT, _parser.ASSERT, _parser.ASSERT_NOT):
            continue  # anchors and lookarounds take no characters; the result is checked
        else:
            raise ValueError(f"regex construct {op} not generated")
    return "".join(out)


def _char_in(members: Any) -> str:
    """A character in a class such as `[a-z0-9_]` or `[^/]`."""
    negated: bool = bool(members) and members[0][0] is _parser.NEGATE
    members = members[1:] if negated else members
    first: list[str] = [] if negated or not members else [_natural(*members[0])]
    candidates: list[str] = [*first, *_CHARS]
    for char in candidates:
        if any(_member(char, op, av) for op, av in members) != negated:
            return char
    raise ValueError("no character found for a class")


def _natural(op: Any, av: Any) -> str:
    code: int = av if op is _parser.LITERAL else av[0] if op is _parser.RANGE else ord("a")
    return chr(code)


_CATEGORIES: Final[dict[str, Callable[[str], bool]]] = {
    "CATEGORY_DIGIT": str.isdigit,
    "CATEGORY_NOT_DIGIT": lambda c: not c.isdigit(),
    "CATEGORY_SPACE": str.isspace,
    "CATEGORY_NOT_SPACE": lambda c: not c.isspace(),
    "CATEGORY_WORD": lambda c: c.isalnum() or c == "_",
    "CATEGORY_NOT_WORD": lambda c: not (c.isalnum() or c == "_"),
}


def _member(char: str, op: Any, av: Any) -> bool:
    if op is _parser.LITERAL:
        return bool(ord(char) == av)
    if op is _parser.RANGE:
        return bool(av[0] <= ord(char) <= av[1])
    if op is _parser.CATEGORY:
        test = _CATEGORIES.get(getattr(av, "name", ""))
        return bool(test(char)) if test is not None else False
    return False
