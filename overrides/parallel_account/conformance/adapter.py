"""The project's own conformance adapter: `python -m parallel_account.conformance.adapter`.

Reads one request from stdin (`{"operation": ..., "arguments": {...},
"timeout_seconds": ...}`), makes the call with `AccountClient.call` (the
client's own validation, retries and idempotency keys, its default retry
count) against `$PARALLEL_SERVICE_API_URL` with `$PARALLEL_ACCOUNT_TOKEN`, and
prints one JSON object: `{"result": ...}` with the answer's fields as the spec
names them (null for an empty answer), or `{"error": {"kind", "status_code",
"idempotency_key", "outcome_unknown"}}`. It is also a worked example for
writing an adapter in another language. Exit status 0 whenever it printed an
answer (the error is in the document), 2 for a request it could not read.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from parallel_account._client import AccountClient
from parallel_account._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    ParallelAccountError,
    RateLimitError,
    UnprocessableEntityError,
)
from parallel_account._validation import json_form
from parallel_account_api.spec_facts import OPERATIONS

# Most specific first: a timeout is a connection error too.
_KINDS: tuple[tuple[type[ParallelAccountError], str], ...] = (
    (InvalidRequestError, "invalid_request"),
    (AuthenticationError, "authentication"),
    (NotFoundError, "not_found"),
    (ConflictError, "conflict"),
    (UnprocessableEntityError, "unprocessable"),
    (RateLimitError, "rate_limit"),
    (InternalServerError, "server"),
    (APITimeoutError, "timeout"),
    (APIConnectionError, "connection"),
)


def error_document(error: ParallelAccountError) -> dict[str, Any]:
    """The protocol's error object for one of the client's errors."""
    kind = next((name for cls, name in _KINDS if isinstance(error, cls)), "other")
    return {
        "kind": kind,
        "status_code": error.status_code if isinstance(error, APIStatusError) else None,
        "idempotency_key": getattr(error, "idempotency_key", None),
        "outcome_unknown": error.outcome_unknown,
    }


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """The protocol's answer to one request."""
    name = request.get("operation")
    timeout = request.get("timeout_seconds", 30.0)
    try:
        with AccountClient(timeout=timeout) as client:
            result = json_form(client.call(str(name), request.get("arguments") or {}))
    except ParallelAccountError as exc:
        return {"error": error_document(exc)}
    operation = OPERATIONS[str(name)]
    if operation.returns_field is not None:  # the client unwrapped it: put it back as sent
        result = {operation.returns_field: result}
    return {"result": result}


def main() -> int:
    try:
        request = json.loads(sys.stdin.read())
    except ValueError as exc:
        print(f"adapter: stdin is not JSON: {exc}", file=sys.stderr)
        return 2
    if not isinstance(request, dict):
        print("adapter: stdin must be one JSON object", file=sys.stderr)
        return 2
    print(json.dumps(answer(request)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
