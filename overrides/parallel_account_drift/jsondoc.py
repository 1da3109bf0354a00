"""JSON helpers shared by the drift checker and the build-time codegen (codegen.spec, .surface).

Canonical numbers (`10000.0` is `10000`), canonical text for comparing values by meaning,
JSON-pointer tokens (RFC 6901) and local `$ref` resolution. Standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

Json = Any  # a decoded JSON value


class PointerError(LookupError):
    """A JSON pointer (or local `$ref`) names nothing in the document."""


def canonical_numbers(value: Json) -> Json:
    """JSON with whole floats as ints (10000.0 == 10000), so equal meaning compares equal."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: canonical_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical_numbers(v) for v in value]
    return value


def canonical_text(value: Json) -> str:
    # Text form, so values hash and `true` never equals `1` (Python's True == 1).
    return json.dumps(canonical_numbers(value), sort_keys=True, ensure_ascii=False)


def same(a: Json, b: Json) -> bool:
    """Whether two JSON values mean the same (key order and number spelling aside)."""
    return canonical_text(a) == canonical_text(b)


def show(value: Json, limit: int = 60) -> str:
    """A value on one line for a message, cut to `limit` characters."""
    text = " ".join(json.dumps(canonical_numbers(value), ensure_ascii=False).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def escape_token(token: str) -> str:
    """One JSON-pointer reference token: `~` as `~0`, `/` as `~1`."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape_token(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def resolve_pointer(root: Json, ref: str) -> Json:
    """The node a local `$ref` ("#", "#/a/b~1c", percent-encoded or not) names.

    Raises PointerError when it names nothing (or is not a local "#..." reference).
    """
    if not ref.startswith("#"):
        raise PointerError(f"unsupported $ref {ref!r}: only local '#/...' references")
    node: Json = root
    for raw in ref[2:].split("/") if ref != "#" else []:
        token = unescape_token(unquote(raw))
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise PointerError(f"unresolvable $ref {ref!r}")
    return node


def ref_name(ref: str) -> str:
    """The last segment of a `$ref`, as written: a component's name."""
    return ref.rsplit("/", 1)[-1]


def obj(value: Json) -> dict[str, Json]:
    """The value if it is an object, else an empty one (malformed input never crashes)."""
    return value if isinstance(value, dict) else {}


def names(value: Json) -> set[str]:
    """The strings of a list (e.g. `required`), else none."""
    return {v for v in value if isinstance(v, str)} if isinstance(value, list) else set()


def number(value: Json) -> float | None:
    """A JSON number (never a boolean), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def show_key(mapping: Mapping[str, Json], key: str) -> str:
    return show(mapping[key]) if key in mapping else "(none)"


def changed(key: str, old: Mapping[str, Json], new: Mapping[str, Json]) -> str:
    """`key changed from A to B`, `(none)` for a side without it."""
    return f"{key} changed from {show_key(old, key)} to {show_key(new, key)}"
