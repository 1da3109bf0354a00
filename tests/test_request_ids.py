"""Every result carries the server's request id; models stay equal and print the same.

Operations are read from the spec facts; each is answered with its spec sample.
"""

from __future__ import annotations

import copy
import enum
import pickle
from typing import Any

import attrs
import httpx
import pytest

import parallel_account as pa
from parallel_account._request_id import REQUEST_ID_HEADERS, request_id_of, with_request_id
from parallel_account.testing import FakeAccountAPI
from parallel_account_api import models
from parallel_account_api.spec_facts import OPERATIONS
from tests.spec_answers import FACES, SpecAnswers, call_sample, run

NAMES = list(OPERATIONS)


def _carriers(result: Any) -> list[Any]:
    """The objects of a result that carry the id: itself, and each model in a list."""
    if isinstance(result, list):
        return [result, *(item for item in result if attrs.has(type(item)))]
    return [result]


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("name", NAMES)
def test_every_result_carries_the_request_id_of_its_answer(name: str, face: str) -> None:
    op = OPERATIONS[name]
    answers = SpecAnswers()
    result = run(face, answers, call_sample(name))
    if op.response_empty:
        assert result is None  # nothing to carry it: with_raw_response has it
        return
    if not isinstance(result, list | dict) and not attrs.has(type(result)):
        assert isinstance(result, str | int | float | bool)  # a bare scalar carries no id
        return
    for carrier in _carriers(result):
        assert carrier._request_id == answers.request_ids[-1]


@pytest.mark.parametrize("face", FACES)
def test_the_id_is_the_last_attempt_s_after_a_retry(face: str) -> None:
    name = next(n for n, op in OPERATIONS.items() if op.method == "GET" and op.response_model)
    answers = SpecAnswers(before=[httpx.Response(503, json={"detail": "busy"})])
    result = run(face, answers, call_sample(name))
    assert len(answers.request_ids) == 2
    assert all(c._request_id == answers.request_ids[1] for c in _carriers(result))


def test_results_from_the_fake_carry_its_request_id() -> None:
    fake = FakeAccountAPI(credit_balance_cents=100)
    with fake.client() as client:
        balance = client.get_balance()
        assert balance._request_id == fake.last_request_id is not None
        with pytest.raises(pa.NotFoundError) as caught:
            client.delete_app("00000000-0000-4000-8000-000000000000")
    assert caught.value.request_id == fake.last_request_id != balance._request_id


def _model_results() -> list[Any]:
    """One result model of each kind the operations return, read from their spec samples."""
    found = []
    for name, op in OPERATIONS.items():
        if op.response_model and not op.response_empty:
            result = run("sync", SpecAnswers(), call_sample(name))
            found += [c for c in _carriers(result) if attrs.has(type(c))]
    assert found, "no operation returns a model"
    return found


def test_the_id_is_left_out_of_equality_repr_and_dict() -> None:
    for result in _model_results():
        assert result._request_id is not None
        fresh = type(result).from_dict(result.to_dict())
        assert fresh._request_id is None
        assert fresh == result and repr(fresh) == repr(result)
        assert result._request_id not in repr(result)
        assert "_request_id" not in result.to_dict()
        assert copy.copy(result) == result


def test_lists_stay_lists_equal_to_plain_ones() -> None:
    item = models.BalanceResponse(1, "org", 0, False)
    tagged = with_request_id([item], "req_1")
    assert isinstance(tagged, list) and tagged == [item] and repr(tagged) == repr([item])
    assert tagged._request_id == "req_1" and item._request_id == "req_1"  # type: ignore[attr-defined]
    assert pickle.loads(pickle.dumps(tagged))._request_id == "req_1"  # noqa: S301 (our own bytes)
    assert with_request_id({"a": 1}, "req_2") == {"a": 1}
    assert with_request_id(None, "req_3") is None


def test_every_generated_model_declares_the_id_outside_init_eq_and_repr() -> None:
    exported = [getattr(models, name) for name in models.__all__]
    # The generator makes an attrs class of each object schema and an Enum of each enum
    # (those are values, and carry no id); nothing else.
    classes = [cls for cls in exported if attrs.has(cls)]
    assert classes
    assert all(issubclass(cls, enum.Enum) for cls in exported if cls not in classes)
    for cls in classes:
        field = attrs.fields_dict(cls)["_request_id"]
        assert (field.init, field.eq, field.repr, field.default) == (False, False, False, None)


@pytest.mark.parametrize("header", REQUEST_ID_HEADERS)
def test_the_documented_headers_are_read_in_order(header: str) -> None:
    assert request_id_of(httpx.Headers({header: "req_x"})) == "req_x"
    both = httpx.Headers({REQUEST_ID_HEADERS[1]: "second", REQUEST_ID_HEADERS[0]: "first"})
    assert request_id_of(both) == "first"
    assert request_id_of(httpx.Headers()) is None
