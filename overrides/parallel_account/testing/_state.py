"""The organisation the fake holds (balance, ledger, apps, keys) and what each operation does to it.

This is where the server's promises live: `add_balance` charges at most once
per idempotency key (the same key and amount gets the stored answer again,
another amount gets 409), deleting an app deletes its keys, and unknown apps
and keys are 404. Requests arrive here authenticated and validated; the caller
(`FakeAccountAPI`) holds its lock around every call.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

from parallel_account.testing._answer import Answer, detail, success, success_body
from parallel_account.testing._spec import Body, Params, ParamValue

# --- What the fake holds, as tests see it -------------------------------------------------


@dataclass(frozen=True)
class Balance:
    """The organisation's balance, as `get_balance` answers it.

    Attributes:
        org_id: the organisation's id.
        credit_balance_cents: prepaid credit, in cents.
        pending_debit_balance_cents: debits not yet settled, in cents.
        will_invoice: billed by invoice (then add_balance is refused with 400).
    """

    org_id: str
    credit_balance_cents: int
    pending_debit_balance_cents: int
    will_invoice: bool


@dataclass(frozen=True)
class App:
    """An app of the organisation.

    Attributes:
        app_id: its uuid.
        app_name: the name it was created with.
        org_id: the organisation's id.
        org_name: the organisation's name.
    """

    app_id: str
    app_name: str
    org_id: str
    org_name: str


@dataclass(frozen=True)
class Key:
    """A live API key of an app.

    Attributes:
        api_key_id: its id.
        api_key_name: the name it was created with.
        app_id: the app it belongs to.
        created_at: when it was made, epoch seconds.
        display_value: the masked form shown in listings.
        raw_api_key: the secret itself (not in the repr).
    """

    api_key_id: str
    api_key_name: str
    app_id: str
    created_at: int
    display_value: str
    raw_api_key: str = field(repr=False)


@dataclass(frozen=True)
class Charge:
    """One idempotency key's entry in the ledger.

    Attributes:
        idempotency_key: the key.
        amount_cents: the amount charged for it.
        charges: charges made for this key (the server promises at most 1).
        replays: later requests with the same key and amount, answered from the ledger.
        conflicts: later requests with the same key and another amount (409).
        answer: the stored answer's body, sent again on replays.
    """

    idempotency_key: str
    amount_cents: int
    charges: int  # charges made for this key: the server's promise is that it never exceeds 1
    replays: int = 0  # later requests with the same key and amount, answered from the ledger
    conflicts: int = 0  # later requests with the same key and another amount (409)
    answer: bytes = field(default=b"", repr=False)


# --- The operations -----------------------------------------------------------------------

Operation = Callable[[Params, Body], Answer]


class Account:
    """One organisation's state, changed only through `op_<operation name>` methods. Not locked.

    A method answers a success with `success(...)`: the status is then the lowest 2xx
    the spec documents for the operation, put in by `FakeAccountAPI`.
    """

    def __init__(self, balance: Balance, org_name: str, user_id: str, user_email: str) -> None:
        self.balance = balance
        self.org_name = org_name
        self.user = (user_id, user_email)
        self.ledger: dict[str, Charge] = {}
        self.apps: dict[str, App] = {}
        self.keys: dict[str, Key] = {}

    def operation(self, name: str) -> Operation | None:
        """The method carrying out the spec's operation `name`, or None if the fake lacks it
        (then the fake answers from the spec: `_sample.spec_answer`)."""
        op: Operation | None = getattr(self, f"op_{name}", None)
        return op

    def op_get_balance(self, params: Params, data: Body) -> Answer:
        return success(asdict(self.balance))

    def op_add_balance(self, params: Params, data: Body) -> Answer:
        key: str = data["idempotency_key"]
        amount: int = data["amount_cents"]
        if self.balance.will_invoice:
            return detail(400, "this organisation is billed by invoice and cannot add balance")
        entry = self.ledger.get(key)
        if entry is not None and entry.amount_cents == amount:
            self.ledger[key] = replace(entry, replays=entry.replays + 1)
            return success_body(entry.answer)  # the first answer, byte for byte
        if entry is not None:
            self.ledger[key] = replace(entry, conflicts=entry.conflicts + 1)
            return detail(
                409,
                f"idempotency_key was already used with amount_cents={entry.amount_cents}; "
                "use a new key for a different amount",
            )
        b = self.balance
        self.balance = replace(b, credit_balance_cents=b.credit_balance_cents + amount)
        answer = success(asdict(self.balance))
        self.ledger[key] = Charge(key, amount, charges=1, answer=answer.body)
        return answer

    def op_list_apps(self, params: Params, data: Body) -> Answer:
        return success({"apps": [asdict(app) for app in self.apps.values()]})

    def op_create_app(self, params: Params, data: Body) -> Answer:
        app = App(str(uuid.uuid4()), data["app_name"], self.balance.org_id, self.org_name)
        self.apps[app.app_id] = app
        return success({"app_id": app.app_id})

    def op_delete_app(self, params: Params, data: Body) -> Answer:
        app_id = _canonical_uuid(params["app_id"])
        if self.apps.pop(app_id, None) is None:
            return detail(404, "App not found")
        self.keys = {k: v for k, v in self.keys.items() if v.app_id != app_id}
        return success(None)

    def op_create_key(self, params: Params, data: Body) -> Answer:
        app = self.apps.get(_canonical_uuid(params["app_id"]))
        if app is None:
            return detail(404, "App not found")
        raw = f"fake_{secrets.token_urlsafe(24)}"
        key = Key(
            api_key_id=f"key_{uuid.uuid4().hex}",
            api_key_name=data["api_key_name"],
            app_id=app.app_id,
            created_at=int(time.time()),
            display_value=f"{raw[:9]}...{raw[-4:]}",
            raw_api_key=raw,
        )
        self.keys[key.api_key_id] = key
        user_id, user_email = self.user
        return success(
            {
                **asdict(key),
                "app_name": app.app_name,
                "created_by_user_id": user_id,
                "created_by_user_email": user_email,
            },
        )

    def op_delete_key(self, params: Params, data: Body) -> Answer:
        app_id = _canonical_uuid(params["app_id"])
        if app_id not in self.apps:
            return detail(404, "App not found")
        key = self.keys.get(str(params["api_key_id"]))
        if key is None or key.app_id != app_id:
            return detail(404, "API key not found")
        del self.keys[key.api_key_id]
        return success(None)


def _canonical_uuid(value: ParamValue) -> str:
    return str(uuid.UUID(str(value)))  # validated already: accept any spelling of the same uuid
