"""Schema views: a schema with `$ref`s resolved, `allOf` folded in and nullability taken
out of its spelling, plus the numeric-bound and alternative helpers the schema checks use."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Final

from parallel_account_drift._model import MAX_DEPTH, Doc
from parallel_account_drift.jsondoc import Json, canonical_text, names, number, obj, ref_name, show


@dataclass(frozen=True)
class View:
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
    one_of: bool = False  # the variants are a oneOf: a value must match exactly one


def make_view(doc: Doc, node: Json, depth: int = 0) -> View:
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
        if len(rest) == 1 and depth < MAX_DEPTH:
            # `anyOf: [X, null]` is X made nullable; the siblings (title, default) apply to X.
            inner = make_view(doc, {**siblings, **_as_schema(rest[0])}, depth + 1)
            return replace(inner, nullable=inner.nullable or nullable, ref=inner.ref or ref)
        if len(rest) > 1:
            return View(siblings, ref, nullable, None, None, tuple(rest), kind == "oneOf")
    types, null_type = types_of(schema)
    enum, null_enum = _enum_of(schema)
    return View(schema, ref, nullable or null_type or null_enum, types, enum, None)


def _as_schema(node: Json) -> dict[str, Json]:
    if node is False:
        return {"not": {}}
    return obj(node)


def _merge_all_of(
    doc: Doc, schema: dict[str, Json], folded: set[str]
) -> tuple[dict[str, Json], list[str]]:
    """Fold `allOf` branches into one schema (properties and required are unions).

    `folded` holds the $refs already folded in (shared by the whole fold): folding one
    twice adds nothing, so each is folded once, which also cuts cycles.
    """
    branches = schema.get("allOf")
    if not isinstance(branches, list):
        return schema, []
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    refs: list[str] = []
    for branch in branches:
        resolved, ref = doc.deref(branch)
        if ref is not None:
            if ref in folded:
                continue
            folded.add(ref)
            refs.append(ref)
        part, inner = _merge_all_of(doc, _as_schema(resolved), folded)
        refs += inner
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**obj(value), **obj(merged.get("properties"))}
            elif key == "required":
                merged["required"] = sorted(names(merged.get("required")) | names(value))
            else:
                merged.setdefault(key, value)
    return merged, refs


def _is_null(doc: Doc, node: Json) -> bool:
    schema = obj(doc.deref(node)[0])
    return (
        schema.get("type") in ("null", ["null"])
        or schema.get("enum") == [None]
        or ("const" in schema and schema["const"] is None)
    )


def types_of(schema: Mapping[str, Json]) -> tuple[frozenset[str] | None, bool]:
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
    keys = frozenset(canonical_text(v) for v in values)
    if "null" in keys and len(keys) > 1:
        return keys - {"null"}, True
    return keys, False


def widens(old: frozenset[str] | None, new: frozenset[str] | None) -> bool:
    """Whether every value of a type in `old` is also of a type in `new`."""
    if new is None:
        return True
    if old is None:
        return False
    return all(t in new or (t == "integer" and "number" in new) for t in old)


Bound = tuple[float, bool]  # (value, exclusive)
INTEGER: Final = frozenset({"integer"})


def lower_bound(schema: Mapping[str, Json], integer: bool) -> Bound | None:
    """The effective lower bound, whether spelled the 3.0 way (boolean) or the 3.1 way."""
    bounds = _bounds(schema, "minimum", "exclusiveMinimum")
    if not bounds:
        return None
    value, exclusive = max(bounds)  # the tightest: larger, and exclusive beats inclusive
    if integer:  # for integers `> 0` and `>= 1` are the same constraint
        return (math.floor(value) + 1 if exclusive else math.ceil(value), False)
    return value, exclusive


def upper_bound(schema: Mapping[str, Json], integer: bool) -> Bound | None:
    bounds = _bounds(schema, "maximum", "exclusiveMaximum")
    if not bounds:
        return None
    value, exclusive = min(bounds, key=lambda b: (b[0], not b[1]))
    if integer:
        return (math.ceil(value) - 1 if exclusive else math.floor(value), False)
    return value, exclusive


def _bounds(schema: Mapping[str, Json], inclusive_key: str, exclusive_key: str) -> list[Bound]:
    inclusive = number(schema.get(inclusive_key))
    exclusive = schema.get(exclusive_key)
    if isinstance(exclusive, bool):  # OpenAPI 3.0: a flag on the inclusive bound
        return [(inclusive, exclusive)] if inclusive is not None else []
    found = [(inclusive, False)] if inclusive is not None else []
    strict = number(exclusive)
    return found + ([(strict, True)] if strict is not None else [])


def show_bound(bound: Bound | None, sign: str) -> str:
    if bound is None:
        return "none"
    return f"{sign}{'' if bound[1] else '='} {show(bound[0])}"


def divides(step: float, value: float) -> bool:
    """Whether `value` is a whole multiple of `step`; False when floats cannot tell
    (a quotient that overflows or underflows), which reads as the tighter change."""
    quotient = value / step
    if not math.isfinite(quotient):
        return False
    whole = round(quotient)
    return whole != 0 and math.isclose(quotient, whole)


def show_types(types: frozenset[str] | None) -> str:
    return "any" if types is None else "|".join(sorted(types))


def keyed_variants(doc: Doc, view: View) -> dict[str, Json]:
    """Alternatives by a stable key; a plain schema is one alternative of itself."""
    if view.variants is None:
        return {_variant_key(view, 0): without_null(view.raw)}
    keyed: dict[str, Json] = {}
    for index, branch in enumerate(view.variants):
        key = _variant_key(make_view(doc, branch), index)
        keyed[key if key not in keyed else f"{key}#{index}"] = branch
    return keyed


def may_overlap(doc: Doc, variants: tuple[Json, ...]) -> bool:
    """Whether one value might match two of the alternatives: unless each has its own
    types and no two share one (integer counts as a number), assume it might."""
    seen: set[str] = set()
    for branch in variants:
        types = make_view(doc, branch).types
        if types is None:
            return True
        spelled = types | ({"number"} if "integer" in types else set())
        if "number" in spelled:
            spelled |= {"integer"}
        if seen & spelled:
            return True
        seen |= spelled
    return False


# Patterns that every string matches (a pattern is searched for, not anchored).
# `^.*$` fails on a value with a line break; it is read as "anything", as oasdiff does.
_ANY_STRING_PATTERNS: Final = frozenset(
    {"", ".*", "^.*", ".*$", "^.*$", "(.*)", "^(.*)$", "[\\s\\S]*", "^[\\s\\S]*$"}
)


def accepts_every_string(pattern: Json) -> bool:
    return isinstance(pattern, str) and pattern in _ANY_STRING_PATTERNS


def _variant_key(view: View, index: int) -> str:
    if view.ref:
        return ref_name(view.ref)
    return show_types(view.types) if view.types is not None else f"#{index}"


def without_null(schema: dict[str, Json]) -> dict[str, Json]:
    """The schema minus its null spelling (already compared), for use as one alternative."""
    result = {k: v for k, v in schema.items() if k != "nullable"}
    types, _ = types_of(schema)
    if types is not None:
        result["type"] = sorted(types) if len(types) > 1 else next(iter(types))
    return result


def show_number(value: float | None) -> str:
    return "none" if value is None else show(value)
