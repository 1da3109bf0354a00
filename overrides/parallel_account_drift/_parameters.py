"""Request parameters: matched by (in, name), path-level ones overridden by the
operation's; required-ness, serialization and each parameter's schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from parallel_account_drift._model import Checks, Doc, unclassified
from parallel_account_drift.jsondoc import Json, obj
from parallel_account_drift.rules import BREAKING, NON_BREAKING, rule

AREA: Final = "parameters"

REQUEST_PARAMETER_ADDED_REQUIRED: Final = rule(
    "request-parameter-added-required", BREAKING, AREA, "a new required parameter"
)
REQUEST_PARAMETER_ADDED_OPTIONAL: Final = rule(
    "request-parameter-added-optional", NON_BREAKING, AREA, "a new optional parameter"
)
REQUEST_PARAMETER_REMOVED: Final = rule(
    "request-parameter-removed",
    BREAKING,
    AREA,
    "a parameter was removed: its generated argument goes",
)
REQUEST_PARAMETER_BECAME_REQUIRED: Final = rule(
    "request-parameter-became-required", BREAKING, AREA, "an optional parameter became required"
)
REQUEST_PARAMETER_BECAME_OPTIONAL: Final = rule(
    "request-parameter-became-optional", NON_BREAKING, AREA, "a required parameter became optional"
)
REQUEST_PARAMETER_STYLE_CHANGED: Final = rule(
    "request-parameter-style-changed", BREAKING, AREA, "a parameter's style or explode changed"
)

_PARAMETER_KEYS: Final = frozenset(
    {"name", "in", "required", "schema", "content", "deprecated", "style", "explode"}
)
_DEFAULT_STYLE: Final[Mapping[str, str]] = {"path": "simple", "header": "simple"}

ParameterMap = dict[tuple[str, str], dict[str, Json]]


class ParameterChecks(Checks):
    def parameter_map(self, doc: Doc, item_and_op: tuple[dict[str, Json], Json]) -> ParameterMap:
        """Path-level parameters overridden by operation-level ones, keyed by (in, name)."""
        found: ParameterMap = {}
        for level in (item_and_op[0], obj(item_and_op[1])):
            raw = level.get("parameters")
            for node in raw if isinstance(raw, list) else []:
                param = doc.obj(node)
                place, name = str(param.get("in", "")), str(param.get("name", ""))
                found[(place, name.lower() if place == "header" else name)] = param
        return found

    def parameters(self, where: str, old: ParameterMap, new: ParameterMap) -> None:
        for key in sorted(old.keys() | new.keys()):
            place, name = key
            at = f"{where} {place} parameter {name}"
            if key not in new:
                self.add(REQUEST_PARAMETER_REMOVED, at, "parameter removed")
            elif key not in old:
                required = new[key].get("required") is True
                rule_id = (
                    REQUEST_PARAMETER_ADDED_REQUIRED
                    if required
                    else REQUEST_PARAMETER_ADDED_OPTIONAL
                )
                self.add(rule_id, at, f"{'required' if required else 'optional'} parameter added")
            else:
                self.parameter(at, old[key], new[key])

    def parameter(self, at: str, old: dict[str, Json], new: dict[str, Json]) -> None:
        before, after = old.get("required") is True, new.get("required") is True
        if before and not after:
            self.add(REQUEST_PARAMETER_BECAME_OPTIONAL, at, "parameter became optional")
        elif after and not before:
            self.add(REQUEST_PARAMETER_BECAME_REQUIRED, at, "parameter became required")
        before_style, after_style = _serialization(old), _serialization(new)
        if before_style != after_style:
            msg = f"serialization changed from {before_style} to {after_style}"
            self.add(REQUEST_PARAMETER_STYLE_CHANGED, at, msg)
        self.deprecation(at, old, new)
        self.schema(_param_schema(old), _param_schema(new), at, "", "request")
        unclassified(self.report, old, new, _PARAMETER_KEYS, at)


def _param_schema(param: Mapping[str, Json]) -> Json:
    if "schema" in param:
        return param["schema"]
    for media in obj(param.get("content")).values():
        return obj(media).get("schema", {})
    return {}


def _serialization(param: Mapping[str, Json]) -> str:
    """Effective style and explode, so spelling out a default is not a change."""
    style = param.get("style", _DEFAULT_STYLE.get(str(param.get("in")), "form"))
    explode = param.get("explode", style == "form") is True
    return f"style={style} explode={str(explode).lower()}"
