"""The conformance pack: its scenario files, the runner's checks, the project's own adapter
passing everything, and a naive Node.js adapter failing the money scenarios."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from parallel_account.conformance import Scenario, ScenarioError, load_all, run_scenario, select
from parallel_account.conformance._expect import protocol_problems
from parallel_account.conformance._scenarios import References, _bound
from parallel_account.testing._state import Account
from parallel_account_api.spec_facts import OPERATIONS, FieldFacts
from tests.support import HIGHEST, LONGEST, LOWEST, ROOT, SHORTEST

PACKAGE = ROOT / "overrides" / "parallel_account"
SCENARIO_FILES = sorted((PACKAGE / "conformance" / "scenarios").glob("*.json"))
PYTHON_ADAPTER = f"{shlex.quote(sys.executable)} -m parallel_account.conformance.adapter"
NAIVE_ADAPTER = ROOT / "tests" / "node" / "naive_adapter.mjs"

# What the naive adapter (no validation, no retries, a new key per attempt) gets wrong.
NAIVE_FAILS = {
    # Money: a charge whose answer went wrong is reported as a failure, or without its key.
    "top_up_503_then_success_charged_once",
    "top_up_answer_lost_charged_once",
    "top_up_fails_for_good_reports_key",
    "top_up_timeout_then_success_charged_once",
    "top_up_key_reused_for_another_amount_409",
    # No retries.
    "connection_dropped_then_success",
    "delete_app_answer_lost_counts_as_done",
    "delete_key_answer_lost_counts_as_done",
    "rate_limited_for_good",
    "retry_after_honoured",
    "server_503_then_success",
    # No outcome_unknown for a create whose answer was lost.
    "create_app_dropped_after_commit_not_repeated",
    "create_key_dropped_after_commit_not_repeated",
    # No validation: the request is sent and refused by the server (422).
    "refused_amount_above_highest",
    "refused_amount_below_lowest",
    "refused_app_id_not_uuid",
    "refused_key_too_long",
    "refused_key_too_short",
    "refused_missing_required",
}


def _run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parallel_account.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# --- the scenario files ------------------------------------------------------------------


def test_the_scenario_files_match_their_schema_and_names() -> None:
    schema = json.loads((PACKAGE / "schemas" / "scenario.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in SCENARIO_FILES:
        document = json.loads(path.read_text("utf-8"))
        jsonschema.validate(document, schema)
        assert document["name"] == path.stem
    assert len(load_all()) == len(SCENARIO_FILES) >= 20


def test_the_scenarios_cover_every_operation_and_the_issue_list() -> None:
    names = {s.name for s in load_all()}
    called = {s.call["operation"] for s in load_all()}
    assert called <= set(OPERATIONS)
    # Each operation the fake models has a scenario (one the spec adds later gets its
    # scenarios with its behaviour in the fake).
    modelled = {name for name in OPERATIONS if hasattr(Account, f"op_{name}")}
    assert modelled and modelled <= called
    for needed in (
        "unauthenticated_401",
        "unknown_app_404",
        "unprocessable_422",
        "server_503_then_success",
        "retry_after_honoured",
        "top_up_answer_lost_charged_once",
        "top_up_fails_for_good_reports_key",
        "create_app_dropped_after_commit_not_repeated",
        "delete_app_answer_lost_counts_as_done",
        "top_up_key_reused_for_another_amount_409",
        "timeout",
        "refused_amount_below_lowest",
    ):
        assert needed in names


def _bounded(facts: FieldFacts) -> bool:
    limits = (
        facts.minimum,
        facts.maximum,
        facts.exclusive_minimum,
        facts.exclusive_maximum,
        facts.min_length,
        facts.max_length,
    )
    return any(limit is not None for limit in limits)


def test_no_scenario_types_a_value_the_spec_bounds() -> None:
    """A bounded argument is always a reference resolved from the facts, never a literal."""
    for scenario in load_all():
        calls = [(scenario.call["operation"], scenario.call["arguments"])]
        calls += [(s["api"], s.get("arguments", {})) for s in scenario.setup if "api" in s]
        for operation, arguments in calls:
            op = OPERATIONS[operation]
            fields = {f.name: f for f in (*op.path_params, *op.query_params, *op.body_fields)}
            for name, value in arguments.items():
                if _bounded(fields[name]):
                    assert isinstance(value, dict), (scenario.name, name, value)


# --- references and checks ---------------------------------------------------------------


def test_bounds_are_read_from_the_facts() -> None:
    amount = OPERATIONS["add_balance"].body_field("amount_cents")
    key = OPERATIONS["add_balance"].body_field("idempotency_key")
    assert [_bound(w, amount, "a") for w in ("lowest", "highest")] == [LOWEST, HIGHEST]
    assert [_bound(w, amount, "a") for w in ("below_lowest", "above_highest")] == [
        LOWEST - 1,
        HIGHEST + 1,
    ]
    lengths = [len(str(_bound(w, key, "k"))) for w in ("lowest", "highest", "above_highest")]
    assert lengths == [SHORTEST, LONGEST, LONGEST + 1]


def test_bounds_follow_a_moved_bound() -> None:
    moved = FieldFacts(name="amount_cents", required=True, type="integer", minimum=7, maximum=70)
    assert [_bound(w, moved, "a") for w in ("lowest", "highest", "above_highest")] == [7, 70, 71]
    open_ended = FieldFacts(name="amount_cents", required=True, type="integer")
    with pytest.raises(ScenarioError, match="no maximum"):
        _bound("highest", open_ended, "a")


def test_keys_stay_within_the_spec_lengths_and_repeat_by_name() -> None:
    refs = References(key_field=OPERATIONS["add_balance"].body_field("idempotency_key"))
    first = refs.value({"$key": "order"})
    assert SHORTEST <= len(first) <= LONGEST
    assert refs.value({"$key": "order"}) == first != refs.value({"$key": "other"})


@pytest.mark.parametrize(
    "output",
    [
        [],
        {},
        {"result": 1, "error": None},
        {"error": {"kind": "server"}},
        {
            "error": {
                "kind": "oops",
                "status_code": None,
                "idempotency_key": None,
                "outcome_unknown": None,
            }
        },
        {
            "error": {
                "kind": "server",
                "status_code": True,
                "idempotency_key": None,
                "outcome_unknown": None,
            }
        },
        {
            "error": {
                "kind": "server",
                "status_code": 503,
                "idempotency_key": 5,
                "outcome_unknown": None,
            }
        },
    ],
)
def test_output_outside_the_protocol_is_a_problem(output: Any) -> None:
    assert protocol_problems(output)


def test_output_within_the_protocol_is_no_problem() -> None:
    error = {"kind": "server", "status_code": 503, "idempotency_key": "k", "outcome_unknown": False}
    assert protocol_problems({"error": error}) == []
    assert protocol_problems({"result": None}) == []


def _one(name: str) -> Scenario:
    return select([name])[0]


def test_an_adapter_that_hangs_is_killed_and_fails() -> None:
    # The shell starts a child that would outlive a kill of the shell alone; its unique
    # argument finds it afterwards.
    marker = f"sleep 1000.{uuid.uuid4().int % 10**12}"
    adapter = f"{marker}; true"
    result = run_scenario(_one("get_balance"), adapter, adapter_timeout=0.5)
    assert not result.passed
    assert "did not finish within 0.5 s" in result.problems[0]
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True, check=False)
    assert left.stdout == b""  # the whole process group went


def test_an_adapter_printing_something_else_fails() -> None:
    result = run_scenario(_one("get_balance"), "echo hello", adapter_timeout=30)
    assert (result.passed, result.problems) == (
        False,
        ["the adapter's stdout is not one JSON object (exit status 0)"],
    )


def test_a_wrong_answer_fails_with_what_differs() -> None:
    wrong = '{"result": {"credit_balance_cents": 1}}'
    result = run_scenario(_one("get_balance"), f"echo {shlex.quote(wrong)}", adapter_timeout=30)
    assert not result.passed
    assert "result.credit_balance_cents: 1, expected 4321" in result.problems
    assert "0 get_balance requests, expected 1" in result.problems


def test_secrets_never_reach_the_report() -> None:
    echo_token = 'echo "{\\"result\\": \\"$PARALLEL_ACCOUNT_TOKEN\\"}"'
    result = run_scenario(_one("get_balance"), echo_token, adapter_timeout=30)
    assert not result.passed
    assert 'result: "[secret]", expected an object' in result.problems
    leak_raw_key = f"{PYTHON_ADAPTER} | {shlex.quote(sys.executable)} -c " + shlex.quote(
        "import json, sys; d = json.load(sys.stdin); "
        "print(json.dumps({'result': [d['result']['raw_api_key']]}))"
    )
    result = run_scenario(_one("create_key"), leak_raw_key, adapter_timeout=60)
    assert 'result: ["[secret]"], expected an object' in result.problems


# --- the command line and the adapters ---------------------------------------------------


def test_list_prints_each_scenario_with_what_it_checks() -> None:
    done = _run_cli("conformance", "list", "--json")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)["scenarios"]
    assert [(s["name"], s["checks"]) for s in listed] == [(s.name, s.checks) for s in load_all()]
    text = _run_cli("conformance", "list").stdout.splitlines()
    assert len(text) == len(listed)


def test_an_unknown_scenario_is_a_usage_error() -> None:
    done = _run_cli("conformance", "run", "--adapter", "true", "--only", "no_such_scenario")
    assert done.returncode == 2
    assert "no_such_scenario" in done.stderr


@pytest.mark.slow
def test_the_python_adapter_passes_every_scenario() -> None:
    done = _run_cli("conformance", "run", "--adapter", PYTHON_ADAPTER)
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(lines) == len(load_all()) + 1
    assert all(line.startswith("PASS ") for line in lines[:-1])
    assert lines[-1] == f"{len(load_all())} scenarios: {len(load_all())} passed, 0 failed"


@pytest.mark.slow
def test_the_naive_node_adapter_fails_the_money_scenarios(node: str) -> None:
    adapter = f"{shlex.quote(node)} {shlex.quote(str(NAIVE_ADAPTER))}"
    done = _run_cli("conformance", "run", "--adapter", adapter, "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    failed = {s["name"] for s in report["scenarios"] if not s["passed"]}
    money = {s.name for s in load_all() if s.money}
    assert money and money <= failed
    assert failed == NAIVE_FAILS
    assert report["passed"] == len(load_all()) - len(NAIVE_FAILS) > 0


def test_the_python_adapter_reads_one_request(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "parallel_account.conformance.adapter"],
        input="[1]",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (2, "")
