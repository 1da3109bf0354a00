"""What the fake decides for one request: an `Answer` that each way in carries out its own way.

The API (`_api`) decides; the httpx transport (`_transport`) and the loopback
server (`_server`) deliver, drop or delay the answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, TypeAlias

JSON: TypeAlias = Any

Header = tuple[str, str]


@dataclass
class Answer:
    """What the fake decided for one request: the status, body and headers to send, or to close
    the connection without sending them (`drop`), or to send them late (`delay`, seconds)."""

    status: int = 200
    body: bytes = b"null"
    headers: list[Header] = field(default_factory=list)
    drop: bool = False
    delay: float = 0.0


#: The fake's one entry point for both ways in: method, raw path, lower-case headers, body.
Respond: TypeAlias = Callable[[str, str, Mapping[str, str], bytes], Answer]


class Answering(Protocol):
    """What the ways in serve (a `FakeAccountAPI`), named without importing the module that
    imports them: its `_handle` is the `Respond` entry point."""

    def _handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> Answer: ...


def json_body(status: int, body: bytes, headers: Sequence[Header] = ()) -> Answer:
    """An answer whose JSON body is already encoded (the ledger replays stored answers)."""
    return Answer(status, body, [("content-type", "application/json"), *headers])


def json_answer(status: int, payload: JSON, headers: Sequence[Header] = ()) -> Answer:
    return json_body(status, json.dumps(payload, separators=(",", ":")).encode(), headers)


#: The status of a success an `op_` method reports; `FakeAccountAPI` puts in its place the
#: lowest 2xx status the spec documents for the operation (`_sample.documented`).
SUCCESS: Final = 0


def success(payload: JSON) -> Answer:
    """The operation succeeded, answering `payload`; its status is the spec's."""
    return json_answer(SUCCESS, payload)


def success_body(body: bytes) -> Answer:
    """The operation succeeded, answering this encoded JSON; its status is the spec's."""
    return json_body(SUCCESS, body)


def detail(status: int, message: str, headers: Sequence[Header] = ()) -> Answer:
    """FastAPI's shape for an error: `{"detail": message}`."""
    return json_answer(status, {"detail": message}, headers)


def number(value: float) -> str:
    """A number as the server writes it in messages and headers: 500, not 500.0."""
    return str(int(value)) if float(value).is_integer() else str(value)
