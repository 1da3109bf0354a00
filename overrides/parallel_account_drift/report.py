"""The report in every format: text, json, markdown, githubactions and junit.

`json` follows `report.schema.json` (shipped beside this module). `githubactions` is
one workflow command per line (`::error` breaking, `::warning` non-breaking, `::notice`
info and ignored), escaped by GitHub's rules. `junit` is one JUnit XML document with a
test case per finding; a breaking finding is a failure, an ignored one is skipped.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from parallel_account_drift._model import Change, sort_changes
from parallel_account_drift.exit_status import ExitStatus
from parallel_account_drift.jsondoc import Json
from parallel_account_drift.rules import LEVELS, REGISTRY, Level

Format = Literal["text", "json", "markdown", "githubactions", "junit"]
FORMATS: Final[tuple[Format, ...]] = ("text", "json", "markdown", "githubactions", "junit")


@dataclass(frozen=True)
class Ignored:
    """A change an ignore file accepted, with the reason given there (may be empty)."""

    change: Change
    reason: str


def report_schema_text() -> str:
    """The JSON Schema (draft 2020-12) of the `json` report, as shipped in the package."""
    from importlib import resources

    return (
        resources.files(__package__ or "parallel_account_drift")
        .joinpath("report.schema.json")
        .read_text("utf-8")
    )


def summarize(changes: Iterable[Change]) -> dict[Level, int]:
    counts: dict[Level, int] = dict.fromkeys(LEVELS, 0)
    for change in changes:
        counts[change.level] += 1
    return counts


def summary_line(changes: Iterable[Change]) -> str:
    """`1 breaking, 0 non-breaking, 2 info`: the counts per level, for a human."""
    counts = summarize(changes)
    return ", ".join(f"{counts[level]} {level}" for level in LEVELS)


def exit_code(changes: Sequence[Change]) -> ExitStatus:
    """OK for no changes, CHANGES for changes but none breaking, BREAKING for at least
    one breaking (ignored ones are not passed here, so they never count)."""
    if any(c.level == "breaking" for c in changes):
        return ExitStatus.BREAKING
    return ExitStatus.CHANGES if changes else ExitStatus.OK


def _change_dict(change: Change) -> dict[str, Json]:
    return {
        "id": change.id,
        "level": change.level,
        "location": change.location,
        "message": change.message,
    }


def report_dict(
    changes: Iterable[Change], ignored: Sequence[Ignored] | None = None
) -> dict[str, Json]:
    """The JSON report: {"breaking": bool, "summary": {level: n}, "changes": [...]}, and
    "ignored": [...] when an ignore file was used."""
    ordered = sort_changes(changes)
    counts = summarize(ordered)
    report: dict[str, Json] = {
        "breaking": counts["breaking"] > 0,
        "summary": dict(counts),
        "changes": [_change_dict(c) for c in ordered],
    }
    if ignored is not None:
        report["ignored"] = [
            {**_change_dict(i.change), "reason": i.reason} for i in _sort_ignored(ignored)
        ]
    return report


def _sort_ignored(ignored: Sequence[Ignored]) -> list[Ignored]:
    by_change = {i.change: i for i in ignored}
    return [by_change[c] for c in sort_changes(by_change)]


def render(
    changes: Iterable[Change],
    fmt: Format,
    *,
    ignored: Sequence[Ignored] | None = None,
    source: str = "",
) -> str:
    """The report in `fmt`. `ignored` (from an ignore file) is listed apart and never
    counted; `source` names the new document (GitHub annotations' `file`, JUnit's suite)."""
    ordered = sort_changes(changes)
    if fmt == "json":
        return json.dumps(report_dict(ordered, ignored), indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return _render_markdown(ordered, ignored)
    if fmt == "text":
        return _render_text(ordered, ignored)
    if fmt == "githubactions":
        return _render_github(ordered, ignored or (), source)
    if fmt == "junit":
        return _render_junit(ordered, ignored or (), source)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


_NONE_IGNORED: Final = "No changes besides the ignored ones."


def _line(change: Change) -> str:
    return f"{change.level.upper()} {change.id} {change.location}: {change.message}"


def _render_text(changes: list[Change], ignored: Sequence[Ignored] | None) -> str:
    lines = [_line(c) for c in changes] or [_NONE_IGNORED if ignored else "No changes."]
    for item in _sort_ignored(ignored or ()):
        reason = f" ({item.reason})" if item.reason else ""
        lines.append(f"IGNORED {_line(item.change)}{reason}")
    return "".join(f"{line}\n" for line in lines)


# ---------------------------------------------------------------- markdown

_LEVEL_TITLES: Final[Mapping[Level, str]] = {
    "breaking": "Breaking changes",
    "non-breaking": "Non-breaking changes",
    "info": "Documentation changes",
}


def _render_markdown(changes: list[Change], ignored: Sequence[Ignored] | None) -> str:
    counts = summarize(changes)
    lines = ["## OpenAPI drift report", ""]
    if not changes:
        lines.append(_NONE_IGNORED if ignored else "No changes.")
    else:
        lines.append(
            f"**{counts['breaking']} breaking**, {counts['non-breaking']} non-breaking, "
            f"{counts['info']} info."
        )
    for level in LEVELS:
        rows = [c for c in changes if c.level == level]
        if not rows:
            continue
        lines += ["", f"### {_LEVEL_TITLES[level]} ({len(rows)})", ""]
        lines += ["| Rule | Location | Change |", "| --- | --- | --- |"]
        lines += [f"| `{c.id}` | `{_md_cell(c.location)}` | {_md_cell(c.message)} |" for c in rows]
    if ignored:
        lines += ["", f"### Ignored ({len(ignored)})", ""]
        lines += ["| Rule | Location | Change | Reason |", "| --- | --- | --- | --- |"]
        lines += [
            f"| `{i.change.id}` | `{_md_cell(i.change.location)}` | "
            f"{_md_cell(i.change.message)} | {_md_cell(i.reason)} |"
            for i in _sort_ignored(ignored)
        ]
    return "\n".join([*lines, ""])


def _md_cell(text: str) -> str:
    # A pipe would end the cell even inside a code span; a backtick would end the span.
    return " ".join(text.split()).replace("|", "\\|").replace("`", "'")


# ---------------------------------------------------------------- GitHub Actions

_COMMANDS: Final[Mapping[Level, str]] = {
    "breaking": "error",
    "non-breaking": "warning",
    "info": "notice",
}


def escape_data(text: str) -> str:
    """A workflow command's message: %, CR and LF percent-encoded (GitHub's rule)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: as data, plus `:` and `,`."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(name: str, properties: Mapping[str, str], message: str) -> str:
    shown = ",".join(
        f"{key}={escape_property(value)}" for key, value in properties.items() if value
    )
    return (
        f"::{name} {shown}::{escape_data(message)}"
        if shown
        else f"::{name}::{escape_data(message)}"
    )


def _render_github(changes: list[Change], ignored: Sequence[Ignored], source: str) -> str:
    # `file` names a file of the repository; a fetched spec (a URL) has none.
    source = "" if "://" in source else source
    lines = [
        _command(
            _COMMANDS[c.level],
            {"file": source, "title": f"{c.level} {c.id}"},
            f"{c.location}: {c.message}",
        )
        for c in changes
    ]
    for item in _sort_ignored(ignored):
        c = item.change
        reason = f" ({item.reason})" if item.reason else ""
        lines.append(
            _command(
                "notice",
                {"file": source, "title": f"ignored {c.level} {c.id}"},
                f"{c.location}: {c.message}{reason}",
            )
        )
    counts = summarize(changes)
    summary = ", ".join(f"{counts[level]} {level}" for level in LEVELS)
    lines.append(
        _command("notice", {"title": "OpenAPI drift"}, f"{summary}, {len(ignored)} ignored")
    )
    return "".join(f"{line}\n" for line in lines)


# ---------------------------------------------------------------- JUnit XML

# Characters XML 1.0 cannot carry at all, even escaped; a spec's text could hold them.
_NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _render_junit(changes: list[Change], ignored: Sequence[Ignored], source: str) -> str:
    counts = summarize(changes)
    suite_name = f"openapi-drift {source}".strip()
    tests = len(changes) + len(ignored) or 1
    attributes = {
        "name": suite_name,
        "tests": str(tests),
        "failures": str(counts["breaking"]),
        "errors": "0",
        "skipped": str(len(ignored)),
    }
    root = ET.Element("testsuites", attributes)
    suite = ET.SubElement(root, "testsuite", attributes)
    for change in changes:
        case = _case(suite, change)
        if change.level == "breaking":
            failure = ET.SubElement(
                case, "failure", {"type": change.id, "message": _xml_text(change.message)}
            )
            failure.text = _xml_text(f"{change.location}: {change.message}")
        else:
            out = ET.SubElement(case, "system-out")
            out.text = _xml_text(f"{change.level}: {change.message}")
    for item in _sort_ignored(ignored):
        case = _case(suite, item.change)
        reason = f"ignored: {item.reason}" if item.reason else "ignored"
        ET.SubElement(case, "skipped", {"message": _xml_text(reason)})
    if not changes and not ignored:
        ET.SubElement(suite, "testcase", {"classname": "openapi-drift", "name": "no changes"})
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _case(suite: ET.Element, change: Change) -> ET.Element:
    area = REGISTRY[change.id].area
    return ET.SubElement(
        suite,
        "testcase",
        {
            "classname": f"openapi-drift.{area}",
            "name": _xml_text(f"{change.id} {change.location}"),
        },
    )
