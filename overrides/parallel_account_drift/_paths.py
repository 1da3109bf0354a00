"""Paths and operations: added, removed, renamed (operationId), moved (first tag), and
each kept operation handed to the parameter, body, response and security checks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from parallel_account_drift._document import effective_servers
from parallel_account_drift._model import METHODS, Checks, Doc, unclassified
from parallel_account_drift.jsondoc import Json, changed, obj, show
from parallel_account_drift.rules import BREAKING, INFO, NON_BREAKING, rule

AREA: Final = "paths"

PATH_REMOVED: Final = rule(
    "path-removed", BREAKING, AREA, "a path and every operation under it were removed"
)
OPERATION_REMOVED: Final = rule(
    "operation-removed", BREAKING, AREA, "an operation (path + method) was removed"
)
PATH_ADDED: Final = rule("path-added", NON_BREAKING, AREA, "a new path")
OPERATION_ADDED: Final = rule(
    "operation-added", NON_BREAKING, AREA, "a new operation on an existing path"
)
OPERATION_ID_CHANGED: Final = rule(
    "operation-id-changed", BREAKING, AREA, "operationId changed: the generated function is renamed"
)
OPERATION_TAG_CHANGED: Final = rule(
    "operation-tag-changed", BREAKING, AREA, "first tag changed: the generated module moves"
)
OPERATION_SECONDARY_TAGS_CHANGED: Final = rule(
    "operation-secondary-tags-changed", INFO, AREA, "tags other than the first changed"
)
DEPRECATED_CHANGED: Final = rule(
    "deprecated-changed", INFO, AREA, "an operation, parameter or schema was (un)deprecated"
)

_OPERATION_KEYS: Final = frozenset(
    {"tags", "operationId", "parameters", "requestBody", "responses", "deprecated"}
    | {"security", "servers"}
)
_PATH_ITEM_KEYS: Final = frozenset({*METHODS, "parameters", "servers"})

ItemAndOperation = tuple[dict[str, Json], Json]


class PathChecks(Checks):
    def paths(self) -> None:
        old, new = _paths_by_template(self.old.root), _paths_by_template(self.new.root)
        for template in sorted(old.keys() | new.keys()):
            if template not in new:
                path, item = old[template]
                self.add(PATH_REMOVED, path, f"path removed ({_methods(self.old, item)})")
            elif template not in old:
                path, item = new[template]
                self.add(PATH_ADDED, path, f"path added ({_methods(self.new, item)})")
            else:
                self.path_item(old[template], new[template])

    def path_item(self, old: tuple[str, Json], new: tuple[str, Json]) -> None:
        old_item, new_item = self.old.obj(old[1]), self.new.obj(new[1])
        path = new[0]
        for method in METHODS:
            where = f"{method.upper()} {path}"
            if method in old_item and method not in new_item:
                self.add(OPERATION_REMOVED, where, "operation removed")
            elif method in new_item and method not in old_item:
                self.add(OPERATION_ADDED, where, "operation added")
            elif method in old_item:
                self.operation(where, (old_item, old_item[method]), (new_item, new_item[method]))
        unclassified(self.report, old_item, new_item, _PATH_ITEM_KEYS | {"$ref"}, path)

    def operation(self, where: str, old: ItemAndOperation, new: ItemAndOperation) -> None:
        old_op, new_op = obj(old[1]), obj(new[1])
        self.operation_identity(where, old_op, new_op)
        self.parameters(where, self.parameter_map(self.old, old), self.parameter_map(self.new, new))
        self.request_body(where, old_op.get("requestBody"), new_op.get("requestBody"))
        self.responses(where, obj(old_op.get("responses")), obj(new_op.get("responses")))
        if "security" in old_op or "security" in new_op:
            old_sec = old_op["security"] if "security" in old_op else self.old.root.get("security")
            new_sec = new_op["security"] if "security" in new_op else self.new.root.get("security")
            self.security(f"{where} security", old_sec, new_sec)
        if any("servers" in node for node in (*old, *new) if isinstance(node, dict)):
            old_servers = effective_servers(old_op, old[0], self.old.root)
            new_servers = effective_servers(new_op, new[0], self.new.root)
            self.servers(f"{where} servers", old_servers, new_servers)
        unclassified(self.report, old_op, new_op, _OPERATION_KEYS, where)

    def operation_identity(
        self, where: str, old: Mapping[str, Json], new: Mapping[str, Json]
    ) -> None:
        if old.get("operationId") != new.get("operationId"):
            self.add(OPERATION_ID_CHANGED, where, changed("operationId", old, new))
        old_tags, new_tags = _tag_list(old.get("tags")), _tag_list(new.get("tags"))
        old_first, new_first = old_tags[0] if old_tags else None, new_tags[0] if new_tags else None
        if old_first != new_first:
            msg = f"first tag changed from {show(old_first)} to {show(new_first)} (module moves)"
            self.add(OPERATION_TAG_CHANGED, where, msg)
        if set(old_tags[1:]) != set(new_tags[1:]):
            msg = f"tags changed from {show(old_tags)} to {show(new_tags)}"
            self.add(OPERATION_SECONDARY_TAGS_CHANGED, where, msg)
        self.deprecation(where, old, new)

    def deprecation(self, where: str, old: Mapping[str, Json], new: Mapping[str, Json]) -> None:
        before, after = old.get("deprecated") is True, new.get("deprecated") is True
        if before != after:
            self.add(
                DEPRECATED_CHANGED, where, "now deprecated" if after else "no longer deprecated"
            )


def _methods(doc: Doc, item: Json) -> str:
    return ", ".join(m.upper() for m in METHODS if m in doc.obj(item)) or "no operations"


def _paths_by_template(root: Mapping[str, Json]) -> dict[str, tuple[str, Json]]:
    """Paths keyed with parameter names blanked: /a/{id} and /a/{app_id} are one route."""
    return {
        re.sub(r"\{[^}/]*\}", "{}", path): (path, item)
        for path, item in obj(root.get("paths")).items()
    }


def _tag_list(tags: Json) -> list[str]:
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
