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
from xml.etree import ElementTree

import jsonschema  # type: ignore[import-untyped]
import pytest

from parallel_account.conformance import Scenario, ScenarioError, load_all, run_scenario, select
from parallel_account.conformance._adapter_output import (
    MAX_OUTPUT_BYTES,
    STDERR_KEEP_BYTES,
    AdapterRun,
)
from parallel_account.conformance._expect import protocol_problems
from parallel_account.conformance._runner import run_adapter
from parallel_account.conformance._scenarios import References, _bound
from parallel_account.testing._state import Account
from parallel_account_api.spec_facts import OPERATIONS, FieldFacts
from tests.support import HIGHEST, LONGEST, LOWEST, ROOT, SHORTEST

PACKAGE = ROOT / "overrides" / "parallel_account"
SCENARIO_FILES = sorted((PACKAGE / "conformance" / "scenarios").glob("*.json"))
PYTHON_ADAPTER = f"{shlex.quote(sys.executable)} -m parallel_account.conformance.adapter"
NAIVE_ADAPTER = ROOT / "tests" / "node" / "naive_adapter.mjs"
BROKEN_ADAPTER = (
    f"{shlex.quote(sys.executable)} {shlex.quote(str(ROOT / 'tests' / 'broken_adapter.py'))}"
)

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
    "list_apps_answer_lost_retried",
    # No outcome_unknown for a create whose answer was lost, nor false for a GET's.
    "create_app_dropped_after_commit_not_repeated",
    "create_key_dropped_after_commit_not_repeated",
    "get_balance_answer_lost_for_good_outcome_known",
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


def test_an_adapter_printing_something_else_fails_and_shows_it() -> None:
    result = run_scenario(_one("get_balance"), "echo hello; echo oops >&2", adapter_timeout=30)
    assert not result.passed
    [problem] = result.problems
    assert "expected one JSON object, got text that is not JSON" in problem
    assert 'stdout was "hello\\n"' in problem
    assert "stderr: oops" in problem
    assert result.adapter is not None
    assert (result.adapter["stdout"], result.adapter["stderr"]) == ("hello\n", ["oops"])


def test_the_report_shows_what_the_adapter_was_sent() -> None:
    result = run_scenario(_one("refused_amount_below_lowest"), "echo hello", adapter_timeout=30)
    assert result.adapter is not None
    sent = json.loads(result.adapter["stdin"])
    assert sent["operation"] == "add_balance"
    assert sent["arguments"]["amount_cents"] == LOWEST - 1
    assert result.adapter["exit_status"] == 0


def test_pretty_printed_json_is_one_document_and_passes() -> None:
    result = run_scenario(_one("get_balance"), f"{BROKEN_ADAPTER} pretty", adapter_timeout=60)
    assert (result.passed, result.problems) == (True, [])


def test_a_log_line_before_the_json_fails_and_is_shown() -> None:
    result = run_scenario(
        _one("get_balance"), f"{BROKEN_ADAPTER} log_line_first", adapter_timeout=60
    )
    assert not result.passed
    [problem] = result.problems
    assert "logs go to stderr" in problem
    assert "connecting to the Account API..." in problem


def test_a_second_document_after_the_first_fails() -> None:
    two = shlex.quote('{"result": {"credit_balance_cents": 4321}}')
    result = run_scenario(_one("get_balance"), f"echo {two}; echo {two}", adapter_timeout=30)
    assert not result.passed
    assert "expected one JSON document, got more after it" in result.problems[0]


def test_an_exit_status_other_than_0_fails_whatever_stdout_holds() -> None:
    result = run_scenario(
        _one("get_balance"), f"{BROKEN_ADAPTER} exit_1_after_answer", adapter_timeout=60
    )
    assert not result.passed
    assert result.problems[0].startswith("the adapter exited with status 1, expected exit status 0")


def test_a_crash_shows_the_first_error_line_not_the_runtime_banner() -> None:
    result = run_scenario(_one("get_balance"), f"{BROKEN_ADAPTER} node_crash", adapter_timeout=60)
    assert not result.passed
    [problem] = result.problems
    assert "stderr: TypeError: Cannot read properties of undefined" in problem
    assert "Node.js v20" not in problem
    assert result.adapter is not None
    assert (
        "TypeError: Cannot read properties of undefined (reading 'toUpperCase')"
        in (result.adapter["stderr"])
    )


def test_a_python_traceback_shows_its_error_line() -> None:
    lines = [f'  File "x.py", line {n}, in f{n}' for n in range(20)]
    run = AdapterRun(
        stdin="{}",
        stderr="\n".join(
            ["Traceback (most recent call last):", *lines, "ValueError: boom"]
        ).encode(),
        exit_status=1,
    )
    shown = run.stderr_lines(set())
    assert shown[0] == "Traceback (most recent call last):"
    assert shown[-1] == "ValueError: boom"
    assert len(shown) <= 12
    assert run.problems(set())[0].endswith("stderr: ValueError: boom")


def test_the_error_object_names_missing_and_extra_keys_and_checks_the_rest() -> None:
    problems = protocol_problems(
        {"error": {"kind": "serverr", "code": 503, "idempotency_key": None, "outcome_unknown": 1}}
    )
    assert problems[0] == (
        "error: expected exactly the keys kind, status_code, idempotency_key, outcome_unknown; "
        'missing status_code; unexpected "code"'
    )
    assert any(p.startswith('error.kind: "serverr", expected one of') for p in problems)
    assert "error.outcome_unknown: 1, expected true or false or null" in problems
    # The scenario's own checks still run on the keys given.
    result = run_scenario(
        _one("create_app_503_not_retried"),
        f"{BROKEN_ADAPTER} error_keys_renamed",
        adapter_timeout=60,
    )
    assert not result.passed
    assert result.problems[0].endswith('missing status_code; unexpected "code"')
    assert result.problems[1:] == []  # kind, requests and apps were checked and agree
    wrong = shlex.quote('{"error": {"kind": "timeout", "code": 1}}')
    result = run_scenario(_one("create_app_503_not_retried"), f"echo {wrong}", adapter_timeout=30)
    assert 'error.kind: "timeout", expected "server"' in result.problems
    assert "0 create_app requests, expected 1" in result.problems


@pytest.mark.parametrize(
    ("scenario", "mode"),
    [
        ("create_app_503_not_retried", "retry_after_503"),
        ("create_key_503_not_retried", "retry_after_503"),
        ("get_balance_answer_lost_for_good_outcome_known", "outcome_unknown_always"),
        ("list_apps_many", "first_page_only"),
    ],
)
def test_the_new_scenarios_fail_a_client_that_gets_them_wrong(scenario: str, mode: str) -> None:
    assert run_scenario(_one(scenario), PYTHON_ADAPTER, adapter_timeout=60).passed
    result = run_scenario(_one(scenario), f"{BROKEN_ADAPTER} {mode}", adapter_timeout=60)
    assert not result.passed, result.problems


def test_every_scenario_that_moves_money_is_marked_from_the_facts() -> None:
    listed = json.loads(_run_cli("conformance", "list", "--json").stdout)["scenarios"]
    for entry in listed:
        scenario = _one(entry["name"])
        assert entry["money"] is OPERATIONS[scenario.call["operation"]].moves_money
    assert any(entry["money"] for entry in listed)
    assert not any("money" in json.loads(path.read_text("utf-8")) for path in SCENARIO_FILES)


def test_an_adapter_flooding_stdout_is_killed_at_the_cap() -> None:
    marker = f"flood-{uuid.uuid4().hex}"
    run = run_adapter(
        f"{BROKEN_ADAPTER} flood_stdout {marker}", {}, "http://127.0.0.1:9", "t", timeout=60
    )
    assert run.killed == f"printed more than {MAX_OUTPUT_BYTES} bytes on stdout"
    assert len(run.stdout) == MAX_OUTPUT_BYTES  # no more was kept
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True, check=False)
    assert left.stdout == b""
    assert "printed more than" in run.problems(set())[0]


@pytest.mark.parametrize("mode", ["deep_json", "deepish_json"])
def test_deeply_nested_json_is_one_failure_not_a_crash(mode: str) -> None:
    result = run_scenario(_one("get_balance"), f"{BROKEN_ADAPTER} {mode}", adapter_timeout=60)
    assert not result.passed
    assert "nested" in result.problems[0] and "expected at most 64" in result.problems[0]


def test_stderr_is_scrubbed_before_it_is_cut(tmp_path: Path) -> None:
    kept = tmp_path / "token"
    result = run_scenario(
        _one("get_balance"),
        f"{BROKEN_ADAPTER} token_in_stderr {shlex.quote(str(kept))}",
        adapter_timeout=60,
    )
    token = kept.read_text("utf-8")
    report = json.dumps([result.problems, result.adapter])
    assert "[secret]" in report
    for start in range(len(token) - 5):  # no six characters of it in a row
        assert token[start : start + 6] not in report


def test_the_stderr_kept_is_cut_at_a_line_so_no_secret_shows_in_part() -> None:
    secret = "s3cr3t-" + uuid.uuid4().hex
    before = b"x" * (STDERR_KEEP_BYTES - 10) + b"\n"
    run = AdapterRun(
        stdin="", stderr=(before + secret.encode())[:STDERR_KEEP_BYTES], stderr_cut=True
    )
    assert all(secret[:10] not in line for line in run.stderr_lines({secret}))


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
    # Every charge whose answer goes wrong (a fault in the set-up) fails.
    faulted_charges = {
        s.name
        for s in load_all()
        if s.money and any("/__fake/faults/" in step.get("control", "") for step in s.setup)
    }
    assert faulted_charges and faulted_charges <= failed
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


def test_run_writes_junit_and_json_reports_with_the_adapter_run(tmp_path: Path) -> None:
    junit = tmp_path / "conformance.xml"
    args = ("--only", "get_balance", "--only", "timeout", "--junit", str(junit))
    done = _run_cli("conformance", "run", "--adapter", "echo hello; echo oops >&2", *args, "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    first = report["scenarios"][0]
    assert first["adapter"]["stdout"] == "hello\n"
    assert first["adapter"]["stderr"] == ["oops"]
    assert json.loads(first["adapter"]["stdin"])["operation"] == "get_balance"
    suite = ElementTree.parse(junit).getroot()  # noqa: S314 (our own report)
    assert (suite.tag, suite.get("tests"), suite.get("failures")) == ("testsuite", "2", "2")
    cases = suite.findall("testcase")
    assert [case.get("name") for case in cases] == ["get_balance", "timeout"]
    failure = cases[0].find("failure")
    assert failure is not None and "got text that is not JSON" in str(failure.get("message"))
    out = cases[0].findtext("system-out") or ""
    assert '"operation": "get_balance"' in out and "hello" in out and "oops" in out


def test_verbose_shows_the_adapter_run_under_a_failure() -> None:
    done = _run_cli(
        "conformance", "run", "--adapter", "echo hello; echo oops >&2", "--only", "get_balance"
    )
    assert "stdin:" not in done.stdout
    verbose = _run_cli(
        "conformance",
        "run",
        "--adapter",
        "echo hello; echo oops >&2",
        "--only",
        "get_balance",
        "-v",
    )
    assert verbose.returncode == 1
    lines = verbose.stdout.splitlines()
    assert lines[0].startswith("FAIL get_balance")
    assert lines[1].strip().startswith('stdin:  {"operation": "get_balance"')
    assert "    exit status: 0" in lines
    assert "      hello" in lines and "      oops" in lines


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--timeout", "5"),
        ("--max-retries", "3"),
        ("--base-url", "http://127.0.0.1:1"),
        ("--profile", "p"),
    ],
)
def test_options_that_do_not_apply_to_run_are_refused(option: str, value: str) -> None:
    for where in ("before", "after"):
        argv = ["conformance", "run", "--adapter", "true", "--only", "get_balance"]
        argv = [option, value, *argv] if where == "before" else [*argv, option, value]
        done = _run_cli(*argv)
        assert done.returncode == 2, (where, done.stdout)
        assert f"`conformance run` does not take {option}" in done.stderr


@pytest.mark.parametrize("value", ["0", "-1", "3601", "nan", "soon"])
def test_the_adapter_timeout_range_is_said_as_it_is(value: str) -> None:
    done = _run_cli("conformance", "run", "--adapter", "true", "--adapter-timeout", value)
    assert done.returncode == 2
    assert f"{value!r} is not a number of seconds above 0 and at most 3600" in done.stderr


def test_a_missing_field_says_what_was_expected() -> None:
    partial = shlex.quote('{"result": {"api_key_name": "ci"}}')
    result = run_scenario(_one("create_key"), f"echo {partial}", adapter_timeout=30)
    assert "result.api_key_id: missing, expected a value" in result.problems
    assert any(p.startswith('result.app_id: missing, expected "') for p in result.problems)
