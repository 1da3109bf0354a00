"""Documentation changes (summaries, descriptions, examples, x- extensions), reported at
their JSON pointer, once, without following `$ref`s; and documents stripped of them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final

from parallel_account_drift._model import DOC_KEYS, MAP_KEYS, OPAQUE_KEYS, Report
from parallel_account_drift.jsondoc import Json, escape_token, same, show
from parallel_account_drift.rules import INFO, rule

AREA: Final = "documentation"

SUMMARY_CHANGED: Final = rule("summary-changed", INFO, AREA, "a summary changed")
DESCRIPTION_CHANGED: Final = rule("description-changed", INFO, AREA, "a description changed")
TITLE_CHANGED: Final = rule(
    "title-changed", INFO, AREA, "a title changed (info.title or a schema title)"
)
EXAMPLE_CHANGED: Final = rule("example-changed", INFO, AREA, "an example or examples changed")
EXTERNAL_DOCS_CHANGED: Final = rule("external-docs-changed", INFO, AREA, "externalDocs changed")
BEARER_FORMAT_CHANGED: Final = rule(
    "bearer-format-changed", INFO, AREA, "a bearer token format hint changed"
)
EXTENSION_CHANGED: Final = rule("extension-changed", INFO, AREA, "an x- extension changed")

DOC_RULES: Final[Mapping[str, str]] = {
    "summary": SUMMARY_CHANGED,
    "description": DESCRIPTION_CHANGED,
    "title": TITLE_CHANGED,
    "example": EXAMPLE_CHANGED,
    "examples": EXAMPLE_CHANGED,
    "externalDocs": EXTERNAL_DOCS_CHANGED,
    "bearerFormat": BEARER_FORMAT_CHANGED,
}
assert DOC_RULES.keys() == DOC_KEYS  # one list of documentation keys, two views of it


def strip_docs(node: Json, as_map: bool = False) -> Json:
    """The node without documentation keys, to compare shapes (renames, schemes)."""
    if isinstance(node, list):
        return [strip_docs(v) for v in node]
    if not isinstance(node, dict):
        return node
    if as_map:
        return {k: strip_docs(v) for k, v in node.items()}
    return {
        k: v if k in OPAQUE_KEYS else strip_docs(v, k in MAP_KEYS)
        for k, v in node.items()
        if k not in DOC_RULES and not k.startswith("x-")
    }


def walk_docs(old: Json, new: Json, pointer: str, report: Report, as_map: bool) -> None:
    """Report documentation changes at their JSON pointer, once, without following $refs."""
    if isinstance(old, list) and isinstance(new, list):
        for index, (a, b) in _paired(old, new):
            walk_docs(a, b, f"{pointer}/{index}", report, as_map=False)
        return
    if not isinstance(old, dict) or not isinstance(new, dict):
        return
    if not as_map and ("$ref" in old) != ("$ref" in new):
        return  # inlined on one side only: its documentation lives at the referenced place
    for key in sorted(old.keys() | new.keys()):
        child = f"{pointer}/{escape_token(key)}"
        if as_map or (key not in DOC_RULES and not key.startswith("x-")):
            if key in old and key in new and key not in OPAQUE_KEYS:
                walk_docs(old[key], new[key], child, report, as_map=not as_map and key in MAP_KEYS)
            continue
        if key in old and key in new and same(old[key], new[key]):
            continue
        rule_id = DOC_RULES.get(key, EXTENSION_CHANGED)
        if key not in old:
            report.add(rule_id, child, f"{key} added: {show(new[key])}")
        elif key not in new:
            report.add(rule_id, child, f"{key} removed (was {show(old[key])})")
        else:
            report.add(rule_id, child, f"{key} changed from {show(old[key])} to {show(new[key])}")


def _paired(old: list[Json], new: list[Json]) -> Iterator[tuple[int, tuple[Json, Json]]]:
    """Match list items by identity (name/in, url or $ref), else by position if same length."""
    old_keys, new_keys = [_item_key(v) for v in old], [_item_key(v) for v in new]
    if None not in old_keys and None not in new_keys and _unique(old_keys) and _unique(new_keys):
        where = {k: i for i, k in enumerate(old_keys)}
        for index, key in enumerate(new_keys):
            if key in where:
                yield index, (old[where[key]], new[index])
    elif len(old) == len(new):
        yield from enumerate(zip(old, new, strict=True))


def _item_key(item: Json) -> str | None:
    if not isinstance(item, dict):
        return None
    for field in ("name", "url", "$ref"):
        if isinstance(item.get(field), str):
            return f"{field}:{item.get('in', '')}:{item[field]}"
    return None


def _unique(keys: list[str | None]) -> bool:
    return len(set(keys)) == len(keys)
