"""Responses by status code (2xx removed is breaking; others are not)."""

from __future__ import annotations

from typing import Final

from parallel_account_drift._model import Checks, unclassified
from parallel_account_drift.jsondoc import Json
from parallel_account_drift.rules import BREAKING, NON_BREAKING, rule

AREA: Final = "responses"

RESPONSE_SUCCESS_STATUS_REMOVED: Final = rule(
    "response-success-status-removed", BREAKING, AREA, "a 2xx response was removed"
)
RESPONSE_STATUS_REMOVED: Final = rule(
    "response-status-removed", NON_BREAKING, AREA, "a non-2xx response was removed"
)
RESPONSE_STATUS_ADDED: Final = rule(
    "response-status-added", NON_BREAKING, AREA, "a new response status"
)


class ResponseChecks(Checks):
    def responses(self, where: str, old: dict[str, Json], new: dict[str, Json]) -> None:
        old_codes = {_status(code): value for code, value in old.items()}
        new_codes = {_status(code): value for code, value in new.items()}
        for code in sorted(old_codes.keys() | new_codes.keys()):
            at = f"{where} response {code}"
            success = code.startswith("2")
            if code not in new_codes:
                rule_id = RESPONSE_SUCCESS_STATUS_REMOVED if success else RESPONSE_STATUS_REMOVED
                self.add(rule_id, at, f"response {code} removed")
            elif code not in old_codes:
                self.add(RESPONSE_STATUS_ADDED, at, f"response {code} added")
            else:
                before, after = self.old.obj(old_codes[code]), self.new.obj(new_codes[code])
                self.content(at, before, after, "response", success=success)
                unclassified(self.report, before, after, frozenset({"content"}), at)


def _status(code: str) -> str:
    """Status keys compare case-insensitively ("2xx" is "2XX"); "default" stays as is."""
    return code.lower() if code.lower() == "default" else code.upper()
