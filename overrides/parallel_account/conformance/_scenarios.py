"""Scenarios: loading the shipped JSON files, and resolving their references against the facts.

A scenario file never types a number or a length the spec decides: it names a
bound (`{"$bound": "lowest"}`), and the runner reads the value from the spec
facts of the argument it stands for, so a spec update that moves a bound moves
every scenario with it. The references, allowed in call and set-up arguments
and in expectations:

    {"$bound": "lowest" | "highest" | "below_lowest" | "above_highest"}
        the smallest or largest value the spec allows for this argument, or one
        past it: for a number its minimum/maximum (exclusive bounds: the next
        integer inside), for a string a text of minLength/maxLength characters
    {"$key": NAME}       an idempotency key made for this run (the same NAME, the
                         same key), of a length the spec allows
    {"$uuid": NAME}      a fresh UUID (the same NAME, the same UUID)
    {"$saved": "S.F"}    field F of the answer a set-up step saved as S
    {"$argument": NAME}  the call's resolved argument NAME (in expectations)

and, in expectations only, `{"$present": true}` (any value but null),
`{"$charged_key": true}` (the one idempotency key in the fake's ledger) and
`{"$length": N}` (a list of N items).
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final

from parallel_account._errors import ScenarioError
from parallel_account_api.spec_facts import OPERATIONS, FieldFacts

BOUNDS: Final = ("lowest", "highest", "below_lowest", "above_highest")


@dataclass(frozen=True)
class Scenario:
    name: str
    checks: str  # one line: what it shows
    call: dict[str, Any]
    expect: dict[str, Any]
    setup: tuple[dict[str, Any], ...] = ()
    wrong_token: bool = False  # the adapter is given a token the fake refuses
    timeout_seconds: float = 5.0

    @property
    def money(self) -> bool:
        """Whether the call moves money (the spec facts say; never marked by hand)."""
        op = OPERATIONS.get(self.call["operation"])
        return op is not None and op.moves_money


@cache
def load_all() -> tuple[Scenario, ...]:
    """Every scenario shipped in `parallel_account/conformance/scenarios/`, by name."""
    from importlib import resources  # only the conformance commands need it

    folder = resources.files("parallel_account.conformance").joinpath("scenarios")
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            data = json.loads(entry.read_text("utf-8"))
            data.pop("$schema", None)
            data["setup"] = tuple(data.get("setup", ()))
            found.append(Scenario(**data))
    return tuple(sorted(found, key=lambda s: s.name))


def select(names: list[str] | None) -> list[Scenario]:
    """The scenarios named (all if none); ScenarioError names the unknown ones."""
    scenarios = load_all()
    if not names:
        return list(scenarios)
    known = {s.name: s for s in scenarios}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ScenarioError(
            f"--only: no scenario named {', '.join(map(repr, unknown))}; "
            "`parallel-account conformance list` shows them"
        )
    return [known[n] for n in dict.fromkeys(names)]


@dataclass
class References:
    """What the references of one scenario run resolve to (filled in as they are met)."""

    keys: dict[str, str] = field(default_factory=dict)
    uuids: dict[str, str] = field(default_factory=dict)
    saved: dict[str, Any] = field(default_factory=dict)
    arguments: dict[str, Any] = field(default_factory=dict)
    key_field: FieldFacts | None = None

    def arguments_for(self, operation: str, given: dict[str, Any]) -> dict[str, Any]:
        """An operation's arguments with every reference replaced by its value."""
        op = OPERATIONS.get(operation)
        if op is None:
            raise ScenarioError(f"the spec has no operation {operation!r}")
        fields = {f.name: f for f in (*op.path_params, *op.query_params, *op.body_fields)}
        return {
            name: self.value(value, fields.get(name), f"{operation}.{name}")
            for name, value in given.items()
        }

    def value(self, value: Any, facts: FieldFacts | None = None, where: str = "") -> Any:
        """`value` with its references resolved (`facts`: the argument it is given for)."""
        if isinstance(value, list):
            return [self.value(item, facts, where) for item in value]
        if not isinstance(value, dict):
            return value
        if "$bound" in value:
            return _bound(value["$bound"], facts, where)
        if "$key" in value:
            return self.keys.setdefault(value["$key"], self._new_key(value["$key"]))
        if "$uuid" in value:
            return self.uuids.setdefault(value["$uuid"], str(uuid.uuid4()))
        if "$saved" in value:
            return self._saved(value["$saved"])
        if "$argument" in value:
            return self.arguments[value["$argument"]]
        return {name: self.value(item, None, where) for name, item in value.items()}

    def _new_key(self, name: str) -> str:
        key = f"conformance-{name}-{uuid.uuid4().hex}"
        facts = self.key_field
        if facts is None:
            return key
        shortest, longest = facts.min_length or 0, facts.max_length or len(key)
        return key.ljust(shortest, "0")[:longest]

    def _saved(self, path: str) -> Any:
        name, _, rest = path.partition(".")
        value = self.saved.get(name)
        for part in rest.split(".") if rest else ():
            if not isinstance(value, dict) or part not in value:
                raise ScenarioError(f"$saved {path!r}: the saved answer has no {part!r}")
            value = value[part]
        return value


def _bound(which: str, facts: FieldFacts | None, where: str) -> int | float | str:
    """The value at (or one past) a bound of the spec's constraints for one argument."""
    if which not in BOUNDS:
        raise ScenarioError(f"{where}: $bound {which!r} is not one of {BOUNDS}")
    if facts is None:
        raise ScenarioError(f"{where}: $bound needs an argument the spec describes")
    if facts.type == "string":
        limit = facts.min_length if which in ("lowest", "below_lowest") else facts.max_length
        if limit is None:
            raise ScenarioError(f"{where}: the spec sets no length bound for {which}")
        length = limit + {"lowest": 0, "highest": 0, "below_lowest": -1, "above_highest": 1}[which]
        if length < 0:
            raise ScenarioError(f"{where}: no text is shorter than 0 characters")
        return ("conformance-" + "x" * length)[:length] if length >= 12 else "x" * length
    integer = facts.type == "integer"
    step = 1 if integer else 0.01
    if which in ("lowest", "below_lowest"):
        low = facts.minimum if facts.minimum is not None else _next(facts.exclusive_minimum, step)
        if low is None:
            raise ScenarioError(f"{where}: the spec sets no minimum")
        value = low if which == "lowest" else low - step
    else:
        high = facts.maximum if facts.maximum is not None else _next(facts.exclusive_maximum, -step)
        if high is None:
            raise ScenarioError(f"{where}: the spec sets no maximum")
        value = high if which == "highest" else high + step
    if not integer:
        return round(value, 2)
    # A fractional bound (minimum 0.5) admits the next whole number inside it.
    inside = math.ceil(value) if which in ("lowest", "above_highest") else math.floor(value)
    return int(inside)


def _next(bound: float | None, step: float) -> float | None:
    return None if bound is None else bound + step
