"""Our copies of the generator's templates (codegen/templates/openapi_python_client/).

What each copy changes is checked here on code generated from the frozen spec with
additions, so a template that loses its change (a generator upgrade copied over it) fails:
secret fields out of the repr, `_request_id` on every model and no enum, a public
`request_kwargs` per endpoint module with the client classes imported for typing only.
And the hand-written layer reaches the generated package through public names alone.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from codegen import generate
from tests.support import FROZEN_SPEC, ROOT, curated_only_for

FROZEN = json.loads(FROZEN_SPEC.read_text(encoding="utf-8"))
REQUEST_ID_FIELD = (
    "_request_id: str | None = _attrs_field(default=None, init=False, eq=False, repr=False)"
)
SECRET_PIN = "pin-0000-never-shown"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The package generated from the frozen spec plus an enum and two secret fields."""
    spec = copy.deepcopy(FROZEN)
    schemas = spec["components"]["schemas"]
    schemas["Tier"] = {"type": "string", "enum": ["free", "paid"], "title": "Tier"}
    balance = schemas["BalanceResponse"]["properties"]
    balance["tier"] = {"$ref": "#/components/schemas/Tier"}
    # Optional, with a default (kept), and required without one.
    balance["pin"] = {"type": "string", "format": "password", "default": SECRET_PIN}
    balance["recovery_code"] = {"type": "string", "writeOnly": True}
    schemas["BalanceResponse"].setdefault("required", []).append("recovery_code")
    with pytest.MonkeyPatch.context() as monkeypatch:
        curated_only_for(monkeypatch, spec)
        yield generate.build(tmp_path_factory.mktemp("templates"), json.dumps(spec))


def _models(package: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in (package / "models").glob("[!_]*.py")}


def test_every_model_gets_the_request_id_field_and_enums_are_left_alone(built: Path) -> None:
    modules = _models(built)
    enums = [name for name, text in modules.items() if "Enum):" in text]
    assert "tier.py" in enums
    assert all("_request_id" not in modules[name] for name in enums)
    for name, text in modules.items():
        if name not in enums:
            assert text.count(REQUEST_ID_FIELD) == 1, name


def test_secret_fields_are_declared_out_of_the_repr_with_their_defaults(built: Path) -> None:
    text = _models(built)["balance_response.py"]
    assert f"pin: str | Unset = _attrs_field(default={SECRET_PIN!r}, repr=False)" in (
        text.replace('"', "'")
    )
    assert "recovery_code: str = _attrs_field(repr=False)" in text
    # Only those two: every other field keeps the generator's plain declaration.
    assert text.count("repr=False") == 3  # the two secrets and _request_id


def test_secret_fields_stay_out_of_the_repr_at_run_time(built: Path) -> None:
    script = (
        "from parallel_account_api.models import BalanceResponse\n"
        "b = BalanceResponse(org_id='o', credit_balance_cents=1, pending_debit_balance_cents=0, "
        "will_invoice=False, recovery_code='rc-secret')\n"
        f"assert b.pin == {SECRET_PIN!r} and b.recovery_code == 'rc-secret'\n"
        "print(repr(b))\n"
    )
    shown = _run_in(built, script)
    assert "credit_balance_cents=1" in shown
    assert SECRET_PIN not in shown and "rc-secret" not in shown and "pin=" not in shown


def test_endpoint_modules_have_a_public_builder_and_import_clients_for_typing_only(
    built: Path,
) -> None:
    endpoints = sorted(p for p in (built / "api").glob("*/*.py") if p.name != "__init__.py")
    assert endpoints
    for path in endpoints:
        tree = ast.parse(path.read_text())
        top = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        assert "request_kwargs" in top and "_get_kwargs" not in top, path.name
        for node in tree.body:  # `from ...client import` only inside `if TYPE_CHECKING:`
            if isinstance(node, ast.ImportFrom):
                assert node.module != "client", f"{path.name}: imports the client classes"
    names = [".".join(p.relative_to(built.parent).with_suffix("").parts) for p in endpoints]
    loaded = _run_in(
        built,
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print('parallel_account_api.client' in sys.modules)\n",
    )
    assert loaded.strip() == "False"


def _run_in(package: Path, script: str) -> str:
    """Run `script` with the generated `package` (not the checkout's) importable."""
    env = {**os.environ, "PYTHONPATH": str(package.parent)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# --- the hand-written layer uses public names of the generated package only ---------------


def _private_generated_names() -> set[str]:
    """Names starting with `_` defined at the top of any generated module."""
    names: set[str] = set()
    for path in (ROOT / "generated" / "parallel_account_api").rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            targets: list[ast.expr] = []
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign):
                targets = [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return {name for name in names if name.startswith("_") and not name.startswith("__")}


def private_uses(source: str, private: set[str]) -> list[str]:
    """Where `source` imports a private name from parallel_account_api, or reads one of the
    generated package's private names as an attribute (`module._get_kwargs`) or by
    `getattr(module, "_get_kwargs")`."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "parallel_account_api"
        ):
            parts = [*(node.module or "").split("."), *(a.name for a in node.names)]
            found += [
                f"line {node.lineno}: from {node.module} import {p}"
                for p in parts
                if p.startswith("_")
            ]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("parallel_account_api") and any(
                    p.startswith("_") for p in alias.name.split(".")
                ):
                    found.append(f"line {node.lineno}: import {alias.name}")
        elif isinstance(node, ast.Attribute) and node.attr in private:
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Constant) and node.value in private:
            found.append(f"line {node.lineno}: {node.value!r}")
    return found


def test_the_check_finds_a_private_name_however_it_is_reached() -> None:
    private = {"_get_kwargs"}
    assert private_uses("from parallel_account_api.api.x import _get_kwargs", private)
    assert private_uses("import parallel_account_api._secret", private)
    assert private_uses("module._get_kwargs(body=1)", private)
    assert private_uses("getattr(module, '_get_kwargs')", private)
    assert not private_uses("module.request_kwargs(body=1)", private)


def test_overrides_use_no_private_name_of_the_generated_package() -> None:
    private = _private_generated_names()
    assert "_parse_response" in private  # the generator's own, left private
    # Private names the hand-written layer defines for itself are its own business.
    offenders: dict[str, list[str]] = {}
    for path in sorted((ROOT / "overrides").rglob("*.py")):
        source = path.read_text()
        own = {
            node.name
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        } | {
            t.id
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Assign | ast.AnnAssign)
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(t, ast.Name)
        }
        uses = private_uses(source, private - own)
        if uses:
            offenders[str(path.relative_to(ROOT))] = uses
    assert offenders == {}


def test_the_template_and_the_facts_agree_on_which_fields_are_secret() -> None:
    """The model template applies codegen.facts.is_secret's rule in Jinja (the generator's
    environment takes no filter of ours): the fields it keeps out of the repr are exactly
    the ones spec_facts.SECRET_FIELDS names, which the hand-written layer reads."""
    import attrs

    from parallel_account_api import models
    from parallel_account_api.spec_facts import SECRET_FIELDS

    hidden = {
        name: tuple(f.name for f in attrs.fields(cls) if not f.repr and f.name != "_request_id")
        for name in models.__all__
        if attrs.has(cls := getattr(models, name))
    }
    assert {name: fields for name, fields in hidden.items() if fields} == SECRET_FIELDS
