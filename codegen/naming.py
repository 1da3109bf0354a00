"""Friendly operation names for the generated modules.

FastAPI builds each operationId as `<function>_<path with non-word characters
as underscores>_<method>`, e.g. `add_balance_service_v1_balance_add_post`. The
generator names modules after operationIds, so we strip that suffix on a
working copy of the spec (openapi.json itself is never edited). An operationId
that does not end in its FastAPI suffix is kept as it is.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from parallel_account_drift.errors import SpecError

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class NamingError(SpecError):
    """Two operations would get the same friendly name."""


def fastapi_suffix(path: str, method: str) -> str:
    return "_" + re.sub(r"\W", "_", path).lstrip("_") + "_" + method.lower()


def friendly_name(operation_id: str, path: str, method: str) -> str:
    """`add_balance_service_v1_balance_add_post` -> `add_balance`."""
    suffix = fastapi_suffix(path, method)
    # FastAPI collapses nothing, but `{app_id}` gives `_app_id_` or `__app_id__` depending on
    # version, so compare with runs of underscores squeezed on both sides.
    squeeze = re.compile(r"_+")
    squeezed_id, squeezed_suffix = squeeze.sub("_", operation_id), squeeze.sub("_", suffix)
    if squeezed_id.endswith(squeezed_suffix) and len(squeezed_id) > len(squeezed_suffix):
        return squeezed_id[: -len(squeezed_suffix)]
    return operation_id


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (path, method, operation object) of the document, in document order."""
    found = []
    for path, item in document.get("paths", {}).items():
        for method in HTTP_METHODS:
            if isinstance(item.get(method), dict):
                found.append((path, method, item[method]))
    return found


def with_friendly_names(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of the document whose operationIds are friendly names; raise on a clash."""
    working = copy.deepcopy(document)
    seen: dict[str, str] = {}
    for path, method, operation in operations(working):
        original = operation.get("operationId") or method + "_" + re.sub(r"\W+", "_", path).strip(
            "_"
        )
        name = friendly_name(original, path, method)
        where = f"{method.upper()} {path}"
        if name in seen:
            raise NamingError(f"operations {seen[name]} and {where} would both be named {name!r}")
        seen[name] = where
        operation["operationId"] = name
    return working
