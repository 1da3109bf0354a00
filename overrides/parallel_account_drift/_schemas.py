"""Schemas, judged in the direction they are used: a request schema (parameter or body)
may accept more but not less; a response schema may promise more but not less. Request
and response rules are pairs of ids, one per direction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from parallel_account_drift._model import (
    MAX_DEPTH,
    UNCLASSIFIED_CHANGE,
    Checks,
    Direction,
    Seen,
    unclassified,
)
from parallel_account_drift._views import (
    INTEGER,
    View,
    accepts_every_string,
    divides,
    keyed_variants,
    lower_bound,
    make_view,
    may_overlap,
    show_bound,
    show_number,
    show_types,
    upper_bound,
    widens,
)
from parallel_account_drift.errors import SpecError
from parallel_account_drift.jsondoc import (
    Json,
    canonical_text,
    changed,
    names,
    number,
    obj,
    show_key,
)
from parallel_account_drift.rules import BREAKING, NON_BREAKING, rule

AREA: Final = "schemas"
_B, _N = BREAKING, NON_BREAKING

REQUEST_PROPERTY_ADDED_REQUIRED: Final = rule(
    "request-property-added-required", _B, AREA, "a new required request property"
)
REQUEST_PROPERTY_ADDED_OPTIONAL: Final = rule(
    "request-property-added-optional", _N, AREA, "a new optional request property"
)
REQUEST_PROPERTY_REMOVED: Final = rule(
    "request-property-removed", _B, AREA, "a request property was removed from the model"
)
RESPONSE_REQUIRED_PROPERTY_REMOVED: Final = rule(
    "response-required-property-removed", _B, AREA, "a required response property was removed"
)
RESPONSE_OPTIONAL_PROPERTY_REMOVED: Final = rule(
    "response-optional-property-removed", _B, AREA, "an optional response property was removed"
)
RESPONSE_PROPERTY_ADDED: Final = rule(
    "response-property-added", _N, AREA, "a new response property"
)
PROPERTY_BECAME_REQUIRED: Final[Mapping[Direction, str]] = {
    "request": rule(
        "request-property-became-required",
        _B,
        AREA,
        "an optional request property became required",
    ),
    "response": rule(
        "response-property-became-required",
        _N,
        AREA,
        "an optional response property became required",
    ),
}
PROPERTY_BECAME_OPTIONAL: Final[Mapping[Direction, str]] = {
    "request": rule(
        "request-property-became-optional", _N, AREA, "a required request property became optional"
    ),
    "response": rule(
        "response-property-became-optional",
        _B,
        AREA,
        "a required response property became optional",
    ),
}
TYPE_CHANGED: Final[Mapping[Direction, str]] = {
    "request": rule("request-type-changed", _B, AREA, "a request type changed (not a widening)"),
    "response": rule(
        "response-type-changed", _B, AREA, "a response type changed (not a narrowing)"
    ),
}
REQUEST_TYPE_WIDENED: Final = rule(
    "request-type-widened", _N, AREA, "a request type accepts more (e.g. integer -> number)"
)
RESPONSE_TYPE_NARROWED: Final = rule(
    "response-type-narrowed", _N, AREA, "a response type promises less (e.g. number -> integer)"
)
FORMAT_CHANGED: Final[Mapping[Direction, str]] = {
    "request": rule(
        "request-format-changed", _B, AREA, "a request format changed, was added or removed"
    ),
    "response": rule(
        "response-format-changed", _B, AREA, "a response format changed, was added or removed"
    ),
}
BECAME_NULLABLE: Final[Mapping[Direction, str]] = {
    "request": rule("request-became-nullable", _N, AREA, "a request value now accepts null"),
    "response": rule("response-became-nullable", _B, AREA, "a response value may now be null"),
}
BECAME_NOT_NULLABLE: Final[Mapping[Direction, str]] = {
    "request": rule(
        "request-became-not-nullable", _B, AREA, "a request value no longer accepts null"
    ),
    "response": rule(
        "response-became-not-nullable", _N, AREA, "a response value is no longer null"
    ),
}
ENUM_VALUE_ADDED: Final[Mapping[Direction, str]] = {
    "request": rule("request-enum-value-added", _N, AREA, "a request enum accepts a new value"),
    "response": rule(
        "response-enum-value-added",
        _B,
        AREA,
        "a response enum value was added: generated enums raise",
    ),
}
ENUM_VALUE_REMOVED: Final[Mapping[Direction, str]] = {
    "request": rule("request-enum-value-removed", _B, AREA, "a request enum value was removed"),
    "response": rule("response-enum-value-removed", _N, AREA, "a response enum value was removed"),
}
ENUM_CONSTRAINT_ADDED: Final[Mapping[Direction, str]] = {
    "request": rule(
        "request-enum-constraint-added", _B, AREA, "a free request value became an enum"
    ),
    "response": rule(
        "response-enum-constraint-added", _N, AREA, "a free response value became an enum"
    ),
}
ENUM_CONSTRAINT_REMOVED: Final[Mapping[Direction, str]] = {
    "request": rule(
        "request-enum-constraint-removed", _N, AREA, "a request enum became a free value"
    ),
    "response": rule(
        "response-enum-constraint-removed", _B, AREA, "a response enum became a free value"
    ),
}
VARIANT_ADDED: Final[Mapping[Direction, str]] = {
    "request": rule(
        "request-variant-added", _N, AREA, "an anyOf/oneOf request alternative was added"
    ),
    "response": rule(
        "response-variant-added", _B, AREA, "an anyOf/oneOf response alternative was added"
    ),
}
VARIANT_REMOVED: Final[Mapping[Direction, str]] = {
    "request": rule(
        "request-variant-removed", _B, AREA, "an anyOf/oneOf request alternative was removed"
    ),
    "response": rule(
        "response-variant-removed", _N, AREA, "an anyOf/oneOf response alternative was removed"
    ),
}
REQUEST_BOUNDS_TIGHTENED: Final = rule(
    "request-bounds-tightened", _B, AREA, "a request min/max/length/items/multipleOf tightened"
)
REQUEST_BOUNDS_LOOSENED: Final = rule(
    "request-bounds-loosened", _N, AREA, "a request min/max/length/items/multipleOf loosened"
)
RESPONSE_BOUNDS_CHANGED: Final = rule(
    "response-bounds-changed", _N, AREA, "a response min/max/length bound changed"
)
REQUEST_PATTERN_CHANGED: Final = rule(
    "request-pattern-changed", _B, AREA, "a request pattern was added or changed"
)
REQUEST_PATTERN_GENERALIZED: Final = rule(
    "request-pattern-generalized",
    _N,
    AREA,
    "a request pattern changed to one every string matches (e.g. .*)",
)
REQUEST_BECAME_ONE_OF: Final = rule(
    "request-became-one-of",
    _B,
    AREA,
    "a request schema became a oneOf whose alternatives may overlap: a value matching two fails",
)
REQUEST_PATTERN_REMOVED: Final = rule(
    "request-pattern-removed", _N, AREA, "a request pattern was removed"
)
RESPONSE_PATTERN_CHANGED: Final = rule(
    "response-pattern-changed", _N, AREA, "a response pattern changed"
)
DEFAULT_CHANGED: Final = rule(
    "default-changed", _N, AREA, "a default value changed (silently changes behaviour)"
)

_SCHEMA_KEYS: Final = frozenset(
    {
        "$ref", "type", "format", "nullable", "enum", "const", "anyOf", "oneOf", "allOf",
        "properties", "required", "items", "additionalProperties", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems",
        "maxItems", "minProperties", "maxProperties", "multipleOf", "pattern", "default",
        "deprecated",
    }
)  # fmt: skip

_LENGTH_KEYS: Final[Mapping[str, bool]] = {
    # key -> whether raising it tightens the constraint
    "minLength": True,
    "maxLength": False,
    "minItems": True,
    "maxItems": False,
    "minProperties": True,
    "maxProperties": False,
}


class SchemaChecks(Checks):
    def schema(
        self,
        old_raw: Json,
        new_raw: Json,
        base: str,
        ptr: str,
        direction: Direction,
        seen: Seen = frozenset(),
        check_null: bool = True,
    ) -> None:
        """Compare two schemas reached the same way; `seen` holds the $ref pairs on this path.

        Bounded: two schemas both named by `$ref` are compared once per place of use
        (`base`) and direction, at the first path that reaches them (properties in sorted
        order), so shared components never multiply the work; SpecError when the walk
        nests deeper than MAX_DEPTH or makes more than `max_schema_comparisons`.
        """
        at = f"{base} {ptr}" if ptr else base
        self.schema_comparisons += 1
        if self.schema_comparisons > self.max_schema_comparisons:
            raise SpecError(
                f"too complex to compare: more than {self.max_schema_comparisons} schema "
                f"comparisons (stopped at {at})"
            )
        if self.schema_depth >= MAX_DEPTH:
            raise SpecError(f"schema nested more than {MAX_DEPTH} levels deep at {at}")
        old, new = make_view(self.old, old_raw), make_view(self.new, new_raw)
        pair = (old.ref, new.ref)
        if pair != (None, None):
            if pair in seen:
                return  # a cycle: this pair is already being compared further up
            seen = seen | {pair}
        if old.ref is not None and new.ref is not None:
            # Keyed by the schemas as written ($ref plus any siblings), not the names alone.
            key = (
                base,
                direction,
                str(check_null),
                canonical_text(old_raw),
                canonical_text(new_raw),
            )
            if key in self.compared:
                return
            self.compared.add(key)
        self.schema_depth += 1
        try:
            self.compare_views(old, new, base, ptr, direction, seen, check_null)
        finally:
            self.schema_depth -= 1

    def compare_views(
        self,
        old: View,
        new: View,
        base: str,
        ptr: str,
        direction: Direction,
        seen: Seen,
        check_null: bool,
    ) -> None:
        at = f"{base} {ptr}" if ptr else base
        if check_null:
            self.nullability(old, new, at, direction)
        if old.variants or new.variants:
            self.variants(old, new, base, ptr, direction, seen)
            unclassified(self.report, old.raw, new.raw, _SCHEMA_KEYS, at)
            return
        if not self.types(old, new, at, direction):
            return  # an unrelated type: details below it would only be noise
        self.keywords(old, new, at, direction)
        self.properties(old, new, base, ptr, direction, seen)
        self.children(old, new, base, ptr, direction, seen)
        unclassified(self.report, old.raw, new.raw, _SCHEMA_KEYS, at)

    def nullability(self, old: View, new: View, at: str, direction: Direction) -> None:
        if old.nullable == new.nullable:
            return
        became = BECAME_NULLABLE if new.nullable else BECAME_NOT_NULLABLE
        self.add(
            became[direction],
            at,
            "now accepts null" if new.nullable else "no longer accepts null",
        )

    def types(self, old: View, new: View, at: str, direction: Direction) -> bool:
        """Report a type change; True when the schemas are still worth comparing inside."""
        if old.types == new.types:
            return True
        text = f"type changed from {show_types(old.types)} to {show_types(new.types)}"
        if direction == "request" and widens(old.types, new.types):
            self.add(REQUEST_TYPE_WIDENED, at, text)
            return True
        if direction == "response" and widens(new.types, old.types):
            self.add(RESPONSE_TYPE_NARROWED, at, text)
            return True
        self.add(TYPE_CHANGED[direction], at, text)
        return False

    def keywords(self, old: View, new: View, at: str, direction: Direction) -> None:
        before, after = old.raw, new.raw
        if before.get("format") != after.get("format"):
            self.add(FORMAT_CHANGED[direction], at, changed("format", before, after))
        self.enum(old.enum, new.enum, at, direction)
        self.numeric_bounds(old, new, at, direction)
        for key, tighter in _LENGTH_KEYS.items():
            self.length_bound(key, tighter, before, after, at, direction)
        self.multiple_of(before, after, at, direction)
        self.pattern(before, after, at, direction)
        if show_key(before, "default") != show_key(after, "default"):
            self.add(DEFAULT_CHANGED, at, changed("default", before, after))
        self.deprecation(at, before, after)

    def enum(
        self, old: frozenset[str] | None, new: frozenset[str] | None, at: str, direction: Direction
    ) -> None:
        if old == new:
            return
        if old is None or new is None:
            kind = "added" if old is None else "removed"
            values = ", ".join(sorted(new or old or ()))
            rules = ENUM_CONSTRAINT_ADDED if old is None else ENUM_CONSTRAINT_REMOVED
            self.add(rules[direction], at, f"enum constraint {kind} ({values})")
            return
        for value in sorted(old - new):
            self.add(ENUM_VALUE_REMOVED[direction], at, f"enum value {value} removed")
        for value in sorted(new - old):
            self.add(ENUM_VALUE_ADDED[direction], at, f"enum value {value} added")

    def bound_change(self, at: str, direction: Direction, tightened: bool, text: str) -> None:
        if direction == "response":
            self.add(RESPONSE_BOUNDS_CHANGED, at, text)
        else:
            self.add(REQUEST_BOUNDS_TIGHTENED if tightened else REQUEST_BOUNDS_LOOSENED, at, text)

    def numeric_bounds(self, old: View, new: View, at: str, direction: Direction) -> None:
        old_int, new_int = old.types == INTEGER, new.types == INTEGER
        for label, sign, find in (("lower", ">", lower_bound), ("upper", "<", upper_bound)):
            before, after = find(old.raw, old_int), find(new.raw, new_int)
            if before == after:
                continue
            # Tighter: a bound appears, or moves inwards (an exclusive bound beats an equal one).
            flip = 1 if label == "lower" else -1
            tight = before is None or (
                after is not None and (flip * after[0], after[1]) > (flip * before[0], before[1])
            )
            verb = "tightened" if tight else "loosened"
            text = (
                f"{label} bound {verb} from {show_bound(before, sign)} to {show_bound(after, sign)}"
            )
            self.bound_change(at, direction, tight, text)

    def length_bound(
        self,
        key: str,
        raise_tightens: bool,
        old: Mapping[str, Json],
        new: Mapping[str, Json],
        at: str,
        direction: Direction,
    ) -> None:
        before, after = number(old.get(key)), number(new.get(key))
        if before == after:
            return
        if before is None or after is None:
            tight = after is not None  # a bound added tightens, one removed loosens
        else:
            tight = (after > before) == raise_tightens
        verb = "tightened" if tight else "loosened"
        text = f"{key} {verb} from {show_number(before)} to {show_number(after)}"
        self.bound_change(at, direction, tight, text)

    def multiple_of(
        self, old: Mapping[str, Json], new: Mapping[str, Json], at: str, direction: Direction
    ) -> None:
        before, after = number(old.get("multipleOf")), number(new.get("multipleOf"))
        if before == after:
            return
        # Looser only if every old multiple is still a multiple: the new step divides the old.
        tight = after is not None and (before is None or not divides(after, before))
        verb = "tightened" if tight else "loosened"
        text = f"multipleOf {verb} from {show_number(before)} to {show_number(after)}"
        self.bound_change(at, direction, tight, text)

    def pattern(
        self, old: Mapping[str, Json], new: Mapping[str, Json], at: str, direction: Direction
    ) -> None:
        if old.get("pattern") == new.get("pattern"):
            return
        text = changed("pattern", old, new)
        if direction == "response":
            self.add(RESPONSE_PATTERN_CHANGED, at, text)
        elif "pattern" in new and accepts_every_string(new["pattern"]):
            self.add(REQUEST_PATTERN_GENERALIZED, at, f"{text} (every string matches)")
        elif "pattern" in new:
            self.add(REQUEST_PATTERN_CHANGED, at, text)
        else:
            self.add(REQUEST_PATTERN_REMOVED, at, text)

    def properties(
        self,
        old: View,
        new: View,
        base: str,
        ptr: str,
        direction: Direction,
        seen: Seen,
    ) -> None:
        old_props, new_props = obj(old.raw.get("properties")), obj(new.raw.get("properties"))
        old_req, new_req = names(old.raw.get("required")), names(new.raw.get("required"))
        every = old_props.keys() | new_props.keys() | old_req | new_req
        for name in sorted(every):
            at = f"{base} {ptr}.{name}"
            if name not in new_props and name not in new_req:
                self.property_removed(at, direction, name in old_req)
            elif name not in old_props and name not in old_req:
                self.property_added(at, direction, name in new_req)
            else:
                self.property_requirement(at, direction, name in old_req, name in new_req)
                self.schema(
                    old_props.get(name, {}),
                    new_props.get(name, {}),
                    base,
                    f"{ptr}.{name}",
                    direction,
                    seen,
                )

    def property_removed(self, at: str, direction: Direction, required: bool) -> None:
        if direction == "request":
            self.add(REQUEST_PROPERTY_REMOVED, at, "property removed")
        elif required:
            self.add(RESPONSE_REQUIRED_PROPERTY_REMOVED, at, "required property removed")
        else:
            self.add(RESPONSE_OPTIONAL_PROPERTY_REMOVED, at, "optional property removed")

    def property_added(self, at: str, direction: Direction, required: bool) -> None:
        text = f"{'required' if required else 'optional'} property added"
        if direction == "response":
            self.add(RESPONSE_PROPERTY_ADDED, at, text)
        else:
            self.add(
                REQUEST_PROPERTY_ADDED_REQUIRED if required else REQUEST_PROPERTY_ADDED_OPTIONAL,
                at,
                text,
            )

    def property_requirement(
        self, at: str, direction: Direction, before: bool, after: bool
    ) -> None:
        if before == after:
            return
        state = "required" if after else "optional"
        rules = PROPERTY_BECAME_REQUIRED if after else PROPERTY_BECAME_OPTIONAL
        self.add(rules[direction], at, f"property became {state}")

    def children(
        self,
        old: View,
        new: View,
        base: str,
        ptr: str,
        direction: Direction,
        seen: Seen,
    ) -> None:
        """Array items and map values (additionalProperties); absent means any."""
        if "items" in old.raw or "items" in new.raw:
            self.schema(
                old.raw.get("items", {}),
                new.raw.get("items", {}),
                base,
                f"{ptr}[]",
                direction,
                seen,
            )
        before, after = old.raw.get("additionalProperties"), new.raw.get("additionalProperties")
        if before is False or after is False:
            if before is not after:  # `false` is a rule of its own; a schema is compared below
                msg = changed("additionalProperties", old.raw, new.raw)
                self.add(UNCLASSIFIED_CHANGE, f"{base} {ptr}" if ptr else base, msg)
        elif isinstance(before, dict) or isinstance(after, dict):
            self.schema(obj(before), obj(after), base, f"{ptr}.*", direction, seen)

    def variants(
        self,
        old: View,
        new: View,
        base: str,
        ptr: str,
        direction: Direction,
        seen: Seen,
    ) -> None:
        """anyOf/oneOf alternatives, matched by $ref name or type, not by position."""
        at = f"{base} {ptr}" if ptr else base
        if (
            direction == "request"
            and new.one_of
            and not old.one_of
            and new.variants is not None
            and may_overlap(self.new, new.variants)
        ):
            # A value the old schema took may match two alternatives, and oneOf then fails.
            self.add(REQUEST_BECAME_ONE_OF, at, "became a oneOf whose alternatives may overlap")
        old_keyed = keyed_variants(self.old, old)
        new_keyed = keyed_variants(self.new, new)
        for key in sorted(old_keyed.keys() | new_keyed.keys()):
            if key not in new_keyed:
                self.add(VARIANT_REMOVED[direction], at, f"alternative {key} removed")
            elif key not in old_keyed:
                self.add(VARIANT_ADDED[direction], at, f"alternative {key} added")
            else:
                self.schema(
                    old_keyed[key], new_keyed[key], base, ptr, direction, seen, check_null=False
                )
