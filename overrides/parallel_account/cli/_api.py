"""`parallel-account api`: any operation of the pinned spec, from the command line.

    parallel-account api --list
    parallel-account api OPERATION [--param NAME=VALUE]... [--body JSON]

Arguments go through `AccountClient.call`, so validation, retries, idempotency and
errors are the library's. `--param` takes path, query and body parameters by the
spec's name (or its Python name); its text is read by the parameter's type in the
spec (integer, number, boolean; JSON for arrays and objects). `--body` is a JSON
object of body fields. An operation with an idempotency key gets a new key when
none is given, written to stderr before anything is sent, as `balance add` does;
an operation the spec facts mark as moving money asks first at a terminal, with
`balance add`'s prompt (`--yes` skips it). Integers are ASCII digits (a leading
`-` only where the spec's bound allows negatives), numbers too.
The answer is printed as JSON on stdout; secret fields (a new API key's raw key)
are printed too, since this is the only time they are shown.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Callable
from typing import Any

from parallel_account._errors import InvalidRequestError
from parallel_account._idempotency import new_idempotency_key
from parallel_account._json import UnreadableJSON, loads
from parallel_account._terminal import terminal_safe
from parallel_account._validation import json_form
from parallel_account.cli._output import Output, dumps
from parallel_account.cli._parser import PROG, UsageError
from parallel_account_api.spec_facts import OPERATIONS, FieldFacts, OperationFacts

# Longer numbers are refused before int() is asked to read them (Python refuses past
# 4300 digits with a message that names no parameter).
_MAX_NUMBER_TEXT = 64


# int() and float() also read Arabic-Indic and other scripts' digits, '1_000', '+5' and
# spaces: each a plausible typo for a very different amount. Only these pass.
_INTEGER_RE = re.compile(r"-?[0-9]+")
_NUMBER_RE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def _may_be_negative(facts: FieldFacts) -> bool:
    """Whether the spec's lower bound leaves room below zero (no bound: it does)."""
    low = facts.minimum if facts.minimum is not None else facts.exclusive_minimum
    return low is None or low < 0


def _fields(operation: OperationFacts) -> list[tuple[str, FieldFacts]]:
    return [
        *(("path", f) for f in operation.path_params),
        *(("query", f) for f in operation.query_params),
        *(("body", f) for f in operation.body_fields),
    ]


def _rules(facts: FieldFacts) -> dict[str, Any]:
    keys = (
        "type",
        "format",
        "minimum",
        "maximum",
        "exclusive_minimum",
        "exclusive_maximum",
        "min_length",
        "max_length",
        "pattern",
        "enum",
    )
    found = {key: getattr(facts, key) for key in keys if getattr(facts, key) is not None}
    if "enum" in found:
        found["enum"] = list(found["enum"])
    return found


def catalogue() -> list[dict[str, Any]]:
    """Every operation with its parameters, as `api --list --json` prints it."""
    return [
        {
            "operation": op.name,
            "method": op.method,
            "path": op.path,
            "summary": op.summary,
            "idempotent": op.idempotent,
            "idempotency_key_field": op.idempotency_key_field,
            "parameters": [
                {"name": f.name, "in": where, "required": f.required, **_rules(f)}
                for where, f in _fields(op)
            ],
        }
        for op in OPERATIONS.values()
    ]


def _describe_parameter(where: str, facts: FieldFacts) -> str:
    rules = ", ".join(f"{k}={v}" for k, v in _rules(facts).items())
    return f"{facts.name} ({where}{', required' if facts.required else ''}{'; ' + rules if rules else ''})"


def list_text() -> str:
    lines = []
    for op in OPERATIONS.values():
        lines.append(f"{op.name}  {op.method} {op.path}  {op.summary}")
        lines += [f"    --param {_describe_parameter(w, f)}" for w, f in _fields(op)]
    return "\n".join(lines)


def _value(facts: FieldFacts, text: str) -> object:
    """`--param` text read by the parameter's type in the spec."""
    name, kind = facts.name, facts.type
    if kind in ("integer", "number"):
        if len(text) > _MAX_NUMBER_TEXT:
            raise InvalidRequestError(
                f"{name}: {len(text)} characters is too long for a number; expected an {kind} of at most {_MAX_NUMBER_TEXT} characters"
            )
        syntax = _INTEGER_RE if kind == "integer" else _NUMBER_RE
        signed = text.startswith("-")
        if not syntax.fullmatch(text) or (signed and not _may_be_negative(facts)):
            allowed = "" if _may_be_negative(facts) else ", no sign"
            raise InvalidRequestError(
                f"{name}: {text[:_MAX_NUMBER_TEXT]!r} is not an {kind} written in ASCII "
                f"digits{allowed} (no '_', '+', spaces or other scripts' digits)"
            )
        number: float = int(text) if kind == "integer" else float(text)
        if not math.isfinite(number):
            raise InvalidRequestError(f"{name}: {text!r} is not a finite number")
        return number
    if kind == "boolean":
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise InvalidRequestError(f"{name}: {text!r} is not a boolean; expected true or false")
    if kind in ("array", "object"):
        try:
            return loads(text)
        except UnreadableJSON as exc:
            raise InvalidRequestError(f"{name}: {exc}; expected a JSON {kind}") from None
    return text


def arguments(operation: OperationFacts, params: list[str], body: str | None) -> dict[str, object]:
    """The arguments of one call, keyed by the spec's names, from `--param` and `--body`."""
    by_name: dict[str, FieldFacts] = {}
    for _, facts in _fields(operation):
        by_name[facts.name] = facts
        by_name.setdefault(facts.identifier, facts)
    found: dict[str, object] = {}
    if body is not None:
        try:
            document = loads(body)
        except UnreadableJSON as exc:
            raise UsageError(f"--body: {exc}; expected a JSON object") from None
        if not isinstance(document, dict):
            raise UsageError(f"--body: got a JSON {type(document).__name__}; expected an object")
        found.update(document)
    for item in params:
        name, equals, text = item.partition("=")
        found_facts = by_name.get(name)
        if not equals or found_facts is None:
            known = ", ".join(f.name for _, f in _fields(operation)) or "none"
            raise UsageError(
                f"--param {item[:60]!r}: expected NAME=VALUE with NAME a parameter of "
                f"{operation.name} ({known})"
            )
        if found_facts.name in found:
            raise UsageError(f"--param {found_facts.name}: given twice (or also in --body)")
        found[found_facts.name] = _value(found_facts, text)
    return found


def _charge_question(operation: OperationFacts, given: dict[str, object]) -> str:
    """What is about to be charged, in the call's own terms (the key left out)."""
    shown = {k: v for k, v in given.items() if k != operation.idempotency_key_field}
    call = terminal_safe(json.dumps(shown, ensure_ascii=True))[:200]
    return f"{operation.name} {call} charges the organisation's default payment method. Go ahead?"


def run(
    args: argparse.Namespace,
    out: Output,
    client_factory: Any,
    ask: Callable[[argparse.Namespace, Output, str], None],
) -> int:
    """`api --list`, or one call of `args.operation` through a client from `client_factory`.

    `ask(args, out, question)` is `balance add`'s confirmation: an operation the
    spec facts mark as moving money asks it (at a terminal, unless --yes).
    """
    if args.list:
        out.result({"operations": catalogue()}, list_text())
        return 0
    if args.operation is None:
        raise UsageError(f"give an OPERATION, or --list to see them (see `{PROG} api --help`)")
    operation = OPERATIONS.get(args.operation)
    if operation is None:
        raise UsageError(
            f"{args.operation!r} is not an operation of the pinned spec; "
            f"`{PROG} api --list` shows them: {', '.join(OPERATIONS)}"
        )
    given = arguments(operation, args.param or [], args.body)
    key_field = operation.idempotency_key_field
    if key_field is not None:
        if given.get(key_field) is None:  # absent, or null in --body: a new key, said below
            given[key_field] = new_idempotency_key()
        # Before sending: whatever happens next, a retry with this key is safe.
        out.note(
            f"{key_field}: {given[key_field]} (retry with --param {key_field}={given[key_field]})"
        )
    with client_factory(args) as client:  # credentials checked before anyone is asked
        if operation.moves_money:
            ask(args, out, _charge_question(operation, given))
        result = json_form(client.call(operation.name, given))
    document = {"operation": operation.name, "result": result}
    out.result(document, dumps(result).rstrip("\n") if not args.json else "")
    return 0
