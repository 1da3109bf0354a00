"""Every operation of the pinned spec, whatever it is, works end to end.

Nothing here names an operation, a field or a bound: all is read from
`spec_facts`, so an operation added upstream is tested the day `make spec-update`
adopts it (the rehearsal in tests/test_rehearsal.py runs this file on each change).
Each operation is called with sample arguments built from its facts through both
clients and `parallel-account api`, against the testing fake and against Prism.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import parallel_account as pa
from parallel_account._logging import logger
from parallel_account._schema import sample as sample_of
from parallel_account._validation import field_schema, spec_resolver
from parallel_account.cli import main
from parallel_account.testing import FakeAccountAPI
from parallel_account_api.spec_facts import OPERATIONS, FieldFacts, OperationFacts

# Keyword-only options every method takes besides the spec's arguments.
PER_CALL_OPTIONS = ("extra_headers", "timeout")

NAMES = list(OPERATIONS)
TOKEN = "surface-token"


def sample(facts: FieldFacts) -> Any:
    """A value the spec allows for this parameter: the schema engine's sample (lowest
    bound, shortest length, first enum value or the default), a fresh id for a uuid."""
    if facts.format == "uuid":
        return str(uuid.uuid4())
    value = sample_of(field_schema(facts), spec_resolver())
    if facts.type == "number" and isinstance(value, int):
        return float(value)  # what a caller passes for a float parameter
    return value


def arguments(op: OperationFacts) -> dict[str, Any]:
    """Sample arguments by the spec's names: every required one, and each optional one too."""
    return {
        f.name: sample(f)
        for f in (*op.path_params, *op.query_params, *op.body_fields)
        if f.name != op.idempotency_key_field
    }


def python_call(op: OperationFacts) -> tuple[list[Any], dict[str, Any]]:
    """The same sample arguments as a typed method takes them (positional, then keywords)."""
    values = arguments(op)
    facts = {f.name: f for f in (*op.path_params, *op.query_params, *op.body_fields)}
    positional = [
        values[f.name]
        for f in (*op.path_params, *op.body_fields)
        if f.required and f.name in values
    ]
    keywords = {
        facts[name].identifier: value
        for name, value in values.items()
        if not (facts[name].required and facts[name] not in op.query_params)
    }
    return positional, keywords


# Answers that show the request arrived and was understood: success, or the resource
# the sample arguments name does not exist (a random uuid), or the invoiced org refuses.
ACCEPTED_ERRORS = (pa.NotFoundError, pa.BadRequestError)


@pytest.mark.parametrize("name", NAMES)
def test_every_operation_is_a_typed_method_of_both_clients(name: str) -> None:
    op = OPERATIONS[name]
    sync, coroutine = getattr(pa.AccountClient, name), getattr(pa.AsyncAccountClient, name)
    assert inspect.iscoroutinefunction(coroutine)
    for method in (sync, coroutine):
        parameters = list(inspect.signature(method).parameters.values())[1:]
        required_positional = [
            f.identifier for f in (*op.path_params, *op.body_fields) if f.required
        ]
        required_positional = [n for n in required_positional if n != op.idempotency_key_field]
        assert [p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD] == (
            required_positional
        )
        keyword = {p.name for p in parameters if p.kind is p.KEYWORD_ONLY}
        every = {f.identifier for f in (*op.path_params, *op.query_params, *op.body_fields)}
        assert keyword == every - set(required_positional) | set(PER_CALL_OPTIONS)
    assert op.summary.rstrip(".") in (sync.__doc__ or "")
    assert "Raises:" in (sync.__doc__ or "") and "Retries:" in (sync.__doc__ or "")


@pytest.fixture
def fake() -> FakeAccountAPI:
    return FakeAccountAPI(token=TOKEN, credit_balance_cents=0)


def _sync(fake: FakeAccountAPI, op: OperationFacts) -> Any:
    positional, keywords = python_call(op)
    http = httpx.Client(transport=fake.transport())
    with pa.AccountClient(TOKEN, base_url=fake.base_url, http_client=http) as client:
        return getattr(client, op.name)(*positional, **keywords)


def _async(fake: FakeAccountAPI, op: OperationFacts) -> Any:
    positional, keywords = python_call(op)

    async def go() -> Any:
        http = httpx.AsyncClient(transport=fake.transport())
        async with pa.AsyncAccountClient(TOKEN, base_url=fake.base_url, http_client=http) as c:
            return await getattr(c, op.name)(*positional, **keywords)

    return asyncio.run(go())


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("name", NAMES)
def test_every_operation_reaches_the_fake_from_both_clients(
    fake: FakeAccountAPI, name: str, kind: str
) -> None:
    op = OPERATIONS[name]
    with contextlib.suppress(*ACCEPTED_ERRORS):
        result = (_sync if kind == "sync" else _async)(fake, op)
        _check_result(op, result)
    assert fake.requests.get(name) == 1


def _check_result(op: OperationFacts, result: Any) -> None:
    """The result has the type the facts promise."""
    if op.response_empty:
        assert result is None
    elif op.returns_field is not None:
        assert result is not None
    elif op.response_array:
        assert isinstance(result, list)
    elif op.response_model is not None:
        assert type(result).__name__ == op.response_model


@pytest.fixture
def cli_logging() -> Iterator[None]:
    """main() installs its stderr handler on the package logger: take it away afterwards."""
    handlers, level = list(logger.handlers), logger.level
    yield
    for handler in set(logger.handlers) - set(handlers):
        logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.mark.usefixtures("cli_logging")
@pytest.mark.parametrize("name", NAMES)
def test_every_operation_is_callable_through_the_api_command(
    fake: FakeAccountAPI, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    op = OPERATIONS[name]
    monkeypatch.setenv("PARALLEL_ACCOUNT_TOKEN", TOKEN)
    argv = ["api", name, "--json"]
    for key, value in arguments(op).items():
        text = json.dumps(value) if not isinstance(value, str) else value
        argv += ["--param", f"{key}={text.lower() if isinstance(value, bool) else text}"]
    stdout, stderr = io.StringIO(), io.StringIO()
    with (
        fake.serve() as base_url,
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        status = main(["--base-url", base_url, *argv])
    assert fake.requests.get(name) == 1, stderr.getvalue()
    document = json.loads(stdout.getvalue())
    if status == 0:
        assert document["operation"] == name and "result" in document
    else:  # the sample resource does not exist: a clean API error, with its document
        assert status == 1 and document["error"]["status_code"] in (400, 404), document
    if op.idempotency_key_field is not None:
        assert op.idempotency_key_field in stderr.getvalue()  # said before sending


@pytest.mark.usefixtures("cli_logging")
def test_api_list_names_every_operation_and_parameter() -> None:
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(["api", "--list", "--json"]) == 0
    listed = {entry["operation"]: entry for entry in json.loads(stdout.getvalue())["operations"]}
    assert set(listed) == set(OPERATIONS)
    for name, op in OPERATIONS.items():
        names = {p["name"] for p in listed[name]["parameters"]}
        assert names == {f.name for f in (*op.path_params, *op.query_params, *op.body_fields)}


@pytest.fixture(scope="module")
def prism_client(prism_url: str) -> Iterator[pa.AccountClient]:
    with pa.AccountClient(TOKEN, base_url=prism_url, timeout=10, max_retries=0) as client:
        yield client


@pytest.mark.prism
@pytest.mark.parametrize("name", NAMES)
def test_every_operation_conforms_to_the_spec_against_prism(
    prism_client: pa.AccountClient, name: str
) -> None:
    """Prism validates the request against the spec and answers from its examples."""
    op = OPERATIONS[name]
    positional, keywords = python_call(op)
    raw = prism_client.with_options(max_retries=0)
    result = getattr(raw, name)(*positional, **keywords)
    _check_result(op, result)
