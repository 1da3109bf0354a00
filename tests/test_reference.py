"""api.md, the API reference: generated with the methods, and checked against the code.

The operation sections come from the same surface as the generated methods; the
hand-written part is curated in codegen/templates/api.md.jinja, so these tests hold
it to the clients as they are: every public attribute, every option, every export.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
from pathlib import Path

import pytest

import parallel_account
from codegen import client_doc, errors_doc, generate
from parallel_account import AccountClient, AsyncAccountClient
from parallel_account_api.spec_facts import OPERATIONS, SCHEMAS, FieldFacts
from tests.support import ROOT, add_history_endpoint, make, scratch_repo

API_MD = ROOT / "api.md"
TEXT = API_MD.read_text(encoding="utf-8")
CLIENTS = (AccountClient, AsyncAccountClient)


def _section(heading: str) -> str:
    """The text under `### heading` up to the next heading of level 2 or 3."""
    match = re.search(rf"^### {re.escape(heading)}\n(.*?)(?=^##)", TEXT + "\n##", re.M | re.S)
    assert match is not None, f"api.md has no section {heading}"
    return match.group(1)


def _public(cls: type) -> list[str]:
    return sorted(name for name in dir(cls) if not name.startswith("_"))


def test_api_md_is_what_generation_writes() -> None:
    assert generate.API_MD == API_MD
    assert generate.main(["--check"]) == 0


@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
def test_every_public_attribute_of_the_clients_is_in_api_md(cls: type) -> None:
    missing = [name for name in _public(cls) if f"`{name}" not in TEXT]
    assert not missing, f"{cls.__name__} members not in api.md: {missing}"


@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("method", ["__init__", "with_options"])
def test_every_option_of_the_clients_is_in_api_md(cls: type, method: str) -> None:
    parameters = [p for p in inspect.signature(getattr(cls, method)).parameters if p != "self"]
    assert parameters
    missing = [name for name in parameters if f"`{name}`" not in TEXT and f"{name}=" not in TEXT]
    assert not missing, f"{cls.__name__}.{method} parameters not in api.md: {missing}"


def test_the_context_managers_and_closing_are_in_api_md() -> None:
    for dunder in ("__enter__", "__exit__", "__aenter__", "__aexit__"):
        assert any(hasattr(cls, dunder) for cls in CLIENTS)
        assert f"`{dunder}`" in TEXT


def test_every_export_of_the_package_is_in_api_md() -> None:
    missing = [name for name in parallel_account.__all__ if f"`{name}" not in TEXT]
    assert not missing, f"parallel_account.__all__ names not in api.md: {missing}"


def test_the_errors_section_has_every_exception_with_what_it_carries() -> None:
    # read from _errors.py's docstrings: a row per class, in the tree, with each attribute
    # a class documents (Attributes: or Args:) named in its row
    section = TEXT.split("\n## Errors\n", 1)[1].split("\n## ", 1)[0]
    classes = [
        cls
        for cls in vars(parallel_account._errors).values()
        if isinstance(cls, type) and issubclass(cls, parallel_account.ParallelAccountError)
    ]
    for cls in classes:
        row = re.search(rf"^\| `{cls.__name__}` \|(.*)$", section, re.M)
        assert row is not None, f"api.md's errors table has no row for {cls.__name__}"
        assert re.search(rf"^(.*[─ ])?{cls.__name__}\b", section, re.M), f"{cls.__name__}: no tree"
        for name in client_doc.sections(inspect.getdoc(cls) or "").get("Attributes", []):
            attribute = name.split(":", 1)[0].strip()
            if attribute and not name[:1].isspace():
                assert f"`{attribute}`" in row.group(1), (cls.__name__, attribute)


def test_errors_doc_refuses_a_module_without_its_tree(tmp_path: Path) -> None:
    source = tmp_path / "_errors.py"
    source.write_text('"""Errors."""\n\nclass ParallelAccountError(Exception):\n    """Base."""\n')
    with pytest.raises(client_doc.ClientDocError, match="no tree"):
        errors_doc.read(source)


def _rules(field: FieldFacts) -> list[str]:
    found = [
        f"{words} {value}"  # as the spec writes it (normalised: 10000, not 10000.0)
        for words, value in (
            (">=", field.minimum),
            (">", field.exclusive_minimum),
            ("<=", field.maximum),
            ("<", field.exclusive_maximum),
        )
        if value is not None
    ]
    if field.max_length is not None:
        found.append(f"{field.min_length or 0} to {field.max_length} characters")
    return found


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_every_operation_has_its_arguments_bounds_return_errors_and_retry_rule(name: str) -> None:
    op = OPERATIONS[name]
    section = _section(f"`{name}`")
    assert f"{op.method} {op.path}" in section
    assert f"client.{name}(" in section and f"await async_client.{name}(" in section
    for field in (*op.path_params, *op.query_params, *op.body_fields):
        row = next(
            (line for line in section.splitlines() if line.startswith(f"| `{field.identifier}`")),
            None,
        )
        assert row is not None, f"{name}: argument {field.identifier} has no row"
        for rule in _rules(field):
            assert rule in row, f"{name}.{field.identifier}: bound {rule!r} missing"
    assert "**Returns**" in section
    if op.response_model and not op.returns_field:
        assert f"`{op.response_model}`" in section
    assert "**Raises**" in section and "InvalidRequestError" in section
    if op.requires_auth:
        assert "AuthenticationError" in section
    assert "**Retries**" in section
    if op.idempotency_key_field:
        assert f"same `{op.idempotency_key_field}`" in section


# Models some method returns whole (a curated returns_field unwraps one field instead:
# that field's model is checked by the next test).
RETURNED_WHOLE = {
    op.response_model: op
    for op in OPERATIONS.values()
    if op.response_model and not op.returns_field
}


@pytest.mark.parametrize("name", sorted(RETURNED_WHOLE))
def test_every_returned_model_lists_its_fields(name: str) -> None:
    section = _section(f"`{name}`")
    fields = RETURNED_WHOLE[name].response_fields
    assert fields
    for field in fields:
        assert f"| `{field.name}` |" in section, f"{name}.{field.name} not listed"


def test_unwrapped_results_list_the_item_model_fields() -> None:
    unwrapped = [op for op in OPERATIONS.values() if op.returns_field]
    for op in unwrapped:
        schema = SCHEMAS[op.response_model or ""]["properties"][op.returns_field or ""]
        item = schema.get("items", {}).get("$ref") or schema.get("$ref")
        assert item, f"{op.name}: curated field {op.returns_field} names no model"
        section = _section(f"`{item}`")
        for field in SCHEMAS[item]["properties"]:
            assert f"| `{field}` |" in section


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return scratch_repo(tmp_path / "repo")


def test_a_hand_edit_of_api_md_is_caught_by_check_generated(repo: Path) -> None:
    target = repo / "api.md"
    target.write_text(target.read_text().replace("**Retries**", "**Retried**", 1))
    result = make(repo, "check-generated")
    assert result.returncode != 0
    assert "differs: api.md" in result.stdout
    assert "-**Retried**" in result.stdout and "+**Retries**" in result.stdout
    assert make(repo, "generate").returncode == 0
    assert target.read_bytes() == API_MD.read_bytes()


def test_a_new_operation_flows_into_api_md(repo: Path) -> None:
    drifted = copy.deepcopy(json.loads((repo / "openapi.json").read_text()))
    add_history_endpoint(drifted)
    (repo / "openapi.json").write_text(json.dumps(drifted, indent=2))
    result = make(repo, "generate")
    assert result.returncode == 0, result.stderr
    assert "api.md changed" in result.stdout
    assert "### `balance_history`" in (repo / "api.md").read_text()
    assert make(repo, "check-generated").returncode == 0
