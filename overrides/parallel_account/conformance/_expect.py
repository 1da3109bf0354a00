"""Checking an adapter's answer and the fake's state against a scenario's expectations.

"result": {...}      the call succeeded; every field given matches (objects: the
                     fields named, lists: item by item, {"$length": N}: a list of
                     N items), null: an empty answer
"error": {...}       the call failed; kind, status_code, idempotency_key,
                     outcome_unknown as given
"requests": {OP: N}  requests the adapter made, by operation: exactly these
                     (an operation left out: none); N may be {"at_least": M}
"min_gap_seconds": {OP: S}  consecutive requests to OP at least S seconds apart
"ledger": {"charges": N, "keys": M}   charges made in all, keys charged
"charges_for": [{"key": K, "charges": N}]
"balance": {...}     fields of the balance afterwards
"apps": N, "keys": N how many apps and live API keys the fake holds afterwards
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Final

from parallel_account.conformance._scenarios import References

ERROR_KINDS: Final = (
    "invalid_request",
    "authentication",
    "not_found",
    "conflict",
    "unprocessable",
    "rate_limit",
    "server",
    "connection",
    "timeout",
    "other",
)
ERROR_FIELDS: Final = ("kind", "status_code", "idempotency_key", "outcome_unknown")
# Arrival times are rounded by the fake; a gap this much short of the asked one still counts.
_GAP_SLACK: Final = 0.05


@dataclass(frozen=True)
class State:
    """The fake's state after the adapter ran (request counts: the adapter's only)."""

    requests: dict[str, int]
    times: dict[str, list[float]]
    ledger: dict[str, Any]
    balance: dict[str, Any]
    apps: int
    keys: int


def protocol_problems(output: Any) -> list[str]:
    """How the adapter's output breaks the protocol (empty if it does not).

    Each problem says what was expected and what was seen. An error object with
    keys missing or extra is named key by key, and the keys it has are still
    checked (here, and against the scenario by `check` when `checkable`)."""
    if not checkable(output):
        if isinstance(output, dict) and "error" in output and len(output) == 1:
            return [
                f"error: expected an object with {', '.join(ERROR_FIELDS)}, "
                f"got {_brief(output['error'])}"
            ]
        return [
            'expected one JSON object, {"result": ...} or {"error": {...}}, '
            f"got {_shape(output)}"
        ]
    if "result" in output:
        return []
    error: dict[str, Any] = output["error"]
    problems = []
    missing = [name for name in ERROR_FIELDS if name not in error]
    extra = sorted(name for name in error if name not in ERROR_FIELDS)
    if missing or extra:
        seen = (["missing " + ", ".join(missing)] if missing else []) + (
            ["unexpected " + ", ".join(map(_brief, extra))] if extra else []
        )
        problems.append(
            f"error: expected exactly the keys {', '.join(ERROR_FIELDS)}; {'; '.join(seen)}"
        )
    if "kind" in error and error["kind"] not in ERROR_KINDS:
        problems.append(
            f"error.kind: {_brief(error['kind'])}, expected one of {', '.join(ERROR_KINDS)}"
        )
    types = {
        "status_code": (int, "an integer"),
        "idempotency_key": (str, "a string"),
        "outcome_unknown": (bool, "true or false"),
    }
    for name, (kind, wording) in types.items():
        value = error.get(name)
        if value is not None and (
            not isinstance(value, kind) or isinstance(value, bool) != (kind is bool)
        ):
            problems.append(f"error.{name}: {_brief(value)}, expected {wording} or null")
    return problems


def checkable(output: Any) -> bool:
    """Whether the output has the protocol's shape, so the scenario's checks can read it."""
    return (
        isinstance(output, dict)
        and len(output) == 1
        and ("result" in output or isinstance(output.get("error"), dict))
    )


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        names = ", ".join(map(_brief, list(value)[:5])) + (", ..." if len(value) > 5 else "")
        return f"an object with the keys {names}" if value else "an empty object"
    return {list: "a list", str: "a string", bool: "true or false", type(None): "null"}.get(
        type(value), "a number"
    )


def nesting_problem(value: Any, deepest: int) -> str | None:
    """A problem if `value` nests lists and objects more than `deepest` levels (read without
    recursion, so no depth an adapter prints can crash the runner)."""
    level: list[tuple[Any, int]] = [(value, 1)]
    while level:
        item, depth = level.pop()
        if isinstance(item, dict | list):
            if depth > deepest:
                return f"stdout: JSON nested more than {deepest} levels deep, expected at most {deepest}"
            children = item.values() if isinstance(item, dict) else item
            level.extend((child, depth + 1) for child in children)
    return None


def check(expect: dict[str, Any], output: Any, state: State, refs: References) -> list[str]:
    """Every way the output and the state differ from the expectations."""
    problems: list[str] = []
    charged = [entry["idempotency_key"] for entry in state.ledger["entries"]]
    for outcome in ("result", "error"):
        if outcome not in expect:
            continue
        if outcome not in output:
            got = "an error " + _brief(output.get("error")) if "error" in output else "a result"
            problems.append(
                f"expected {'a result' if outcome == 'result' else 'an error'}, got {got}"
            )
            continue
        wanted = refs.value(expect[outcome])
        if outcome == "error" and isinstance(output["error"], dict):  # missing: named already
            wanted = {name: value for name, value in wanted.items() if name in output["error"]}
        problems += _differences(outcome, wanted, output[outcome], charged)
    problems += _request_problems(expect, state)
    if "ledger" in expect:
        totals = {"charges": state.ledger["charges"], "keys": len(charged)}
        for name, count in expect["ledger"].items():
            if totals[name] != count:
                problems.append(f"ledger: {totals[name]} {name}, expected {count}")
    for item in expect.get("charges_for", []):
        key = refs.value(item["key"])
        made = next(
            (e["charges"] for e in state.ledger["entries"] if e["idempotency_key"] == key), 0
        )
        if made != item["charges"]:
            problems.append(f"charges for the key {key}: {made}, expected {item['charges']}")
    if "balance" in expect:
        problems += _differences("balance", refs.value(expect["balance"]), state.balance, charged)
    for name in ("apps", "keys"):
        if name in expect and getattr(state, name) != expect[name]:
            problems.append(
                f"the fake holds {getattr(state, name)} {name}, expected {expect[name]}"
            )
    return problems


def _request_problems(expect: dict[str, Any], state: State) -> list[str]:
    problems = []
    if "requests" in expect:
        wanted: dict[str, Any] = expect["requests"]
        for name in sorted(wanted.keys() | state.requests.keys()):
            made, rule = state.requests.get(name, 0), wanted.get(name, 0)
            at_least = rule.get("at_least") if isinstance(rule, dict) else None
            if (made < at_least) if at_least is not None else (made != rule):
                asked = f"at least {at_least}" if at_least is not None else str(rule)
                problems.append(f"{made} {name} requests, expected {asked}")
    for name, seconds in expect.get("min_gap_seconds", {}).items():
        times = state.times.get(name, [])
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        if not gaps:
            problems.append(
                f"{name}: no second request, expected one {seconds:g} s after the first"
            )
        elif min(gaps) < seconds - _GAP_SLACK:
            problems.append(
                f"{name}: requests {min(gaps):.2f} s apart, expected at least {seconds:g} s"
            )
    return problems


def _differences(where: str, wanted: Any, got: Any, charged: list[str]) -> list[str]:
    if isinstance(wanted, dict) and wanted.get("$present") is True:
        return [] if got is not None else [f"{where}: null, expected a value"]
    if isinstance(wanted, dict) and "$length" in wanted:
        if isinstance(got, list) and len(got) == wanted["$length"]:
            return []
        seen = f"a list of {len(got)}" if isinstance(got, list) else _brief(got)
        return [f"{where}: {seen}, expected a list of {wanted['$length']}"]
    if isinstance(wanted, dict) and wanted.get("$charged_key") is True:
        if len(charged) == 1 and got == charged[0]:
            return []
        return [
            f"{where}: {_brief(got)}, expected the key charged ({', '.join(charged) or 'none'})"
        ]
    if isinstance(wanted, dict):
        if not isinstance(got, dict):
            return [f"{where}: {_brief(got)}, expected an object"]
        problems = []
        for name, value in wanted.items():
            if name not in got:
                problems.append(f"{where}.{name}: missing, expected {_wanted(value)}")
            else:
                problems += _differences(f"{where}.{name}", value, got[name], charged)
        return problems
    if isinstance(wanted, list):
        if not isinstance(got, list) or len(got) != len(wanted):
            return [f"{where}: {_brief(got)}, expected a list of {len(wanted)}"]
        problems = []
        for index, (value, item) in enumerate(zip(wanted, got, strict=True)):
            problems += _differences(f"{where}[{index}]", value, item, charged)
        return problems
    same = type(got) is type(wanted) or (
        isinstance(got, int | float)
        and isinstance(wanted, int | float)
        and not isinstance(got, bool)
        and not isinstance(wanted, bool)
    )
    if same and got == wanted:
        return []
    return [f"{where}: {_brief(got)}, expected {_brief(wanted)}"]


def _wanted(value: Any) -> str:
    """An expected value in a message, its markers in words."""
    if isinstance(value, dict) and value.get("$present") is True:
        return "a value"
    if isinstance(value, dict) and value.get("$charged_key") is True:
        return "the key charged"
    if isinstance(value, dict) and "$length" in value:
        return f"a list of {value['$length']}"
    return _brief(value)


def _brief(value: Any) -> str:
    """A value in a message: short, on one line (the runner scrubs secrets from it)."""
    import json

    text = json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:117] + "..."
