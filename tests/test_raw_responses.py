"""`client.with_raw_response.<operation>(...)`: every operation, both clients.

Operations are read from the spec facts and answered with their spec samples.
"""

from __future__ import annotations

import datetime
import inspect
from typing import Any

import httpx
import pytest

import parallel_account as pa
from parallel_account_api.operations import AsyncRawOperations, SyncRawOperations
from parallel_account_api.spec_facts import OPERATIONS
from tests.spec_answers import FACES, TOKEN, SpecAnswers, call_sample, run

NAMES = list(OPERATIONS)
CHARGE = next(op for op in OPERATIONS.values() if op.moves_money)


def _raw(name: str, **per_call: Any) -> Any:
    return lambda client: call_sample(name, **per_call)(client.with_raw_response)


@pytest.mark.parametrize("name", NAMES)
def test_every_operation_has_a_raw_twin_on_both_clients(name: str) -> None:
    assert callable(getattr(SyncRawOperations, name))
    assert inspect.iscoroutinefunction(getattr(AsyncRawOperations, name))
    plain = inspect.signature(getattr(pa.AccountClient, name)).parameters
    assert inspect.signature(getattr(SyncRawOperations, name)).parameters == plain


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("name", NAMES)
def test_every_operation_gives_its_raw_answer(name: str, face: str) -> None:
    op = OPERATIONS[name]
    answers = SpecAnswers()
    raw = run(face, answers, _raw(name))
    assert 200 <= raw.status_code < 300
    assert raw.headers["x-request-id"] == raw.request_id == answers.request_ids[-1]
    assert raw.retries_taken == 0
    assert isinstance(raw.elapsed, datetime.timedelta) and raw.elapsed >= datetime.timedelta(0)
    parsed = raw.parse()
    assert raw.parse() is parsed  # read once
    plain = run(face, SpecAnswers(), call_sample(name))
    assert parsed == plain
    if op.response_empty:
        assert parsed is None
    assert name in repr(raw) and str(raw.status_code) in repr(raw)


@pytest.mark.parametrize("face", FACES)
def test_retries_taken_counts_the_attempts_before_the_answer(face: str) -> None:
    name = next(n for n, op in OPERATIONS.items() if op.idempotent)
    busy = [httpx.Response(503, json={"detail": "busy"}), httpx.Response(429, json={})]
    answers = SpecAnswers(before=busy)
    raw = run(face, answers, _raw(name))
    assert raw.retries_taken == 2 and raw.request_id == answers.request_ids[2]


@pytest.mark.parametrize("face", FACES)
def test_error_answers_raise_as_the_plain_method_does(face: str) -> None:
    name = NAMES[0]
    answers = SpecAnswers(before=[httpx.Response(404, json={"detail": "Not Found"})])
    with pytest.raises(pa.NotFoundError) as caught:
        run(face, answers, _raw(name))
    assert caught.value.request_id == answers.request_ids[0]


@pytest.mark.parametrize("face", FACES)
def test_an_unreadable_success_raises_from_parse_annotated_like_the_plain_call(face: str) -> None:
    unreadable = httpx.Response(200, headers={"content-type": "application/json"}, content=b"{")
    answers = SpecAnswers(before=[unreadable])
    raw = run(face, answers, _raw(CHARGE.name, idempotency_key="raw-key-0001"))
    assert raw.status_code == 200 and raw.content == b"{"
    with pytest.raises(pa.APIResponseValidationError) as caught:
        raw.parse()
    assert caught.value.idempotency_key == "raw-key-0001" and caught.value.outcome_unknown


@pytest.mark.parametrize("face", FACES)
def test_per_call_options_reach_the_raw_call(face: str) -> None:
    answers = SpecAnswers()
    run(face, answers, _raw(NAMES[0], extra_headers={"X-Raw": "1"}, timeout=4.0))
    assert answers.requests[0].headers["x-raw"] == "1"
    assert answers.requests[0].extensions["timeout"]["read"] == 4.0


@pytest.mark.parametrize("face", FACES)
def test_no_token_in_a_raw_answer_even_when_the_server_echoes_it(face: str) -> None:
    echoed = httpx.Response(200, headers={"authorization": f"Bearer {TOKEN}"}, json={})
    name = next(n for n, op in OPERATIONS.items() if op.response_empty)
    answers = SpecAnswers(before=[echoed])
    raw = run(face, answers, _raw(name))
    assert TOKEN not in repr(raw) and TOKEN not in repr(raw.headers)
    assert TOKEN not in repr(pa.AccountClient(TOKEN).with_raw_response)
    # The request it answered no longer holds the token either.
    assert "authorization" not in raw._response.request.headers
