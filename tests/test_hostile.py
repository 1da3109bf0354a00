"""A hostile server (issue 10): every broken or odd answer ends in one of our errors.

A stdlib server on 127.0.0.1 (tests/hostile_server.py) answers both clients with
truncated, unreadable, deep, huge, non-finite, null-riddled and mistyped bodies,
broken framing, gzip bombs, a slow drip and every odd status. The cases are tables
built from the spec facts by the package's schema engine: each operation's success
schema (`spec_facts.SCHEMAS`) gives a valid body (the sampler), every constraint of it
is broken once (the mutator: a null only where null is not allowed), and every value in
it is replaced by JSON no schema allows (too deep, non-finite, huge numbers).

The contract every case checks:
- the raised exception is a `parallel_account.APIError`, never a raw Python or httpx one;
- a non-2xx answer raises the status's error class with `.status_code`, whatever its body;
- a 2xx whose body cannot be read or breaks the spec raises an APIError (not a status error);
- a charge's error carries the key passed, and `outcome_unknown` when the charge may be done;
- neither the token nor a secret from the body appears in the error's str or repr;
- huge bodies and gzip bombs stay within a memory bound, a slow drip within a time bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import ssl
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

import parallel_account as pa
from parallel_account._schema import Resolver, compile_check, mutations, sample
from parallel_account_api.spec_facts import OPERATIONS, SCHEMAS, SERVER_URL, OperationFacts
from tests import hostile_server as hs
from tests.support import SHORTEST
from tests.test_surface import sample as sample_argument

TOKEN = "hostile-token-5b1e9c"
SECRET = "sk-hostile-secret-0c4d"  # every string field named like a secret carries this
KEY = "hostile-key-" + "k" * max(SHORTEST, 8)
BASE_PATH = urlsplit(SERVER_URL).path.rstrip("/")
KINDS = ["sync", "async"]

TIMEOUT = 5.0  # per case, unless the case is about time
DRIP_TIMEOUT = 1.0
DRIP_BOUND = 3.0  # seconds a call with timeout=1 and no retries may take, with slack
MEMORY_BOUND = 100 * 1024 * 1024  # peak traced allocation growth during one call
HUGE_MIB = 128  # a body larger than the memory bound: reading it whole must fail
BOMB_MIB = 256  # what the gzip bomb inflates to
MESSAGE_BOUND = 2000  # characters: error messages carry a bounded reason
DEPTH = 100_000


def _ops(predicate: Any = lambda op: True) -> list[OperationFacts]:
    return [op for op in OPERATIONS.values() if predicate(op)]


CHARGE = next(op for op in OPERATIONS.values() if op.moves_money)
READ_OPS = _ops(lambda op: not op.moves_money and op.method == "GET")
MODEL_OPS = _ops(lambda op: not op.response_empty)  # a success body the spec describes
EMPTY_OPS = _ops(lambda op: op.response_empty)


# --- JSON text with what json.dumps cannot write -------------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text put in a body as is: NaN, 1e400, 5000 digits, 100000 nested arrays."""

    text: str


def dumps(value: Any) -> bytes:
    raws: list[str] = []

    def mark(node: Any) -> Any:
        if isinstance(node, Raw):
            raws.append(node.text)
            return f"\x00raw{len(raws) - 1}\x00"
        if isinstance(node, dict):
            return {k: mark(v) for k, v in node.items()}
        if isinstance(node, list):
            return [mark(v) for v in node]
        return node

    text = json.dumps(mark(value))
    for index, piece in enumerate(raws):
        text = text.replace(json.dumps(f"\x00raw{index}\x00"), piece)
    return text.encode()


DEEP_ARRAYS = Raw("[" * DEPTH + "]" * DEPTH)
DEEP_OBJECTS = Raw('{"a":' * DEPTH + "1" + "}" * DEPTH)
HUGE_INT = Raw("9" * 5000)
SPECIAL_NUMBERS = {
    "nan": Raw("NaN"),
    "infinity": Raw("Infinity"),
    "minus-infinity": Raw("-Infinity"),
    "1e400": Raw("1e400"),
    "minus-1e400": Raw("-1e400"),
    "5000-digits": HUGE_INT,
    "minus-5000-digits": Raw("-" + "9" * 5000),
    "400-digits": Raw("1" * 400),  # beyond a float, within Python's int-to-str limit
}
# --- valid bodies and every way to break them, from the package's schema engine -------------

RESOLVER = Resolver.from_components(SCHEMAS)


def valid_body(schema: Any) -> Any:
    """The engine's valid instance; string fields named like a raw key carry SECRET."""
    body = sample(schema, RESOLVER)
    secret = _with_secret(body)
    return secret if compile_check(schema, RESOLVER)(secret) is None else body


def _with_secret(value: Any, name: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _with_secret(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_secret(v, name) for v in value]
    return SECRET if isinstance(value, str) and "key" in name and "raw" in name else value


Path = tuple[str | int, ...]


def locations(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """(path, value) for every value inside `value` (below the root)."""
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for step, inner in items:
        yield (*path, step), inner
        yield from locations(inner, (*path, step))


def _replaced(body: Any, path: Path, value: Any) -> Any:
    body = copy.deepcopy(body)
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return body


def _where(path: Path) -> str:
    return ".".join(str(step) for step in path) or "root"


def broken_bodies(op: OperationFacts) -> Iterator[tuple[str, Any]]:
    """(label, body) for every way to break op's success body at every location: each
    mutation of the engine (each breaks one constraint of the schema, a null only where
    null is not allowed), and JSON no schema allows (too deep, non-finite, huge numbers)."""
    schema = op.response_schema
    body = valid_body(schema)
    yield "root-deep-arrays", DEEP_ARRAYS
    yield "root-deep-objects", DEEP_OBJECTS
    yield "root-huge-int", HUGE_INT
    yield "root-nan", SPECIAL_NUMBERS["nan"]
    yield "root-wrapped-in-list", [body]
    labels: set[str] = set()
    for mutation in mutations(schema, RESOLVER):
        label = f"{mutation.where.lstrip('.') or 'root'}-{mutation.how.partition(':')[0]}"
        while label in labels:
            label += "+"
        labels.add(label)
        yield label, mutation.value
    for path, value in locations(body):
        where = _where(path)
        yield f"{where}-deep", _replaced(body, path, DEEP_ARRAYS)
        if isinstance(value, int | float) and not isinstance(value, bool):
            for label, special in SPECIAL_NUMBERS.items():
                yield f"{where}-{label}", _replaced(body, path, special)


# --- the cases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    op: OperationFacts
    answer: hs.Answer
    status: int | None = None  # the status error expected; None: a 2xx or no answer
    unknown: bool = False  # a charge's outcome must be reported unknown
    timeout: float = TIMEOUT
    deadline: float | None = None  # the call must end within this many seconds
    memory: bool = False  # measure peak memory
    # the status line came but the body cannot be read (cut, too large, too slow): a
    # connection error is as right as the status's error
    unreadable: bool = False


def _status_class(status: int) -> type[pa.APIStatusError]:
    by_status: dict[int, type[pa.APIStatusError]] = {
        400: pa.BadRequestError,
        401: pa.AuthenticationError,
        403: pa.PermissionDeniedError,
        404: pa.NotFoundError,
        409: pa.ConflictError,
        422: pa.UnprocessableEntityError,
        429: pa.RateLimitError,
    }
    if status in by_status:
        return by_status[status]
    return pa.InternalServerError if status >= 500 else pa.APIStatusError


def _json(body: Any) -> hs.Answer:
    return hs.reply(200, dumps(body))


def schema_cases() -> Iterator[Case]:
    """2xx bodies that are JSON but break the spec somewhere: APIError, not a model."""
    for op in MODEL_OPS:
        for label, body in broken_bodies(op):
            yield Case(f"{op.name}-200-{label}", op, _json(body), unknown=True)


UNREADABLE: dict[str, bytes] = {
    "empty": b"",
    "whitespace": b" \r\n\t ",
    "text": b"not json at all",
    "html": b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>",
    "cut-json": b'{"org_id": "abc", "credit_bal',
    "open-brace": b"{",
    "not-utf8": b'{"org_id": "\xff\xfe\xfd"}',
    "trailing-garbage": b'{"org_id": "a"} trailing',
    "two-documents": b"{} {}",
    "single-quotes": b"{'org_id': 'a'}",
    "comment": b'// note\n{"org_id": "a"}',
    "nul-bytes": b"\x00" * 64,
}


def unreadable_cases() -> Iterator[Case]:
    for op in MODEL_OPS:
        valid = dumps(valid_body(op.response_schema))
        for label, body in UNREADABLE.items():
            yield Case(f"{op.name}-200-{label}", op, hs.reply(200, body), unknown=True)
        odd_2xx: dict[str, hs.Answer] = {
            "201-html": hs.reply(201, UNREADABLE["html"], content_type="text/html"),
            "202-empty": hs.reply(202),
            "203-text": hs.reply(203, b"accepted", content_type="text/plain"),
            "204-no-body": hs.reply(204, content_type=""),
            "206-cut-json": hs.reply(206, valid[: len(valid) // 2]),
            "299-null": hs.reply(299, b"null"),
            "200-html-type": hs.reply(200, UNREADABLE["html"], content_type="text/html"),
        }
        for label, answer in odd_2xx.items():
            yield Case(f"{op.name}-{label}", op, answer, unknown=True)


def transport_cases() -> Iterator[Case]:
    """Answers that cannot be read as HTTP, or whose framing or encoding is broken."""
    for op in [*MODEL_OPS, *EMPTY_OPS]:
        # a body that is fine for any operation, so only the framing is at fault
        valid = dumps(valid_body(op.response_schema)) if not op.response_empty else b"null"
        broken: dict[str, hs.Answer] = {
            "hang-up": hs.hang_up(),
            "not-http": hs.raw(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"),
            "bad-status-line": hs.raw(b"HTTP/1.1 abc Nope\r\nContent-Length: 0\r\n\r\n"),
            "cut-headers": hs.raw(b"HTTP/1.1 200 OK\r\nContent-Type: applic"),
            "200-truncated": hs.reply(200, valid[:5], length=len(valid) + 1000),
        }
        if not op.response_empty:
            broken |= {
                "header-no-colon": hs.raw(b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n" + valid),
                "bad-content-length": hs.reply(200, valid, headers=[("Content-Length", "abc")]),
                "two-content-lengths": hs.reply(200, valid, headers=[("Content-Length", "3")]),
                "bad-chunk-size": hs.chunked(200, [b"zz\r\n", valid, b"\r\n0\r\n\r\n"]),
                "chunked-cut": hs.chunked(200, [b"%x\r\n" % len(valid), valid[:3]]),
                "gzip-garbage": hs.reply(200, b"not gzip", headers=[("Content-Encoding", "gzip")]),
                "deflate-garbage": hs.reply(
                    200, b"not deflate", headers=[("Content-Encoding", "deflate")]
                ),
            }
        for label, answer in broken.items():
            yield Case(f"{op.name}-{label}", op, answer, unknown=True)
        cut = hs.reply(500, b'{"detail": "oo', length=4096)
        yield Case(f"{op.name}-500-truncated", op, cut, 500, unknown=True, unreadable=True)


REDIRECTS: list[tuple[int, str | None]] = [
    (300, None),
    (301, "http://127.0.0.1:9/steal"),
    (302, "/elsewhere"),
    (302, None),
    (303, "http://127.0.0.1:9/steal"),
    (304, None),
    (307, "http://127.0.0.1:9/steal"),
    (308, "/elsewhere"),
]
CLIENT_ERRORS = [400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413]
CLIENT_ERRORS += [414, 415, 416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 499]
SERVER_ERRORS = [500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511, 599]
FEW_STATUSES = [302, 404, 405, 418, 429, 500, 503, 599]


def status_cases() -> Iterator[Case]:
    """Every odd status, with a plain FastAPI-like body: the status's error class."""
    plain = b'{"detail": "no"}'
    for op in OPERATIONS.values():
        charge = op is CHARGE
        for status, location in REDIRECTS:
            if charge or status in FEW_STATUSES:
                headers = [("Location", location)] if location else []
                body = b"" if status == 304 else plain
                label = f"{status}-{'location' if location else 'no-location'}"
                yield Case(
                    f"{op.name}-{label}", op, hs.reply(status, body, headers=headers), status
                )
        for status in [*CLIENT_ERRORS, *SERVER_ERRORS]:
            if charge or status in FEW_STATUSES:
                yield Case(
                    f"{op.name}-{status}",
                    op,
                    hs.reply(status, plain),
                    status,
                    unknown=charge and status >= 500,
                )


ERROR_BODIES: dict[str, bytes] = {
    "deep-arrays": dumps(DEEP_ARRAYS),
    "deep-objects": dumps(DEEP_OBJECTS),
    "detail-deep": dumps({"detail": DEEP_ARRAYS}),
    "huge-int": dumps(HUGE_INT),
    "detail-huge-int": dumps({"detail": HUGE_INT}),
    "nan": b"NaN",
    "detail-infinity": dumps({"detail": Raw("Infinity")}),
    "detail-1e400": dumps({"detail": Raw("1e400")}),
    "html": UNREADABLE["html"],
    "text": b"upstream connect error or disconnect/reset before headers",
    "empty": b"",
    "not-utf8": b"\xff\xfe\x00\x01",
    "json-string": b'"just a string"',
    "json-number": b"42",
    "json-null": b"null",
    "json-list": b"[1, 2, 3]",
    "detail-null": b'{"detail": null}',
    "detail-object": b'{"detail": {"a": {"b": [null]}}}',
    "long-text": b"x" * (256 * 1024),
    "many-lines": b"line\n" * 10_000,
    "token-echo": b'{"detail": "bad header: Authorization: Bearer ' + TOKEN.encode() + b'"}',
}
ERROR_BODY_STATUSES = {CHARGE.name: [400, 404, 418, 500, 503]}
ERROR_BODY_STATUSES |= {op.name: [404, 500] for op in READ_OPS}


def error_body_cases() -> Iterator[Case]:
    for name, statuses in ERROR_BODY_STATUSES.items():
        op = OPERATIONS[name]
        for status in statuses:
            for label, body in ERROR_BODIES.items():
                yield Case(
                    f"{name}-{status}-{label}",
                    op,
                    hs.reply(status, body),
                    status,
                    unknown=op is CHARGE and status >= 500,
                )


def _item(**change: Any) -> dict[str, Any]:
    return {"loc": ["body", "amount_cents"], "msg": "bad", "type": "value_error"} | change


DETAILS: dict[str, Any] = {
    "null": None,
    "number": 5,
    "huge-int": HUGE_INT,
    "nan": Raw("NaN"),
    "string": "went wrong",
    "bool": True,
    "object": {"loc": None},
    "deep": DEEP_ARRAYS,
    "empty-list": [],
    "items-null": [None, None],
    "items-numbers": [1, 2.5, HUGE_INT],
    "items-strings": ["a", "b"],
    "items-lists": [[1], [[2]]],
    "item-deep": [DEEP_OBJECTS],
    "item-empty": [{}],
    "loc-null": [_item(loc=None)],
    "loc-number": [_item(loc=3)],
    "loc-string": [_item(loc="body")],
    "loc-object": [_item(loc={"a": 1})],
    "loc-deep": [_item(loc=DEEP_ARRAYS)],
    "loc-odd-parts": [_item(loc=[None, {}, [], True, 1.5])],
    "loc-huge-int": [_item(loc=[HUGE_INT])],
    "loc-nan": [_item(loc=[Raw("NaN"), Raw("-Infinity")])],
    "loc-long": [_item(loc=["x"] * 10_000)],
    "msg-null": [_item(msg=None)],
    "msg-number": [_item(msg=1e300)],
    "msg-deep": [_item(msg=DEEP_ARRAYS)],
    "msg-long": [_item(msg="m" * 100_000)],
    "many-items": [_item()] * 20_000,
}


def unprocessable_cases() -> Iterator[Case]:
    """422 bodies whose detail is anything but FastAPI's list: still the 422 error."""
    others = [op for op in OPERATIONS.values() if 422 in op.documented_statuses]
    for op in [CHARGE, *[op for op in others if op is not CHARGE][:1]]:
        for label, detail in DETAILS.items():
            yield Case(
                f"{op.name}-422-detail-{label}", op, hs.reply(422, dumps({"detail": detail})), 422
            )
        yield Case(f"{op.name}-422-no-detail", op, hs.reply(422, b'{"error": "x"}'), 422)


def resource_cases() -> Iterator[Case]:
    """Huge bodies, gzip bombs, a slow drip and a silent server: bounded memory and time."""
    mib = b"x" * (1024 * 1024)
    huge = hs.stream(200, b'{"org_id": "', mib, HUGE_MIB, b'"}')
    huge_chunked = hs.stream(200, b'{"org_id": "', mib, HUGE_MIB, b'"}', framing="chunked")
    huge_error = hs.stream(500, b'{"detail": "', mib, HUGE_MIB, b'"}', framing="chunked")
    gzip = [("Content-Encoding", "gzip")]

    def bomb(status: int) -> hs.Answer:
        def answer(request: Any) -> None:
            hs.reply(status, hs.gzip_bomb(BOMB_MIB), headers=gzip)(request)

        return answer

    read = READ_OPS[0]
    yield Case(f"{CHARGE.name}-200-huge-body", CHARGE, huge, unknown=True, memory=True)
    yield Case(f"{read.name}-200-huge-chunked", read, huge_chunked, memory=True)
    yield Case(f"{read.name}-500-huge-body", read, huge_error, 500, memory=True, unreadable=True)
    yield Case(f"{CHARGE.name}-200-gzip-bomb", CHARGE, bomb(200), unknown=True, memory=True)
    yield Case(f"{read.name}-500-gzip-bomb", read, bomb(500), 500, memory=True, unreadable=True)

    body = dumps(valid_body(CHARGE.response_schema))
    for op, status in ((CHARGE, 200), (read, 503)):
        yield Case(
            f"{op.name}-{status}-slow-drip",
            op,
            hs.drip(status, body[:8], interval=0.5, declared=len(body)),
            status=None if status < 300 else status,
            unknown=True,
            unreadable=True,
            timeout=DRIP_TIMEOUT,
            deadline=DRIP_BOUND,
        )
    yield Case(
        f"{read.name}-silent",
        read,
        hs.silent(2 * DRIP_BOUND),
        timeout=DRIP_TIMEOUT,
        deadline=DRIP_BOUND,
    )


CASES = [
    *schema_cases(),
    *unreadable_cases(),
    *transport_cases(),
    *status_cases(),
    *error_body_cases(),
    *unprocessable_cases(),
    *resource_cases(),
]
assert len({case.id for case in CASES}) == len(CASES), "case ids must be unique"


# --- running a case through either client ---------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[hs.HostileServer]:
    with hs.running(BASE_PATH) as running:
        yield running


def call_arguments(op: OperationFacts) -> tuple[list[Any], dict[str, Any], str]:
    """Positional and keyword arguments for op's typed method, and the path they make."""
    values = {
        f.name: sample_argument(f)
        for f in (*op.path_params, *op.query_params, *op.body_fields)
        if f.name != op.idempotency_key_field
    }
    fields = [f for f in (*op.path_params, *op.query_params, *op.body_fields) if f.name in values]
    positional = [values[f.name] for f in fields if f.required and f not in op.query_params]
    keywords = {
        f.identifier: values[f.name]
        for f in fields
        if not (f.required and f not in op.query_params)
    }
    if op.idempotency_key_field is not None:
        keywords[op.body_field(op.idempotency_key_field).identifier] = KEY
    path = op.path.format(**{f.name: values[f.name] for f in op.path_params})
    query = {f.name: values[f.name] for f in op.query_params if f.name in values}
    if query:  # as the client sends it (httpx encodes query values)
        path = httpx.URL(path, params=query).raw_path.decode("ascii")
    return positional, keywords, path


# Creating an httpx client loads the CA bundle (~20 ms): most cases pass a client made
# with one shared context, with the options the client would choose itself for a
# loopback URL (no redirects, no proxies from the environment). Cases about memory and
# time use a client the AccountClient makes itself.
SHARED_TLS = ssl.create_default_context()
OWN_CLIENT_OPTIONS: dict[str, Any] = {
    "verify": SHARED_TLS,
    "trust_env": False,
    "follow_redirects": False,
}


def invoke(
    kind: str,
    op: OperationFacts,
    arguments: tuple[list[Any], dict[str, Any]],
    base_url: str,
    timeout: float,
    *,
    pass_http: bool = True,
) -> Any:
    """Call op through the client `kind`; return what it returned or the exception it raised."""
    positional, keywords = arguments
    options: dict[str, Any] = {"base_url": base_url, "timeout": timeout, "max_retries": 0}
    try:
        if kind == "sync":
            with contextlib.ExitStack() as stack:
                if pass_http:
                    options["http_client"] = stack.enter_context(httpx.Client(**OWN_CLIENT_OPTIONS))
                client = stack.enter_context(pa.AccountClient(TOKEN, **options))
                return getattr(client, op.name)(*positional, **keywords)

        async def go() -> Any:
            async with contextlib.AsyncExitStack() as stack:
                if pass_http:
                    options["http_client"] = await stack.enter_async_context(
                        httpx.AsyncClient(**OWN_CLIENT_OPTIONS)
                    )
                client = await stack.enter_async_context(pa.AsyncAccountClient(TOKEN, **options))
                return await getattr(client, op.name)(*positional, **keywords)

        return asyncio.run(asyncio.wait_for(go(), 60))
    except Exception as exc:
        return exc


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__}: {text[:300]}{'...' if len(text) > 300 else ''}"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_answer_ends_in_our_error(server: hs.HostileServer, case: Case, kind: str) -> None:
    key, base_url = server.route(case.answer)
    positional, keywords, path = call_arguments(case.op)
    if case.memory:
        tracemalloc.start()
        tracemalloc.reset_peak()
    started = time.monotonic()
    try:
        outcome = invoke(
            kind,
            case.op,
            (positional, keywords),
            base_url,
            case.timeout,
            pass_http=not (case.memory or case.deadline),
        )
    finally:
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1] if case.memory else 0
        if case.memory:
            tracemalloc.stop()

    # the answer was given to the one request the call made, on the operation's path
    assert server.seen[key] == [(case.op.method, BASE_PATH + path)]

    assert isinstance(outcome, BaseException), f"returned instead of raising: {_describe(outcome)}"
    assert isinstance(outcome, pa.APIError), f"raw exception: {_describe(outcome)}"
    if case.status is not None and case.unreadable and isinstance(outcome, pa.APIConnectionError):
        pass
    elif case.status is not None:
        assert type(outcome) is _status_class(case.status), _describe(outcome)
        assert isinstance(outcome, pa.APIStatusError)
        assert outcome.status_code == case.status
    else:
        assert not isinstance(outcome, pa.APIStatusError), _describe(outcome)
    if case.op is CHARGE:
        assert outcome.idempotency_key == KEY, _describe(outcome)
        if case.unknown:
            assert outcome.outcome_unknown is True, _describe(outcome)

    for text in (str(outcome), repr(outcome)):
        assert TOKEN not in text
        assert SECRET not in text
    assert len(str(outcome)) <= MESSAGE_BOUND, f"message of {len(str(outcome))} characters"

    if case.deadline is not None:
        assert elapsed <= case.deadline, f"took {elapsed:.1f} s with timeout={case.timeout}"
    if case.memory:
        assert peak <= MEMORY_BOUND, f"peak {peak / 2**20:.0f} MiB > {MEMORY_BOUND / 2**20:.0f}"


# --- the harness itself: a valid answer through the same server is a success ------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("op", list(OPERATIONS.values()), ids=list(OPERATIONS))
def test_a_valid_answer_from_the_same_server_is_a_success(
    server: hs.HostileServer, op: OperationFacts, kind: str
) -> None:
    body = b"null" if op.response_empty else dumps(valid_body(op.response_schema))
    key, base_url = server.route(hs.reply(200, body))
    positional, keywords, path = call_arguments(op)
    outcome = invoke(kind, op, (positional, keywords), base_url, TIMEOUT, pass_http=False)
    assert not isinstance(outcome, BaseException), _describe(outcome)
    assert server.seen[key] == [(op.method, BASE_PATH + path)]


def test_the_tables_hold_enough_cases() -> None:
    assert len(CASES) * len(KINDS) >= 150
    # reading a huge body or a bomb whole cannot stay within the bound
    assert min(HUGE_MIB, BOMB_MIB) * 2**20 > MEMORY_BOUND
