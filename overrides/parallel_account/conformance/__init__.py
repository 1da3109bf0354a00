"""The conformance pack: language-neutral scenarios a client in any language runs against the fake.

    parallel-account conformance list
    parallel-account conformance run --adapter "COMMAND" [--only NAME]... [--adapter-timeout S]
                                     [--junit FILE] [--json] [-v]

The adapter protocol. For each scenario the runner starts a fresh fake on
127.0.0.1, applies the scenario's set-up through the control API (faults,
balance) and the Account API (apps, keys, earlier top-ups), then runs COMMAND
through the shell with `PARALLEL_SERVICE_API_URL` (the fake's base URL) and
`PARALLEL_ACCOUNT_TOKEN` set, and one JSON object on stdin:

    {"operation": "add_balance", "arguments": {"amount_cents": 500}, "timeout_seconds": 5.0}

Operation names are the spec's friendly operation names (`facts.json`), argument
names its parameter and body field names. `timeout_seconds` is the per-request
timeout the client should use (the timeout scenario needs a short one). The
adapter makes the one call with its client, whatever retries the client makes by
itself included, prints one JSON document on stdout and nothing else
(pretty-printed or not; logs go to stderr), and exits 0 whenever it printed an
answer, a failed call included:

    {"result": {...}}   the parsed answer, field names as in the spec; null when
                        the answer has no body
    {"error": {"kind": K, "status_code": int|null, "idempotency_key": str|null,
               "outcome_unknown": bool|null}}

with K one of invalid_request (refused before sending), authentication,
not_found, conflict, unprocessable, rate_limit, server, connection, timeout,
other (`_adapter_output` reads the output under this contract). The runner then
checks the scenario's expectations (`_expect`) against that output and the
fake's state (ledger, charges per key, request counts and times, balance, apps,
keys), prints one line per scenario (what was expected, what was seen) and a
summary, and exits 0 only if every scenario passed. An adapter run is killed
after `--adapter-timeout` seconds (default 60), or as soon as its stdout passes
1 MiB. docs/other-languages.md ("The adapter contract") states all of it for other teams.

Scenario files (`scenarios/*.json`, shipped in the wheel; their schema is
`parallel_account/schemas/scenario.schema.json`) never type a bound of the spec:
amounts and key lengths are written as references (`{"$bound": "lowest"}`,
`"above_highest"`, ...) that the runner resolves from the spec facts, so the
pack stays valid when a bound moves (`_scenarios` lists the references).

The project's own adapter is `python -m parallel_account.conformance.adapter`.
"""

from __future__ import annotations

from parallel_account._errors import ScenarioError
from parallel_account.conformance._runner import DEFAULT_ADAPTER_TIMEOUT, Result, run_scenario
from parallel_account.conformance._scenarios import Scenario, load_all, select

__all__ = [
    "DEFAULT_ADAPTER_TIMEOUT",
    "Result",
    "Scenario",
    "ScenarioError",
    "load_all",
    "run_scenario",
    "select",
]
