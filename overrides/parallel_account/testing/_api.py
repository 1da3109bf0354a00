"""`FakeAccountAPI`: the fake's public face, its ways in, and one request's way through it.

Its state and the methods that read and change it are `FakeCore`'s (`_core`). A
request is routed (`_spec`), counted, possibly faulted (`_faults`), authenticated,
validated (`_spec`) and carried out (`_state`); the answer goes back to whichever
way in it came from (`_transport`, `_server`).
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import uuid
from collections import deque
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

import httpx

from parallel_account.testing import _control as control
from parallel_account.testing._answer import SUCCESS, Answer, detail, json_answer
from parallel_account.testing._clients import account_client, async_account_client
from parallel_account.testing._core import MAX_TIMES_KEPT, FakeCore
from parallel_account.testing._requests import RequestRecord, idempotency_key, log
from parallel_account.testing._sample import documented, spec_answer
from parallel_account.testing._server import serving
from parallel_account.testing._spec import (
    BASE_PATH,
    MAX_BODY_BYTES,
    UnparseableBody,
    route,
    too_large,
    unparseable,
    validate,
)
from parallel_account.testing._transport import FakeTransport
from parallel_account_api.spec_facts import OperationFacts

if TYPE_CHECKING:
    from parallel_account._client import AccountClient, AsyncAccountClient


_TRANSPORT_HOST: Final = "account-api.fake.invalid"


class FakeAccountAPI(FakeCore):
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
        return account_client(self.token, self.base_url, self.transport(), options)

    def async_client(self, **options: Any) -> AsyncAccountClient:
        """The `AsyncAccountClient` twin of `client()`.

        Args:
            options: any other `AsyncAccountClient` option, as for `client()`.

        Returns:
            A new async client; `await client.aclose()` (or `async with`) when done.

        Raises:
            InvalidRequestError: an option is not allowed (named in the message).
        """
        return async_account_client(self.token, self.base_url, self.transport(), options)

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

    # -- the server's logic: one request in, one answer out --

    def _handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> Answer:
        record = RequestRecord(self._since_start(), method, raw_path.partition("?")[0])
        answer = self._decide(raw_path, headers, body, record)
        # As the API does, every answer (errors too) names the request for support tickets.
        request_id = f"req_{uuid.uuid4().hex[:24]}"
        if not answer.drop:  # else no status and no id reached the client
            record.status, record.request_id = answer.status, request_id
        with self._lock:
            self._last_request_id = request_id
            if record.operation is not None:
                self._request_log.append(record)
        answer.headers.append(("x-request-id", request_id))
        log(record)
        return answer

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

    def _decide(
        self, raw_path: str, headers: Mapping[str, str], body: bytes, seen: RequestRecord
    ) -> Answer:
        """The answer for one request; what it learns on the way (operation, key, fault)
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
        if isinstance(routed, Answer):
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
            answer = self._dispatch(op, path_params, query, headers, body)
        if fault is not None:
            fault.after_commit(answer)
        return answer

    def _dispatch(
        self,
        op: OperationFacts,
        path_params: Mapping[str, str],
        query: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Answer:
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
        answer = operation(params, data)
        return documented(op, answer) if answer.status == SUCCESS else answer

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
