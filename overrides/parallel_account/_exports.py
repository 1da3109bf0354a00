"""Names a package exports but imports on first use (PEP 562), so importing it stays cheap."""

from __future__ import annotations

from importlib import import_module
from typing import Any


def load_export(namespace: dict[str, Any], home: str | None, name: str) -> Any:
    """`name` from module `home`, kept in the package's `namespace` (its `globals()`).

    Kept there, later lookups find it without the package's `__getattr__`. A `home` of
    None means the package exports no such name: AttributeError, as for any module.
    """
    if home is None:
        raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
    value = getattr(import_module(home), name)
    namespace[name] = value
    return value
