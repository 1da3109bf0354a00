"""`FakeAccountAPI`: the fake's public face, its lock, and one request's way through it.

A request is routed (`_spec`), counted, possibly faulted (`_faults`),
authenticated, validated (`_spec`) and carried out (`_state`); the outcome goes
back to whichever way in it came from (`_transport`, `_server`).
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import random
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

import httpx

from parallel_account._fake_token import DEFAULT_TOKEN
from parallel_account.testing import _control as control
from parallel_account.testing._clients import account_client, async_account_client
from parallel_account.testing._faults import (
    FAULT_KINDS,
    Fault,
    FaultKind,
    FaultPlan,
    RandomFaults,
    retry_headers,
)
from parallel_account.testing._outcome import SUCCESS, Outcome, detail, json_answer
from parallel_account.testing._requests import RequestRecord, idempotency_key, log
from parallel_account.testing._sample import documented, spec_answer
from parallel_account.testing._server import serving
from parallel_account.testing._spec import (
    BASE_PATH,
    MAX_BODY_BYTES,
    UnparseableBody,
    known_operation,
    route,
    too_large,
    unparseable,
    validate,
)
from parallel_account.testing._state import Account, App, Balance, Charge, Key
from parallel_account.testing._transport import FakeTransport
from parallel_account_api.spec_facts import OperationFacts

if TYPE_CHECKING:
    from parallel_account._client import AccountClient, AsyncAccountClient

#: Arrival times kept per operation (`request_times`), and requests kept in `request_log`:
#: a soak test must not grow the fake.
MAX_TIMES_KEPT: Final = 1000


_TRANSPORT_HOST: Final = "account-api.fake.invalid"


class FakeAccountAPI:
    """An in-memory Account API for one organisation. All methods are thread-safe.

    Inspect it with `balance`, `ledger`, `charges_for(key)`, `apps`, `keys`,
    `requests` (count by operation name), `request_times`, `request_log` (each
    request: operation, status, idempotency key, fault), `injected` (count by
    fault kind) and `queued_faults`.
    Inject faults with `fail_next`, `drop_next`, `delay_next`, `random_faults`;
    `clear_faults` removes them all; `reset` goes back to the starting state.
    Over HTTP the same methods answer under `/__fake/` (the control API, `_control`).

    Operations it does not model yet: the fake routes every operation in the
    generated spec facts. One it has no behaviour for (no `op_<name>` method in
    `parallel_account/testing/_state.py`, as after a spec update adds an
    endpoint) is authenticated (401) and validated (path and query parameters,
    body: 422) like the others, counted in `requests` and open to injected
    faults; it then answers with the lowest 2xx status the spec documents and a
    body built from the pinned spec's response schema, as Prism's static mode
    does: the `example` or `examples` given, else `default`, else the first
    `enum` value, else a value made from the type, format and bounds (an empty
    schema gives `null`). That answer is always the same and changes no state;
    give the operation an `op_<name>` method when tests need its behaviour.
    Modelled operations answer a success with the spec's lowest 2xx status too.

    Args:
        token: the one bearer token accepted (others get 401).
        org_id: the organisation's id, in balances and apps.
        org_name: the organisation's name, in apps.
        credit_balance_cents: the starting prepaid credit.
        pending_debit_balance_cents: the starting pending debits.
        will_invoice: an invoice-billed org (add_balance then answers 400).
        user_id: who creates keys (`created_by_user_id`).
        user_email: their email (`created_by_user_email`).
    """

    #: The base URL to use with `transport()` (the host never resolves: nothing leaves the process).
    base_url: Final = f"https://{_TRANSPORT_HOST}{BASE_PATH}"

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
        balance = Balance(org_id, credit_balance_cents, pending_debit_balance_cents, will_invoice)
        self._initial = (balance, org_name, user_id, user_email)
        self._account = Account(*self._initial)
        self._requests: Counter[str] = Counter()
        self._times: dict[str, deque[float]] = {}
        self._request_log: deque[RequestRecord] = deque(maxlen=MAX_TIMES_KEPT)
        self._started = time.monotonic()
        self._faults = FaultPlan()
        self._last_request_id: str | None = None
        self._served_on: list[str] = []  # the addresses serve() listens on now

    def reset(self) -> None:
        """Back to the state it was created with: balance, ledger, apps, keys, request counts,
        times and log, faults (queued, random, and the injected counts). The token stays."""
        with self._lock:
            self._account = Account(*self._initial)
            self._requests.clear()
            self._times.clear()
            self._request_log.clear()
            self._started = time.monotonic()
            self._faults = FaultPlan()

    def __repr__(self) -> str:
        with self._lock:
            a = self._account
            return (
                f"FakeAccountAPI(org_id={a.balance.org_id!r}, apps={len(a.apps)}, "
                f"keys={len(a.keys)}, charges={len(a.ledger)})"
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
        """The balance now."""
        with self._lock:
            return self._account.balance

    def set_balance(
        self,
        *,
        credit_balance_cents: int | None = None,
        pending_debit_balance_cents: int | None = None,
        will_invoice: bool | None = None,
    ) -> None:
        """Change the balance as the rest of the platform would (usage, invoicing).

        Args:
            credit_balance_cents: the new prepaid credit (None: unchanged).
            pending_debit_balance_cents: the new pending debits (None: unchanged).
            will_invoice: whether the org is billed by invoice (None: unchanged).
        """
        with self._lock:
            b = self._account.balance
            self._account.balance = replace(
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
            return dict(self._account.ledger)

    def charges_for(self, idempotency_key: str) -> int:
        """How many charges were made for `idempotency_key` (0 if none)."""
        with self._lock:
            entry = self._account.ledger.get(idempotency_key)
            return entry.charges if entry else 0

    @property
    def apps(self) -> dict[str, App]:
        """The organisation's apps by app_id."""
        with self._lock:
            return dict(self._account.apps)

    @property
    def keys(self) -> dict[str, Key]:
        """Live API keys by api_key_id (`raw_api_key` is there, but not in the repr)."""
        with self._lock:
            return dict(self._account.keys)

    @property
    def requests(self) -> dict[str, int]:
        """Requests received by operation name, faulted or not (paths matching none: not counted)."""
        with self._lock:
            return dict(self._requests)

    @property
    def request_times(self) -> dict[str, list[float]]:
        """When requests arrived, by operation name: seconds since the fake was created (or
        reset), the last `MAX_TIMES_KEPT` of each. Shows a client's pauses between attempts."""
        with self._lock:
            return {name: list(times) for name, times in self._times.items()}

    @property
    def request_log(self) -> list[dict[str, Any]]:
        """The requests to the Account API's operations, oldest first (the last
        `MAX_TIMES_KEPT`): each as `RequestRecord` fields (`at`, `method`, `path`,
        `operation`, `status`: None when no answer was sent, `idempotency_key`,
        `fault`, `request_id`)."""
        with self._lock:
            return [record.as_json() for record in self._request_log]

    @property
    def injected(self) -> dict[str, int]:
        """Faults carried out so far, by kind."""
        with self._lock:
            return dict(self._faults.injected)

    @property
    def queued_faults(self) -> list[dict[str, Any]]:
        """The faults still to come from fail_next/drop_next/delay_next, in the order they
        will be served: kind, requests left, operation, status, headers, delay."""
        with self._lock:
            return [fault.described() for fault in self._faults.queued]

    @property
    def random_fault_settings(self) -> dict[str, Any] | None:
        """The settings of random_faults() (rate, kinds, statuses, ...), or None when off."""
        with self._lock:
            plan = self._faults.random_faults
            return plan.described() if plan else None

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

        Raises:
            ValueError: `retry_after` is a string a header cannot carry (control
                characters, non-ASCII, over 200 characters); the message starts `retry_after:`.
        """
        headers = retry_headers(retry_after, retry_after_ms)
        self._queue(Fault("status", n, operation, status=status, headers=headers))

    def drop_next(
        self, n: int = 1, *, operation: str | None = None, after_commit: bool = False
    ) -> None:
        """Close the connection without an answer on the next `n` requests.

        Before commit the request is not carried out; after commit it is (a charge
        is made) and only the answer is lost. The client sees the same either way.

        Args:
            n: how many requests to drop.
            operation: only requests to this operation (None: any).
            after_commit: carry the request out before dropping the connection.
        """
        kind: FaultKind = "drop_after_commit" if after_commit else "drop_before_commit"
        self._queue(Fault(kind, n, operation))

    def delay_next(self, seconds: float, n: int = 1, *, operation: str | None = None) -> None:
        """Carry out the next `n` requests, then answer `seconds` late.

        On the served fake this sleeps. On the transport no time passes: a delay
        longer than the request's read timeout raises `httpx.ReadTimeout` (after
        the commit), a shorter one just answers. `operation`: only requests to this
        operation (None: any).
        """
        self._queue(Fault("delay", n, operation, delay=seconds))

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
        `delay_seconds`: how late a "delay" fault answers; `retry_after`: a
        Retry-After header on "status" faults; `operation`: only requests to this
        operation (None: any).

        Raises:
            ValueError: `rate` is not in [0, 1], or `kinds` is empty or unknown.
        """
        if not 0 <= rate <= 1:
            raise ValueError(f"rate: {rate!r} is not between 0 and 1")
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown or not kinds:
            raise ValueError(f"kinds: {sorted(unknown)} not in {FAULT_KINDS}")
        with self._lock:
            self._faults.random_faults = RandomFaults(
                random.Random(seed),  # noqa: S311 (reproducible faults, not security)
                rate,
                tuple(kinds),
                tuple(statuses),
                delay_seconds,
                known_operation(operation),
                retry_headers(retry_after),
            )

    def clear_faults(self) -> None:
        """Forget queued faults and stop random ones."""
        with self._lock:
            self._faults.clear()

    def _queue(self, fault: Fault) -> None:
        with self._lock:
            self._faults.queued.append(fault)

    # -- ways in --

    def transport(self) -> FakeTransport:
        """An httpx transport (sync and async) answering from this fake, without sockets."""
        return FakeTransport(self)

    def http_client(
        self, *, authenticated: bool = True, timeout: float | httpx.Timeout | None = 5.0
    ) -> httpx.Client:
        """An httpx.Client on `transport()` with `base_url` and the token set.

        Args:
            authenticated: send the fake's token (False: none, for 401 tests).
            timeout: the client's timeout.
        """
        return httpx.Client(**self._client_options(authenticated, timeout))

    def async_http_client(
        self, *, authenticated: bool = True, timeout: float | httpx.Timeout | None = 5.0
    ) -> httpx.AsyncClient:
        """The async twin of `http_client()`; `authenticated` and `timeout` as there."""
        return httpx.AsyncClient(**self._client_options(authenticated, timeout))

    def _client_options(
        self, authenticated: bool, timeout: float | httpx.Timeout | None
    ) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "transport": self.transport(),
            "headers": {"authorization": f"Bearer {self.token}"} if authenticated else {},
            "timeout": timeout,
        }

    def client(self, **options: Any) -> AccountClient:
        """An `AccountClient` on `transport()` with this fake's token, retrying without waiting.

        Retries keep their rules and count (`max_retries`, default 2), but every backoff
        and Retry-After is 0 s (`parallel_account.testing.NO_BACKOFF`), so a test that
        meets an injected 503 pays no real sleep.

        Args:
            options: any other `AccountClient` option (`max_retries`, `timeout`,
                `policy`, `sleep`, `default_headers`, ...), over these defaults.

        Returns:
            A new client; close it (or use it in a `with` block) when done.

        Raises:
            InvalidRequestError: an option is not allowed (named in the message).
        """
        return account_client(self, options)

    def async_client(self, **options: Any) -> AsyncAccountClient:
        """The `AsyncAccountClient` twin of `client()`.

        Args:
            options: any other `AsyncAccountClient` option, as for `client()`.

        Returns:
            A new async client; `await client.aclose()` (or `async with`) when done.

        Raises:
            InvalidRequestError: an option is not allowed (named in the message).
        """
        return async_account_client(self, options)

    def serve(
        self, port: int = 0, host: str = "127.0.0.1"
    ) -> contextlib.AbstractContextManager[str]:
        """Serve this fake over real HTTP/1.1 in a background thread; yield its base URL.

        Args:
            port: the port (0: any free one).
            host: the address to listen on (loopback by default).

        Raises:
            OSError: the address cannot be listened on (errno EADDRINUSE: the port is taken).
        """
        return self._serving(port, host)

    @contextlib.contextmanager
    def _serving(self, port: int, host: str) -> Iterator[str]:
        with serving(self._handle, port, host, self._refused) as base_url:
            with self._lock:
                self._served_on.append(host.strip("[]"))
            try:
                yield base_url
            finally:
                with self._lock:
                    self._served_on.remove(host.strip("[]"))

    @property
    def last_request_id(self) -> str | None:
        """The `x-request-id` of the latest answer (every answer has a new one), or None."""
        with self._lock:
            return self._last_request_id

    # -- the server's logic: one request in, one outcome out --

    def _handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> Outcome:
        record = RequestRecord(self._since_start(), method, raw_path.partition("?")[0])
        outcome = self._decide(raw_path, headers, body, record)
        # As the API does, every answer (errors too) names the request for support tickets.
        request_id = f"req_{uuid.uuid4().hex[:24]}"
        if not outcome.drop:  # else no status and no id reached the client
            record.status, record.request_id = outcome.status, request_id
        with self._lock:
            self._last_request_id = request_id
            if record.operation is not None:
                self._request_log.append(record)
        outcome.headers.append(("x-request-id", request_id))
        log(record)
        return outcome

    def _refused(self, method: str, path: str, status: int) -> None:
        """The served fake refused a request before reading it (411, 413, unparseable): logged."""
        log(RequestRecord(self._since_start(), method, path.partition("?")[0], status=status))

    def _own_hosts(self) -> frozenset[str] | None:
        """The names a control request's Host may give besides loopback ones: the
        transport's, and any address served on; None (any) when served on all interfaces."""
        with self._lock:
            served = tuple(self._served_on)
        if any(_all_interfaces(host) for host in served):
            return None
        return frozenset({_TRANSPORT_HOST, *served})

    def _since_start(self) -> float:
        with self._lock:
            return round(time.monotonic() - self._started, 6)

    def _decide(
        self, raw_path: str, headers: Mapping[str, str], body: bytes, seen: RequestRecord
    ) -> Outcome:
        """The outcome for one request; what it learns on the way (operation, key, fault)
        goes into `seen`."""
        if len(body) > MAX_BODY_BYTES:  # the served fake refuses it before reading it
            return too_large()
        path, _, query = raw_path.partition("?")
        controlled = control.answer(
            self, seen.method, path, query, headers, body, self._own_hosts()
        )
        if controlled is not None:  # the control API or the spec: not the Account API's
            return controlled
        routed = route(seen.method, path)
        if isinstance(routed, Outcome):
            return routed
        op, path_params = routed
        seen.operation = op.name
        seen.idempotency_key = idempotency_key(op, body)
        with self._lock:
            self._requests[op.name] += 1
            arrived = self._times.setdefault(op.name, deque(maxlen=MAX_TIMES_KEPT))
            arrived.append(seen.at)
            fault = self._faults.take(op.name)
            seen.fault = fault.kind if fault is not None else None
            instead = fault.instead() if fault is not None else None
            if instead is not None:
                return instead
            outcome = self._dispatch(op, path_params, query, headers, body)
        if fault is not None:
            fault.after_commit(outcome)
        return outcome

    def _dispatch(
        self,
        op: OperationFacts,
        path_params: Mapping[str, str],
        query: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Outcome:
        # FastAPI resolves the security dependency before it validates the request.
        refusal = self._refusal(headers.get("authorization")) if op.requires_auth else None
        if refusal is not None:
            return detail(401, refusal, [("www-authenticate", "Bearer")])
        try:
            params, data, errors = validate(op, path_params, query, body)
        except UnparseableBody:
            return unparseable()
        if errors:
            return json_answer(422, {"detail": errors})
        operation = self._account.operation(op.name)
        if operation is None:  # not modelled (yet): answer as the spec documents it
            path = {facts.name: params[facts.name] for facts in op.path_params}
            return spec_answer(op, {**data, **path})
        outcome = operation(params, data)
        return documented(op, outcome) if outcome.status == SUCCESS else outcome

    def _refusal(self, header: str | None) -> str | None:
        """Why this Authorization header is refused, or None if it carries the token."""
        scheme, _, credentials = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return "Not authenticated"
        if not hmac.compare_digest(credentials.strip().encode(), self._token.encode()):
            return "Invalid or expired token"
        return None


def _all_interfaces(host: str) -> bool:
    """True for an address that listens on every interface ("", 0.0.0.0, ::)."""
    try:
        return host == "" or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _given(value: Any, default: Any) -> Any:
    return default if value is None else value
