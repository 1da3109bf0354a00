"""The codegen pipeline: normalisation, naming, facts, and the make targets end to end."""

from __future__ import annotations

import copy
import json
import os
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from codegen import naming, spec
from codegen.facts import secret_fields
from parallel_account_api import models as generated_models
from parallel_account_api.spec_facts import OPERATIONS
from tests.support import (
    ROOT,
    add_history_endpoint,
    add_ungeneratable_endpoint,
    answer,
    make,
    scratch_repo,
    serve,
    tree_bytes,
)

PINNED = json.loads((ROOT / "openapi.json").read_text())
# The seed the pin started from: where `.ci/run` says (PARALLEL_ACCOUNT_SEED, an absolute
# path, so scratch copies made by the tests find it too), else ../shared beside the checkout.
SEED_ENV = "PARALLEL_ACCOUNT_SEED"
SEED = Path(os.environ.get(SEED_ENV) or ROOT.parent / "shared" / "seeds" / "account-openapi.json")
# Counts read from the spec, not typed here: `make spec-update` runs these tests on the
# spec it adopts, and a number typed by hand would fail them and throw the change away.
# What `make generate` reports: one module per generated class, the component schemas and
# the enums and inline objects the generator makes of them (as the package exports them).
MODELS = len(generated_models.__all__)


def _numbers_as_floats(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _numbers_as_floats(v) for k, v in reversed(list(node.items()))}
    if isinstance(node, list):
        return [_numbers_as_floats(v) for v in node]
    if isinstance(node, int) and not isinstance(node, bool):
        return float(node)
    return node


@pytest.mark.pinned_spec
def test_pinned_spec_is_normalised() -> None:
    text = (ROOT / "openapi.json").read_text()
    assert spec.dumps(json.loads(text)) == text
    assert text.endswith("}\n") and not text.endswith("\n\n")


@pytest.mark.pinned_spec
def test_pinned_spec_has_the_seeds_meaning() -> None:
    if not SEED.exists():
        # Named on purpose (.ci/run names it), a missing seed is a failure. Elsewhere (a
        # GitHub runner, a user's clone) ../shared is simply not there.
        if os.environ.get(SEED_ENV):
            pytest.fail(f"{SEED} ({SEED_ENV}) is missing")
        pytest.skip(f"../shared/seeds is not beside this checkout and {SEED_ENV} is not set")
    seed = json.loads(SEED.read_text())
    if spec.normalise(seed) != PINNED:
        # The seed is the first pin; a later one must have come in through `make spec-update`,
        # whose changelog entry names the adopted spec's sha256.
        sha = spec.sha256_of((ROOT / "openapi.json").read_text())
        changelog = ROOT / "CHANGELOG.md"
        assert changelog.exists(), "openapi.json differs from the seed and has no CHANGELOG.md"
        assert f"openapi.json sha256 {sha[:12]}" in changelog.read_text(), (
            "openapi.json differs from the seed but was not adopted by `make spec-update`"
        )
        return
    # Only number spelling differs: a float in the seed, an int pinned, equal as numbers.
    bound = seed["components"]["schemas"]["AddBalanceRequest"]["properties"]["amount_cents"]
    pinned = PINNED["components"]["schemas"]["AddBalanceRequest"]["properties"]["amount_cents"]
    assert bound["maximum"] == pinned["maximum"] and isinstance(bound["maximum"], float)
    assert isinstance(pinned["maximum"], int)


def test_normalising_is_idempotent_and_ignores_order_and_spelling() -> None:
    shuffled = _numbers_as_floats(PINNED)
    assert json.dumps(shuffled) != json.dumps(PINNED)
    once = spec.dumps(shuffled)
    assert once == spec.dumps(json.loads(once)) == (ROOT / "openapi.json").read_text()


def test_friendly_names_strip_the_fastapi_suffix() -> None:
    original = {(m, p): op["operationId"] for p, m, op in naming.operations(PINNED)}
    names = {
        (m, p): op["operationId"]
        for p, m, op in naming.operations(naming.with_friendly_names(PINNED))
    }
    # Every operation of the spec, under the name the generated package (and the client) uses,
    assert names == {(op.method.lower(), op.path): name for name, op in OPERATIONS.items()}
    # and each name is exactly FastAPI's id without its suffix (`{app_id}` gives `__app_id__`).
    squeeze = re.compile(r"_+")
    for (method, path), name in names.items():
        suffix = naming.fastapi_suffix(path, method)
        assert squeeze.sub("_", original[(method, path)]) == squeeze.sub("_", name + suffix)
    assert (
        naming.friendly_name(
            "delete_key_service_v1_apps__app_id__keys__api_key_id__delete",
            "/service/v1/apps/{app_id}/keys/{api_key_id}",
            "delete",
        )
        == "delete_key"
    )
    assert (
        naming.friendly_name(
            "add_balance_service_v1_balance_add_post", "/service/v1/balance/add", "post"
        )
        == "add_balance"
    )
    assert naming.friendly_name("custom_name", "/x", "get") == "custom_name"


def test_friendly_names_refuse_a_clash() -> None:
    doc = copy.deepcopy(PINNED)
    doc["paths"]["/service/v2/balance"] = {
        "get": {"operationId": "get_balance_service_v2_balance_get", "responses": {}}
    }
    with pytest.raises(naming.NamingError, match="get_balance"):
        naming.with_friendly_names(doc)


def test_spec_facts_carry_the_bounds_and_safety() -> None:
    from parallel_account_api import spec_facts

    add = spec_facts.OPERATIONS["add_balance"]
    schema = PINNED["components"]["schemas"]["AddBalanceRequest"]["properties"]
    amount, key = add.body_field("amount_cents"), add.body_field("idempotency_key")
    assert amount.maximum == schema["amount_cents"]["maximum"]
    assert amount.exclusive_minimum == schema["amount_cents"]["exclusiveMinimum"]
    assert (key.min_length, key.max_length) == (
        schema["idempotency_key"]["minLength"],
        schema["idempotency_key"]["maxLength"],
    )
    assert add.idempotency_key_field == "idempotency_key" and add.idempotent
    assert not spec_facts.OPERATIONS["create_app"].idempotent
    assert not spec_facts.OPERATIONS["create_key"].idempotent
    assert spec_facts.OPERATIONS["delete_app"].path_param("app_id").format == "uuid"
    assert secret_fields(PINNED) == {"CreateKeyResponse": ["raw_api_key"]}
    assert spec_facts.SECRET_FIELDS == {"CreateKeyResponse": ("raw_api_key",)}
    assert spec.sha256_of((ROOT / "openapi.json").read_text()) == spec_facts.SPEC_SHA256


def test_secret_field_is_out_of_repr_but_readable() -> None:
    from parallel_account_api.models import CreateKeyResponse

    raw = "sk-live-" + "s3cr3t" * 4
    key = CreateKeyResponse(
        api_key_id="k1",
        api_key_name="ci",
        app_id="a1",
        app_name="app",
        created_by_user_id="u1",
        created_by_user_email="u@example.com",
        display_value="sk-...cr3t",
        raw_api_key=raw,
        created_at=1,
    )
    assert key.raw_api_key == raw
    assert raw not in repr(key) and "raw_api_key" not in repr(key)
    assert CreateKeyResponse.from_dict(key.to_dict()).raw_api_key == raw


def test_every_generated_file_has_the_header() -> None:
    sha = spec.sha256_of((ROOT / "openapi.json").read_text())
    package = ROOT / "generated" / "parallel_account_api"
    files = [p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert len(files) > 20
    for path in files:
        if path.name == "openapi.json":  # JSON has no comments; it is the pinned spec itself
            assert path.read_bytes() == (ROOT / "openapi.json").read_bytes()
            continue
        if path.name == "facts.json":  # JSON again: its header is a field
            facts = json.loads(path.read_text())
            assert facts["generated_by"].startswith("make generate")
            assert facts["spec_sha256"] == sha
            continue
        assert path.read_text().startswith(
            f"# Generated by `make generate` from openapi.json (sha256 {sha})"
        )
    assert not list(package.rglob(".ruff_cache"))


# --- make targets, in a scratch copy of the repository -------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return scratch_repo(tmp_path / "repo")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_generate_twice_is_byte_identical(repo: Path) -> None:
    before = tree_bytes(repo / "generated")
    first = make(repo, "generate")
    assert first.returncode == 0, first.stderr
    assert "generated/ unchanged" in first.stdout
    assert f"{len(OPERATIONS)} operations, {MODELS} models" in first.stdout
    assert tree_bytes(repo / "generated") == before


def test_hand_edit_is_caught_with_a_diff_naming_the_file(repo: Path) -> None:
    target = repo / "generated" / "parallel_account_api" / "models" / "balance_response.py"
    target.write_text(target.read_text().replace("org_id: str", "org_id: int", 1))
    result = make(repo, "check-generated")
    assert result.returncode != 0
    assert "generated/parallel_account_api/models/balance_response.py" in result.stdout
    assert "-    org_id: int" in result.stdout and "+    org_id: str" in result.stdout


def test_changed_spec_flows_through_spec_and_generate(repo: Path) -> None:
    drifted = copy.deepcopy(PINNED)
    add_history_endpoint(drifted)
    props = drifted["components"]["schemas"]["BalanceResponse"]["properties"]
    props["currency"] = {"type": "string", "title": "Currency"}
    with serve({"/openapi.json": answer(200, json.dumps(drifted).encode())}) as base:
        fetched = make(repo, "spec", f"SPEC_URL={base}/openapi.json")
    assert fetched.returncode == 0, fetched.stderr
    assert json.loads((repo / "openapi.json").read_text()) == spec.normalise(drifted)
    generated = make(repo, "generate")
    assert generated.returncode == 0, generated.stderr
    assert f"generate: {len(OPERATIONS) + 1} operations, {MODELS} models" in generated.stdout
    assert "generated/ changed" in generated.stdout
    package = repo / "generated" / "parallel_account_api"
    assert "def sync_detailed" in (package / "api" / "balance" / "balance_history.py").read_text()
    assert "currency: str | Unset" in (package / "models" / "balance_response.py").read_text()
    assert make(repo, "check-generated").returncode == 0


OPENAPI_ONLY_HEADER = {"openapi": "3.1.0", "info": {"title": "x", "version": "1"}}
BAD_INPUTS: dict[str, tuple[int, bytes, str, str]] = {
    "404": (404, b"nope", "text/plain", "HTTP 404"),
    "500": (500, b"boom", "text/plain", "HTTP 500"),
    "html": (200, b"<!doctype html><html><body>login</body></html>", "text/html", "HTML page"),
    "truncated": (
        200,
        json.dumps(PINNED).encode()[:500],
        "application/json",
        "invalid or truncated JSON",
    ),
    "not-json": (200, b"openapi: 3.1.0\n", "application/json", "invalid or truncated JSON"),
    "not-openapi": (200, b'{"hello": "world"}', "application/json", "not an OpenAPI document"),
    "swagger-2": (200, b'{"swagger": "2.0"}', "application/json", "not an OpenAPI document"),
    "invalid-openapi": (
        200,
        json.dumps(OPENAPI_ONLY_HEADER | {"paths": {"/a": {"get": {"responses": 5}}}}).encode(),
        "application/json",
        "not a valid OpenAPI document",
    ),
    "broken-ref": (
        200,
        json.dumps(
            PINNED
            | {
                "paths": {
                    "/a": {
                        "get": {
                            "responses": {
                                "200": {
                                    "description": "x",
                                    "content": {
                                        "application/json": {
                                            "schema": {"$ref": "#/components/schemas/Gone"}
                                        }
                                    },
                                }
                            }
                        }
                    }
                }
            }
        ).encode(),
        "application/json",
        "broken $ref #/components/schemas/Gone",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_make_spec_refuses_bad_input_and_touches_nothing(repo: Path, case: str) -> None:
    status, body, content_type, expected = BAD_INPUTS[case]
    before = (repo / "openapi.json").read_bytes(), tree_bytes(repo / "generated")
    with serve({"/spec": answer(status, body, content_type)}) as base:
        result = make(repo, "spec", f"SPEC_URL={base}/spec")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("spec error:")]
    assert len(errors) == 1
    assert f"{base}/spec" in errors[0] and expected in errors[0]
    assert ((repo / "openapi.json").read_bytes(), tree_bytes(repo / "generated")) == before


def test_make_spec_unreachable_host_says_how_to_point_elsewhere(repo: Path) -> None:
    before = (repo / "openapi.json").read_bytes()
    url = f"http://127.0.0.1:{_closed_port()}/openapi.json"
    result = make(repo, "spec", f"SPEC_URL={url}")
    assert result.returncode != 0
    assert (
        url in result.stderr
        and "cannot reach host" in result.stderr
        and "SPEC_URL" in result.stderr
    )
    assert (repo / "openapi.json").read_bytes() == before


def test_make_spec_reads_file_urls(repo: Path, tmp_path: Path) -> None:
    source = tmp_path / "upstream.json"
    source.write_text(json.dumps(_numbers_as_floats(PINNED)))
    result = make(repo, "spec", f"SPEC_URL=file://{source}")
    assert result.returncode == 0, result.stderr
    assert "unchanged" in result.stdout
    assert (repo / "openapi.json").read_bytes() == (ROOT / "openapi.json").read_bytes()


def test_failed_generation_leaves_the_previous_package(repo: Path) -> None:
    unsupported = copy.deepcopy(PINNED)
    add_ungeneratable_endpoint(unsupported)
    (repo / "openapi.json").write_text(spec.dumps(unsupported))
    before = tree_bytes(repo / "generated")
    result = make(repo, "generate")
    assert result.returncode != 0
    assert "openapi-python-client failed" in result.stderr and "left unchanged" in result.stderr
    assert tree_bytes(repo / "generated") == before
