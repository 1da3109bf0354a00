"""Fault injection: which requests fail, and how.

A fault either replaces the request (`status`, `drop_before_commit`: nothing is
carried out) or changes how the answer of a carried-out request is delivered
(`drop_after_commit`: lost; `delay`: late). Queued faults are served first, in
order; then, if set, random ones drawn from a seeded generator.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final, Literal, get_args

from parallel_account.testing._answer import Answer, detail, number
from parallel_account.testing._spec import known_operation

FaultKind = Literal["status", "drop_before_commit", "drop_after_commit", "delay"]
FAULT_KINDS: Final[tuple[FaultKind, ...]] = get_args(FaultKind)

Headers = tuple[tuple[str, str], ...]

#: The longest `retry_after` string sent: an HTTP date is 29 characters.
MAX_RETRY_AFTER_CHARS: Final = 200


@dataclass
class Fault:
    kind: FaultKind
    remaining: int
    operation: str | None = None
    status: int = 503
    headers: Headers = ()
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.remaining < 1:
            raise ValueError(f"n: {self.remaining!r}; expected at least 1")
        known_operation(self.operation)

    def instead(self) -> Answer | None:
        """The answer in place of carrying the request out, or None to carry it out."""
        if self.kind == "status":
            return detail(self.status, f"injected fault: HTTP {self.status}", self.headers)
        if self.kind == "drop_before_commit":
            return Answer(drop=True)
        return None

    def after_commit(self, answer: Answer) -> None:
        """Mark the carried-out request's answer as lost or late."""
        answer.drop = self.kind == "drop_after_commit"
        answer.delay = self.delay if self.kind == "delay" else 0.0

    def described(self) -> dict[str, Any]:
        """This queued fault as JSON: kind, requests left, operation and what it sends."""
        return {
            "kind": self.kind,
            "remaining": self.remaining,
            "operation": self.operation,
            "status": self.status if self.kind == "status" else None,
            "headers": dict(self.headers),
            "delay_seconds": self.delay if self.kind == "delay" else None,
        }


def retry_headers(
    retry_after: float | str | None = None, retry_after_ms: float | None = None
) -> Headers:
    """`Retry-After` (seconds, or a string such as an HTTP date, sent as is) and `retry-after-ms`.

    Raises:
        ValueError: `retry_after` is a string a header cannot carry as it is: anything
            but printable ASCII and inner spaces (CR or LF would end the header and
            start another), or longer than `MAX_RETRY_AFTER_CHARS`.
    """
    headers: list[tuple[str, str]] = []
    if retry_after is not None:
        value = retry_after if isinstance(retry_after, str) else number(retry_after)
        if isinstance(retry_after, str) and not _header_safe(retry_after):
            raise ValueError(
                f"retry_after: {retry_after[:40]!r} cannot be sent in a header; give seconds "
                "or an HTTP date: printable ASCII without leading or trailing spaces, at most "
                f"{MAX_RETRY_AFTER_CHARS} characters"
            )
        headers.append(("retry-after", value))
    if retry_after_ms is not None:
        headers.append(("retry-after-ms", number(retry_after_ms)))
    return tuple(headers)


def _header_safe(value: str) -> bool:
    """Printable ASCII (spaces inside only), within the length: sent byte for byte as given."""
    return (
        0 < len(value) <= MAX_RETRY_AFTER_CHARS
        and value == value.strip(" ")
        and all(" " <= ch <= "~" for ch in value)
    )


@dataclass
class RandomFaults:
    rng: random.Random
    rate: float
    kinds: tuple[FaultKind, ...]
    statuses: tuple[int, ...]
    delay: float
    operation: str | None
    headers: Headers

    def draw(self, operation: str) -> Fault | None:
        if self.operation not in (None, operation) or self.rng.random() >= self.rate:
            return None
        kind = self.rng.choice(self.kinds)
        return Fault(
            kind, 1, status=self.rng.choice(self.statuses), headers=self.headers, delay=self.delay
        )

    def described(self) -> dict[str, Any]:
        """These random faults' settings as JSON (the seed's generator is not shown)."""
        return {
            "rate": self.rate,
            "kinds": list(self.kinds),
            "statuses": list(self.statuses),
            "delay_seconds": self.delay,
            "operation": self.operation,
            "headers": dict(self.headers),
        }


@dataclass
class FaultPlan:
    """The faults still to come, and a count of those carried out. Not locked: the fake's lock is."""

    queued: list[Fault] = field(default_factory=list)
    random_faults: RandomFaults | None = None
    injected: Counter[str] = field(default_factory=Counter)

    def take(self, operation: str) -> Fault | None:
        """The fault for this request to `operation`, if any, counted as injected."""
        fault = self._next(operation)
        if fault is not None:
            self.injected[fault.kind] += 1
        return fault

    def _next(self, operation: str) -> Fault | None:
        for fault in self.queued:
            if fault.operation in (None, operation):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.queued.remove(fault)
                return fault
        return self.random_faults.draw(operation) if self.random_faults else None

    def clear(self) -> None:
        """Forget queued faults and stop random ones (the `injected` counts stay)."""
        self.queued.clear()
        self.random_faults = None
