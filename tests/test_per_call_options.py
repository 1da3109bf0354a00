"""Headers and per-call options: `default_headers`, the environment, `extra_headers`, `timeout`.

Every operation (read from the spec facts) takes the per-call options on both
clients; the precedence is environment < default_headers < extra_headers < the
client's own headers; owned headers and bad names or values are refused before
any request.
"""

from __future__ import annotations

import inspect
import pickle
import pydoc
import typing
from typing import Any

import httpx
import pytest

import parallel_account as pa
from parallel_account._env import CUSTOM_HEADERS_ENV
from parallel_account._headers import CLIENT_OWNED
from parallel_account_api.operations import NOT_GIVEN, NotGiven
from parallel_account_api.spec_facts import OPERATIONS
from tests.spec_answers import FACES, SpecAnswers, call_sample, run
from tests.test_surface import PER_CALL_OPTIONS

NAMES = list(OPERATIONS)
KEY_FIELDS = sorted({f for op in OPERATIONS.values() if (f := op.idempotency_key_field)})


@pytest.fixture(autouse=True)
def _no_env_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CUSTOM_HEADERS_ENV, raising=False)


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize("name", NAMES)
def test_every_method_sends_extra_headers_and_its_own_timeout(name: str, face: str) -> None:
    answers = SpecAnswers()
    options = {"extra_headers": {"X-Trace": "t-1"}, "timeout": 7.5}
    run(face, answers, call_sample(name, **options), timeout=30.0)
    (request,) = answers.requests
    assert request.headers["x-trace"] == "t-1"
    assert request.extensions["timeout"] == httpx.Timeout(7.5).as_dict()


@pytest.mark.parametrize("face", FACES)
def test_a_per_call_timeout_does_not_stick_to_the_client(face: str) -> None:
    answers = SpecAnswers()
    name = NAMES[0]
    once, plain = call_sample(name, timeout=3.0), call_sample(name)

    def use(client: Any) -> Any:
        if face == "sync":
            once(client)
            return plain(client)
        return _both(once(client), plain(client))

    run(face, answers, use, timeout=12.0)
    first, second = (r.extensions["timeout"] for r in answers.requests)
    assert (first, second) == (httpx.Timeout(3.0).as_dict(), httpx.Timeout(12.0).as_dict())


async def _both(*calls: Any) -> None:
    for call in calls:
        await call


@pytest.mark.parametrize("face", FACES)
def test_per_call_timeout_none_sends_without_a_timeout(face: str) -> None:
    answers = SpecAnswers()
    name = NAMES[0]
    run(face, answers, call_sample(name, timeout=None), timeout=12.0)
    assert answers.requests[0].extensions["timeout"] == httpx.Timeout(None).as_dict()


@pytest.mark.parametrize("face", FACES)
def test_header_precedence(face: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        CUSTOM_HEADERS_ENV, "X-A: env\n\nX-B: env\r\nX-C: env\n  X-Env-Only :  spaced  \n"
    )
    answers = SpecAnswers()
    run(
        face,
        answers,
        call_sample(NAMES[0], extra_headers={"x-c": "extra"}),
        default_headers={"X-B": "default", "X-C": "default"},
    )
    headers = answers.requests[0].headers
    assert (headers["x-a"], headers["x-b"], headers["x-c"]) == ("env", "default", "extra")
    assert headers["x-env-only"] == "spaced"
    # The client's own headers are there once, as the client set them.
    assert headers["user-agent"].startswith("parallel-account-client/")
    assert (headers["accept"], headers["accept-encoding"]) == ("application/json", "gzip, deflate")
    assert all(len(headers.get_list(name)) == 1 for name in ("x-c", *CLIENT_OWNED))


@pytest.mark.parametrize("face", FACES)
def test_with_options_adds_default_headers_and_leaves_the_original_alone(face: str) -> None:
    answers = SpecAnswers()
    name = NAMES[0]
    plain = call_sample(name)

    def use(client: Any) -> Any:
        other = client.with_options(default_headers={"X-B": "2"})
        if face == "sync":
            plain(other)
            return plain(client)
        return _both(plain(other), plain(client))

    run(face, answers, use, default_headers={"X-A": "1", "X-B": "1"})
    first, second = (r.headers for r in answers.requests)
    assert (first["x-a"], first["x-b"]) == ("1", "2")
    assert (second["x-a"], second["x-b"]) == ("1", "1")


# The client owns these (and the spec's idempotency fields, in header form too).
REFUSED = sorted(
    {
        "Authorization",
        "content-type",
        "Idempotency-Key",
        "Proxy-Authorization",
        "Host",
        # Set by the client itself: a caller's value is refused, not silently dropped.
        *CLIENT_OWNED,
        *KEY_FIELDS,
        *(f.replace("_", "-").upper() for f in KEY_FIELDS),
    }
)
SECRET = "s3cr3t-value-never-shown"
BAD_VALUES = {
    "a line feed": f"{SECRET}\nX-Injected: 1",
    "a carriage return": f"{SECRET}\rX",
    "non-ASCII": f"{SECRET}\u00e9",
    "a control character": f"{SECRET}\x00",
}
BAD_NAMES = ["X Team", "X:Team", "X-T\u00e9am", "", "X-Team\n"]


def _never(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"nothing may be sent: {request.method} {request.url}")


def _client(**options: Any) -> pa.AccountClient:
    http = httpx.Client(transport=httpx.MockTransport(_never))
    return pa.AccountClient("t", base_url="https://api.example.test", http_client=http, **options)


@pytest.mark.parametrize("header", REFUSED)
def test_owned_headers_are_refused_from_every_source_before_any_request(
    header: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(pa.InvalidRequestError, match=r"^extra_headers: .* cannot be set this way"):
        _client().get_balance(extra_headers={header: SECRET})
    with pytest.raises(pa.InvalidRequestError, match=r"^default_headers: .* cannot be set"):
        _client(default_headers={header: SECRET})
    with pytest.raises(pa.InvalidRequestError, match=r"^default_headers: .* cannot be set"):
        _client().with_options(default_headers={header: SECRET})
    monkeypatch.setenv(CUSTOM_HEADERS_ENV, f"{header}: {SECRET}")
    with pytest.raises(pa.InvalidRequestError, match=rf"^\${CUSTOM_HEADERS_ENV}: .* cannot be set"):
        _client()


@pytest.mark.parametrize("what", sorted(BAD_VALUES))
def test_bad_header_values_are_refused_without_quoting_them(what: str) -> None:
    with pytest.raises(pa.InvalidRequestError) as caught:
        _client().get_balance(extra_headers={"X-Team": BAD_VALUES[what]})
    message = str(caught.value)
    assert message.startswith("extra_headers: the value of 'X-Team' contains")
    assert what.split()[-1].lower() in message.lower() or "line break" in message
    assert SECRET not in message and SECRET not in repr(caught.value.__context__)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_header_names_are_refused(name: str) -> None:
    with pytest.raises(
        pa.InvalidRequestError, match=r"^default_headers: .* not a valid header name"
    ):
        _client(default_headers={name: "v"})


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["X-Team"], r"^extra_headers: got list; expected a mapping"),
        ({"X-Team": 5}, r"^extra_headers: the value of 'X-Team' is a int; expected a str"),
        ({5: "v"}, r"^extra_headers: a header name is a int; expected a str"),
        ({"X-Team": "a", "x-team": "b"}, r"^extra_headers: 'x-team' is given twice"),
    ],
)
def test_bad_header_mappings_are_refused(headers: Any, expected: str) -> None:
    with pytest.raises(pa.InvalidRequestError, match=expected):
        _client().get_balance(extra_headers=headers)


def test_an_env_line_without_a_colon_names_the_variable_and_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(CUSTOM_HEADERS_ENV, "X-A: 1\nX-B 2\n")
    with pytest.raises(
        pa.InvalidRequestError, match=rf"^\${CUSTOM_HEADERS_ENV} line 2: expected 'Name: value'"
    ):
        _client()


@pytest.mark.parametrize("timeout", [-1, 0, True, "5", float("nan"), 10**9])
def test_a_bad_per_call_timeout_is_refused_before_any_request(timeout: Any) -> None:
    with pytest.raises(pa.InvalidRequestError, match=r"^timeout: "):
        _client().get_balance(timeout=timeout)


def test_call_by_name_takes_the_per_call_options_too() -> None:
    answers = SpecAnswers()
    name = next(n for n, op in OPERATIONS.items() if not op.path_params and not op.body_fields)
    run("sync", answers, lambda c: c.call(name, extra_headers={"X-Via": "call"}, timeout=3))
    assert answers.requests[0].headers["x-via"] == "call"
    assert answers.requests[0].extensions["timeout"]["read"] == 3


# --- with_options shows real types ---------------------------------------------------------


@pytest.mark.parametrize("cls", [pa.AccountClient, pa.AsyncAccountClient])
def test_with_options_has_a_typed_signature(cls: type[Any]) -> None:
    signature = inspect.signature(cls.with_options)
    shown = str(signature)
    assert "object at 0x" not in shown and "Any" not in shown
    assert "timeout: 'float | httpx.Timeout | NotGiven | None' = NOT_GIVEN" in shown
    assert "max_retries: 'int | NotGiven' = NOT_GIVEN" in shown
    hints = typing.get_type_hints(cls.with_options)
    assert set(typing.get_args(hints["timeout"])) == {float, httpx.Timeout, type(None), NotGiven}
    assert set(typing.get_args(hints["max_retries"])) == {int, NotGiven}
    doc = pydoc.plain(pydoc.render_doc(cls.with_options))
    assert "object at 0x" not in doc and "NOT_GIVEN" in doc and "httpx.Timeout" in doc


@pytest.mark.parametrize("name", NAMES)
def test_every_method_shows_its_per_call_options_typed(name: str) -> None:
    for cls in (pa.AccountClient, pa.AsyncAccountClient):
        parameters = inspect.signature(getattr(cls, name)).parameters
        for option in PER_CALL_OPTIONS:
            assert parameters[option].kind is inspect.Parameter.KEYWORD_ONLY
        assert parameters["timeout"].default is NOT_GIVEN
        assert parameters["extra_headers"].default is None
        assert "object at 0x" not in str(inspect.signature(getattr(cls, name)))


def test_not_given_is_one_falsy_named_value_that_survives_pickling() -> None:
    assert repr(NOT_GIVEN) == "NOT_GIVEN" and not NOT_GIVEN and NotGiven() is NOT_GIVEN
    assert pickle.loads(pickle.dumps(NOT_GIVEN)) is NOT_GIVEN  # noqa: S301 (our own bytes)
