"""A fake Account API for tests: in memory, stateful, thread-safe, with fault injection.

It follows the pinned spec (paths, bounds and field names come from
`parallel_account_api.spec_facts`) and the server's documented behaviour: a
bearer token is required (401), path and query parameters and bodies are
validated (422, FastAPI's `HTTPValidationError` shape), unknown apps and keys
are 404, and `add_balance` charges at most once per idempotency key (the same
key with the same amount gets the stored answer again; with another amount,
409). An operation in the spec that the fake does not model yet answers with
its lowest documented 2xx status and a body built from the spec's response
schema, as Prism's static mode does (see `FakeAccountAPI`).

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

This package's own clients on the fake, in process, retrying without waiting
(`NO_BACKOFF`: the same retry rules and count, every delay 0 s)::

    with fake.client() as client:  # fake.async_client() for AsyncAccountClient
        client.get_balance()

Pass `fake.transport()` as `transport=` to any httpx client (sync or async), or
serve it on loopback for tests in other languages::

    with fake.serve(port=0) as base_url:  # e.g. http://127.0.0.1:54321/account
        ...

    $ python -m parallel_account.testing --port 8080 --token t

Served, the fake also has a control API for tests in other languages: under
`/__fake/` at the server's root, JSON endpoints for every method above (faults,
balance, reset, ledger, charges for a key, apps, keys, request counts and log,
health), each described by a JSON Schema (`GET /__fake/`), plus the pinned spec
at `<base URL>/service/openapi.json` (where the live API has it) and the spec
facts at `/__fake/facts` (`_control`). The command line listens on loopback only
unless `--allow-remote`; `serve()` is what it runs (start line, request log).

What the spec leaves open is answered as FastAPI answers it: a method a known
path lacks (HEAD, OPTIONS, TRACE, unknown ones) gets 405 with an `Allow` header
listing the path's methods, any other path 404; every error body is JSON, even
for a request http.server cannot parse; a JSON number with a zero fraction
(860.0) is an integer, 860.5 is refused (`int_from_float`); a body `json` cannot
read (nested too deep, a 5000-digit number, not UTF-8) is 400 "There was an
error parsing the body"; a body over `MAX_BODY_BYTES` (1 MiB) is 413, refused
by the served fake before it is read (the proxy in front of the API sets its own
limit; FastAPI has none).

Deliberate differences from the real server: bodies are checked strictly
against the spec (no coercion of "500" or true to 500; path and query parameters,
which arrive as text, are parsed as FastAPI parses them), and an invoice-billed org
(`will_invoice=True`) gets 400 from add_balance (the real status is not
published). The token and raw API keys never appear in a repr or a log line.

Modules, one concern each, each importing only those before it: `_answer` (what
the fake decided for one request), `_spec` (routing and validation from the spec
facts), `_state` (balance, ledger, apps and keys, and the idempotency rules),
`_sample` (answers built from the spec's response schemas, for operations `_state`
does not model), `_faults` (fault injection), `_requests` (the record of each
request, and its log line), `_core` (`FakeCore`: the state behind one lock and the
methods tests call on it), `_control` (those methods over HTTP, its requests checked
by the package's schema engine), `_transport` (the httpx transport), `_server` (HTTP
on loopback), `_clients` (this package's clients on the fake), `_api`
(`FakeAccountAPI`: `FakeCore` with the ways in and a request's way through),
`_main` (the command line, its options in `parallel_account._mock_server_options`,
shared with `parallel-account mock-server`).
"""

from parallel_account._errors import CannotServe
from parallel_account._fake_token import DEFAULT_TOKEN
from parallel_account._mock_server_options import remote_refusal
from parallel_account.testing._api import FakeAccountAPI
from parallel_account.testing._clients import NO_BACKOFF
from parallel_account.testing._faults import FAULT_KINDS, FaultKind
from parallel_account.testing._main import main, serve
from parallel_account.testing._state import App, Balance, Charge, Key
from parallel_account.testing._transport import FakeTransport

__all__ = [
    "DEFAULT_TOKEN",
    "FAULT_KINDS",
    "NO_BACKOFF",
    "App",
    "Balance",
    "CannotServe",
    "Charge",
    "FakeAccountAPI",
    "FakeTransport",
    "FaultKind",
    "Key",
    "main",
    "remote_refusal",
    "serve",
]
