"""The CHANGELOG.md entry `make spec-update` writes for an adopted API change."""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from typing import Final

from parallel_account_drift import LEVELS, Change, Level, sort_changes

CHANGELOG_HEADER: Final = (
    "# Changelog\n\n"
    "Newest first. `make spec-update` writes an entry per adopted API change, listing\n"
    "the changes parallel_account_drift found (breaking first); notes may be added by hand.\n"
)
_TITLES: Final[dict[Level, str]] = {
    "breaking": "Breaking",
    "non-breaking": "Non-breaking",
    "info": "Documentation only",
}


def changelog_entry(
    version: str, day: datetime.date, changes: Sequence[Change], spec_sha256: str
) -> str:
    lines = [f"## {version} - {day.isoformat()}", ""]
    lines.append(f"API changes adopted from the spec (openapi.json sha256 {spec_sha256[:12]}):")
    ordered = sort_changes(changes)
    for level in LEVELS:
        rows = [c for c in ordered if c.level == level]
        if rows:
            lines += ["", f"### {_TITLES[level]}", ""]
            lines += [f"- `{code_span(c.location)}`: {c.message} ({c.id})" for c in rows]
    return "\n".join(lines) + "\n"


def code_span(text: str) -> str:
    """`text` made safe inside a markdown code span: a backtick there would end it."""
    return text.replace("`", "'")


def with_entry(existing: str | None, entry: str) -> str:
    """The changelog with `entry` as its newest: above the first version heading."""
    if not existing:
        return f"{CHANGELOG_HEADER}\n{entry}"
    first = re.search(r"^## ", existing, re.M)
    if first is None:
        return f"{existing.rstrip()}\n\n{entry}"
    return f"{existing[: first.start()]}{entry}\n{existing[first.start() :]}"
