"""`FakeCore`: the fake's state behind one lock, and the methods tests call to read and change it.

These are the methods of `FakeAccountAPI` that a Python test calls and that the
control API (`_control`) calls for tests in other languages: the state (`_state`),
the request records (`_requests`), fault injection (`_faults`). `FakeAccountAPI`
(`_api`) adds the ways in and a request's way through; it is the class to use.
Apart so that the control API can name what it calls without importing the module
that imports it.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Final

from parallel_account._fake_token import DEFAULT_TOKEN
from parallel_account.testing._faults import (
    FAULT_KINDS,
    Fault,
    FaultKind,
    FaultPlan,
    RandomFaults,
    retry_headers,
)
from parallel_account.testing._requests import RequestRecord
from parallel_account.testing._spec import known_operation
from parallel_account.testing._state import Account, App, Balance, Charge, Key

#: Arrival times kept per operation (`request_times`), and requests kept in `request_log`:
#: a soak test must not grow the fake.
MAX_TIMES_KEPT: Final = 1000


class FakeCore:
    """The state of a `FakeAccountAPI` and the methods that read and change it (thread-safe).

    Constructed through `FakeAccountAPI`, whose docstring describes the arguments.
    """

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
                f"{type(self).__name__}(org_id={a.balance.org_id!r}, apps={len(a.apps)}, "
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

    def _since_start(self) -> float:
        with self._lock:
            return round(time.monotonic() - self._started, 6)


def _given(value: Any, default: Any) -> Any:
    return default if value is None else value
