"""Every environment variable the package reads is named in `parallel_account._env`.

A read with the name written out (`os.environ.get("X")`, `os.getenv("X")`,
`os.environ["X"]`, or `.get("X")` on a mapping called `env` or `environ`) anywhere else
in the package fails here: the name belongs in `_env`, where all of them are listed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from parallel_account import _env

pytestmark = pytest.mark.spec_independent

PACKAGE = Path(__file__).resolve().parent.parent / "overrides" / "parallel_account"
ENVIRONMENTS = {"os.environ", "environ", "env"}


def literal_reads(source: str) -> list[str]:
    """The environment variable names `source` reads spelled out as string literals."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        key: ast.expr | None = None
        if isinstance(node, ast.Call) and node.args:
            func = ast.unparse(node.func)
            if func in ("os.getenv", "getenv") or (
                isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get", "pop", "setdefault")
                and ast.unparse(node.func.value) in ENVIRONMENTS
            ):
                key = node.args[0]
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) in ENVIRONMENTS:
            key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            found.append(key.value)
    return found


def test_the_check_sees_a_name_written_out() -> None:
    source = 'import os\nos.environ.get("A")\nos.getenv("B")\nos.environ["C"]\nenv.get("D", "")\n'
    assert literal_reads(source) == ["A", "B", "C", "D"]
    assert literal_reads("from x import NAME\nos.environ.get(NAME)\nheaders.get('E')\n") == []


def test_every_variable_read_is_named_in_env() -> None:
    offences = {
        str(path.relative_to(PACKAGE)): names
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "_env.py" and (names := literal_reads(path.read_text(encoding="utf-8")))
    }
    assert offences == {}, "read these names from parallel_account._env instead"


def test_env_names_are_distinct_and_explained() -> None:
    source = Path(_env.__file__).read_text(encoding="utf-8")
    names: list[str] = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            value = ast.literal_eval(node.value)
            names.extend(value if isinstance(value, tuple) else [value])
            # Each constant says what it means on the line just above it.
            assert source.splitlines()[node.lineno - 2].startswith("# "), ast.unparse(node)
    assert len(names) == len(set(names)) >= 7
