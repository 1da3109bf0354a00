"""What every area of checks shares: a change, the report, a document's `$ref`s, the base
class the area mixins extend, and the catch-all rule for keys no area looks at."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from parallel_account_drift import jsondoc
from parallel_account_drift.errors import SpecError
from parallel_account_drift.jsondoc import Json, changed, escape_token, obj, same
from parallel_account_drift.rules import LEVELS, NON_BREAKING, Level, level_of, rule

Direction = Literal["request", "response"]
Seen = frozenset[tuple[str | None, str | None]]  # $ref pairs on the current path

UNCLASSIFIED_CHANGE: Final = rule(
    "unclassified-change", NON_BREAKING, "any", "a change no rule classifies; review it by hand"
)

METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Documentation keys (each has its rule in _docs); never compared as structure.
DOC_KEYS: Final = frozenset(
    {"summary", "description", "title", "example", "examples", "externalDocs", "bearerFormat"}
)
# Keys whose value maps user-chosen names to objects: a name there is never a keyword.
MAP_KEYS: Final = frozenset(
    {
        "paths", "webhooks", "properties", "patternProperties", "$defs", "definitions",
        "dependentSchemas", "schemas", "responses", "parameters", "requestBodies", "headers",
        "securitySchemes", "links", "callbacks", "pathItems", "content", "encoding",
        "variables", "mapping", "scopes",
    }
)  # fmt: skip
# Keys whose values are data, not documents: never searched for documentation keys.
OPAQUE_KEYS: Final = frozenset({"enum", "const", "default", "required", "security"})
# Schemas nested deeper than this (inline or through $refs, cycles cut) are refused.
MAX_DEPTH: Final = 64
# Schema comparisons per run: the pinned spec needs under a hundred; a spec built to
# make the walk explode is refused instead of running for hours.
MAX_SCHEMA_COMPARISONS: Final = 50_000


@dataclass(frozen=True)
class Change:
    """One classified difference between two documents."""

    id: str
    level: Level
    location: str
    message: str


def sort_changes(changes: Iterable[Change]) -> list[Change]:
    """Breaking first, then non-breaking, then info; by location, id, message within."""
    return sorted(changes, key=lambda c: (LEVELS.index(c.level), c.location, c.id, c.message))


class Doc:
    """One document and its local `$ref` resolution."""

    def __init__(self, root: dict[str, Json]) -> None:
        self.root = root

    def pointer(self, ref: str) -> Json:
        try:
            return jsondoc.resolve_pointer(self.root, ref)
        except jsondoc.PointerError as exc:
            raise SpecError(str(exc)) from None

    def deref(self, node: Json) -> tuple[Json, str | None]:
        """Follow a chain of `$ref`s; sibling keywords override the target (OpenAPI 3.1)."""
        name: str | None = None
        followed: set[str] = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#"):
                raise SpecError(f"unsupported $ref {ref!r}: only local '#/...' references")
            if ref in followed:
                raise SpecError(f"$ref {ref!r} refers to itself")
            followed.add(ref)
            target = self.pointer(ref)
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **siblings} if siblings and isinstance(target, dict) else target
            name = ref
        return node, name

    def obj(self, node: Json) -> dict[str, Json]:
        return obj(self.deref(node)[0])


class Report:
    def __init__(self) -> None:
        # An ordered set: the same finding reached twice is reported once.
        self._changes: dict[Change, None] = {}

    def add(self, rule_id: str, location: str, message: str) -> None:
        self._changes[Change(rule_id, level_of(rule_id), location, message)] = None

    def changes(self) -> list[Change]:
        return sort_changes(self._changes)


def unclassified(
    report: Report,
    old: Mapping[str, Json],
    new: Mapping[str, Json],
    known: frozenset[str],
    where: str,
    per_key: bool = False,
) -> None:
    """Report keys no rule looks at, so that nothing changes without a line in the report."""
    for key in sorted(old.keys() | new.keys()):
        if key in known or key in DOC_KEYS or key.startswith("x-"):
            continue
        if key not in old or key not in new or not same(old[key], new[key]):
            at = f"{where}/{escape_token(key)}" if per_key else where
            report.add(UNCLASSIFIED_CHANGE, at, changed(key, old, new))


class Checks:
    """State shared by the area mixins, and the methods one area calls in another.

    The comparer (_compare.Comparer) combines every area; the stubs here let each area
    module be read and type-checked on its own.
    """

    max_schema_comparisons: int = MAX_SCHEMA_COMPARISONS

    def __init__(self, old: Doc, new: Doc, report: Report) -> None:
        self.old = old
        self.new = new
        self.report = report
        # Pairs of $ref-named schemas already compared, per place of use (see _schemas).
        self.compared: set[tuple[str, ...]] = set()
        self.schema_comparisons = 0
        self.schema_depth = 0

    def add(self, rule_id: str, location: str, message: str) -> None:
        self.report.add(rule_id, location, message)

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
        raise NotImplementedError  # _schemas.SchemaChecks

    def content(
        self,
        at: str,
        old: dict[str, Json],
        new: dict[str, Json],
        direction: Direction,
        success: bool,
    ) -> None:
        raise NotImplementedError  # _content.ContentChecks

    def deprecation(self, where: str, old: Mapping[str, Json], new: Mapping[str, Json]) -> None:
        raise NotImplementedError  # _paths.PathChecks

    def security(self, where: str, old: Json, new: Json) -> None:
        raise NotImplementedError  # _security.SecurityChecks

    def servers(self, where: str, old: list[str], new: list[str]) -> None:
        raise NotImplementedError  # _document.DocumentChecks

    def parameter_map(
        self, doc: Doc, item_and_op: tuple[dict[str, Json], Json]
    ) -> dict[tuple[str, str], dict[str, Json]]:
        raise NotImplementedError  # _parameters.ParameterChecks

    def parameters(
        self,
        where: str,
        old: dict[tuple[str, str], dict[str, Json]],
        new: dict[tuple[str, str], dict[str, Json]],
    ) -> None:
        raise NotImplementedError  # _parameters.ParameterChecks

    def request_body(self, where: str, old_raw: Json, new_raw: Json) -> None:
        raise NotImplementedError  # _bodies.RequestBodyChecks

    def responses(self, where: str, old: dict[str, Json], new: dict[str, Json]) -> None:
        raise NotImplementedError  # _responses.ResponseChecks
