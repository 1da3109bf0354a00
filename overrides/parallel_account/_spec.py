"""The pinned Account API spec this package was generated from, and its sha256."""

from __future__ import annotations

import json
from typing import Any

from parallel_account_api.spec_facts import SPEC_SHA256


def spec_text() -> str:
    """The pinned openapi.json, exactly as committed (normalised), as text. Never raises."""
    from importlib import resources  # on first use: it pulls in pathlib, which clients rarely need

    return resources.files("parallel_account_api").joinpath("openapi.json").read_text("utf-8")


def spec() -> dict[str, Any]:
    """The pinned openapi.json, parsed into a new dict on every call. Never raises."""
    document: dict[str, Any] = json.loads(spec_text())
    return document


__all__ = ["SPEC_SHA256", "spec", "spec_text"]
