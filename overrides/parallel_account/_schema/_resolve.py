"""`$ref` resolution for the schema engine: one rule, errors that name the ref.

A ref is a local JSON pointer (`#/components/schemas/AppItem`, `#/$defs/Node`) into
the document the resolver was given, or a bare name (`AppItem`, as `spec_facts.SCHEMAS`
writes them) meaning `#/components/schemas/<name>`. A ref to another document, or one
naming nothing, raises SchemaRefError naming it; so does a cycle that never reaches a
value (`A -> B -> A`, or `A: {allOf: [A]}`): no instance could ever be checked against
it. Recursion through a value (`Node.children: [Node]`) is fine.

The rule for keys next to a `$ref` (2020-12 reads them, 3.0 ignores them): they apply
as well, as if `{"allOf": [<target>, <siblings>]}` had been written. Annotations
(description, title, example(s), deprecated, readOnly, writeOnly, default, ...) change
nothing a value must be, so a `$ref` with only those next to it is the target itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import unquote

Schema = Any

COMPONENTS: Final = "#/components/schemas/"
# How deep a walk of a schema goes (properties, items, branches) before it stops.
MAX_DEPTH: Final = 64
# How often one $ref may repeat on the way down a walk before the walk is cut short.
MAX_REF_REPEATS: Final = 3
# Keys that describe a schema without constraining its values.
ANNOTATIONS: Final = frozenset(
    {
        "title",
        "description",
        "summary",
        "example",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        "externalDocs",
        "xml",
        "$comment",
        "$id",
        "$schema",
        "$anchor",
        "$defs",
        "definitions",
        "contentMediaType",
        "contentEncoding",
    }
)


class SchemaError(ValueError):
    """A schema the engine cannot use (not a schema, a pattern Python cannot read, ...)."""


class SchemaRefError(SchemaError):
    """A `$ref` that names nothing, leaves the document, or loops: `.ref` is the ref."""

    def __init__(self, ref: str, why: str) -> None:
        super().__init__(f"$ref {ref!r} {why}")
        self.ref = ref


def siblings(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The keys next to a `$ref` that constrain values (annotations left out)."""
    return {k: v for k, v in schema.items() if k != "$ref" and k not in ANNOTATIONS}


class Resolver:
    """Looks up `$ref`s in one document (an OpenAPI spec, a JSON Schema, or SCHEMAS)."""

    def __init__(self, document: Mapping[str, Any] | None = None) -> None:
        self.document: Mapping[str, Any] = document if document is not None else {}

    @classmethod
    def from_components(cls, schemas: Mapping[str, Any]) -> Resolver:
        """A resolver for named component schemas (`spec_facts.SCHEMAS`)."""
        return cls({"components": {"schemas": schemas}})

    @staticmethod
    def canonical(ref: str) -> str:
        """`ref` as a pointer: a bare name is a component schema's name."""
        if ref and "#" not in ref and "/" not in ref and ":" not in ref and "." not in ref:
            return COMPONENTS + ref
        return ref

    def lookup(self, ref: object) -> Any:
        """What `ref` points at (one step, no further $ref followed), or SchemaRefError."""
        if not isinstance(ref, str):
            raise SchemaRefError(repr(ref), "is not a string")
        pointer = self.canonical(ref)
        if not pointer.startswith("#"):
            raise SchemaRefError(ref, "points into another document, which is not followed")
        target: Any = self.document
        for part in unquote(pointer[1:]).split("/")[1:] if pointer != "#" else []:
            key = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, Mapping) and key in target:
                target = target[key]
            elif isinstance(target, list) and key.isdigit() and int(key) < len(target):
                target = target[int(key)]
            else:
                raise SchemaRefError(ref, "names nothing in the document")
        return target

    def schema(self, ref: object) -> Schema:
        """The schema `ref` names: a dict or a boolean schema; SchemaRefError otherwise.

        A chain of refs (`A: {$ref: B}`) is followed; a chain that comes back is an error.
        """
        chain = [str(ref)]
        target = self.lookup(ref)
        while isinstance(target, dict) and "$ref" in target and not siblings(target):
            following = target["$ref"]
            seen = [self.canonical(r) for r in chain]
            if isinstance(following, str) and self.canonical(following) in seen:
                raise SchemaRefError(str(ref), "is cyclic: " + " -> ".join([*chain, following]))
            chain.append(str(following))
            target = self.lookup(following)
        if isinstance(target, bool | dict):
            return target
        raise SchemaRefError(str(ref), f"names a {type(target).__name__}, not a schema")

    def node(self, node: Any) -> Any:
        """An OpenAPI object (response, example, parameter) with its `$ref`s followed."""
        seen: list[str] = []
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                raise SchemaRefError(str(ref), "is cyclic: " + " -> ".join([*seen, str(ref)]))
            seen.append(ref)
            node = self.lookup(ref)
        return node
