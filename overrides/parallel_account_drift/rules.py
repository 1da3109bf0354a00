"""The rule registry: every rule id the checker can emit, with its level, area and meaning.

Each area module declares its rules with `rule(...)` beside the code that emits them
(`PATH_REMOVED = rule("path-removed", BREAKING, AREA, "...")`); importing the package
imports every area, so `REGISTRY` is complete once `parallel_account_drift` is imported.

Ids are part of the report format: never reuse or rename one; add a new id instead.
A rule always has the same level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Level = Literal["breaking", "non-breaking", "info"]

BREAKING: Final[Level] = "breaking"
NON_BREAKING: Final[Level] = "non-breaking"
INFO: Final[Level] = "info"
LEVELS: Final[tuple[Level, ...]] = ("breaking", "non-breaking", "info")


@dataclass(frozen=True)
class Rule:
    id: str
    level: Level
    area: str  # which module's checks emit it: "paths", "schemas", "documentation", ...
    meaning: str  # one line


REGISTRY: Final[dict[str, Rule]] = {}


def rule(rule_id: str, level: Level, area: str, meaning: str) -> str:
    """Register a rule (once) and return its id, for use as a constant."""
    if rule_id in REGISTRY:
        raise ValueError(f"rule {rule_id!r} registered twice")
    REGISTRY[rule_id] = Rule(rule_id, level, area, meaning)
    return rule_id


def level_of(rule_id: str) -> Level:
    return REGISTRY[rule_id].level
