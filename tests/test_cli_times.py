"""Times in the CLI's --json documents are ISO 8601 in UTC, as docs/cli.md promises (issue 12).

The Account API sends some times as Unix seconds (an `integer` field named `*_at`);
the curated commands show them as ISO 8601 UTC. Which fields those are is read from
the spec facts, never typed here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from parallel_account import AccountClient
from parallel_account.cli import main
from parallel_account.cli._times import utc_times
from parallel_account.testing import FakeAccountAPI
from parallel_account_api.spec_facts import OPERATIONS

TOKEN = "times-test-token-0123456789"


def _time_fields(operation: str) -> list[str]:
    """The response fields of `operation` that are times: a date-time, or Unix seconds."""
    return [
        f.name
        for f in OPERATIONS[operation].response_fields
        if f.format == "date-time" or (f.type == "integer" and f.name.endswith("_at"))
    ]


def _is_iso_utc(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    moment = datetime.fromisoformat(value)
    return moment.utcoffset() == timedelta(0)


def test_keys_create_json_shows_every_time_as_iso_8601_utc(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    times = _time_fields("create_key")
    assert times, "the create_key response has no time field: this test checks nothing"
    fake = FakeAccountAPI(token=TOKEN)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setenv("PARALLEL_ACCOUNT_TOKEN", TOKEN)
    with fake.serve() as url:
        with AccountClient(token=TOKEN, base_url=url) as client:
            app_id = client.create_app("times").app_id
        monkeypatch.setenv("PARALLEL_SERVICE_API_URL", url)
        assert main(["--json", "keys", "create", app_id, "prod"]) == 0
    document = json.loads(capsys.readouterr().out)
    (key,) = fake.keys.values()
    for name in times:
        assert _is_iso_utc(document[name]), (name, document[name])
        sent = getattr(key, name)
        assert datetime.fromisoformat(document[name]) == datetime.fromtimestamp(sent, UTC)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "1970-01-01T00:00:00+00:00"),
        (1_795_000_000, datetime.fromtimestamp(1_795_000_000, UTC).isoformat()),
        ("2026-11-22T10:00:00+02:00", "2026-11-22T08:00:00+00:00"),
        ("2026-11-22T08:00:00Z", "2026-11-22T08:00:00+00:00"),
        (datetime(2026, 11, 22, 9, tzinfo=UTC), "2026-11-22T09:00:00+00:00"),
    ],
)
def test_utc_times_converts_unix_seconds_and_offsets(value: object, shown: str) -> None:
    assert utc_times({"created_at": value}) == {"created_at": shown}
    assert utc_times({"outer": [{"expires_at": value}]}) == {"outer": [{"expires_at": shown}]}


@pytest.mark.parametrize(
    "document",
    [
        {"created_at": True},  # a bool is not a time
        {"created_at": 10**30},  # beyond any calendar: shown as sent, never a crash
        {"created_at": "yesterday"},  # not ISO 8601: shown as sent
        {"created_at": "2026-11-22T08:00:00"},  # no offset: which zone is unknown
        {"created_at": None},
        {"amount_cents": 2500, "org_id": "org_1"},  # not a time
    ],
)
def test_utc_times_leaves_what_is_not_a_known_time_alone(document: dict[str, Any]) -> None:
    assert utc_times(document) == document
