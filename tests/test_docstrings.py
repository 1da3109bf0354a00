"""Every public function, class and method of the hand-written layer documents itself.

Walks `parallel_account.__all__`, `parallel_account.testing.__all__`,
`parallel_account.signin.__all__` and every public member of both clients: each has
a docstring, and the docstring names each of its parameters (a class's constructor
parameters in the class or `__init__` docstring). An async generated method may
instead say it is the awaitable form of its blocking twin, whose docstring is then
held to the same rule.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import parallel_account
import parallel_account.signin
import parallel_account.testing
from parallel_account import AccountClient, AsyncAccountClient
from parallel_account.signin import TokenStore
from parallel_account.signin._private_file import PrivateFile
from parallel_account.testing import FakeAccountAPI
from parallel_account.testing._core import FakeCore

MODULES = (parallel_account, parallel_account.testing, parallel_account.signin)
# Exported classes whose public face a base of ours that is not exported partly defines
# (its methods, its constructor): checked as one class.
FACE_BASES: dict[type, tuple[type, ...]] = {
    FakeAccountAPI: (FakeCore,),
    TokenStore: (PrivateFile,),
}
CLIENTS = (AccountClient, AsyncAccountClient)
TWIN = re.compile(r"Awaitable form of `AccountClient\.(\w+)`")


def _parameters(func: Callable[..., Any]) -> list[str]:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # a builtin without a signature: nothing to name
        return []
    return [name for name in signature.parameters if name not in ("self", "cls")]


def _unnamed(doc: str, names: list[str]) -> list[str]:
    return [name for name in names if not re.search(rf"(?<!\w){re.escape(name)}(?!\w)", doc)]


def _own(cls: type) -> bool:
    return cls.__module__.startswith("parallel_account.") or cls.__module__ == "parallel_account"


def _face(cls: type) -> tuple[type, ...]:
    """The class and the bases that define its public face with it (`FACE_BASES`)."""
    return (cls, *FACE_BASES.get(cls, ()))


def _members(cls: type) -> Iterator[tuple[str, Any]]:
    """Public methods and properties the class (or a base in `FACE_BASES`) defines, not httpx."""
    seen: set[str] = set()
    for name, value in (item for part in _face(cls) for item in vars(part).items()):
        if name.startswith("_") or name in seen:
            continue
        seen.add(name)
        if isinstance(value, staticmethod | classmethod):
            value = value.__func__
        if inspect.isfunction(value) or isinstance(value, property):
            yield name, value


def _problems_of_function(label: str, func: Callable[..., Any]) -> list[str]:
    doc = inspect.getdoc(func)
    if not doc:
        return [f"{label}: no docstring"]
    missing = _unnamed(doc, _parameters(func))
    return [f"{label}: docstring does not name {missing}"] if missing else []


def _problems_of_class(label: str, cls: type) -> list[str]:
    doc = cls.__doc__ or ""
    # A dataclass without a docstring gets its signature as one: that documents nothing.
    if not doc.strip() or doc.startswith(f"{cls.__name__}("):
        return [f"{label}: no docstring"]
    problems = []
    owner = next((part for part in _face(cls) if "__init__" in vars(part)), cls)
    init = vars(owner).get("__init__")
    # The class's own constructor (written, or made by dataclass/attrs), not one inherited.
    if init is not None and getattr(init, "__qualname__", "").startswith(f"{owner.__qualname__}."):
        missing = _unnamed(doc + (init.__doc__ or ""), _parameters(init))
        if missing:
            problems.append(f"{label}(): constructor parameters not named {missing}")
    for name, member in _members(cls):
        if isinstance(member, property):
            if not (member.__doc__ or "").strip():
                problems.append(f"{label}.{name}: no docstring")
        else:
            problems += _problems_of_function(f"{label}.{name}", member)
    return problems


def _exports() -> Iterator[tuple[str, Any]]:
    for module in MODULES:
        for name in module.__all__:
            value = getattr(module, name)
            if (inspect.isclass(value) and _own(value)) or inspect.isfunction(value):
                yield f"{module.__name__}.{name}", value


EXPORTS = dict(_exports())


@pytest.mark.parametrize("label", sorted(EXPORTS))
def test_every_export_documents_its_parameters(label: str) -> None:
    value = EXPORTS[label]
    check = _problems_of_class if inspect.isclass(value) else _problems_of_function
    assert check(label, value) == []


def _client_members() -> Iterator[tuple[str, Any]]:
    for cls in CLIENTS:
        for name in dir(cls):
            if not name.startswith("_"):
                yield f"{cls.__name__}.{name}", inspect.getattr_static(cls, name)


CLIENT_MEMBERS = dict(_client_members())


@pytest.mark.parametrize("label", sorted(CLIENT_MEMBERS))
def test_every_public_member_of_the_clients_is_documented(label: str) -> None:
    member = CLIENT_MEMBERS[label]
    if isinstance(member, property):
        assert (member.__doc__ or "").strip(), f"{label}: no docstring"
        return
    doc = inspect.getdoc(member) or ""
    twin = TWIN.search(doc)
    if twin is not None:
        # Generated coroutines point at their blocking twin, which says it all.
        assert _parameters(member) == _parameters(getattr(AccountClient, twin.group(1)))
        member = getattr(AccountClient, twin.group(1))
        label = f"AccountClient.{twin.group(1)}"
    assert _problems_of_function(label, member) == []


HAND_WRITTEN = ("call", "close", "with_options")
METHODS = sorted(
    name
    for name in dir(AccountClient)
    if not name.startswith("_")
    and not isinstance(inspect.getattr_static(AccountClient, name), property)
)


@pytest.mark.parametrize("name", METHODS)
def test_every_method_says_what_it_raises(name: str) -> None:
    doc = inspect.getdoc(getattr(AccountClient, name)) or ""
    if name not in HAND_WRITTEN:
        # Generated: the errors it raises, and whether it is retried.
        assert "Retries:" in doc, f"{name}: no Retries section"
    if name != "close":
        assert "Raises:" in doc, f"{name}: no Raises section"


def test_the_walk_covers_the_public_api() -> None:
    # A walk that found nothing would pass every test above.
    assert len(EXPORTS) >= len(parallel_account.testing.__all__)
    assert "parallel_account.AccountClient" in EXPORTS
    assert "parallel_account.signin.login" in EXPORTS
    assert all(f"AsyncAccountClient.{n}" in CLIENT_MEMBERS for n in ("call", "aclose"))


def test_a_missing_parameter_is_caught() -> None:
    def documented(alpha: int, beta: int) -> None:
        """Uses alpha only."""

    assert _problems_of_function("f", documented) == ["f: docstring does not name ['beta']"]
