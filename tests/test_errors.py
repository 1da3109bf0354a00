"""Every public exception lives in `_errors`, is drawn in its docstring's tree, and is exported.

The classes are found by walking `ParallelAccountError`'s subclasses after importing
every module of the package, not from a hand-written list: a class added anywhere is
held to the same rules.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import parallel_account
from parallel_account import _errors
from parallel_account._errors import ParallelAccountError

# No spec is read: run once, not again on the superset spec.
pytestmark = pytest.mark.spec_independent

NAME = re.compile(r"[A-Z]\w*")


def package_errors() -> list[type[ParallelAccountError]]:
    """Every ParallelAccountError subclass defined in the package (all of its modules loaded)."""
    for module in pkgutil.walk_packages(parallel_account.__path__, "parallel_account."):
        if not module.name.endswith("__main__"):  # running it would start the command line
            importlib.import_module(module.name)
    found: list[type[ParallelAccountError]] = []
    todo = [ParallelAccountError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return [cls for cls in found if cls.__module__.startswith("parallel_account.")]


def parent_of(cls: type[ParallelAccountError]) -> str | None:
    """The base the tree draws a class under: its first base in the family."""
    bases = [base for base in cls.__bases__ if issubclass(base, ParallelAccountError)]
    return bases[0].__name__ if bases else None


def tree_of(doc: str) -> dict[str, str | None]:
    """Class name -> parent name, as drawn in a docstring's tree (4 columns a level)."""
    lines = doc.split("\n\n")[1].splitlines()
    drawn: dict[str, str | None] = {}
    at_depth: list[str] = []
    for line in lines:
        found = NAME.search(line)
        assert found, f"a line of the tree without a class name: {line!r}"
        depth = (found.start() - 4) // 4
        del at_depth[depth:]
        drawn[found.group()] = at_depth[-1] if at_depth else None
        at_depth.append(found.group())
    return drawn


def test_the_tree_reader_sees_nesting() -> None:
    doc = "Title.\n\n    Root\n    ├── A   a\n    │   └── B   b\n    └── C   c\n\nMore."
    assert tree_of(doc) == {"Root": None, "A": "Root", "B": "A", "C": "Root"}


def test_every_exception_is_in_the_errors_module() -> None:
    elsewhere = [
        f"{c.__module__}.{c.__name__}" for c in package_errors() if c.__module__ != _errors.__name__
    ]
    assert elsewhere == []


def test_the_docstring_tree_is_the_class_tree() -> None:
    assert _errors.__doc__
    classes = {cls.__name__: parent_of(cls) for cls in package_errors()}
    assert tree_of(_errors.__doc__) == classes


def test_every_exception_is_importable_from_the_package() -> None:
    errors = package_errors()
    assert len(errors) > 20  # the walk found the family, not an empty list
    for cls in errors:
        assert cls.__name__ in parallel_account.__all__, cls
        assert getattr(parallel_account, cls.__name__) is cls
        namespace: dict[str, object] = {}
        exec(f"from parallel_account import {cls.__name__}", namespace)  # noqa: S102 (a fixed name)
        assert namespace[cls.__name__] is cls


def test_token_store_error_is_exported() -> None:
    # Raised by AccountClient() for an unusable sign-in file: a caller must be able to catch it.
    from parallel_account import TokenStoreError

    assert issubclass(TokenStoreError, ParallelAccountError)


PUBLIC_MODULES = (
    "parallel_account",
    "parallel_account.signin",
    "parallel_account.testing",
    "parallel_account.conformance",
    "parallel_account.cli",
)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_exception_a_public_module_exports_is_in_the_tree(module_name: str) -> None:
    # not only the family: an exception class exported anywhere public (the fake's
    # CannotServe, the pack's ScenarioError) is one of ours and belongs in `_errors`
    module = importlib.import_module(module_name)
    exported = [getattr(module, name) for name in getattr(module, "__all__", ())]
    for cls in exported:
        if isinstance(cls, type) and issubclass(cls, BaseException):
            assert issubclass(cls, ParallelAccountError), f"{module_name}.{cls.__name__}"
            assert cls.__module__ == _errors.__name__, f"{module_name}.{cls.__name__}"
            assert cls.__name__ in parallel_account.__all__, cls.__name__
