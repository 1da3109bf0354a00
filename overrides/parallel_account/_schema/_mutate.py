"""The mutator: for each constraint of a schema, an instance that breaks it, and how.

`mutations(schema, resolver)` starts from the sampler's valid instance and, at every
node of it (properties present, the first item of arrays, the branch the value took),
breaks one constraint at a time: a value of a type not allowed, a value outside the
`enum` or unlike the `const`, a string not of its `format`, too short or long, not
matching `pattern`, a number past each bound or off `multipleOf`, a required field
left out, an unknown field where `additionalProperties` forbids one (or one breaking
its schema), too few or too many items or fields, a repeated item where items must be
unique, a value matching no branch of `anyOf`/`oneOf`. Each mutation is the whole
instance with that one change, where it is (`.apps[0].app_id`) and a description;
every one is checked by the validator, so none slips through valid. Annotations
(readOnly, writeOnly, default, deprecated, description) constrain nothing and have
no mutation. Walks are bounded like the sampler's (depth, `$ref` repeats).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from parallel_account._schema._check import (
    FORMATS,
    Check,
    Compiler,
    bounds,
    type_name,
    types_of,
)
from parallel_account._schema._resolve import MAX_DEPTH, Resolver
from parallel_account._schema._sample import _merge, _Sampler, sample


@dataclass(frozen=True)
class Mutation:
    """An instance breaking one constraint: `where` it is broken, `how`, and the `value`."""

    where: str
    how: str
    value: Any


# Values of each JSON type, tried in turn where a value of another type is wanted.
_OTHER_TYPES: Final[tuple[Any, ...]] = (None, True, 12345, 1.5, "text", [], {})


def mutations(schema: Any, resolver: Resolver | None = None) -> Iterator[Mutation]:
    """Invalid instances of `schema`, one constraint broken in each (see the module doc)."""
    resolver = resolver or Resolver()
    compiler = Compiler(resolver)
    whole = compiler.compile(schema)
    base = sample(schema, resolver)
    seen: set[tuple[str, str]] = set()
    for where, how, value in _Walk(resolver, compiler).node(schema, base, (), 0):
        if (where, how) not in seen and whole(value) is not None:
            seen.add((where, how))
            yield Mutation(where, how, value)


class _Walk:
    def __init__(self, resolver: Resolver, compiler: Compiler) -> None:
        self.sampler = _Sampler(resolver)
        self.compiler = compiler

    def flat(
        self, schema: Any, refs: tuple[str, ...]
    ) -> tuple[dict[str, Any] | None, tuple[str, ...]]:
        """The schema with `$ref`s and `allOf` merged into one (None when cut short)."""
        resolved, refs = self.sampler.deref(schema, refs)
        if resolved is None:
            return None, refs
        while isinstance(resolved.get("allOf"), list):
            merged = {k: v for k, v in resolved.items() if k != "allOf"}
            for part in resolved["allOf"]:
                part_schema, refs = self.sampler.deref(part, refs)
                if part_schema is None:
                    return None, refs
                merged = _merge(merged, part_schema)
            resolved = merged
        return resolved, refs

    def node(
        self, schema: Any, value: Any, refs: tuple[str, ...], depth: int
    ) -> Iterator[tuple[str, str, Any]]:
        if depth > MAX_DEPTH:
            return
        flat, refs = self.flat(schema, refs)
        if flat is None:
            return
        check = self.compiler.compile(flat)
        for how, broken in self.own(flat, value, check):
            yield "", how, broken
        branch = self.branch(flat, value)
        if branch is not None:
            yield from self.node(branch, value, refs, depth + 1)
        yield from self.children(flat, value, refs, depth)

    def branch(self, schema: dict[str, Any], value: Any) -> Any:
        """The `anyOf`/`oneOf` branch `value` took (the first it matches)."""
        for key in ("anyOf", "oneOf"):
            for option in schema.get(key) or []:
                base = {k: v for k, v in schema.items() if k not in (key, "discriminator")}
                candidate = _merge(base, self.flat(option, ())[0] or {})
                if self.compiler.compile(candidate)(value) is None:
                    return candidate
        return None

    def children(
        self, schema: dict[str, Any], value: Any, refs: tuple[str, ...], depth: int
    ) -> Iterator[tuple[str, str, Any]]:
        if isinstance(value, dict):
            for name, sub in (schema.get("properties") or {}).items():
                if name in value:
                    for where, how, broken in self.node(sub, value[name], refs, depth + 1):
                        yield f".{name}{where}", how, {**value, name: broken}
        if isinstance(value, list) and value and schema.get("items") is not None:
            for where, how, broken in self.node(schema["items"], value[0], refs, depth + 1):
                yield f"[0]{where}", how, [broken, *value[1:]]

    def own(self, schema: dict[str, Any], value: Any, check: Check) -> Iterator[tuple[str, Any]]:
        """(how, value) breaking each constraint of this node; only those `check` refuses."""
        for how, broken in self.candidates(schema, value):
            if check(broken) is not None:
                yield how, broken

    def candidates(self, schema: dict[str, Any], value: Any) -> Iterator[tuple[str, Any]]:
        types = types_of(schema)
        if types is not None:
            wanted = " or ".join(sorted({type_name(kind()) for kind in types}))
            for other in _OTHER_TYPES:
                if type(other) not in types:
                    yield f"type: {type_name(other)} where {wanted} is expected", other
                    break
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list):
                compiled = self.compiler.compile(schema)
                other = next((o for o in _OTHER_TYPES if compiled(o) is not None), None)
                if other is not None or compiled(None) is not None:
                    yield f"{key}: {type_name(other)} matches no branch", other
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            yield f"enum: a value not among {schema['enum']}", _outside(schema["enum"])
        if "const" in schema:
            yield f"const: a value other than {schema['const']!r}", _outside([schema["const"]])
        yield from _strings(schema)
        yield from _numbers(schema, types)
        yield from self.objects(schema, value)
        yield from self.arrays(schema, value)

    def objects(self, schema: dict[str, Any], value: Any) -> Iterator[tuple[str, Any]]:
        if not isinstance(value, dict):
            return
        for name in schema.get("required") or []:
            if name in value:
                yield f"required: {name} left out", {k: v for k, v in value.items() if k != name}
        extra = schema.get("additionalProperties")
        unknown = _unused_name(value, schema.get("properties") or {})
        if extra is False:
            yield f"additionalProperties: unknown field {unknown}", {**value, unknown: 1}
        elif isinstance(extra, dict):
            for mutation in mutations(extra, self.sampler.resolver):
                if not mutation.where:
                    yield (
                        f"additionalProperties: field {unknown}: {mutation.how}",
                        {**value, unknown: mutation.value},
                    )
                    break
        fewest, most = schema.get("minProperties"), schema.get("maxProperties")
        if isinstance(fewest, int) and fewest > 0:
            yield (
                f"minProperties: fewer than {fewest} fields",
                dict(list(value.items())[: fewest - 1]),
            )
        if isinstance(most, int):
            more = {**value, **{f"{unknown}{i}": 1 for i in range(most + 1)}}
            yield f"maxProperties: more than {most} fields", more

    def arrays(self, schema: dict[str, Any], value: Any) -> Iterator[tuple[str, Any]]:
        if not isinstance(value, list):
            return
        fewest, most = schema.get("minItems"), schema.get("maxItems")
        if isinstance(fewest, int) and fewest > 0:
            yield f"minItems: {fewest - 1} items, fewer than {fewest}", value[: fewest - 1]
        filler = value[0] if value else sample(schema.get("items", {}), self.sampler.resolver)
        if isinstance(most, int):
            yield (
                f"maxItems: {most + 1} items, more than {most}",
                [
                    *value,
                    *[filler] * (most + 1 - len(value)),
                ],
            )
        if schema.get("uniqueItems") is True:
            yield "uniqueItems: an item repeated", [*value, filler] if value else [filler, filler]


def _outside(allowed: list[Any]) -> Any:
    """A value of the same kind as the first allowed one, equal to none of them."""
    first = allowed[0]
    if isinstance(first, str):
        candidates = (f"not-{first}{'-' * i}" for i in range(len(allowed) + 1))
        return next(text for text in candidates if text not in allowed)
    if isinstance(first, bool):
        return None if (not first) in allowed else not first
    if isinstance(first, int | float):
        return max(v for v in allowed if isinstance(v, int | float) and not isinstance(v, bool)) + 1
    return "not-an-allowed-value" if first is None else None


def _strings(schema: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in FORMATS:
        yield f"format: not a valid {fmt}", f"not-a-{fmt}"
    fewest, most = schema.get("minLength"), schema.get("maxLength")
    low = fewest if isinstance(fewest, int) else 0
    if low > 0:
        yield f"minLength: {low - 1} characters, fewer than {low}", "x" * (low - 1)
    if isinstance(most, int):
        yield f"maxLength: {most + 1} characters, more than {most}", "x" * (most + 1)
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        width = max(low, 1)
        for text in ("", " " * width, "!" * width, "\n" * width, "~" * width, "0" * width):
            if (
                re.search(pattern, text) is None
                and len(text) >= low
                and (not isinstance(most, int) or len(text) <= most)
            ):
                yield f"pattern: {text!r} does not match {pattern!r}", text
                break


def _numbers(schema: Mapping[str, Any], types: frozenset[type] | None) -> Iterator[tuple[str, Any]]:
    integer = types is not None and float not in types and int in types
    for keyword, limit, _passes in bounds(schema):
        broken: float
        if integer:  # the nearest integer on the wrong side
            broken = {
                "minimum": math.ceil(limit) - 1,
                "exclusiveMinimum": math.floor(limit),
                "maximum": math.floor(limit) + 1,
                "exclusiveMaximum": math.ceil(limit),
            }[keyword]
        else:
            broken = (
                limit - 1 if keyword == "minimum" else limit + 1 if keyword == "maximum" else limit
            )
        yield f"{keyword}: {broken!r}, past the bound {limit!r}", broken
    step = schema.get("multipleOf")
    if isinstance(step, int | float) and not isinstance(step, bool) and step > 0:
        if integer:
            if step > 1:
                yield f"multipleOf: {int(step) + 1}, not a multiple of {step}", int(step) + 1
        else:
            yield f"multipleOf: {step * 1.5!r}, not a multiple of {step}", step * 1.5


def _unused_name(value: Mapping[str, Any], properties: Mapping[str, Any]) -> str:
    name = "unexpected_field"
    while name in value or name in properties:
        name += "_"
    return name
