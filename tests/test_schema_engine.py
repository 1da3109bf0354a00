"""The schema engine (`parallel_account._schema`): resolver, validator, sampler, mutator.

Each construct of the subset it covers is checked both ways: the sampler's value is
valid (for the engine's validator and for the `jsonschema` package, an independent
Draft 2020-12 implementation), every mutation is invalid for both, and the mutator
breaks the keyword the construct is about. The frozen superset spec (tests/data/)
and the pinned spec are checked schema by schema the same way.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from parallel_account import spec
from parallel_account._schema import (
    MAX_DEPTH,
    Resolver,
    SchemaError,
    SchemaRefError,
    compile_check,
    mutations,
    sample,
)
from tests.support import ROOT

SUPERSET = json.loads(
    (ROOT / "tests" / "data" / "account-openapi-superset.json").read_text("utf-8")
)

DEFS: dict[str, Any] = {
    "Cat": {
        "type": "object",
        "required": ["kind", "lives"],
        "properties": {"kind": {"const": "cat"}, "lives": {"type": "integer", "minimum": 1}},
    },
    "Dog": {
        "type": "object",
        "required": ["kind", "good"],
        "properties": {"kind": {"const": "dog"}, "good": {"type": "boolean"}},
    },
    "Named": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
}
DOC = {"components": {"schemas": DEFS}}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


# (construct, schema, the keyword its mutations must break)
CONSTRUCTS: list[tuple[str, Any, str]] = [
    ("type", {"type": "string"}, "type"),
    ("type array", {"type": ["integer", "string"]}, "type"),
    ("nullable anyOf", {"anyOf": [{"type": "string"}, {"type": "null"}]}, "anyOf"),
    ("nullable 3.0", {"type": "string", "nullable": True}, "type"),
    ("enum", {"type": "string", "enum": ["a", "b"]}, "enum"),
    ("enum of numbers", {"enum": [1, 2.5]}, "enum"),
    ("const", {"const": "fixed"}, "const"),
    ("date-time", {"type": "string", "format": "date-time"}, "format"),
    ("date", {"type": "string", "format": "date"}, "format"),
    ("uuid", {"type": "string", "format": "uuid"}, "format"),
    ("email", {"type": "string", "format": "email"}, "format"),
    ("uri", {"type": "string", "format": "uri"}, "format"),
    ("allOf", {"allOf": [ref("Named"), {"required": ["age"], "properties": {"age": {"type": "integer"}}}]}, "required"),
    ("oneOf", {"oneOf": [ref("Cat"), ref("Dog")]}, "oneOf"),
    ("oneOf discriminator", {"oneOf": [ref("Cat"), ref("Dog")], "discriminator": {"propertyName": "kind", "mapping": {"cat": "#/components/schemas/Cat", "dog": "#/components/schemas/Dog"}}}, "minimum"),
    ("anyOf", {"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, "anyOf"),
    ("additionalProperties false", {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}, "additionalProperties"),
    ("additionalProperties schema", {"type": "object", "additionalProperties": {"type": "integer"}}, "additionalProperties"),
    ("items", {"type": "array", "items": {"type": "integer"}}, "type"),
    ("minItems", {"type": "array", "items": {"type": "string"}, "minItems": 2}, "minItems"),
    ("maxItems", {"type": "array", "items": {"type": "string"}, "maxItems": 1}, "maxItems"),
    ("minimum", {"type": "integer", "minimum": 5}, "minimum"),
    ("maximum", {"type": "number", "maximum": 2.5}, "maximum"),
    ("exclusiveMinimum 3.1", {"type": "number", "exclusiveMinimum": 0}, "exclusiveMinimum"),
    ("exclusiveMaximum 3.1", {"type": "integer", "exclusiveMaximum": 10}, "exclusiveMaximum"),
    ("exclusiveMinimum 3.0", {"type": "integer", "minimum": 0, "exclusiveMinimum": True}, "exclusiveMinimum"),
    ("minLength", {"type": "string", "minLength": 3}, "minLength"),
    ("maxLength", {"type": "string", "maxLength": 4}, "maxLength"),
    ("pattern", {"type": "string", "pattern": "^[a-z]+-[0-9]{2}$"}, "pattern"),
    ("readOnly writeOnly default deprecated", {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "readOnly": True}, "secret": {"type": "string", "writeOnly": True}, "size": {"type": "integer", "default": 3, "deprecated": True}}}, "required"),
    ("$ref with siblings", {"$ref": "#/components/schemas/Named", "required": ["extra"], "properties": {"extra": {"type": "integer"}}}, "required"),
    ("multipleOf", {"type": "number", "multipleOf": 0.5}, "multipleOf"),
    ("uniqueItems", {"type": "array", "items": {"type": "integer"}, "uniqueItems": True}, "uniqueItems"),
    ("min/maxProperties", {"type": "object", "minProperties": 1, "maxProperties": 2, "additionalProperties": {"type": "string"}}, "maxProperties"),
]  # fmt: skip


def independent(schema: Any, document: Any) -> Any:
    """jsonschema's Draft 2020-12 validator (formats checked), refs resolved in `document`."""
    root = {**schema, **{k: v for k, v in document.items() if k in ("components", "$defs")}}
    return jsonschema.Draft202012Validator(
        root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _unchecked_by_jsonschema(how: str) -> bool:
    # jsonschema checks `uri` only with the optional rfc3987 package, not installed here.
    return how.startswith("format: not a valid uri")


def _openapi30(schema: Any) -> bool:
    return "nullable" in json.dumps(schema) or '"exclusiveMinimum": true' in json.dumps(schema)


@pytest.mark.parametrize(("name", "schema", "keyword"), CONSTRUCTS, ids=[c[0] for c in CONSTRUCTS])
def test_each_construct_samples_valid_and_mutates_invalid(
    name: str, schema: Any, keyword: str
) -> None:
    resolver = Resolver(DOC)
    check = compile_check(schema, resolver)
    value = sample(schema, resolver)
    assert check(value) is None, (value, check(value))
    if not _openapi30(schema):  # jsonschema reads 2020-12, not OpenAPI 3.0's flags
        assert independent(schema, DOC).is_valid(value), value
    found = list(mutations(schema, resolver))
    assert any(m.how.startswith(keyword) for m in found), [m.how for m in found]
    for mutation in found:
        assert check(mutation.value) is not None, mutation
        if not _openapi30(schema) and not _unchecked_by_jsonschema(mutation.how):
            assert not independent(schema, DOC).is_valid(mutation.value), mutation


def test_the_location_of_a_problem_is_named() -> None:
    schemas = {
        "AppItem": {"type": "object", "required": ["app_id"], "properties": {"app_id": {"type": "string"}}},
        "Page": {"type": "object", "required": ["apps"], "properties": {"apps": {"type": "array", "items": {"$ref": "AppItem"}}}},
    }  # fmt: skip
    check = compile_check({"$ref": "Page"}, Resolver.from_components(schemas))
    apps = [{"app_id": str(i)} for i in range(5)]
    apps[3]["app_id"] = None  # type: ignore[assignment]
    assert check({"apps": apps}) == ".apps[3].app_id: expected string, got null"
    assert check({"apps": [{"app_id": "x"}] * 3}) is None


def test_a_null_is_valid_where_the_schema_allows_it() -> None:
    for schema in (
        {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
        {"type": ["string", "null"]},
        {"type": "string", "nullable": True},
    ):
        assert compile_check(schema)(None) is None
        assert compile_check(schema)(12) is not None


@pytest.mark.parametrize(
    ("document", "schema", "named"),
    [
        ({}, {"$ref": "#/components/schemas/Missing"}, "#/components/schemas/Missing"),
        ({}, {"type": "array", "items": {"$ref": "Gone"}}, "Gone"),
        ({}, {"$ref": "other.json#/Thing"}, "other.json#/Thing"),
        ({"$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"$ref": "#/$defs/A"}}}, {"$ref": "#/$defs/A"}, "#/$defs/A"),
        ({"$defs": {"A": {"allOf": [{"$ref": "#/$defs/A"}]}}}, {"$ref": "#/$defs/A"}, "#/$defs/A"),
        ({"$defs": {"A": {"$ref": "#/$defs/A", "type": "object"}}}, {"$ref": "#/$defs/A"}, "#/$defs/A"),
    ],
)  # fmt: skip
def test_an_unknown_or_cyclic_ref_is_an_error_naming_it(
    document: Any, schema: Any, named: str
) -> None:
    resolver = Resolver(document)
    for use in (compile_check, sample, lambda s, r: list(mutations(s, r))):
        with pytest.raises(SchemaRefError) as caught:
            use(schema, resolver)
        assert caught.value.ref == named and named in str(caught.value)


def test_a_schema_that_is_not_one_is_refused() -> None:
    for bad in ({"type": "text"}, {"type": "string", "pattern": "("}, {"items": 3}):
        with pytest.raises(SchemaError):
            compile_check(bad)


def test_siblings_of_a_ref_apply_too_and_annotations_change_nothing() -> None:
    resolver = Resolver(DOC)
    both = compile_check({**ref("Named"), "required": ["age"]}, resolver)
    assert both({"name": "x"}) == ".age: required field missing"
    assert both({"name": "x", "age": 1}) is None
    annotated = compile_check({**ref("Named"), "description": "who", "deprecated": True}, resolver)
    assert annotated({"name": "x"}) is None and annotated({}) is not None


RECURSIVE: dict[str, Any] = {
    "list": {"type": "object", "required": ["next"], "properties": {"next": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]}}},
    "tree": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}},
    "unending": {"type": "object", "required": ["a", "b"], "properties": {"a": {"$ref": "#/$defs/Node"}, "b": {"$ref": "#/$defs/Node"}}},
}  # fmt: skip


@pytest.mark.parametrize("name", RECURSIVE)
def test_walks_of_recursive_schemas_are_bounded(name: str) -> None:
    resolver = Resolver({"$defs": {"Node": RECURSIVE[name]}})
    root = {"$ref": "#/$defs/Node"}
    started = time.process_time()
    value = sample(root, resolver)
    found = list(mutations(root, resolver))
    assert time.process_time() - started < 30  # a bound on the walk, not a speed test
    assert len(json.dumps(value)) < 100_000 and found
    if name != "unending":  # a finite valid value exists: the sample is one
        assert compile_check(root, resolver)(value) is None


def _nested(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "required": ["x"], "properties": {"x": schema}}
    return schema


def test_a_schema_nested_too_deep_is_refused_and_a_deep_one_is_walked() -> None:
    with pytest.raises(SchemaError, match=f"more than {MAX_DEPTH} levels"):
        compile_check(_nested(500))
    deep = _nested(MAX_DEPTH // 2)
    value = sample(deep)
    assert compile_check(deep)(value) is None
    assert all(compile_check(deep)(m.value) is not None for m in mutations(deep))


def _schemas_of(document: dict[str, Any]) -> list[str]:
    return list(document.get("components", {}).get("schemas", {}))


@pytest.mark.parametrize(
    ("which", "name"),
    [("superset", n) for n in _schemas_of(SUPERSET)] + [("pinned", n) for n in _schemas_of(spec())],
)
def test_every_schema_of_both_specs_samples_valid_and_mutates_invalid(
    which: str, name: str
) -> None:
    document = copy.deepcopy(SUPERSET if which == "superset" else spec())
    resolver = Resolver(document)
    schema = ref(name)
    check = compile_check(schema, resolver)
    value = sample(schema, resolver)
    assert check(value) is None, (value, check(value))
    outside = independent(schema, document)
    if not _openapi30(document["components"]["schemas"][name]):
        assert outside.is_valid(value), value
    for mutation in mutations(schema, resolver):
        assert check(mutation.value) is not None, mutation
        if not _unchecked_by_jsonschema(mutation.how):
            assert not outside.is_valid(mutation.value), mutation


def test_a_discriminated_sample_names_its_branch_with_bare_name_refs_too() -> None:
    # spec_facts.SCHEMAS writes `$ref`s as bare names, mappings as pointers.
    schema = {
        "oneOf": [{"$ref": "Cat"}, {"$ref": "Dog"}],
        "discriminator": {"propertyName": "kind", "mapping": {"cat": "#/components/schemas/Cat"}},
    }
    resolver = Resolver.from_components(DEFS)
    value = sample(schema, resolver)
    assert value["kind"] == "cat" and compile_check(schema, resolver)(value) is None
