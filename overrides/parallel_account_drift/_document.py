"""Document-level checks: openapi and info fields, tag definitions, servers, and the
component schemas as a set (one generated model class each)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from parallel_account_drift._docs import strip_docs
from parallel_account_drift._model import Checks
from parallel_account_drift.jsondoc import Json, canonical_text, changed, escape_token, obj, same
from parallel_account_drift.rules import BREAKING, INFO, NON_BREAKING, rule

AREA: Final = "document"

OPENAPI_VERSION_CHANGED: Final = rule(
    "openapi-version-changed", INFO, AREA, "the openapi version field changed"
)
VERSION_CHANGED: Final = rule("version-changed", INFO, AREA, "info.version changed")
INFO_CHANGED: Final = rule(
    "info-changed", INFO, AREA, "contact, license or terms of service changed"
)
TAG_DEFINITION_CHANGED: Final = rule(
    "tag-definition-changed", INFO, AREA, "a top-level tag definition was added or removed"
)
SERVER_URL_CHANGED: Final = rule(
    "server-url-changed", BREAKING, "servers", "a server URL was changed or removed"
)
SERVER_ADDED: Final = rule("server-added", NON_BREAKING, "servers", "a server URL was added")
SCHEMA_REMOVED: Final = rule(
    "schema-removed",
    BREAKING,
    "components",
    "a component schema was removed: its model class goes",
)
SCHEMA_RENAMED: Final = rule(
    "schema-renamed",
    BREAKING,
    "components",
    "a component schema was renamed: its model class is renamed",
)
SCHEMA_ADDED: Final = rule("schema-added", NON_BREAKING, "components", "a new component schema")


class DocumentChecks(Checks):
    def root_fields(self, old: Mapping[str, Json], new: Mapping[str, Json]) -> None:
        if old.get("openapi") != new.get("openapi"):
            self.add(OPENAPI_VERSION_CHANGED, "#/openapi", changed("openapi", old, new))
        old_info, new_info = obj(old.get("info")), obj(new.get("info"))
        if not same(old_info.get("version"), new_info.get("version")):
            self.add(VERSION_CHANGED, "#/info/version", changed("version", old_info, new_info))
        for key in sorted(old_info.keys() | new_info.keys()):
            if key in ("title", "summary", "description", "version") or key.startswith("x-"):
                continue
            if not same(old_info.get(key), new_info.get(key)):
                where = f"#/info/{escape_token(key)}"
                self.add(INFO_CHANGED, where, changed(key, old_info, new_info))
        old_tags, new_tags = _tag_names(old.get("tags")), _tag_names(new.get("tags"))
        for name in sorted(old_tags - new_tags):
            self.add(TAG_DEFINITION_CHANGED, "#/tags", f"tag {name!r} no longer defined")
        for name in sorted(new_tags - old_tags):
            self.add(TAG_DEFINITION_CHANGED, "#/tags", f"tag {name!r} defined")

    def servers(self, where: str, old: list[str], new: list[str]) -> None:
        removed = [u for u in old if u not in new]
        added = [u for u in new if u not in old]
        if len(removed) == 1 and len(added) == 1:
            self.add(
                SERVER_URL_CHANGED, where, f"server URL changed from {removed[0]} to {added[0]}"
            )
            return
        for url in removed:
            self.add(SERVER_URL_CHANGED, where, f"server {url} removed")
        for url in added:
            self.add(SERVER_ADDED, where, f"server {url} added")

    def component_schemas(self) -> None:
        old = obj(obj(self.old.root.get("components")).get("schemas"))
        new = obj(obj(self.new.root.get("components")).get("schemas"))
        added = sorted(new.keys() - old.keys())
        shapes = {name: canonical_text(strip_docs(new[name])) for name in added}
        for name in sorted(old.keys() - new.keys()):
            shape = canonical_text(strip_docs(old[name]))
            matches = [a for a in added if shapes[a] == shape]
            where = f"#/components/schemas/{escape_token(name)}"
            if len(matches) == 1:  # same shape under a new name: one rename, not two changes
                added.remove(matches[0])
                msg = f"schema {name} renamed to {matches[0]} (generated model class renamed)"
                self.add(SCHEMA_RENAMED, where, msg)
            else:
                self.add(
                    SCHEMA_REMOVED, where, f"schema {name} removed (generated model class removed)"
                )
        for name in added:
            self.add(
                SCHEMA_ADDED, f"#/components/schemas/{escape_token(name)}", f"schema {name} added"
            )


def effective_servers(*levels: Mapping[str, Json]) -> list[str]:
    """Effective server URLs (variables at their defaults) from the first level that has any."""
    for level in levels:
        servers = level.get("servers")
        if isinstance(servers, list) and servers:
            return sorted({_server_url(obj(s)) for s in servers})
    return ["/"]


def _server_url(server: Mapping[str, Json]) -> str:
    url = str(server.get("url", "/"))
    for name, variable in obj(server.get("variables")).items():
        url = url.replace("{" + name + "}", str(obj(variable).get("default", "")))
    return url.rstrip("/") or "/"


def _tag_names(tags: Json) -> set[str]:
    return (
        {str(t["name"]) for t in tags if isinstance(t, dict) and "name" in t}
        if isinstance(tags, list)
        else set()
    )
