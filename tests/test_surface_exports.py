"""What `parallel_account` exports from the generated layer, and the default sign-in scopes,
come from generated facts (`parallel_account_api.results`, `.scopes`), not from lists typed
in the hand-written layer: a spec change, or a change to codegen/curated.toml, flows through.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import parallel_account as pa
from codegen import facts
from codegen.surface import CURATED, SurfaceError
from parallel_account import _scopes
from parallel_account_api import models, operations, results
from parallel_account_api.operations import SyncOperations
from tests.support import ROOT, own_packages


def test_the_result_models_are_the_ones_the_methods_return() -> None:
    annotated = {
        word
        for name, method in vars(SyncOperations).items()
        if callable(method) and not name.startswith("_")
        for word in re.findall(r"\w+", str(method.__annotations__["return"]))
        if word in models.__all__
    }
    assert annotated
    assert set(results.RESULT_MODELS) == annotated


def test_every_result_model_is_exported() -> None:
    for name in results.RESULT_MODELS:
        assert getattr(pa, name) is getattr(models, name)


def test_a_result_model_a_spec_update_adds_is_exported_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    added = next(
        name
        for name in models.__all__
        if name not in pa.__all__ and name not in results.RESULT_MODELS
    )
    with pytest.raises(AttributeError):
        getattr(pa, added)
    monkeypatch.setattr(results, "RESULT_MODELS", (*results.RESULT_MODELS, added))
    assert getattr(pa, added) is getattr(models, added)


def test_the_models_named_in_all_are_result_models() -> None:
    # __all__ names them for type checkers and `import *`; the spec decides what they are.
    named = {
        name
        for name in pa.__all__
        if hasattr(models, name) and not hasattr(operations, name) and name != "__version__"
    }
    assert named
    assert named <= set(results.RESULT_MODELS)


# --- the default scopes, curated in codegen/curated.toml ------------------------------------


def test_the_default_scopes_are_the_curated_ones() -> None:
    curated = tomllib.loads(CURATED.read_text(encoding="utf-8"))["sign_in"]["default_scopes"]
    assert _scopes.DEFAULT_SCOPES == tuple(curated) == facts.default_scopes()
    assert " ".join(curated) == _scopes.DEFAULT_SCOPE


def test_a_changed_scope_list_is_what_generation_writes(tmp_path: Path) -> None:
    curated = tmp_path / "curated.toml"
    curated.write_text('[sign_in]\ndefault_scopes = ["apps:read", "reports:read"]\n')
    scopes = facts.default_scopes(curated)
    assert scopes == ("apps:read", "reports:read")
    written: dict[str, object] = {}
    exec(facts.render_scopes(scopes), written)  # noqa: S102 (text we just rendered)
    assert written["DEFAULT_SCOPES"] == scopes


@pytest.mark.parametrize(
    "entry",
    [
        "",
        "[sign_in]\n",
        "[sign_in]\ndefault_scopes = []\n",
        '[sign_in]\ndefault_scopes = ["a b"]\n',
    ],
)
def test_a_missing_or_malformed_scope_list_stops_generation(tmp_path: Path, entry: str) -> None:
    curated = tmp_path / "curated.toml"
    curated.write_text(entry)
    with pytest.raises(SurfaceError, match=r"\[sign_in\] default_scopes"):
        facts.default_scopes(curated)


# --- tests/support reads the spec's facts on first use, not at import ------------------------


def test_support_imports_on_a_spec_without_add_balance() -> None:
    """What a spec without add_balance generates, in a fresh interpreter: the module every
    test imports for ROOT and make() still loads; only the top-up bounds fail, saying why."""
    script = (
        "from parallel_account_api import spec_facts\n"
        "spec_facts.OPERATIONS.pop('add_balance', None)\n"
        "import tests.support as support\n"
        "assert support.ROOT.is_dir() and callable(support.make)\n"
        "try:\n"
        "    from tests.support import LOWEST\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": own_packages(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "has no add_balance operation" in done.stdout


def test_support_gives_add_balances_bounds_from_the_facts() -> None:
    import tests.support as support
    from parallel_account_api.spec_facts import OPERATIONS

    amount = OPERATIONS["add_balance"].body_field("amount_cents")
    assert amount == support.AMOUNT
    assert support.LOWEST in (amount.minimum, (amount.exclusive_minimum or 0) + 1)
    assert OPERATIONS["add_balance"].body_field("idempotency_key").min_length == support.SHORTEST
