"""A success whose body does not match the spec: what the error says about repeating the call.

A read (or any idempotent operation without an idempotency key) changed nothing it
could change twice: its error says the API answered something this client cannot
read and that repeating it is safe, with `outcome_unknown` False. Only an operation
that is not idempotent may say its work "may have been carried out"; a keyed one
names its key. The operations come from the spec facts; the bad bodies from the
schema engine's mutator (a body breaking the operation's success schema).
"""

from __future__ import annotations

import json

import httpx
import pytest

import parallel_account as pa
from parallel_account import _request
from parallel_account._schema import Resolver, mutations, sample
from parallel_account_api.spec_facts import OPERATIONS, SCHEMAS, OperationFacts
from tests.spec_answers import FACES, SpecAnswers, call_sample, run

WITH_BODY = [op for op in OPERATIONS.values() if not op.response_empty and op.response_schema]


def _bad_body(op: OperationFacts) -> bytes:
    """A JSON body breaking the operation's success schema (the engine's first mutation)."""
    resolver = Resolver.from_components(SCHEMAS)
    mutation = next(iter(mutations(op.response_schema, resolver)))
    return json.dumps(mutation.value).encode()


def _unreadable_success(op: OperationFacts, face: str) -> pa.APIResponseValidationError:
    bad = httpx.Response(200, headers={"content-type": "application/json"}, content=_bad_body(op))
    answers = SpecAnswers(before=[bad])
    with pytest.raises(pa.APIResponseValidationError) as caught:
        run(face, answers, call_sample(op.name))
    assert len(answers.requests) == 1  # an unreadable success is never retried
    return caught.value


def _names(ops: list[OperationFacts]) -> list[str]:
    return [op.name for op in ops]


SAFE = [op for op in WITH_BODY if op.idempotent and op.idempotency_key_field is None]
UNSAFE = [op for op in WITH_BODY if not op.idempotent]


def test_the_pinned_spec_has_both_kinds() -> None:
    # The tests below are parametrized over these; an empty list would test nothing.
    assert SAFE and any(op.method == "GET" for op in SAFE)


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("name", _names(SAFE))
def test_an_idempotent_operations_bad_body_says_repeating_is_safe(name: str, face: str) -> None:
    error = _unreadable_success(OPERATIONS[name], face)
    text = str(error)
    assert not error.outcome_unknown
    assert "may have been carried out" not in text and "not idempotent" not in text
    assert "cannot read" in text and "repeating it is safe" in text and name in text


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("name", _names(UNSAFE))
def test_a_non_idempotent_operations_bad_body_says_it_may_have_been_done(
    name: str, face: str
) -> None:
    error = _unreadable_success(OPERATIONS[name], face)
    assert error.outcome_unknown
    assert "may have been carried out" in str(error)


# --- the fast reader of lists of flat models builds what from_dict builds ---------------------

FLAT_MODELS = [name for name in SCHEMAS if _request._rows_reader(name) is not None]


@pytest.mark.parametrize("name", FLAT_MODELS)
def test_the_rows_reader_builds_what_from_dict_builds(name: str) -> None:
    resolver = Resolver.from_components(SCHEMAS)
    model = _request._model_class(name)
    read_rows = _request._rows_reader(name)
    assert read_rows is not None
    row = sample({"$ref": name}, resolver)
    rows = [dict(row), dict(row)]
    fast = read_rows(rows)
    assert fast == [model.from_dict(r) for r in rows]
    assert all(type(m) is model and m.additional_properties == {} for m in fast)
    # A row with a field the spec does not name keeps it, as from_dict does.
    extra = read_rows([dict(row), {**row, "new_field": 1}])
    assert extra[1].additional_properties == {"new_field": 1} and extra[1] == model.from_dict(
        {**row, "new_field": 1}
    )


def test_a_schema_the_engine_cannot_use_refuses_answers_instead_of_raising() -> None:
    from parallel_account._schema import checker

    check = checker({"$ref": "Gone"}, {})
    problem = check({"anything": 1})
    assert problem is not None and "'Gone'" in problem and "cannot be checked" in problem
