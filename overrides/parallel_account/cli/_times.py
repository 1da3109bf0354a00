"""Times in the CLI's --json documents: ISO 8601 in UTC, whatever shape the API sent.

The Account API names its times `*_at` and sends some as Unix seconds (an integer:
the key's `created_at`, like the sign-in platform's lifetimes) and may send others as
`date-time` strings with any offset. The curated commands show every one of them as
ISO 8601 in UTC (`2026-11-22T08:30:00+00:00`), the form `status --json` uses too.
The rule goes by the `_at` suffix, not by a list of fields, so a time the spec adds
later follows it without a code change.

What cannot be read as a time is shown as sent, never turned into an error: a bool,
a number beyond the calendar, text that is not ISO 8601 or has no offset (its zone is
unknown, so converting it would be a guess). `api OPERATION` prints the API's JSON
unchanged and does not go through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

TIME_SUFFIX = "_at"


def utc_time(value: object) -> object:
    """`value` as ISO 8601 UTC text when it is a Unix time, an aware datetime or ISO text with an offset; else itself."""
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int) and not isinstance(value, bool):
        try:
            moment = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    if moment is None or moment.tzinfo is None or moment.utcoffset() is None:
        return value
    return moment.astimezone(UTC).isoformat()


def utc_times(document: Any) -> Any:
    """A copy of a JSON-shaped `document` with every `*_at` field's time in ISO 8601 UTC."""
    if isinstance(document, Mapping):
        return {
            key: utc_time(value)
            if isinstance(key, str) and key.endswith(TIME_SUFFIX)
            else utc_times(value)
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [utc_times(item) for item in document]
    return document
