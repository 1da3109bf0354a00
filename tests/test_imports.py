"""Imports flow one way: no module of ours imports, directly or through others, itself.

A small check of our own rather than a tool's: it reads every hand-written module under
overrides/ and codegen/ with `ast` and counts every import, also the ones inside a function
(a lazy import still ties two modules together). A circle is reported as the modules in it.

No circle is not yet an order: the sign-in layers (`parallel_account.signin`'s docstring)
import only downward, which `LAYERS` states and `test_the_sign_in_layers_import_only_downward`
checks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

pytestmark = pytest.mark.spec_independent

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {ROOT / "overrides": ("parallel_account", "parallel_account_drift"), ROOT: ("codegen",)}

# The sign-in layers, lowest first: a module imports none of a later group. The user
# interface comes after bearer auth, so no layer can import it; `_login` and the package's
# face put it all together. `_env` and `_errors` sit below everything.
SIGNIN = "parallel_account.signin"
LAYERS: list[tuple[str, frozenset[str]]] = [
    ("foundation", frozenset({"parallel_account._env", "parallel_account._errors"})),
    (
        "platform",
        frozenset(
            f"{SIGNIN}.{name}" for name in ("_answers", "_machine_facts", "_platform", "_polling")
        ),
    ),
    (
        "store",
        frozenset(
            f"{SIGNIN}.{name}" for name in ("_private_file", "_store", "_shared_file", "_status")
        ),
    ),
    (
        "token sources",
        frozenset(
            f"{SIGNIN}.{name}" for name in ("_refresh", "_stored_sign_in", "_shared_sign_in")
        ),
    ),
    ("bearer auth", frozenset({"parallel_account._auth"})),
    ("user interface", frozenset(f"{SIGNIN}.{name}" for name in ("_prompt", "_browser"))),
    ("sign-in face", frozenset({SIGNIN, f"{SIGNIN}._login"})),
]


def upward_imports(
    graph: dict[str, set[str]], layers: list[tuple[str, frozenset[str]]]
) -> list[str]:
    """Every import of a module in one layer from a module in a later (higher) layer."""
    rank = {module: i for i, (_, members) in enumerate(layers) for module in members}
    names = [name for name, _ in layers]
    return [
        f"{module} ({names[rank[module]]}) imports {target} ({names[rank[target]]})"
        for module in sorted(rank)
        for target in sorted(graph.get(module, ()))
        if target in rank and rank[target] > rank[module]
    ]


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for base, packages in PACKAGES.items():
        for package in packages:
            for path in sorted((base / package).rglob("*.py")):
                parts = list(path.relative_to(base).with_suffix("").parts)
                if parts[-1] == "__init__":
                    parts.pop()
                found[".".join(parts)] = path
    return found


def _owner(name: str, known: Iterable[str]) -> str | None:
    """The longest module of ours that `name` is or lies in (None: not ours)."""
    names = set(known)
    while name and name not in names:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(found: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in found.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                # `from pkg import mod` imports pkg.mod when that is a module, else pkg
                targets.update(f"{base}.{alias.name}" for alias in node.names)
        owners = {_owner(target, found) for target in targets}
        graph[name] = {owner for owner in owners if owner and owner != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            step = next(edges, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = len(index)
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(sorted(graph.get(step, ())))))
                elif step in on_stack:
                    low[node] = min(low[node], index[step])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def test_the_check_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [frozenset({"a", "b", "c"})]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_relative_and_lazy_imports(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "one.py").write_text("def f():\n    from . import two\n")
    (package / "two.py").write_text("from pkg.one import f\n")
    found = {
        "pkg": package / "__init__.py",
        "pkg.one": package / "one.py",
        "pkg.two": package / "two.py",
    }
    assert circles(import_graph(found)) == [frozenset({"pkg.one", "pkg.two"})]


def test_no_import_circle() -> None:
    found = [sorted(circle) for circle in circles(import_graph(modules()))]
    assert not found, f"modules that import each other (directly or through others): {found}"


def test_the_layer_check_finds_an_upward_import() -> None:
    layers = [("low", frozenset({"a"})), ("middle", frozenset({"b"})), ("high", frozenset({"c"}))]
    assert upward_imports({"a": set(), "b": {"a"}, "c": {"a", "b"}}, layers) == []
    assert upward_imports({"a": {"c"}, "b": {"a"}, "c": set()}, layers) == [
        "a (low) imports c (high)"
    ]


def test_the_sign_in_layers_import_only_downward() -> None:
    found = modules()
    layered = {module for _, members in LAYERS for module in members}
    # Every sign-in module has its layer: a new one must be placed, not slip past the check.
    assert {name for name in found if name.startswith(SIGNIN)} <= layered
    assert layered <= set(found), f"layers name modules that do not exist: {layered - set(found)}"
    graph = import_graph(found)
    assert not graph["parallel_account._env"], "_env is the bottom: it imports nothing of ours"
    assert upward_imports(graph, LAYERS) == []
