"""What the fake saw: one record per request, kept for `/__fake/requests` and logged as one line.

A record holds what a test needs to see a client's behaviour (method, path,
operation, status, idempotency key, the fault applied) and never a header or a
body, so never the token or a raw API key. Records go to the logger
`parallel_account.testing.requests` at INFO: `parallel-account -v mock-server`
shows them as text, `mock-server --log-format json` as one JSON object a line
(`JsonLines`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Any, Final

from parallel_account._terminal import terminal_safe
from parallel_account_api.spec_facts import OperationFacts

REQUEST_LOGGER: Final = logging.getLogger("parallel_account.testing.requests")
#: A key longer than this is not shown (the spec's keys are far shorter; the request gets 422).
MAX_KEY_SHOWN: Final = 1000


@dataclass
class RequestRecord:
    """One request as the fake handled it (filled in on its way through, then left alone).

    Attributes:
        at: when it arrived, in seconds since the fake was created or reset.
        method: the HTTP method.
        path: the path, without the query.
        operation: the spec's operation name, or None (control API, spec, unknown path).
        status: the status answered, or None when no answer was sent (a dropped connection).
        idempotency_key: the idempotency key in the body, for an operation that has one.
        fault: the kind of fault applied (`FAULT_KINDS`), or None.
        request_id: the answer's `x-request-id`, or None when no answer was sent.
    """

    at: float
    method: str
    path: str
    operation: str | None = None
    status: int | None = None
    idempotency_key: str | None = None
    fault: str | None = None
    request_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        """One terminal-safe line: `POST /path (add_balance) -> 200, idempotency key 'k'`."""
        answered = "no answer" if self.status is None else str(self.status)
        parts = [f"{self.method} {self.path}"]
        if self.operation:
            parts.append(f"({self.operation})")
        parts.append(f"-> {answered}")
        if self.fault:
            parts.append(f"(fault {self.fault})")
        line = " ".join(parts)
        if self.idempotency_key is not None:
            line += f", idempotency key {self.idempotency_key!r}"
        return terminal_safe(line)


def log(record: RequestRecord) -> None:
    """Log one request at INFO (nothing is formatted unless a handler takes it)."""
    if REQUEST_LOGGER.isEnabledFor(logging.INFO):
        REQUEST_LOGGER.info("%s", record.text(), extra={"fake_request": record.as_json()})


def idempotency_key(op: OperationFacts, body: bytes) -> str | None:
    """The idempotency key a request's body carries, if `op` has one and it is a short string."""
    if op.idempotency_key_field is None or not body:
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    key = data.get(op.idempotency_key_field) if isinstance(data, dict) else None
    return key if isinstance(key, str) and len(key) <= MAX_KEY_SHOWN else None


class JsonLines(logging.Formatter):
    """A request record as one JSON object; any other log record as {"level", "message"}."""

    def format(self, record: logging.LogRecord) -> str:
        data = getattr(record, "fake_request", None)
        if data is None:
            data = {"level": record.levelname.lower(), "message": record.getMessage()}
        return json.dumps(data, separators=(",", ":"))


class TextLines(logging.Formatter):
    """A request record as its text line, any other record as its message: terminal-safe."""

    def format(self, record: logging.LogRecord) -> str:
        return terminal_safe(f"fake account API: {record.getMessage()}")
