"""Request bodies: added, removed, required or not (their media types: _content)."""

from __future__ import annotations

from typing import Final

from parallel_account_drift._model import Checks, unclassified
from parallel_account_drift.jsondoc import Json
from parallel_account_drift.rules import BREAKING, NON_BREAKING, rule

AREA: Final = "request-bodies"

REQUEST_BODY_ADDED: Final = rule(
    "request-body-added", NON_BREAKING, AREA, "a new optional request body"
)
REQUEST_BODY_REMOVED: Final = rule(
    "request-body-removed", BREAKING, AREA, "the request body was removed"
)
REQUEST_BODY_BECAME_REQUIRED: Final = rule(
    "request-body-became-required",
    BREAKING,
    AREA,
    "the request body became (or was added as) required",
)
REQUEST_BODY_BECAME_OPTIONAL: Final = rule(
    "request-body-became-optional", NON_BREAKING, AREA, "the request body became optional"
)


class RequestBodyChecks(Checks):
    def request_body(self, where: str, old_raw: Json, new_raw: Json) -> None:
        at = f"{where} request body"
        if old_raw is None and new_raw is None:
            return
        old, new = self.old.obj(old_raw), self.new.obj(new_raw)
        before, after = old.get("required") is True, new.get("required") is True
        if new_raw is None:
            self.add(REQUEST_BODY_REMOVED, at, "request body removed")
            return
        if old_raw is None:
            rule_id = REQUEST_BODY_BECAME_REQUIRED if after else REQUEST_BODY_ADDED
            self.add(rule_id, at, f"{'required' if after else 'optional'} request body added")
            return
        if before != after:
            rule_id = REQUEST_BODY_BECAME_REQUIRED if after else REQUEST_BODY_BECAME_OPTIONAL
            self.add(rule_id, at, f"request body became {'required' if after else 'optional'}")
        self.content(at, old, new, "request", success=True)
        unclassified(self.report, old, new, frozenset({"content", "required"}), at)
