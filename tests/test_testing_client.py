"""`FakeAccountAPI.client()` / `.async_client()`: the package's clients on the fake, no backoff."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import parallel_account as pa
from parallel_account.testing import NO_BACKOFF, FakeAccountAPI
from parallel_account_api.spec_facts import OPERATIONS
from tests.support import ROOT

# An operation safe to retry after a 503, whatever the spec calls it.
READ = next(op for op in OPERATIONS.values() if op.method == "GET" and op.response_model)


def test_a_retried_503_sleeps_zero_seconds() -> None:
    fake = FakeAccountAPI(credit_balance_cents=100)
    fake.fail_next(2, status=503, operation=READ.name, retry_after=30)
    slept: list[float] = []
    with fake.client(sleep=slept.append) as client:
        getattr(client, READ.name)()
    assert slept == [0.0, 0.0]  # two retries, the server's Retry-After of 30 s capped to 0
    assert fake.requests[READ.name] == 3


def test_the_async_twin_sleeps_zero_seconds_too() -> None:
    fake = FakeAccountAPI()
    fake.fail_next(status=503, operation=READ.name)
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    async def go() -> None:
        async with fake.async_client(sleep=record) as client:
            await getattr(client, READ.name)()

    asyncio.run(go())
    assert slept == [0.0] and fake.requests[READ.name] == 2


def test_the_retry_rules_and_count_are_kept() -> None:
    assert NO_BACKOFF.max_retries == pa.RetryPolicy().max_retries
    assert NO_BACKOFF.backoff(1) == NO_BACKOFF.backoff(5) == 0.0
    fake = FakeAccountAPI()
    fake.fail_next(5, status=503, operation=READ.name)
    with (
        fake.client(sleep=lambda seconds: None, max_retries=1) as client,
        pytest.raises(pa.InternalServerError),
    ):
        getattr(client, READ.name)()
    assert fake.requests[READ.name] == 2


def test_the_client_owns_and_closes_its_connection_pool() -> None:
    fake = FakeAccountAPI()
    with fake.client() as client:
        http = client._http
    assert http.is_closed


@pytest.mark.parametrize("option", ["token", "base_url", "http_client"])
def test_what_the_fake_sets_cannot_be_given(option: str) -> None:
    with pytest.raises(TypeError, match=f"^{option}: set by the fake"):
        FakeAccountAPI().client(**{option: None})


def test_the_docs_testing_example_runs_without_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    section = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    slept: list[float] = []
    factory = FakeAccountAPI.client

    def recording(fake: FakeAccountAPI, **options: Any) -> pa.AccountClient:
        return factory(fake, sleep=slept.append, **options)

    monkeypatch.setattr(FakeAccountAPI, "client", recording)
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/testing.md", "exec"), namespace)  # noqa: S102 (our own docs)
    tests = [f for name, f in namespace.items() if name.startswith("test_")]
    assert len(tests) == 1
    tests[0]()
    assert slept == [0.0, 0.0]  # two retries (lost answer, then 503), no waiting
