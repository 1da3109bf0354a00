"""One test per finding of the hostile-world review (issue 10), on the client core.

Each was written to fail on the code before the fix. Operations, parameters and
bounds are read from the spec facts; where a test needs a charge it looks up the
operation the facts mark as moving money.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import pickle
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import parallel_account as pa
from parallel_account._retry import RetryPolicy
from parallel_account._schema import Resolver, sample
from parallel_account.signin._platform import Platform
from parallel_account.testing import FakeAccountAPI
from parallel_account_api.spec_facts import OPERATIONS, SCHEMAS, OperationFacts
from tests.support import LOWEST, SHORTEST
from tests.test_surface import python_call

RESOLVER = Resolver.from_components(SCHEMAS)

TOKEN = "hardening-token-7f3a"
BASE = "https://api.example.test/account"
CHARGE = next(op for op in OPERATIONS.values() if op.moves_money)
KEY = "k" * max(SHORTEST, 16)
# The charge's amount: its integer body field, whatever the spec calls it.
AMOUNT_FIELD = next(f.name for f in CHARGE.body_fields if f.type == "integer")


def _client(handler: Any, **options: Any) -> pa.AccountClient:
    http = httpx.Client(transport=httpx.MockTransport(handler), **options.pop("http", {}))
    options.setdefault("sleep", lambda seconds: None)
    return pa.AccountClient(TOKEN, base_url=BASE, http_client=http, **options)


def _never(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"nothing may be sent: {request.method} {request.url}")


# --- path parameters ----------------------------------------------------------------------

PATH_CASES = [
    (op, param.name)
    for op in OPERATIONS.values()
    for param in op.path_params
    if param.format != "uuid"  # a uuid is checked as one, and canonicalised
]
BAD_SEGMENTS = [
    *(".", "..", "a/b", "../x", "a?b", "a#b", "a%2Fb", "%2e%2e", "a b", "a\tb", "a\x00b"),
    "k" * 1_000_000,
]


@pytest.mark.parametrize(
    "segment",
    BAD_SEGMENTS,
    ids=[repr(s) if len(s) < 20 else f"{len(s)}-chars" for s in BAD_SEGMENTS],
)
@pytest.mark.parametrize(
    ("op", "param"), PATH_CASES, ids=[f"{op.name}.{p}" for op, p in PATH_CASES]
)
def test_path_segments_that_the_url_layer_would_reinterpret_are_refused(
    op: OperationFacts, param: str, segment: str
) -> None:
    arguments = {f.name: str(uuid.uuid4()) for f in op.path_params}
    arguments[param] = segment
    with _client(_never) as client, pytest.raises(pa.InvalidRequestError) as caught:
        client.call(op.name, {**_body_samples(op), **arguments})
    assert str(caught.value).startswith(f"{param}: ")


def _body_samples(op: OperationFacts) -> dict[str, Any]:
    """Valid values for the operation's required body fields (path parameters set apart)."""
    positional, _ = python_call(op)
    names = [f.name for f in (*op.path_params, *op.body_fields) if f.required]
    path = {f.name for f in op.path_params}
    return {n: v for n, v in zip(names, positional, strict=False) if n not in path}


def test_the_path_sent_is_the_template_with_the_encoded_value() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        return httpx.Response(404, json={"detail": "no"})

    for op, param in PATH_CASES:
        arguments = {f.name: str(uuid.uuid4()) for f in op.path_params}
        arguments[param] = "key_ü+:@"
        with _client(handler, max_retries=0) as client, pytest.raises(pa.NotFoundError):
            client.call(op.name, {**_body_samples(op), **arguments})
        expected = op.path
        for name, value in arguments.items():
            encoded = value if name != param else "key_%C3%BC%2B%3A%40"
            expected = expected.replace("{" + name + "}", encoded)
        assert seen[-1].endswith(expected), (seen[-1], expected)


# --- success bodies ---------------------------------------------------------------------------


def _answer(body: bytes, status: int = 200) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"content-type": "application/json"})

    return handler


def _charge(client: pa.AccountClient) -> Any:
    return client.call(CHARGE.name, {AMOUNT_FIELD: LOWEST, CHARGE.idempotency_key_field or "": KEY})


def _balance_like(**override: Any) -> bytes:
    body: dict[str, Any] = sample(CHARGE.response_schema, RESOLVER)
    body.update(override)
    return json.dumps(body, allow_nan=True).encode()


NUMBER_FIELDS = [f.name for f in CHARGE.response_fields if f.type in ("number", "integer")]


@pytest.mark.parametrize("raw", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"9" * 5000])
def test_non_finite_or_huge_numbers_in_a_charge_answer_are_errors_with_the_key(
    raw: bytes,
) -> None:
    field = NUMBER_FIELDS[0]
    body = _balance_like(**{field: 0}).replace(
        f'"{field}": 0'.encode(), f'"{field}": '.encode() + raw
    )
    with _client(_answer(body)) as client, pytest.raises(pa.APIError) as caught:
        _charge(client)
    assert caught.value.idempotency_key == KEY and caught.value.outcome_unknown


def test_deep_nesting_in_a_charge_answer_is_an_error_with_the_key() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    with _client(_answer(body)) as client, pytest.raises(pa.APIError) as caught:
        _charge(client)
    assert caught.value.idempotency_key == KEY and caught.value.outcome_unknown


LISTS = [op for op in OPERATIONS.values() if op.returns_field or op.response_array]


def _item_field(op: OperationFacts) -> str:
    """A required field of the list's item model, read from the spec's shapes."""
    schema = RESOLVER.schema(op.response_model) if op.response_model else {}
    if op.returns_field:  # a wrapper model: the list is one of its fields
        schema = schema["properties"][op.returns_field]["items"]
    item = RESOLVER.schema(schema["$ref"]) if "$ref" in schema else schema
    return str(item["required"][0])


@pytest.mark.parametrize("op", LISTS, ids=[op.name for op in LISTS])
@pytest.mark.parametrize("item", [None, 5, "x", {"<field>": None}, {"<field>": 5}])
def test_list_items_are_checked_at_every_depth(op: OperationFacts, item: Any) -> None:
    if isinstance(item, dict):
        item = {_item_field(op): item["<field>"]}
    body = {op.returns_field: [item]} if op.returns_field else [item]
    positional, keywords = python_call(op)
    with _client(_answer(json.dumps(body).encode())) as client, pytest.raises(pa.APIError):
        getattr(client, op.name)(*positional, **keywords)


@pytest.mark.parametrize(
    "detail",
    [None, 5, "text", [{"loc": None, "msg": "x"}], [{"loc": 5}], [[[[[]]]]], {"a": 1}],
)
def test_odd_422_bodies_map_to_the_422_error(detail: Any) -> None:
    body = json.dumps({"detail": detail}).encode()
    with (
        _client(_answer(body, 422), max_retries=0) as client,
        pytest.raises(pa.UnprocessableEntityError),
    ):
        _charge(client)


def test_deep_or_huge_error_bodies_map_to_the_status_error() -> None:
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"detail": ' + b"9" * 5000 + b"}"):
        with (
            _client(_answer(body, 400), max_retries=0) as client,
            pytest.raises(pa.BadRequestError) as caught,
        ):
            _charge(client)
        assert caught.value.idempotency_key == KEY


# --- errors travel ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "facts"),
    [
        (
            pa.TokenStoreError("unusable", path=Path("/x/sign-in.json")),
            {"path": Path("/x/sign-in.json")},
        ),
        (pa.AccessDeniedError("declined", error="access_denied"), {"error": "access_denied"}),
        (
            pa.Interrupted("stopped", idempotency_key="k-1", terminated=True),
            {"idempotency_key": "k-1", "terminated": True, "outcome_unknown": True},
        ),
    ],
    ids=["token-store-path", "device-flow-error", "interrupted"],
)
def test_the_sign_in_and_cli_errors_pickle_with_what_they_carry(
    error: pa.ParallelAccountError, facts: dict[str, Any]
) -> None:
    back = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes, made just above)
    assert type(back) is type(error) and str(back) == str(error)
    assert {name: getattr(back, name, None) for name in facts} == facts


def test_errors_pickle_with_their_facts_and_without_the_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"detail": "busy"}, headers={"x-request-id": "req_1"})

    with _client(handler, max_retries=0) as client, pytest.raises(pa.APIStatusError) as caught:
        _charge(client)
    data = pickle.dumps(caught.value)
    assert TOKEN.encode() not in data
    back = pickle.loads(data)  # noqa: S301 (our own bytes, made just above)
    assert type(back) is type(caught.value)
    assert str(back) == str(caught.value)
    assert (back.status_code, back.request_id, back.idempotency_key, back.outcome_unknown) == (
        503,
        "req_1",
        KEY,
        caught.value.outcome_unknown,
    )


# --- retries ----------------------------------------------------------------------------------


def _counting(*answers: httpx.Response) -> Any:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answers[min(len(sent), len(answers)) - 1]

    handler.sent = sent  # type: ignore[attr-defined]
    return handler


@pytest.mark.parametrize(
    ("first", "sent"),
    [
        # A 409 for a key reused with another amount can never succeed: not retried.
        (httpx.Response(409, json={"detail": "key reused"}), 1),
        # A 409 the server calls transient (it says when to come back) is retried.
        (httpx.Response(409, headers={"retry-after": "0"}), 2),
        # x-should-retry overrides the status rule either way.
        (httpx.Response(503, headers={"x-should-retry": "false"}), 1),
        (httpx.Response(400, headers={"x-should-retry": "true"}), 2),
    ],
    ids=["409-reused-key", "409-retry-after", "503-should-not", "400-should"],
)
def test_retry_decisions_follow_the_servers_signals(first: httpx.Response, sent: int) -> None:
    handler = _counting(first, httpx.Response(200, content=_balance_like()))
    with _client(handler, max_retries=3) as client:
        if sent == 1:
            with pytest.raises(pa.APIStatusError) as caught:
                _charge(client)
            assert caught.value.status_code == first.status_code
        else:
            _charge(client)
    assert len(handler.sent) == sent


def test_an_explicit_retry_policy_wins_over_the_default_max_retries() -> None:
    handler = _counting(httpx.Response(503))
    with _client(handler, policy=RetryPolicy(max_retries=5)) as client:
        assert client.max_retries == 5
        with pytest.raises(pa.InternalServerError):
            _charge(client)
    assert len(handler.sent) == 6


# --- tokens -----------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["tok\ud800en", "tökén", "tok en\r\n", "tok\x00en"])
def test_tokens_that_cannot_be_a_header_are_refused_unquoted(token: str) -> None:
    http = httpx.Client(transport=httpx.MockTransport(_never))
    with (
        pytest.raises(pa.ParallelAccountError) as caught,
        pa.AccountClient(token, base_url=BASE, http_client=http) as client,
    ):
        _charge(client)
    chain: BaseException | None = caught.value
    while chain is not None:
        assert token not in str(chain) and token not in repr(chain.args)
        chain = chain.__cause__ or chain.__context__


def test_redirects_never_leave_authorization_on_kept_requests() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/moved"):
            return httpx.Response(500, json={"detail": "x"})
        return httpx.Response(307, headers={"location": f"{BASE}/moved"})

    with (
        _client(handler, max_retries=0, http={"follow_redirects": True}) as client,
        pytest.raises(pa.APIStatusError) as caught,
    ):
        _charge(client)
    response = caught.value.response
    assert response is not None
    kept = [response.request, *(r.request for r in response.history)]
    assert all("authorization" not in r.headers for r in kept)


# --- proxies ----------------------------------------------------------------------------------


class _RecordingProxy(http.server.BaseHTTPRequestHandler):
    """A proxy that records what reaches it (headers and body) and answers 502."""

    seen: list[str]

    def _record(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        self.seen.append(f"{self.headers.get('authorization', '')} {body}")
        self.send_error(502)

    do_GET = do_POST = _record

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def _proxy_in_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    seen: list[str] = []
    handler = type("Proxy", (_RecordingProxy,), {"seen": seen})
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.server_address[1]}")
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        yield seen
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_a_refresh_token_for_a_loopback_platform_never_reaches_a_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with _proxy_in_environment(monkeypatch) as seen:
        nobody = socket.socket()
        nobody.bind(("127.0.0.1", 0))
        port = nobody.getsockname()[1]
        nobody.close()
        with (
            Platform(f"http://127.0.0.1:{port}") as platform,
            contextlib.suppress(pa.ParallelAccountError),
        ):
            platform.refresh("client-1", "refresh-secret-42")
    assert seen == []


def test_loopback_http_targets_are_not_proxied(monkeypatch: pytest.MonkeyPatch) -> None:
    """With HTTP_PROXY set, a token for a plain-http loopback fake never reaches the proxy."""
    with _proxy_in_environment(monkeypatch) as seen:
        fake = FakeAccountAPI(token=TOKEN)
        read = next(op for op in OPERATIONS.values() if op.method == "GET" and not op.path_params)
        with fake.serve() as base_url, pa.AccountClient(TOKEN, base_url=base_url) as client:
            client.call(read.name)
    assert seen == [] and fake.requests.get(read.name) == 1


# --- edge inputs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [(AMOUNT_FIELD, 10**5000), (AMOUNT_FIELD, -(10**5000))],
    ids=["huge", "huge-negative"],
)
def test_huge_integers_are_refused_naming_the_parameter(field: str, value: int) -> None:
    with _client(_never) as client, pytest.raises(pa.InvalidRequestError) as caught:
        client.call(CHARGE.name, {field: value})
    assert str(caught.value).startswith(f"{field}: ") and len(str(caught.value)) < 300


def test_unencodable_strings_are_refused_naming_the_parameter() -> None:
    key_field = CHARGE.idempotency_key_field or ""
    with _client(_never) as client, pytest.raises(pa.InvalidRequestError) as caught:
        client.call(CHARGE.name, {AMOUNT_FIELD: LOWEST, key_field: "key-\ud800-" + "x" * 8})
    assert str(caught.value).startswith(f"{key_field}: ")


def test_async_client_refuses_the_same_path_segments() -> None:
    op, param = PATH_CASES[0]

    async def go() -> None:
        async with pa.AsyncAccountClient(
            TOKEN,
            base_url=BASE,
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(_never)),
        ) as client:
            arguments = {f.name: str(uuid.uuid4()) for f in op.path_params}
            arguments[param] = ".."
            await client.call(op.name, {**_body_samples(op), **arguments})

    with pytest.raises(pa.InvalidRequestError):
        asyncio.run(go())


# --- the shape check's fast path agrees with the row-by-row one -------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_column_wise_list_check_finds_what_the_row_check_finds(seed: int) -> None:
    import random

    from parallel_account._schema import checker

    schemas: dict[str, dict[str, Any]] = {
        "Row": {
            "type": "object",
            "required": ["a", "b", "n"],
            "properties": {
                "a": {"type": "string"},
                "b": {"type": "string"},
                "n": {"type": "integer"},
            },
        }
    }
    strings_only = {
        "Row": {**schemas["Row"], "properties": {"a": {"type": "string"}, "b": {"type": "string"}}}
    }
    rng = random.Random(seed)
    for table in (schemas, strings_only):
        fields = table["Row"]["properties"]
        rows: list[Any] = [
            {name: ("x" if spec["type"] == "string" else 1) for name, spec in fields.items()}
            for _ in range(50)
        ]
        if seed % 2:  # break one row somewhere, in one of several ways
            index, name = rng.randrange(50), rng.choice(sorted(fields))
            broken: Any = rng.choice([None, 5, "s", [], {}, 1.5, "drop", "not-a-row"])
            if broken == "drop":
                del rows[index][name]
            elif broken == "not-a-row":
                rows[index] = [1]
            else:
                rows[index][name] = broken
        fast = checker({"type": "array", "items": {"$ref": "Row"}}, table)
        # The same rows through a wrapper the fast path does not know: row by row.
        slow = checker({"type": "array", "items": {"allOf": [{"$ref": "Row"}, {}]}}, table)
        assert fast(rows) == slow(rows)


# --- found by review ----------------------------------------------------------------------------


def _gzip(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data)


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip, gzip", _gzip(_gzip(b"{}"))),  # stacked: httpx would inflate it uncapped
        ("br", b"\x00"),
        ("gzip", _gzip(b'{"a": 1}')[:-6]),  # cut before its checksum
    ],
    ids=["stacked-gzip", "br", "gzip-cut-short"],
)
def test_encodings_we_cannot_cap_or_check_are_refused(encoding: str, body: bytes) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, stream=httpx.ByteStream(body), headers={"content-encoding": encoding}
        )

    with _client(handler, max_retries=0) as client, pytest.raises(pa.APIConnectionError) as caught:
        _charge(client)
    assert caught.value.idempotency_key == KEY and caught.value.outcome_unknown


def test_raw_deflate_is_read_whatever_its_first_chunk() -> None:
    import zlib

    squeezer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw = squeezer.compress(_balance_like()) + squeezer.flush()
    chunks = [raw[:1], raw[1:]]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, stream=httpx.ByteStream(b"".join(chunks)), headers={"content-encoding": "deflate"}
        )

    class Chunked(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield from chunks

    def chunked(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Chunked(), headers={"content-encoding": "deflate"})

    for answer in (handler, chunked):
        with _client(answer, max_retries=0) as client:
            _charge(client)


def test_an_echoed_token_is_masked_before_any_truncation_and_in_the_body() -> None:
    long_token = "t" * 60 + "-secret-tail-" + "u" * 60

    def handler(request: httpx.Request) -> httpx.Response:
        detail = "x" * 180 + request.headers["authorization"]
        return httpx.Response(
            400, json={"detail": detail, "echo": request.headers["authorization"]}
        )

    http_client = httpx.Client(transport=httpx.MockTransport(handler))
    with (
        pa.AccountClient(long_token, base_url=BASE, http_client=http_client, max_retries=0) as c,
        pytest.raises(pa.BadRequestError) as caught,
    ):
        _charge(c)
    data = pickle.dumps(caught.value)
    for part in (long_token[:30], "secret-tail"):
        assert part not in str(caught.value) and part.encode() not in data


def test_timeouts_must_be_finite_and_sane() -> None:
    for bad in (float("inf"), 1e308, float("nan"), httpx.Timeout(5, read=float("inf"))):
        with pytest.raises(pa.InvalidRequestError, match=r"^timeout: "):
            pa.AccountClient(TOKEN, base_url=BASE, timeout=bad)


@pytest.mark.parametrize("arguments", ["ab", 5, {1: "x", "a": 2}])
def test_call_refuses_arguments_that_are_not_a_mapping_of_names(arguments: Any) -> None:
    with _client(_never) as client, pytest.raises(pa.InvalidRequestError, match=r"^arguments: "):
        client.call(CHARGE.name, arguments)


def test_an_unknown_operation_name_is_not_quoted_whole() -> None:
    with _client(_never) as client, pytest.raises(pa.InvalidRequestError) as caught:
        client.call("x" * 100_000)
    assert len(str(caught.value)) < 2000


def test_unbounded_numbers_are_refused_before_anything_is_built() -> None:
    from parallel_account._validation import check_integer, check_number
    from parallel_account_api.spec_facts import FieldFacts

    unbounded = FieldFacts(name="n", required=True, type="integer")
    for check in (check_integer, check_number):
        with pytest.raises(pa.InvalidRequestError, match=r"^n: "):
            check("n", 10**5000, unbounded)


def test_api_command_says_the_key_it_sends_when_the_body_has_null(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from parallel_account.cli import main

    key_field = CHARGE.idempotency_key_field or ""
    amount = next(f.name for f in CHARGE.body_fields if f.type == "integer")
    fake = FakeAccountAPI(token=TOKEN)
    monkeypatch.setenv("PARALLEL_ACCOUNT_TOKEN", TOKEN)
    body = json.dumps({amount: LOWEST, key_field: None})
    with fake.serve() as base_url:
        assert main(["--base-url", base_url, "api", CHARGE.name, "--body", body]) == 0
    said = capsys.readouterr().err
    (sent,) = fake.ledger
    assert f"{key_field}: {sent} " in said


def test_api_command_refuses_deep_json_with_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from parallel_account.cli import main

    assert main(["api", CHARGE.name, "--body", "[" * 5000 + "]" * 5000]) == 2
    assert "--body" in capsys.readouterr().err


def test_a_model_the_spec_dropped_fails_only_where_it_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from parallel_account_api import models, results

    # What a spec without the model generates: no module for it, nothing loaded, and no
    # method returning it.
    monkeypatch.delitem(models._MODULES, "AppItem")
    monkeypatch.delattr(models, "AppItem", raising=False)
    kept = tuple(name for name in results.RESULT_MODELS if name != "AppItem")
    monkeypatch.setattr(results, "RESULT_MODELS", kept)
    with pytest.raises(AttributeError, match="has no model AppItem"):
        pa.AppItem  # noqa: B018 (the attribute access is the test)
    assert pa.AccountClient is not None  # the package itself still works


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (500, {"detail": "cannot refresh refresh_token={secret}"}),
        (400, {"error": "invalid_request", "error_description": "bad token {secret}"}),
        (502, "<html>upstream said {secret}</html>"),
    ],
    ids=["500-detail", "400-oauth", "502-html"],
)
def test_a_refresh_token_the_platform_echoes_stays_out_of_errors(status: int, answer: Any) -> None:
    secret = "refresh-token-0123456789-abcdef"

    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, str):
            return httpx.Response(status, text=answer.format(secret=secret))
        return httpx.Response(status, json={k: v.format(secret=secret) for k, v in answer.items()})

    http_client = httpx.Client(transport=httpx.MockTransport(handler))
    with (
        Platform("https://platform.example.test", http=http_client) as platform,
        pytest.raises(pa.ParallelAccountError) as caught,
    ):
        platform.refresh("client-1", secret)
    assert secret not in str(caught.value) and secret not in repr(caught.value.args)
    assert secret.encode() not in pickle.dumps(caught.value)
