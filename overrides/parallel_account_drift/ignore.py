"""Ignore files: accept known changes by rule id and location.

One entry per line, UTF-8:

    # comment lines and blank lines are skipped
    RULE_ID LOCATION
    RULE_ID LOCATION  # reason, shown in the report

RULE_ID is a registered rule id (`parallel-account spec rules` lists them). LOCATION
is the change's location exactly as the report prints it (it may contain spaces and
`#`); a reason starts at the first run of two or more spaces followed by `#`. An
ignored change is listed as ignored and never counts towards the exit status. An
entry that matches no change is reported on stderr (it may be stale), not an error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from parallel_account_drift._model import Change
from parallel_account_drift.report import Ignored
from parallel_account_drift.rules import REGISTRY

MAX_IGNORE_BYTES: Final = 1024 * 1024
_ENTRY: Final = re.compile(
    r"(?P<rule>\S+)[ \t]+(?P<location>.+?)(?:[ \t]{2,}#[ \t]*(?P<reason>.*))?"
)


class IgnoreFileError(ValueError):
    """The ignore file cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Entry:
    rule: str
    location: str
    reason: str
    line: int


@dataclass(frozen=True)
class IgnoreList:
    path: str
    entries: tuple[Entry, ...]

    def split(self, changes: Sequence[Change]) -> tuple[list[Change], list[Ignored], list[Entry]]:
        """(changes still counted, changes ignored, entries that matched nothing)."""
        wanted = {(e.rule, e.location): e for e in self.entries}
        kept: list[Change] = []
        ignored: list[Ignored] = []
        used: set[Entry] = set()
        for change in changes:
            entry = wanted.get((change.id, change.location))
            if entry is None:
                kept.append(change)
            else:
                ignored.append(Ignored(change, entry.reason))
                used.add(entry)
        unused = [e for e in self.entries if e not in used]
        return kept, ignored, unused


def parse_ignore(text: str, path: str) -> IgnoreList:
    """Entries of an ignore file's text; IgnoreFileError names `path:line` and the problem."""
    entries: list[Entry] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _ENTRY.fullmatch(line)
        if match is None:
            raise IgnoreFileError(
                f"{path}:{number}: expected `RULE_ID LOCATION  # reason`, got {line[:80]!r}"
            )
        rule_id = match["rule"]
        if rule_id not in REGISTRY:
            raise IgnoreFileError(
                f"{path}:{number}: unknown rule id {rule_id[:80]!r} "
                "(`parallel-account spec rules` lists them)"
            )
        entries.append(Entry(rule_id, match["location"], (match["reason"] or "").strip(), number))
    return IgnoreList(path, tuple(entries))


def load_ignore(path: str | Path) -> IgnoreList:
    """Read and parse an ignore file, or raise IgnoreFileError with a one-line reason."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_IGNORE_BYTES + 1)
    except OSError as exc:
        raise IgnoreFileError(f"cannot read ignore file {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_IGNORE_BYTES:
        raise IgnoreFileError(f"ignore file {path}: larger than {MAX_IGNORE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise IgnoreFileError(f"{path}:{line}: not UTF-8 text") from None
    return parse_ignore(text, str(path))
