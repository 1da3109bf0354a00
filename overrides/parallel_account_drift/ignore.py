"""Ignore files: accept known changes, each named exactly as the report prints it.

One entry per line, UTF-8:

    # comment lines and blank lines are skipped
    RULE_ID LOCATION: MESSAGE
    RULE_ID LOCATION: MESSAGE  # reason, shown in the report

which is a `text` report line without its level word. An entry accepts the one change
with that rule id, location and message, so accepting `enum value "a" removed` never
hides a later `enum value "b" removed` at the same place. A reason starts at the first
run of two or more spaces followed by `#` (locations may contain spaces and `#`;
messages never hold two spaces in a row). An ignored change is listed as ignored and
never counts towards the exit status. An entry that matches no change is reported on
stderr (it may be stale), not an error; one that names only a location (the form
before entries named the change) accepts nothing, and the warning names the changes
found there, as entries to write.

Limits: values in messages are cut at 60 characters, so two changes that differ only
past that point are one entry.
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
_ENTRY: Final = re.compile(r"(?P<rule>\S+)[ \t]+(?P<change>.+?)(?:[ \t]{2,}#[ \t]*(?P<reason>.*))?")


class IgnoreFileError(ValueError):
    """The ignore file cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Entry:
    rule: str
    change: str  # "LOCATION: MESSAGE", as the text report prints it
    reason: str
    line: int


def entry_text(change: Change) -> str:
    """How an entry names `change`: the text report's line without its level word."""
    return f"{change.location}: {change.message}"


@dataclass(frozen=True)
class IgnoreList:
    path: str
    entries: tuple[Entry, ...]

    def split(self, changes: Sequence[Change]) -> tuple[list[Change], list[Ignored], list[Entry]]:
        """(changes still counted, changes ignored, entries that matched nothing)."""
        wanted = {(e.rule, e.change): e for e in self.entries}
        kept: list[Change] = []
        ignored: list[Ignored] = []
        used: set[Entry] = set()
        for change in changes:
            entry = wanted.get((change.id, entry_text(change)))
            if entry is None:
                kept.append(change)
            else:
                ignored.append(Ignored(change, entry.reason))
                used.add(entry)
        unused = [e for e in self.entries if e not in used]
        return kept, ignored, unused


def at_location(entry: Entry, changes: Sequence[Change]) -> list[Change]:
    """The changes an entry in the old form (RULE_ID LOCATION, no message) points at."""
    return [c for c in changes if c.id == entry.rule and c.location == entry.change]


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
                f"{path}:{number}: expected `RULE_ID LOCATION: MESSAGE  # reason`, got {line[:80]!r}"
            )
        rule_id = match["rule"]
        if rule_id not in REGISTRY:
            raise IgnoreFileError(
                f"{path}:{number}: unknown rule id {rule_id[:80]!r} "
                "(`parallel-account spec rules` lists them)"
            )
        entries.append(Entry(rule_id, match["change"], (match["reason"] or "").strip(), number))
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
