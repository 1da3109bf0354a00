"""Rehearsal: realistic upstream changes through the real `make spec-update`, one scratch clone each.

Each change is applied to the frozen spec `tests/data/account-openapi-2026-11.json`
(not the live openapi.json, so this file survives the changes it rehearses), served
on 127.0.0.1 and adopted by `make spec-update` in a scratch copy of the repository
whose own openapi.json and generated/ start from that frozen spec.

The test command `make spec-update` runs there is narrowed for speed, but real:
`make check-generated` (the scratch's generated/ is exactly what its spec gives),
then `import parallel_account` and tests/test_surface.py with the scratch's own
packages first on the path: every
operation of the adopted spec called through both clients, `parallel-account api`
and the testing fake, and (for the changes that add an operation) against Prism.

Expected: additive and bound changes adopted with the right bump and a CHANGELOG
entry, the new surface callable; breaking ones adopted with `breaking: yes` and the
surface changed to match (with the full `make test` some are refused instead, since
the curated tests name the operations they test); a change that would make a charge
unsafe to retry refused, every file restored byte for byte.

The union of the additive changes (one release of all of them) goes through the gate
users run: `make spec-update` with its default test command, the whole `make test` on
both specs. This module (marker `rehearsal`) runs under `make rehearsal`, not `make
unit`, so the `make test` inside it does not run it again: the gate is the whole suite
but the rehearsal.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import FROZEN_SPEC as FROZEN
from tests.support import SUITE_ITEMS, answer, frozen_repo, make, own_packages, serve, tree_bytes

pytestmark = [pytest.mark.slow, pytest.mark.spec_independent, pytest.mark.rehearsal]

Spec = dict[str, Any]
# Run from the scratch repository; its own packages shadow the editable install.
SURFACE_TESTS = (
    "make -s check-generated && export PYTHONPATH=generated:overrides && "
    ".venv/bin/python -c 'import parallel_account' && "
    ".venv/bin/python -m pytest -q -p no:cacheprovider tests/test_surface.py"
)
ADD = ("paths", "/service/v1/balance/add", "post")
AMOUNT = (
    "components",
    "schemas",
    "AddBalanceRequest",
    "properties",
    "amount_cents",
)


def _at(spec: Spec, path: tuple[str, ...]) -> Any:
    node: Any = spec
    for key in path:
        node = node[key]
    return node


def _json_response(ref: str) -> dict[str, Any]:
    return {
        "description": "Successful Response",
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


# FastAPI documents this answer for every operation that takes a parameter or a body.
VALIDATION_ERROR = {
    "description": "Validation Error",
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
    },
}


def new_get_with_model(spec: Spec) -> None:
    schemas = spec["components"]["schemas"]
    schemas["Invoice"] = {
        "type": "object",
        "title": "Invoice",
        "required": ["invoice_id", "amount_cents", "created_at"],
        "properties": {
            "invoice_id": {"type": "string", "title": "Invoice Id"},
            "amount_cents": {"type": "integer", "title": "Amount Cents"},
            "created_at": {"type": "string", "format": "date-time", "title": "Created At"},
        },
    }
    schemas["InvoiceList"] = {
        "type": "object",
        "title": "InvoiceList",
        "required": ["invoices"],
        "properties": {
            "invoices": {"type": "array", "items": {"$ref": "#/components/schemas/Invoice"}}
        },
    }
    spec["paths"]["/service/v1/invoices"] = {
        "get": {
            "tags": ["Billing"],
            "summary": "List Invoices",
            "description": "Invoices of the authenticated organization, newest first",
            "operationId": "list_invoices_service_v1_invoices_get",
            "responses": {"200": _json_response("InvoiceList")},
            "security": [{"BearerAuth": []}],
        }
    }


def new_post_with_body(spec: Spec) -> None:
    spec["components"]["schemas"]["RenameAppRequest"] = {
        "type": "object",
        "title": "RenameAppRequest",
        "required": ["app_name"],
        "properties": {
            "app_name": {"type": "string", "minLength": 1, "maxLength": 64, "title": "App Name"}
        },
    }
    spec.setdefault("tags", []).append({"name": "App Admin", "description": "App settings"})
    spec["paths"]["/service/v1/apps/{app_id}/rename"] = {
        "post": {
            "tags": ["App Admin"],  # a tag the spec did not have: a new generated module
            "summary": "Rename App",
            "operationId": "rename_app_service_v1_apps__app_id__rename_post",
            "parameters": [
                {
                    "name": "app_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "format": "uuid", "title": "App Id"},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/RenameAppRequest"}
                    }
                },
            },
            "responses": {
                "200": _json_response("CreateAppResponseModel"),
                "422": VALIDATION_ERROR,
            },
            "security": [{"BearerAuth": []}],
        }
    }


def new_optional_response_field(spec: Spec) -> None:
    balance = spec["components"]["schemas"]["BalanceResponse"]
    balance["properties"]["currency"] = {"type": "string", "title": "Currency"}


def new_nullable_response_field(spec: Spec) -> None:
    balance = spec["components"]["schemas"]["BalanceResponse"]
    # FastAPI's shape for `low_balance_alert_cents: int | None = None`.
    balance["properties"]["low_balance_alert_cents"] = {
        "anyOf": [{"type": "integer"}, {"type": "null"}],
        "title": "Low Balance Alert Cents",
    }


def new_get_with_all_of_model(spec: Spec) -> None:
    schemas = spec["components"]["schemas"]
    schemas["OrgSummary"] = {
        "title": "OrgSummary",
        "type": "object",
        "required": ["org_id"],
        "properties": {"org_id": {"type": "string", "title": "Org Id"}},
    }
    schemas["OrgDetails"] = {
        "title": "OrgDetails",
        "allOf": [
            {"$ref": "#/components/schemas/OrgSummary"},
            {
                "type": "object",
                "required": ["org_name"],
                "properties": {
                    "org_name": {"type": "string", "title": "Org Name"},
                    "seats": {"type": "integer", "minimum": 0, "title": "Seats"},
                },
            },
        ],
    }
    spec["paths"]["/service/v1/org"] = {
        "get": {
            "tags": ["Balance"],
            "summary": "Get Org",
            "operationId": "get_org_service_v1_org_get",
            "responses": {"200": _json_response("OrgDetails")},
            "security": [{"BearerAuth": []}],
        }
    }


def new_query_parameter(spec: Spec) -> None:
    spec["paths"]["/service/v1/apps"]["get"]["responses"]["422"] = VALIDATION_ERROR
    spec["paths"]["/service/v1/apps"]["get"]["parameters"] = [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            # FastAPI's shape for `limit: int | None = Query(None, ge=1, le=100)`.
            "schema": {
                "anyOf": [{"type": "integer", "minimum": 1, "maximum": 100}, {"type": "null"}],
                "title": "Limit",
            },
        }
    ]


def _scale_maximum(factor: float) -> Callable[[Spec], None]:
    def mutate(spec: Spec) -> None:
        amount = _at(spec, AMOUNT)
        amount["maximum"] = int(amount["maximum"] * factor)

    return mutate


def description_only(spec: Spec) -> None:
    _at(spec, ADD)["description"] += " Amounts are in US cents."


def _status_enum(values: list[str]) -> Callable[[Spec], None]:
    def mutate(spec: Spec) -> None:
        app = spec["components"]["schemas"]["AppItem"]
        app["properties"]["status"] = {"type": "string", "enum": values, "title": "Status"}

    return mutate


def remove_operation(spec: Spec) -> None:
    del spec["paths"]["/service/v1/apps/{app_id}/keys/{api_key_id}"]


def new_required_request_field(spec: Spec) -> None:
    body = spec["components"]["schemas"]["CreateAppRequestModel"]
    body["properties"]["description"] = {"type": "string", "maxLength": 200}
    body["required"] = [*body.get("required", []), "description"]


def rename_operation_id(spec: Spec) -> None:
    spec["paths"]["/service/v1/apps"]["get"]["operationId"] = (
        "list_applications_service_v1_apps_get"
    )


def rename_tag(spec: Spec) -> None:
    for item in spec["paths"].values():
        for operation in item.values():
            operation["tags"] = ["API Keys" if t == "Keys" else t for t in operation["tags"]]


def charge_loses_its_key(spec: Spec) -> None:
    body = spec["components"]["schemas"]["AddBalanceRequest"]
    del body["properties"]["idempotency_key"]
    body["required"] = [r for r in body["required"] if r != "idempotency_key"]


@dataclass(frozen=True)
class Change:
    name: str
    mutate: Callable[[Spec], None]
    adopted: bool
    breaking: bool
    bump: str  # "minor" or "patch" while the version is below 1.0
    methods_added: tuple[str, ...] = ()
    methods_gone: tuple[str, ...] = ()
    before: Callable[[Spec], None] | None = None  # applied to the base first (already adopted)
    prism: bool = False


CHANGES = [
    Change(
        "new-get-with-model",
        new_get_with_model,
        True,
        False,
        "minor",
        ("list_invoices",),
        prism=True,
    ),
    Change(
        "new-post-with-body", new_post_with_body, True, False, "minor", ("rename_app",), prism=True
    ),
    Change("new-optional-response-field", new_optional_response_field, True, False, "minor"),
    Change("new-nullable-response-field", new_nullable_response_field, True, False, "minor"),
    Change(
        "new-get-with-all-of-model",
        new_get_with_all_of_model,
        True,
        False,
        "minor",
        ("get_org",),
    ),
    Change(
        "new-enum-field-in-response",
        _status_enum(["active", "suspended"]),
        True,
        False,
        "minor",
    ),
    Change("new-optional-query-parameter", new_query_parameter, True, False, "minor"),
    Change("top-up-maximum-raised", _scale_maximum(2), True, False, "minor"),
    Change("top-up-maximum-lowered", _scale_maximum(0.5), True, True, "minor"),
    Change("description-only", description_only, True, False, "patch"),
    Change(
        "new-enum-value-in-response",
        _status_enum(["active", "suspended"]),
        True,
        True,  # a strict client of the old spec refuses the new value (oasdiff agrees)
        "minor",
        before=_status_enum(["active"]),
    ),
    Change(
        "operation-removed", remove_operation, True, True, "minor", methods_gone=("delete_key",)
    ),
    Change("new-required-request-field", new_required_request_field, True, True, "minor"),
    Change(
        "operation-id-renamed",
        rename_operation_id,
        True,
        True,
        "minor",
        ("list_applications",),
        ("list_apps",),
    ),
    # Breaking for code that imports the generated modules by path (they move).
    Change("tag-renamed", rename_tag, True, True, "minor"),
    Change("charge-loses-its-idempotency-key", charge_loses_its_key, False, True, "minor"),
]


def _write(spec: Spec, path: Path) -> None:
    path.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def base_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch repository on the frozen spec (normalised and generated there)."""
    repo = frozen_repo(tmp_path_factory.mktemp("rehearsal") / "base", SUITE_ITEMS)
    _adopt_directly(repo, json.loads(FROZEN.read_text(encoding="utf-8")))
    return repo


def _adopt_directly(repo: Path, spec: Spec) -> None:
    """Make `spec` the repository's pinned spec (normalised) and generate from it."""
    _write(spec, repo / "openapi.json")
    done = subprocess.run(
        [".venv/bin/python", "-m", "codegen.spec", "normalise", "openapi.json"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    generated = make(repo, "generate")
    assert generated.returncode == 0, generated.stderr


def _methods(repo: Path) -> set[str]:
    listing = subprocess.run(
        [
            ".venv/bin/python",
            "-c",
            "import parallel_account as pa, json; print(json.dumps(sorted(n for n in "
            "dir(pa.AccountClient) if not n.startswith('_'))))",
        ],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": "generated:overrides"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert listing.returncode == 0, listing.stderr
    return set(json.loads(listing.stdout))


@pytest.mark.parametrize("change", CHANGES, ids=[c.name for c in CHANGES])
def test_upstream_change_through_spec_update(
    base_repo: Path, tmp_path: Path, change: Change
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(base_repo, repo, symlinks=True)
    base = json.loads((repo / "openapi.json").read_text(encoding="utf-8"))
    if change.before is not None:
        change.before(base)
        _adopt_directly(repo, base)
        base = json.loads((repo / "openapi.json").read_text(encoding="utf-8"))
    methods_before = _methods(repo)
    drifted = copy.deepcopy(base)
    change.mutate(drifted)
    changelog = repo / "CHANGELOG.md"
    before = (
        tree_bytes(repo / "generated"),
        (repo / "openapi.json").read_bytes(),
        changelog.read_bytes() if changelog.exists() else None,
    )
    tests = SURFACE_TESTS + ("" if change.prism else ' -m "not prism"')
    with serve({"/openapi.json": answer(200, json.dumps(drifted).encode())}) as url:
        result = make(
            repo,
            "spec-update",
            f"SPEC_URL={url}/openapi.json",
            f"SPEC_UPDATE_TEST_CMD={tests}",
            timeout=300,
        )
    said = result.stdout + result.stderr
    assert f"spec-update: breaking: {'yes' if change.breaking else 'no'}" in said or (
        not change.adopted
    ), said
    if not change.adopted:
        assert result.returncode != 0, said
        assert "the tests failed" in said and "no longer carries an idempotency key" in said, said
        after = (
            tree_bytes(repo / "generated"),
            (repo / "openapi.json").read_bytes(),
            changelog.read_bytes() if changelog.exists() else None,
        )
        assert after == before
        return
    assert result.returncode == 0, said
    match = re.search(r"version (\S+) -> (\S+) \((\w+)\)", result.stdout)
    assert match is not None and match.group(3) == change.bump, said
    assert f"## {match.group(2)}" in (repo / "CHANGELOG.md").read_text(encoding="utf-8")
    assert make(repo, "check-generated").returncode == 0
    methods = _methods(repo)
    assert methods == (methods_before | set(change.methods_added)) - set(change.methods_gone)


# The additive changes: a release combining them all must pass the gate users run.
ADDITIVE = [c for c in CHANGES if c.adopted and not c.breaking and c.before is None]


def test_a_release_of_every_additive_change_passes_the_default_gate(
    base_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The union of the additive changes, adopted by `make spec-update` with its default
    test command: the whole `make test` (both specs; it leaves the rehearsal out)."""
    repo = tmp_path / "repo"
    shutil.copytree(base_repo, repo, symlinks=True)
    methods_before = _methods(repo)
    drifted = json.loads((repo / "openapi.json").read_text(encoding="utf-8"))
    for change in ADDITIVE:
        change.mutate(drifted)
    # The default gate, whatever the make running this suite passed down to it.
    monkeypatch.delenv("SPEC_UPDATE_TEST_CMD", raising=False)
    with serve({"/openapi.json": answer(200, json.dumps(drifted).encode())}) as url:
        result = make(
            repo,
            "spec-update",
            f"SPEC_URL={url}/openapi.json",
            timeout=1800,
            env={"PYTHONPATH": own_packages(repo)},
        )
    said = result.stdout + result.stderr
    assert result.returncode == 0, said[-20_000:]
    assert re.search(r"spec-update: running tests: \S*make --no-print-directory test\n", said)
    assert "spec-update: breaking: no" in said
    assert re.search(r"version \S+ -> \S+ \(minor\)", result.stdout), said[-5000:]
    added = {name for change in ADDITIVE for name in change.methods_added}
    assert added
    assert _methods(repo) == methods_before | added
