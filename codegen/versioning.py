"""The package version `make spec-update` bumps: read it, bump it, write it back.

Version rule: breaking -> major (minor while below 1.0); non-breaking -> minor;
documentation only -> patch; no change -> no release.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar, Final, Literal

from parallel_account_drift import Change, ExitStatus, summarize

from codegen.generate import ROOT

VERSION_FILE: Final = ROOT / "overrides" / "parallel_account" / "_version.py"

Bump = Literal["major", "minor", "patch"]

_VERSION_LINE: Final = re.compile(r'^__version__ = "([^"\n]*)"$', re.M)


class VersionError(Exception):
    """The version module or its version string cannot be bumped; one line for a human."""

    exit_status: ClassVar[ExitStatus] = ExitStatus.UNUSABLE


def bump_kind(changes: Sequence[Change], version: str) -> Bump | None:
    """Which part of `version` the changes bump; None when there is nothing to release."""
    counts = summarize(changes)
    if counts["breaking"]:
        return "major" if parse_version(version)[0] >= 1 else "minor"
    if counts["non-breaking"]:
        return "minor"
    return "patch" if counts["info"] else None


def parse_version(version: str) -> tuple[int, int, int]:
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version)
    if match is None:
        raise VersionError(
            f"version {version!r} is not MAJOR.MINOR.PATCH; set it by hand in {VERSION_FILE.name}"
        )
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def bumped(version: str, kind: Bump) -> str:
    major, minor, patch = parse_version(version)
    if kind == "major":
        return f"{major + 1}.0.0"
    if kind == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def read_version(text: str) -> str:
    match = _VERSION_LINE.search(text)
    if match is None:
        raise VersionError(f'no `__version__ = "..."` line in {VERSION_FILE}')
    return match.group(1)


def with_version(text: str, version: str) -> str:
    """The version module's text with only the version string replaced."""
    match = _VERSION_LINE.search(text)
    assert match is not None  # read_version ran first
    return text[: match.start(1)] + version + text[match.end(1) :]
