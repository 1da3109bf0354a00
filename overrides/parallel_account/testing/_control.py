"""The control API: the fake's Python face (`FakeAccountAPI`'s methods, which `FakeCore`
defines) over HTTP, for tests in any language.

Every endpoint lives under the reserved prefix `/__fake/`, at the server's root
(outside the Account API's base path, so it can never collide with an
operation); `GET /__fake/` lists them with a JSON Schema for each request and
answer (the file `parallel_account/schemas/control-api.json`, shipped in the
wheel). Each handler calls the same public method a Python test would
(`fail_next`, `drop_next`, `set_balance`, `ledger`, ...): there is one
implementation behind both faces.

    GET  /__fake/                    the endpoints and their schemas
    GET  /__fake/health              ok, pid, version and spec sha256
    GET  /__fake/facts               the spec facts (facts.json)
    POST /__fake/reset               back to the starting state (the token stays)
    GET  /__fake/balance             POST /__fake/balance  {credit_balance_cents, ...}
    GET  /__fake/ledger              GET  /__fake/charges?idempotency_key=K
    GET  /__fake/apps                GET  /__fake/keys (never the raw key)
    GET  /__fake/requests            counts, arrival times and a log of requests by operation
    GET  /__fake/faults              faults queued, random fault settings, faults carried out
    POST /__fake/faults/fail_next    {n, status, operation, retry_after, retry_after_ms}
    POST /__fake/faults/drop_next    {n, operation, after_commit}
    POST /__fake/faults/delay_next   {seconds, n, operation}
    POST /__fake/faults/random       {seed, rate, kinds, statuses, delay_seconds, ...}
    POST /__fake/faults/clear        {}
    POST /__fake/token               {token}

The pinned spec itself is served at `GET <base path>/service/openapi.json`, where the
live API has it (so `parallel-account spec check URL` works against the fake), and at
`<base path>/openapi.json` (e.g. `http://127.0.0.1:8080/account/openapi.json`).

Choices the issue left open: control requests need no bearer token (the fake is
for tests and listens on loopback unless told otherwise: `mock-server` refuses
another address without `--allow-remote`), are not counted in `requests` and are
never faulted. A request that breaks its schema, or that the method refuses
(an unknown operation name, say), gets 400 with `{"error": {"field": F,
"message": M}}`, F naming the field; an unknown endpoint 404, another method 405.

No token also means a web page open in the tester's browser could drive the fake
(a form or `fetch` in no-cors mode posts without a preflight; DNS rebinding gives a
page a name that resolves to 127.0.0.1). So a control request is refused with 403
when its Host is not a loopback name or address (nor one the fake was asked to
serve on), or when it has an Origin other than the fake's own; and with 415 when
it has a body whose Content-Type is not application/json.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict
from functools import cache
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, urlsplit

from parallel_account._schema import Check, compile_check
from parallel_account._urls import is_loopback
from parallel_account.testing._answer import JSON, Answer, json_answer, json_body
from parallel_account.testing._spec import BASE_PATH

if TYPE_CHECKING:
    from parallel_account.testing._core import FakeCore

PREFIX: Final = "/__fake"
#: Where the live API serves its spec (and `spec check` looks by default).
SPEC_PATH: Final = f"{BASE_PATH}/service/openapi.json"
#: Where the fake served it first; kept.
SHORT_SPEC_PATH: Final = f"{BASE_PATH}/openapi.json"

#: A handler answers JSON data (sent with 200), or a whole `Answer`.
Handler = Callable[["FakeCore", dict[str, Any]], JSON]
_OK: Final = {"ok": True}


@cache
def endpoint_schemas() -> dict[str, Any]:
    """The shipped control-api.json: every endpoint, its request and response schemas."""
    from importlib import resources  # only the control API needs it

    text = resources.files("parallel_account").joinpath("schemas/control-api.json").read_text()
    document: dict[str, Any] = json.loads(text)
    return document


@cache
def facts_bytes() -> bytes:
    """facts.json, as `make generate` wrote it into parallel_account_api."""
    from importlib import resources

    return resources.files("parallel_account_api").joinpath("facts.json").read_bytes()


def answer(
    fake: FakeCore,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    own_hosts: frozenset[str] | None,
) -> Answer | None:
    """The answer to a control request or to the spec's URL; None for anything else.

    `headers` are lower-case; `own_hosts`: the host names a Host header may give
    besides loopback ones (None: any, as when served on every interface).
    """
    if path in (SPEC_PATH, SHORT_SPEC_PATH) and method in ("GET", "HEAD"):
        from parallel_account._spec import spec_text

        return json_body(200, spec_text().encode())
    if path != PREFIX and not path.startswith(PREFIX + "/"):
        return None
    refusal = _from_a_web_page(headers, body, own_hosts)
    if refusal is not None:
        return refusal
    path = PREFIX + "/" if path == PREFIX else path
    handlers = {p: h for (m, p), h in _HANDLERS.items() if m == method}
    handler = handlers.get(path)
    if handler is None:
        allowed = sorted(m for (m, p) in _HANDLERS if p == path)
        if allowed:
            message = f"{method} is not allowed on {path}; use {', '.join(allowed)}"
            return json_answer(405, _error(None, message), [("allow", ", ".join(allowed))])
        return json_answer(
            404, _error(None, f"no control endpoint {path}; GET {PREFIX}/ lists them")
        )
    try:
        result = handler(fake, _arguments(method, path, query, body))
        return result if isinstance(result, Answer) else json_answer(200, result)
    except BadControlRequest as exc:
        return json_answer(400, _error(exc.field, exc.message))
    except ValueError as exc:  # the method refused it: its message starts with the field's name
        field, colon, message = str(exc).partition(": ")
        named = bool(colon) and field.isidentifier()
        return json_answer(400, _error(field if named else None, message if named else str(exc)))


def _from_a_web_page(
    headers: Mapping[str, str], body: bytes, own_hosts: frozenset[str] | None
) -> Answer | None:
    """403 or 415 for a request a browser could have sent on a web page's behalf, else None."""
    host = headers.get("host")
    if host is not None and own_hosts is not None:
        name = _host_name(host)
        if name is None or not (is_loopback(name) or name in own_hosts):
            message = (
                f"Host {host[:100]!r} is not a loopback address: control requests come from "
                "this machine (use http://127.0.0.1:PORT)"
            )
            return json_answer(403, _error(None, message))
    origin = headers.get("origin")
    if origin is not None and (host is None or origin.lower() != f"http://{host}".lower()):
        message = (
            f"Origin {origin[:100]!r}: control requests from web pages are refused; "
            "send them from a test process, without an Origin header"
        )
        return json_answer(403, _error(None, message))
    media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
    if body.strip() and media_type != "application/json":
        shown = media_type or "none"
        message = f"Content-Type {shown[:100]!r}: send the body as application/json"
        return json_answer(415, _error(None, message))
    return None


def _host_name(host: str) -> str | None:
    """The name in a Host header (port and IPv6 brackets removed), or None if unreadable."""
    try:
        return urlsplit(f"//{host}").hostname
    except ValueError:
        return None


def _error(field: str | None, message: str) -> dict[str, Any]:
    return {"error": {"field": field, "message": message}}


class BadControlRequest(Exception):
    """A control request that breaks its schema: `field` (dotted path, or None) and why."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


_CHECKS: dict[tuple[str, str], Check] = {}


def check(value: Any, schema: dict[str, Any], method: str = "", path: str = "") -> None:
    """Raise BadControlRequest at the first way `value` breaks `schema` (the schema engine)."""
    compiled = _CHECKS.get((method, path)) if method else None
    if compiled is None:
        compiled = compile_check(schema)
        if method:
            _CHECKS[method, path] = compiled
    problem = compiled(value)
    if problem is not None:
        where, _, message = problem.partition(": ")
        # The engine's `.kinds[0]` is the control API's `kinds.0`.
        field = re.sub(r"\[(\d+)\]", r".\1", where).lstrip(".")
        raise BadControlRequest(field or None, message)


def _finite(constant: str) -> float:
    raise BadControlRequest(None, f"{constant} is not a JSON number; send a finite number")


def integers(value: Any, schema: dict[str, Any]) -> Any:
    """`value` (already checked) with each whole float where the schema wants an integer
    (and not any number) made an int: 2.0 becomes 2, as JSON Schema reads it."""
    wanted = schema.get("type")
    names = [wanted] if isinstance(wanted, str) else list(wanted or [])
    if isinstance(value, float) and "integer" in names and "number" not in names:
        return int(value)
    if isinstance(value, list):
        return [integers(item, schema.get("items", {})) for item in value]
    if isinstance(value, dict):
        properties: dict[str, Any] = schema.get("properties", {})
        return {name: integers(item, properties.get(name, {})) for name, item in value.items()}
    return value


def _schema(method: str, path: str) -> dict[str, Any] | None:
    for entry in endpoint_schemas()["endpoints"]:
        if (entry["method"], entry["path"]) == (method, path):
            found: dict[str, Any] | None = entry["request_schema"]
            return found
    raise LookupError(f"control-api.json has no entry for {method} {path}")


def _arguments(method: str, path: str, query: str, body: bytes) -> dict[str, Any]:
    """The request's fields (JSON body, or query parameters for GET), checked against its schema."""
    schema = _schema(method, path)
    if method == "GET":
        given: Any = dict(parse_qsl(query, keep_blank_values=True))
    elif not body.strip():
        given = {}
    else:
        try:
            given = json.loads(body, parse_constant=_finite)
        except BadControlRequest:
            raise
        except (ValueError, RecursionError):
            raise BadControlRequest(None, "the body is not JSON; send a JSON object") from None
    if schema is None:
        if given:
            raise BadControlRequest(None, f"{method} {path} takes no parameters")
        return {}
    if not isinstance(given, dict):
        raise BadControlRequest(None, "the body must be a JSON object")
    check(given, schema, method, path)
    converted: dict[str, Any] = integers(given, schema)
    return converted


# --- the handlers: each one calls FakeAccountAPI's public methods (FakeCore's) ---------------


def _index(fake: FakeCore, args: dict[str, Any]) -> JSON:
    return {
        "prefix": PREFIX + "/",
        "api_base_path": BASE_PATH,
        "spec_path": SPEC_PATH,
        "endpoints": endpoint_schemas()["endpoints"],
    }


def _health(fake: FakeCore, args: dict[str, Any]) -> JSON:
    from parallel_account._spec import SPEC_SHA256
    from parallel_account._version import __version__

    return {"ok": True, "pid": os.getpid(), "version": __version__, "spec_sha256": SPEC_SHA256}


def _facts(fake: FakeCore, args: dict[str, Any]) -> JSON:
    return json_body(200, facts_bytes())  # byte for byte as shipped


def _reset(fake: FakeCore, args: dict[str, Any]) -> JSON:
    fake.reset()
    return _OK


def _balance(fake: FakeCore, args: dict[str, Any]) -> JSON:
    return asdict(fake.balance)


def _set_balance(fake: FakeCore, args: dict[str, Any]) -> JSON:
    fake.set_balance(**args)
    return asdict(fake.balance)


def _ledger(fake: FakeCore, args: dict[str, Any]) -> JSON:
    entries = [
        {name: value for name, value in asdict(charge).items() if name != "answer"}
        for charge in fake.ledger.values()
    ]
    return {"entries": entries, "charges": sum(entry["charges"] for entry in entries)}


def _charges(fake: FakeCore, args: dict[str, Any]) -> JSON:
    key = args["idempotency_key"]
    return {"idempotency_key": key, "charges": fake.charges_for(key)}


def _apps(fake: FakeCore, args: dict[str, Any]) -> JSON:
    return {"apps": [asdict(app) for app in fake.apps.values()]}


def _keys(fake: FakeCore, args: dict[str, Any]) -> JSON:
    shown = [
        {name: value for name, value in asdict(key).items() if name != "raw_api_key"}
        for key in fake.keys.values()
    ]
    return {"keys": shown}


def _requests(fake: FakeCore, args: dict[str, Any]) -> JSON:
    return {"counts": fake.requests, "times": fake.request_times, "log": fake.request_log}


def _faults(fake: FakeCore, args: dict[str, Any]) -> JSON:
    return {
        "queued": fake.queued_faults,
        "random": fake.random_fault_settings,
        "injected": fake.injected,
    }


def _fail_next(fake: FakeCore, args: dict[str, Any]) -> JSON:
    fake.fail_next(args.pop("n", 1), **args)
    return _OK


def _drop_next(fake: FakeCore, args: dict[str, Any]) -> JSON:
    fake.drop_next(args.pop("n", 1), **args)
    return _OK


def _delay_next(fake: FakeCore, args: dict[str, Any]) -> JSON:
    fake.delay_next(args.pop("seconds"), args.pop("n", 1), **args)
    return _OK


def _random_faults(fake: FakeCore, args: dict[str, Any]) -> JSON:
    fake.random_faults(args.pop("seed"), args.pop("rate"), **args)
    return _OK


def _clear_faults(fake: FakeCore, args: dict[str, Any]) -> JSON:
    fake.clear_faults()
    return _OK


def _token(fake: FakeCore, args: dict[str, Any]) -> JSON:
    fake.token = args["token"]
    return _OK


_HANDLERS: Final[dict[tuple[str, str], Handler]] = {
    ("GET", f"{PREFIX}/"): _index,
    ("GET", f"{PREFIX}/health"): _health,
    ("GET", f"{PREFIX}/facts"): _facts,
    ("POST", f"{PREFIX}/reset"): _reset,
    ("GET", f"{PREFIX}/balance"): _balance,
    ("POST", f"{PREFIX}/balance"): _set_balance,
    ("GET", f"{PREFIX}/ledger"): _ledger,
    ("GET", f"{PREFIX}/charges"): _charges,
    ("GET", f"{PREFIX}/apps"): _apps,
    ("GET", f"{PREFIX}/keys"): _keys,
    ("GET", f"{PREFIX}/requests"): _requests,
    ("GET", f"{PREFIX}/faults"): _faults,
    ("POST", f"{PREFIX}/faults/fail_next"): _fail_next,
    ("POST", f"{PREFIX}/faults/drop_next"): _drop_next,
    ("POST", f"{PREFIX}/faults/delay_next"): _delay_next,
    ("POST", f"{PREFIX}/faults/random"): _random_faults,
    ("POST", f"{PREFIX}/faults/clear"): _clear_faults,
    ("POST", f"{PREFIX}/token"): _token,
}
