"""The frozen superset spec, and a scratch copy of the repository generated from it.

`tests/data/account-openapi-superset.json` is openapi.json as of November 2026 plus, in
operations an upstream release could add tomorrow, every schema construct the issue-17
work names (never updated to follow the live spec; it is normalised as `make spec` writes
it):

- `list_transactions` (GET, tag Balance): two required query parameters (an inline enum,
  a `date-time`) and optional ones of every type
  (`date-time` string, bounded integer with a default, boolean, number with an exclusive
  minimum, enum by `$ref`, array of strings, a deprecated string); its `TransactionPage`
  has a nullable field (`anyOf` with `null`), `maxItems`, a `date` field, and items with
  `date-time`, a `uuid` marked `readOnly`, an enum, a deprecated field and
  `additionalProperties` with a schema.
- `invite_member` (POST with a path parameter, new tag Members): an `email`, `uri` and
  `date` body with `default`s, a `$ref` enum with a default, an exclusive maximum and
  `additionalProperties: false`; answers 201 with an `allOf` model.
- `revoke_invitation` (DELETE, two path parameters): answers 204 with no body.
- `get_payment_method` (GET, new tag Billing): `oneOf` with a discriminator (and `const`),
  `anyOf` without one, an array of `oneOf` with `minItems`/`maxItems`, a `pattern`, and
  `additionalProperties: true`.
- `purchase_commit` (POST, tag Balance): a second real charge, with its own required
  `idempotency_key` (other bounds and a `pattern`) and an integer enum with a default.
  The project recognises it the way it would a real upstream addition: the required
  `idempotency_key` body field makes it idempotent by key (codegen/surface.py), and the
  pull request adopting it marks it as moving money in codegen/curated.toml by hand
  (`CURATED_ADDITION`), so the import-time guard covers it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.support import ROOT, SUITE_ITEMS, clean_make_env, make, own_packages, scratch_repo

SUPERSET_SPEC = ROOT / "tests" / "data" / "account-openapi-superset.json"
# What the pull request adopting the superset adds to codegen/curated.toml.
CURATED_ADDITION = "\n[operations.purchase_commit]\nmoves_money = true\n"


class SupersetError(Exception):
    """The superset spec did not generate cleanly in the scratch copy."""


def superset_repo(dest: Path) -> Path:
    """A scratch copy of the repository (tests included) with the superset spec adopted:
    openapi.json replaced, the curated entry added, `make generate` run. Returns `dest`."""
    repo = scratch_repo(dest, SUITE_ITEMS)  # the copy's tests read the copy's facts
    shutil.copyfile(SUPERSET_SPEC, repo / "openapi.json")
    with (repo / "codegen" / "curated.toml").open("a", encoding="utf-8") as curated:
        curated.write(CURATED_ADDITION)
    generated = make(repo, "generate", timeout=600)
    if generated.returncode != 0:
        raise SupersetError(
            f"make generate failed on the superset spec:\n{generated.stdout}{generated.stderr}"
        )
    # Bytecode, as `make unit` compiles it for the checkout (see the Makefile's BYTECODE).
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "overrides", "generated"],
        cwd=repo,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return repo


def run_suite(pytest_args: Sequence[str]) -> int:
    """Build the copy in a temporary directory, run pytest there with `pytest_args` and the
    copy's packages first on the path, remove the copy; pytest's exit status."""
    with tempfile.TemporaryDirectory(prefix="superset-") as scratch:
        repo = superset_repo(Path(scratch) / "repo")
        env = {**clean_make_env(), "PYTHONPATH": own_packages(repo)}
        print(f"superset: {SUPERSET_SPEC.name} generated in {repo}; running pytest", flush=True)
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *pytest_args]
        return subprocess.run(command, cwd=repo, env=env, check=False).returncode


if __name__ == "__main__":
    # `python -m tests.superset [PYTEST ARGS]`: what `make unit-superset` runs.
    try:
        sys.exit(run_suite(sys.argv[1:]))
    except SupersetError as exc:
        sys.exit(f"superset: {exc}")
