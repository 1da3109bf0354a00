"""codegen.surface and the operations template, on the frozen spec and changes made to it.

The frozen copy under tests/data/ (not the live openapi.json) is the base, so these
tests keep their meaning when upstream moves.
"""

from __future__ import annotations

import ast
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from codegen import facts, generate, naming, surface
from tests.support import FROZEN_SPEC, curated_only_for

FROZEN = json.loads(FROZEN_SPEC.read_text(encoding="utf-8"))


def _working(spec: dict[str, Any]) -> dict[str, Any]:
    return naming.with_friendly_names(spec)


def _by_name(spec: dict[str, Any]) -> dict[str, surface.Operation]:
    return {op.name: op for op in surface.surface(_working(spec))}


@pytest.fixture(autouse=True)
def _frozen_curated(monkeypatch: pytest.MonkeyPatch) -> None:
    curated_only_for(monkeypatch, FROZEN)


def test_frozen_spec_gives_the_curated_signatures() -> None:
    ops = _by_name(FROZEN)
    top_up = ops["add_balance"]
    assert [a.signature for a in top_up.positional] == ["amount_cents: int"]
    assert [a.signature for a in top_up.keyword] == ["idempotency_key: str | None = None"]
    assert top_up.idempotency_key_field == "idempotency_key" and top_up.moves_money
    assert [a.signature for a in ops["delete_key"].positional] == [
        "app_id: str | UUID",
        "api_key_id: str",
    ]
    # curated.toml: list_apps returns the list inside its response model.
    assert ops["list_apps"].return_annotation == "list[AppItem]"
    assert ops["list_apps"].returns_field == "apps"
    assert ops["delete_app"].return_annotation == "None"


def test_query_parameters_and_optional_fields_are_keyword_only() -> None:
    spec = copy.deepcopy(FROZEN)
    spec["paths"]["/service/v1/apps"]["get"]["parameters"] = [
        {"name": "pageSize", "in": "query", "schema": {"type": "integer", "maximum": 50}},
        {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
    ]
    body = spec["components"]["schemas"]["CreateAppRequestModel"]
    body["properties"]["note"] = {"type": "string"}
    ops = _by_name(spec)
    assert [a.signature for a in ops["list_apps"].keyword] == [
        "page_size: int | None = None",  # the generator's own identifier rule
        "since: datetime.datetime | str | None = None",
    ]
    assert [a.signature for a in ops["create_app"].positional] == ["app_name: str"]
    assert [a.signature for a in ops["create_app"].keyword] == ["note: str | None = None"]


def test_two_arguments_with_one_python_name_fail_generation() -> None:
    spec = copy.deepcopy(FROZEN)
    body = spec["components"]["schemas"]["CreateApiKeyRequestModel"]
    body["properties"]["app_id"] = {"type": "string"}
    with pytest.raises(surface.SurfaceError, match="would both be the argument 'app_id'"):
        surface.surface(_working(spec))


def test_curated_field_that_is_gone_fails_generation_naming_the_file() -> None:
    spec = copy.deepcopy(FROZEN)
    del spec["components"]["schemas"]["GetAppsForOrgResponseModel"]["properties"]["apps"]
    with pytest.raises(surface.SurfaceError, match=r"curated\.toml: list_apps returns_field"):
        surface.surface(_working(spec))


def test_curated_entry_for_a_removed_operation_is_reported_not_fatal() -> None:
    spec = copy.deepcopy(FROZEN)
    del spec["paths"]["/service/v1/apps"]["get"]
    assert surface.stale_curated(_working(spec)) == ["list_apps"]
    assert "list_apps" not in _by_name(spec)


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole package generated from a spec with hostile text and inline schemas."""
    spec = copy.deepcopy(FROZEN)
    get = spec["paths"]["/service/v1/balance"]["get"]
    get["summary"] = 'Balance """; import os; os.system("echo pwned") #\\'
    get["description"] = "Line one.\x1b[2J\n\nSecond paragraph with a backslash \\ and ''' quotes."
    spec["paths"]["/service/v1/notes"] = {
        "post": {
            "tags": ["Notes"],
            "operationId": "add_note_service_v1_notes_post",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["text"],
                            "properties": {"text": {"type": "string", "maxLength": 10}},
                        }
                    }
                },
            },
            "responses": {
                "201": {
                    "description": "created",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["note_id"],
                                "properties": {"note_id": {"type": "string"}},
                            }
                        }
                    },
                }
            },
        }
    }
    workdir = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as monkeypatch:
        curated_only_for(monkeypatch, FROZEN)
        return generate.build(workdir, json.dumps(spec))


def test_spec_text_in_docstrings_cannot_become_code(hostile_build: Path) -> None:
    source = (hostile_build / "operations.py").read_text()
    tree = ast.parse(source)  # still valid Python
    calls = [
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    ]
    assert "system" not in calls
    sync = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "SyncOperations")
    method = next(
        n for n in sync.body if isinstance(n, ast.FunctionDef) and n.name == "get_balance"
    )
    doc = ast.get_docstring(method) or ""
    assert 'Balance """; import os; os.system("echo pwned")' in doc
    assert "\x1b" not in doc and "\\x1b" in doc


def test_inline_request_and_response_schemas_get_the_generators_models(
    hostile_build: Path,
) -> None:
    facts_source = (hostile_build / "spec_facts.py").read_text()
    assert "body_model='AddNoteBody'" in facts_source.replace('"', "'")
    assert "response_model='AddNoteResponse201'" in facts_source.replace('"', "'")
    tree = ast.parse((hostile_build / "operations.py").read_text())
    sync = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "SyncOperations")
    method = next(n for n in sync.body if isinstance(n, ast.FunctionDef) and n.name == "add_note")
    assert [(a.arg, ast.unparse(a.annotation or ast.Constant(None))) for a in method.args.args] == [
        ("self", "None"),
        ("text", "str"),
    ]
    assert ast.unparse(method.returns or ast.Constant(None)) == "AddNoteResponse201"


@pytest.mark.parametrize("option", ["extra_headers", "timeout"])
def test_a_spec_argument_named_like_a_per_call_option_fails_generation(option: str) -> None:
    spec = copy.deepcopy(FROZEN)
    spec["paths"]["/service/v1/apps"]["get"]["parameters"] = [
        {"name": option, "in": "query", "required": False, "schema": {"type": "integer"}}
    ]
    with pytest.raises(surface.SurfaceError, match="per-call option"):
        surface.surface(_working(spec))


@pytest.mark.parametrize("name", sorted(surface.RESERVED_METHOD_NAMES))
def test_an_operation_named_like_a_client_attribute_fails_generation(name: str) -> None:
    spec = copy.deepcopy(FROZEN)
    spec["paths"]["/service/v1/apps"]["get"]["operationId"] = name
    with pytest.raises(surface.SurfaceError, match="which the clients use for themselves"):
        surface.surface(_working(spec))


def test_a_renamed_charge_fails_generation_instead_of_losing_its_guard(tmp_path: Path) -> None:
    spec = copy.deepcopy(FROZEN)
    charging = [n for n, e in surface.load_curated().items() if e.get("moves_money")]
    for item in spec["paths"].values():
        for operation in item.values():
            if naming.friendly_name(operation["operationId"], "", "") in charging or any(
                operation["operationId"].startswith(n + "_") for n in charging
            ):
                operation["operationId"] = "charge_renamed"
    with pytest.raises(generate.GenerationError, match="moves money"):
        generate.build(tmp_path, json.dumps(spec))


def test_fastapis_optional_shape_keeps_its_type_and_bounds() -> None:
    spec = copy.deepcopy(FROZEN)
    bounded = {"type": "integer", "minimum": 1, "maximum": 100}
    spec["paths"]["/service/v1/apps"]["get"]["parameters"] = [
        {"name": "limit", "in": "query", "schema": {"anyOf": [bounded, {"type": "null"}]}}
    ]
    working = _working(spec)
    (limit,) = _by_name(spec)["list_apps"].keyword
    assert limit.signature == "limit: int | None = None"
    facts_text = facts.render(working, "0" * 64, surface.surface(working))
    assert "FieldFacts(name='limit', required=False, type='integer', minimum=1, maximum=100)" in (
        facts_text.replace('"', "'")
    )


def test_body_closed_is_written_for_a_body_that_allows_no_other_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`body_closed` in spec_facts follows the body schema's `additionalProperties: false`
    (through its `$ref`), for the frozen superset spec's operations; False everywhere else."""
    superset = json.loads(
        (FROZEN_SPEC.parent / "account-openapi-superset.json").read_text(encoding="utf-8")
    )
    curated_only_for(monkeypatch, superset)
    working = naming.with_friendly_names(superset)
    found = surface.surface(working)
    namespace: dict[str, Any] = {}
    exec(compile(facts.render(working, "0" * 64, found), "spec_facts.py", "exec"), namespace)  # noqa: S102 (our own output)
    schemas = working["components"]["schemas"]
    expected = {
        op.name: schemas[op.body_class].get("additionalProperties") is False
        for op in found
        if op.body_class
    }
    assert {
        n: o.body_closed for n, o in namespace["OPERATIONS"].items() if o.body_model
    } == expected
    assert any(expected.values()) and not all(expected.values())
