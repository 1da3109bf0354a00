"""A fake Account API for tests: in memory, stateful, thread-safe, with fault injection.

It follows the pinned spec (paths, bounds and field names come from
`parallel_account_api.spec_facts`) and the server's documented behaviour: a
bearer token is required (401), bodies are validated (422, FastAPI's
`HTTPValidationError` shape), unknown apps and keys are 404, and
`add_balance` charges at most once per idempotency key (the same key with the
same amount gets the stored answer again; with another amount, 409).

In process, as an httpx transport (no sockets)::

    from parallel_account.testing import FakeAccountAPI

    fake = FakeAccountAPI(token="t", credit_balance_cents=1_000)
    fake.fail_next(status=503, operation="add_balance", retry_after=0)
    fake.drop_next(operation="add_balance", after_commit=True)  # charged, answer lost
    body = {"amount_cents": 500, "idempotency_key": "order-1234"}
    with fake.http_client() as http:  # base_url and bearer token preset
        assert http.post("/service/v1/balance/add", json=body).status_code == 503
        with contextlib.suppress(httpx.RemoteProtocolError):
            http.post("/service/v1/balance/add", json=body)
        http.post("/service/v1/balance/add", json=body)  # the stored answer, no charge
    assert fake.charges_for("order-1234") == 1
    assert fake.balance.credit_balance_cents == 1_500

Pass `fake.transport()` as `transport=` to any httpx client (sync or async), or
serve it on loopback for tests in other languages::

    with fake.serve(port=0) as base_url:  # e.g. http://127.0.0.1:54321/account
        ...

    $ python -m parallel_account.testing --port 8080 --token t

Deliberate differences from the real server: bodies are checked strictly
against the spec (no coercion of "500" to 500), and an invoice-billed org
(`will_invoice=True`) gets 400 from add_balance (the real status is not
published). The token and raw API keys never appear in a repr or a log line.
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import http.server
import json
import logging
import operator
import random
import re
import secrets
import signal
import socket
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from types import FrameType
from typing import Any, Final, Literal, get_args
from urllib.parse import unquote, urlsplit

import httpx

from parallel_account_api.spec_facts import OPERATIONS, SERVER_URL, FieldFacts, OperationFacts

__all__ = [
    "DEFAULT_TOKEN",
    "FAULT_KINDS",
    "App",
    "Balance",
    "Charge",
    "FakeAccountAPI",
    "FakeTransport",
    "FaultKind",
    "Key",
    "main",
]

_log = logging.getLogger(__name__)

DEFAULT_TOKEN: Final = "fake-account-token"  # noqa: S105 (a well-known test value)
# The real base URL has a path (/account); the fake keeps it so a client that
# drops the base path (urljoin with "/service/...") fails here as it would in production.
_BASE_PATH: Final = urlsplit(SERVER_URL).path.rstrip("/")

FaultKind = Literal["status", "drop_before_commit", "drop_after_commit", "delay"]
FAULT_KINDS: Final[tuple[FaultKind, ...]] = get_args(FaultKind)

JSON = Any


# --- What the fake holds, as tests see it -------------------------------------------------


@dataclass(frozen=True)
class Balance:
    org_id: str
    credit_balance_cents: int
    pending_debit_balance_cents: int
    will_invoice: bool


@dataclass(frozen=True)
class App:
    app_id: str
    app_name: str
    org_id: str
    org_name: str


@dataclass(frozen=True)
class Key:
    api_key_id: str
    api_key_name: str
    app_id: str
    created_at: int
    display_value: str
    raw_api_key: str = field(repr=False)


@dataclass(frozen=True)
class Charge:
    """One idempotency key's entry in the ledger."""

    idempotency_key: str
    amount_cents: int
    charges: int  # charges made for this key: the server's promise is that it never exceeds 1
    replays: int = 0  # later requests with the same key and amount, answered from the ledger
    conflicts: int = 0  # later requests with the same key and another amount (409)
    answer: bytes = field(default=b"", repr=False)


# --- Faults ---------------------------------------------------------------------------------


@dataclass
class _Fault:
    kind: FaultKind
    remaining: int
    operation: str | None = None
    status: int = 503
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0


@dataclass
class _RandomFaults:
    rng: random.Random
    rate: float
    kinds: tuple[FaultKind, ...]
    statuses: tuple[int, ...]
    delay: float
    operation: str | None
    headers: tuple[tuple[str, str], ...]

    def draw(self, operation: str) -> _Fault | None:
        if self.operation not in (None, operation) or self.rng.random() >= self.rate:
            return None
        kind = self.rng.choice(self.kinds)
        return _Fault(
            kind, 1, status=self.rng.choice(self.statuses), headers=self.headers, delay=self.delay
        )


@dataclass
class _Outcome:
    """What the fake decided; the transport and the server each carry it out their own way."""

    status: int = 200
    body: bytes = b"null"
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: bool = False
    delay: float = 0.0


def _json(status: int, payload: JSON, headers: Sequence[tuple[str, str]] = ()) -> _Outcome:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return _Outcome(status, body, [("content-type", "application/json"), *headers])


def _detail(status: int, message: str, headers: Sequence[tuple[str, str]] = ()) -> _Outcome:
    return _json(status, {"detail": message}, headers)


# --- Routing and validation, all from the spec facts ----------------------------------------


def _route_pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", path)  # literal, name, literal, name, ...
    regex = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts)
    )
    return re.compile(re.escape(_BASE_PATH) + regex)


_ROUTES: Final = [(_route_pattern(op.path), op) for op in OPERATIONS.values()]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _error(loc: list[str | int], msg: str, kind: str, value: JSON) -> dict[str, JSON]:
    return {"type": kind, "loc": loc, "msg": msg, "input": value}


# Strict JSON types (bool is not an integer here, though Python says it is).
_TYPE_CHECKS: Final[dict[str, tuple[str, str, Callable[[object], bool]]]] = {
    "integer": ("int_type", "Input should be a valid integer", lambda v: type(v) is int),
    "number": ("float_type", "Input should be a valid number", lambda v: type(v) in (int, float)),
    "string": ("string_type", "Input should be a valid string", lambda v: isinstance(v, str)),
    "boolean": ("bool_type", "Input should be a valid boolean", lambda v: isinstance(v, bool)),
}
_BOUNDS: Final = (
    ("minimum", operator.ge, "greater_than_equal", "greater than or equal to"),
    ("exclusive_minimum", operator.gt, "greater_than", "greater than"),
    ("maximum", operator.le, "less_than_equal", "less than or equal to"),
    ("exclusive_maximum", operator.lt, "less_than", "less than"),
)


def _check(facts: FieldFacts, value: JSON, loc: list[str | int]) -> list[dict[str, JSON]]:
    """Pydantic-style errors for one value against the spec's constraints (strict types)."""
    check = _TYPE_CHECKS.get(facts.type or "")
    if check is not None and not check[2](value):
        return [_error(loc, check[1], check[0], value)]
    if facts.format == "uuid":
        try:
            uuid.UUID(str(value))
        except ValueError:
            return [_error(loc, "Input should be a valid UUID", "uuid_parsing", value)]
    if type(value) in (int, float):
        for attr, ok, kind, words in _BOUNDS:
            bound = getattr(facts, attr)
            if bound is not None and not ok(value, bound):
                return [_error(loc, f"Input should be {words} {_number(bound)}", kind, value)]
    if isinstance(value, str):
        if facts.min_length is not None and len(value) < facts.min_length:
            msg = f"String should have at least {facts.min_length} characters"
            return [_error(loc, msg, "string_too_short", value)]
        if facts.max_length is not None and len(value) > facts.max_length:
            msg = f"String should have at most {facts.max_length} characters"
            return [_error(loc, msg, "string_too_long", value)]
        if facts.pattern is not None and re.search(facts.pattern, value) is None:
            msg = f"String should match pattern '{facts.pattern}'"
            return [_error(loc, msg, "string_pattern_mismatch", value)]
    if facts.enum is not None and value not in facts.enum:
        return [_error(loc, "Input should be one of the allowed values", "enum", value)]
    return []


def _parse_body(op: OperationFacts, raw: bytes) -> tuple[dict[str, JSON], list[dict[str, JSON]]]:
    """The JSON body as a dict, plus the validation errors FastAPI would report for it."""
    if not raw.strip():
        return {}, [_error(["body"], "Field required", "missing", None)]
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        pos = exc.pos if isinstance(exc, json.JSONDecodeError) else 0
        return {}, [_error(["body", pos], "JSON decode error", "json_invalid", {})]
    if not isinstance(data, dict):
        msg = "Input should be a valid dictionary or object to extract fields from"
        return {}, [_error(["body"], msg, "model_attributes_type", data)]
    errors: list[dict[str, JSON]] = []
    for facts in op.body_fields:
        loc: list[str | int] = ["body", facts.name]
        if facts.name not in data:
            if facts.required:
                errors.append(_error(loc, "Field required", "missing", data))
            continue
        errors += _check(facts, data[facts.name], loc)
    return data, errors


# --- The fake -------------------------------------------------------------------------------


class FakeAccountAPI:
    """An in-memory Account API for one organisation. All methods are thread-safe.

    Inspect it with `balance`, `ledger`, `charges_for(key)`, `apps`, `keys`,
    `requests` (count by operation name) and `injected` (count by fault kind).
    Inject faults with `fail_next`, `drop_next`, `delay_next`, `random_faults`;
    `clear_faults` removes them all.
    """

    #: The base URL to use with `transport()` (the host never resolves: nothing leaves the process).
    base_url: Final = f"https://account-api.fake.invalid{_BASE_PATH}"

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        org_id: str = "org_fake",
        org_name: str = "Fake Org",
        credit_balance_cents: int = 0,
        pending_debit_balance_cents: int = 0,
        will_invoice: bool = False,
        user_id: str = "user_fake",
        user_email: str = "dev@example.com",
    ) -> None:
        self._lock = threading.RLock()
        self._token = token
        self._balance = Balance(
            org_id, credit_balance_cents, pending_debit_balance_cents, will_invoice
        )
        self._org_name = org_name
        self._user = (user_id, user_email)
        self._ledger: dict[str, Charge] = {}
        self._apps: dict[str, App] = {}
        self._keys: dict[str, Key] = {}
        self._requests: Counter[str] = Counter()
        self._injected: Counter[str] = Counter()
        self._faults: list[_Fault] = []
        self._random: _RandomFaults | None = None

    def __repr__(self) -> str:
        with self._lock:
            return (
                f"FakeAccountAPI(org_id={self._balance.org_id!r}, apps={len(self._apps)}, "
                f"keys={len(self._keys)}, charges={len(self._ledger)})"
            )

    # -- state, as tests see it --

    @property
    def token(self) -> str:
        """The one bearer token accepted; assign to rotate it (the old one then gets 401)."""
        with self._lock:
            return self._token

    @token.setter
    def token(self, value: str) -> None:
        with self._lock:
            self._token = value

    @property
    def balance(self) -> Balance:
        with self._lock:
            return self._balance

    def set_balance(
        self,
        *,
        credit_balance_cents: int | None = None,
        pending_debit_balance_cents: int | None = None,
        will_invoice: bool | None = None,
    ) -> None:
        """Change the balance as the rest of the platform would (usage, invoicing)."""
        with self._lock:
            b = self._balance
            self._balance = replace(
                b,
                credit_balance_cents=_given(credit_balance_cents, b.credit_balance_cents),
                pending_debit_balance_cents=_given(
                    pending_debit_balance_cents, b.pending_debit_balance_cents
                ),
                will_invoice=_given(will_invoice, b.will_invoice),
            )

    @property
    def ledger(self) -> dict[str, Charge]:
        """Every idempotency key that led to a charge, with its amount and counters."""
        with self._lock:
            return dict(self._ledger)

    def charges_for(self, idempotency_key: str) -> int:
        """How many charges were made for this key (0 if none)."""
        with self._lock:
            entry = self._ledger.get(idempotency_key)
            return entry.charges if entry else 0

    @property
    def apps(self) -> dict[str, App]:
        with self._lock:
            return dict(self._apps)

    @property
    def keys(self) -> dict[str, Key]:
        """Live API keys by api_key_id (`raw_api_key` is there, but not in the repr)."""
        with self._lock:
            return dict(self._keys)

    @property
    def requests(self) -> dict[str, int]:
        """Requests received by operation name, faulted or not (paths matching none: not counted)."""
        with self._lock:
            return dict(self._requests)

    @property
    def injected(self) -> dict[str, int]:
        """Faults carried out so far, by kind."""
        with self._lock:
            return dict(self._injected)

    # -- fault injection --

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 503,
        operation: str | None = None,
        retry_after: float | str | None = None,
        retry_after_ms: float | None = None,
    ) -> None:
        """Answer the next `n` requests (to `operation`, or any) with `status`, doing nothing.

        `retry_after` becomes a `Retry-After` header (seconds, or a string such as
        an HTTP date, sent as is); `retry_after_ms` a `retry-after-ms` header.
        """
        headers: list[tuple[str, str]] = []
        if retry_after is not None:
            value = retry_after if isinstance(retry_after, str) else _number(retry_after)
            headers.append(("retry-after", value))
        if retry_after_ms is not None:
            headers.append(("retry-after-ms", _number(retry_after_ms)))
        self._add(_Fault("status", n, operation, status=status, headers=tuple(headers)))

    def drop_next(
        self, n: int = 1, *, operation: str | None = None, after_commit: bool = False
    ) -> None:
        """Close the connection without an answer on the next `n` requests.

        Before commit the request is not carried out; after commit it is (a charge
        is made) and only the answer is lost. The client sees the same either way.
        """
        kind: FaultKind = "drop_after_commit" if after_commit else "drop_before_commit"
        self._add(_Fault(kind, n, operation))

    def delay_next(self, seconds: float, n: int = 1, *, operation: str | None = None) -> None:
        """Carry out the next `n` requests, then answer `seconds` late.

        On the served fake this sleeps. On the transport no time passes: a delay
        longer than the request's read timeout raises `httpx.ReadTimeout` (after
        the commit), a shorter one just answers.
        """
        self._add(_Fault("delay", n, operation, delay=seconds))

    def random_faults(
        self,
        seed: int | str,
        rate: float,
        *,
        kinds: Sequence[FaultKind] = FAULT_KINDS,
        statuses: Sequence[int] = (429, 500, 502, 503),
        delay_seconds: float = 1.0,
        retry_after: float | None = None,
        operation: str | None = None,
    ) -> None:
        """From now on, fault each request with probability `rate`, reproducibly for `seed`.

        A faulted request gets a kind drawn uniformly from `kinds` (list a kind twice
        to draw it twice as often) and, for "status", a status from `statuses`.
        Faults queued with fail_next/drop_next/delay_next are served first.
        """
        if not 0 <= rate <= 1:
            raise ValueError(f"rate: {rate!r} is not between 0 and 1")
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown or not kinds:
            raise ValueError(f"kinds: {sorted(unknown)} not in {FAULT_KINDS}")
        headers = () if retry_after is None else (("retry-after", _number(retry_after)),)
        with self._lock:
            self._random = _RandomFaults(
                random.Random(seed),  # noqa: S311 (reproducible faults, not security)
                rate,
                tuple(kinds),
                tuple(statuses),
                delay_seconds,
                _known_operation(operation),
                headers,
            )

    def clear_faults(self) -> None:
        """Forget queued faults and stop random ones."""
        with self._lock:
            self._faults.clear()
            self._random = None

    def _add(self, fault: _Fault) -> None:
        if fault.remaining < 1:
            raise ValueError(f"n: {fault.remaining!r}; expected at least 1")
        fault.operation = _known_operation(fault.operation)
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, operation: str) -> _Fault | None:
        for fault in self._faults:
            if fault.operation in (None, operation):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return self._random.draw(operation) if self._random else None

    # -- ways in --

    def transport(self) -> FakeTransport:
        """An httpx transport (sync and async) answering from this fake, without sockets."""
        return FakeTransport(self)

    def http_client(
        self, *, authenticated: bool = True, timeout: float | httpx.Timeout | None = 5.0
    ) -> httpx.Client:
        """An httpx.Client on `transport()` with `base_url` and (unless told not to) the token set."""
        return httpx.Client(
            base_url=self.base_url,
            transport=self.transport(),
            headers=self._auth_headers(authenticated),
            timeout=timeout,
        )

    def async_http_client(
        self, *, authenticated: bool = True, timeout: float | httpx.Timeout | None = 5.0
    ) -> httpx.AsyncClient:
        """The async twin of `http_client()`."""
        return httpx.AsyncClient(
            base_url=self.base_url,
            transport=self.transport(),
            headers=self._auth_headers(authenticated),
            timeout=timeout,
        )

    def _auth_headers(self, authenticated: bool) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"} if authenticated else {}

    @contextlib.contextmanager
    def serve(self, port: int = 0, host: str = "127.0.0.1") -> Iterator[str]:
        """Serve this fake over real HTTP/1.1 in a background thread; yield its base URL."""
        server = _Server(self, host, port)
        # A short poll interval: shutdown() waits up to one of them, once per serve().
        thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="fake-account-api", daemon=True
        )
        thread.start()
        try:
            bound_port = server.server_address[1]
            shown = f"[{host}]" if ":" in host else host
            yield f"http://{shown}:{bound_port}{_BASE_PATH}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join()

    # -- the server's logic: one request in, one outcome out --

    def _handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> _Outcome:
        path = raw_path.split("?", 1)[0]
        routed = _route(method, path)
        if isinstance(routed, _Outcome):
            return routed
        op, params = routed
        with self._lock:
            self._requests[op.name] += 1
            fault = self._take_fault(op.name)
            if fault is not None:
                self._injected[fault.kind] += 1
            if fault is not None and fault.kind == "status":
                return _detail(fault.status, f"injected fault: HTTP {fault.status}", fault.headers)
            if fault is not None and fault.kind == "drop_before_commit":
                return _Outcome(drop=True)
            outcome = self._dispatch(op, params, headers, body)
        if fault is not None:
            outcome.drop = fault.kind == "drop_after_commit"
            outcome.delay = fault.delay if fault.kind == "delay" else 0.0
        _log.debug("fake account API: %s %s -> %s", method, path, outcome.status)
        return outcome

    def _dispatch(
        self, op: OperationFacts, params: dict[str, str], headers: Mapping[str, str], body: bytes
    ) -> _Outcome:
        # FastAPI resolves the security dependency before it validates the request.
        refusal = self._refusal(headers.get("authorization")) if op.requires_auth else None
        if refusal is not None:
            return _detail(401, refusal, [("www-authenticate", "Bearer")])
        errors = [e for p in op.path_params for e in _check(p, params[p.name], ["path", p.name])]
        data: dict[str, JSON] = {}
        if op.body_model is not None:
            data, body_errors = _parse_body(op, body)
            errors += body_errors
        if errors:
            return _json(422, {"detail": errors})
        handler = getattr(self, f"_op_{op.name}", None)
        if handler is None:  # a new operation in the spec: say so rather than crash
            return _detail(501, f"the fake Account API does not implement {op.name} yet")
        outcome: _Outcome = handler(params, data)
        return outcome

    def _refusal(self, header: str | None) -> str | None:
        """Why this Authorization header is refused, or None if it carries the token."""
        scheme, _, credentials = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return "Not authenticated"
        if not hmac.compare_digest(credentials.strip().encode(), self._token.encode()):
            return "Invalid or expired token"
        return None

    def _op_get_balance(self, params: dict[str, str], data: dict[str, JSON]) -> _Outcome:
        return _json(200, asdict(self._balance))

    def _op_add_balance(self, params: dict[str, str], data: dict[str, JSON]) -> _Outcome:
        key: str = data["idempotency_key"]
        amount: int = data["amount_cents"]
        if self._balance.will_invoice:
            return _detail(400, "this organisation is billed by invoice and cannot add balance")
        entry = self._ledger.get(key)
        if entry is not None and entry.amount_cents == amount:
            self._ledger[key] = replace(entry, replays=entry.replays + 1)
            return _Outcome(200, entry.answer, [("content-type", "application/json")])
        if entry is not None:
            self._ledger[key] = replace(entry, conflicts=entry.conflicts + 1)
            return _detail(
                409,
                f"idempotency_key was already used with amount_cents={entry.amount_cents}; "
                "use a new key for a different amount",
            )
        b = self._balance
        self._balance = replace(b, credit_balance_cents=b.credit_balance_cents + amount)
        outcome = _json(200, asdict(self._balance))
        self._ledger[key] = Charge(key, amount, charges=1, answer=outcome.body)
        return outcome

    def _op_list_apps(self, params: dict[str, str], data: dict[str, JSON]) -> _Outcome:
        return _json(200, {"apps": [asdict(app) for app in self._apps.values()]})

    def _op_create_app(self, params: dict[str, str], data: dict[str, JSON]) -> _Outcome:
        app = App(str(uuid.uuid4()), data["app_name"], self._balance.org_id, self._org_name)
        self._apps[app.app_id] = app
        return _json(200, {"app_id": app.app_id})

    def _op_delete_app(self, params: dict[str, str], data: dict[str, JSON]) -> _Outcome:
        app_id = _canonical_uuid(params["app_id"])
        if self._apps.pop(app_id, None) is None:
            return _detail(404, "App not found")
        self._keys = {k: v for k, v in self._keys.items() if v.app_id != app_id}
        return _json(200, None)

    def _op_create_key(self, params: dict[str, str], data: dict[str, JSON]) -> _Outcome:
        app = self._apps.get(_canonical_uuid(params["app_id"]))
        if app is None:
            return _detail(404, "App not found")
        raw = f"fake_{secrets.token_urlsafe(24)}"
        key = Key(
            api_key_id=f"key_{uuid.uuid4().hex}",
            api_key_name=data["api_key_name"],
            app_id=app.app_id,
            created_at=int(time.time()),
            display_value=f"{raw[:9]}...{raw[-4:]}",
            raw_api_key=raw,
        )
        self._keys[key.api_key_id] = key
        user_id, user_email = self._user
        return _json(
            200,
            {
                **asdict(key),
                "app_name": app.app_name,
                "created_by_user_id": user_id,
                "created_by_user_email": user_email,
            },
        )

    def _op_delete_key(self, params: dict[str, str], data: dict[str, JSON]) -> _Outcome:
        app_id = _canonical_uuid(params["app_id"])
        if app_id not in self._apps:
            return _detail(404, "App not found")
        key = self._keys.get(params["api_key_id"])
        if key is None or key.app_id != app_id:
            return _detail(404, "API key not found")
        del self._keys[key.api_key_id]
        return _json(200, None)


def _given(value: Any, default: Any) -> Any:
    return default if value is None else value


def _canonical_uuid(value: str) -> str:
    return str(uuid.UUID(value))  # validated already: accept any spelling of the same uuid


def _known_operation(name: str | None) -> str | None:
    if name is not None and name not in OPERATIONS:
        raise ValueError(f"operation: {name!r} is not one of {sorted(OPERATIONS)}")
    return name


def _route(method: str, path: str) -> tuple[OperationFacts, dict[str, str]] | _Outcome:
    path_matched = False
    for pattern, op in _ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        path_matched = True
        if op.method == method.upper():
            return op, {name: unquote(value) for name, value in match.groupdict().items()}
    if path_matched:
        return _detail(405, "Method Not Allowed")
    return _detail(404, "Not Found")


# --- Way in 1: an httpx transport -----------------------------------------------------------


class FakeTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Serves requests from a FakeAccountAPI in process, for httpx.Client and httpx.AsyncClient."""

    def __init__(self, fake: FakeAccountAPI) -> None:
        self.fake = fake

    def __repr__(self) -> str:
        return f"FakeTransport({self.fake!r})"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        return self._respond(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return self._respond(request)

    def _respond(self, request: httpx.Request) -> httpx.Response:
        raw_path = request.url.raw_path.decode("ascii")
        outcome = self.fake._handle(request.method, raw_path, request.headers, request.content)
        if outcome.drop:
            # What httpx raises when a real server closes the connection without answering.
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        read_timeout = timeouts.get("read")
        if outcome.delay and read_timeout is not None and outcome.delay > read_timeout:
            raise httpx.ReadTimeout("The read operation timed out", request=request)
        return httpx.Response(
            outcome.status, headers=outcome.headers, content=outcome.body, request=request
        )


# --- Way in 2: a real HTTP server on loopback -----------------------------------------------


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True  # a handler sleeping out a delay must not hold up shutdown
    # socketserver's default listen backlog is 5: more clients connecting at once had
    # their SYNs dropped and waited a second for the retransmit (connect timeouts).
    request_queue_size = 128

    def __init__(self, fake: FakeAccountAPI, host: str, port: int) -> None:
        self.fake = fake
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients pool connections in production
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall
    server: _Server

    def _serve(self) -> None:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            self._write(_detail(411, "send a Content-Length; chunked bodies are not supported"))
            return
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        outcome = self.server.fake._handle(self.command, self.path, headers, body)
        if outcome.drop:
            self.close_connection = True  # the socket closes with nothing written
            return
        if outcome.delay:
            time.sleep(outcome.delay)
        self._write(outcome)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def _write(self, outcome: _Outcome) -> None:
        try:
            self.send_response(outcome.status)
            for name, value in outcome.headers:
                self.send_header(name, value)
            self.send_header("content-length", str(len(outcome.body)))
            self.end_headers()
            self.wfile.write(outcome.body)
        except OSError:  # the client gave up (e.g. timed out during a delay)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        # The request line only: never headers, so never the token.
        _log.debug("fake account API %s: " + format, self.address_string(), *args)


# --- Way in 3: a process of its own ---------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a fake Account API until interrupted; print its base URL first, alone on a line."""
    parser = argparse.ArgumentParser(
        prog="python -m parallel_account.testing",
        description="Serve a fake Parallel Account API on loopback for tests.",
    )
    parser.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    parser.add_argument(
        "--token", default=DEFAULT_TOKEN, help=f"bearer token to accept (default: {DEFAULT_TOKEN})"
    )
    args = parser.parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # stop cleanly on SIGTERM as on Ctrl-C
    fake = FakeAccountAPI(token=args.token)
    with fake.serve(port=args.port, host=args.host) as base_url:
        print(base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
