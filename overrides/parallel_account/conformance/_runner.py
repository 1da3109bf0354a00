"""Running one scenario: a fresh fake, its set-up over HTTP, the adapter, the checks.

Per scenario the runner serves a new `FakeAccountAPI` on 127.0.0.1 (a random
token), applies the set-up through the control API and the Account API over
HTTP, as a team in another language would, notes the request counts, runs the
adapter through the shell with `PARALLEL_SERVICE_API_URL` and
`PARALLEL_ACCOUNT_TOKEN` set and one JSON object on stdin, reads its stdout and
stderr as they come (`_adapter_output` reads them under the contract) and checks
the expectations (`_expect`) against the answer and the fake's state, read back
through the control API. The adapter's whole process group is killed when it
outlives the timeout or prints past the stdout cap. Nothing the runner reports
contains the token or a raw API key: every text is scrubbed of both before it is
cut short.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import selectors
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote, urlsplit

import httpx

from parallel_account._env import API_URL_ENV, TOKEN_ENV
from parallel_account._errors import ScenarioError
from parallel_account.conformance._adapter_output import (
    MAX_OUTPUT_BYTES,
    STDERR_KEEP_BYTES,
    AdapterRun,
    scrub,
    secret_values,
)
from parallel_account.conformance._expect import State, check
from parallel_account.conformance._scenarios import References, Scenario
from parallel_account_api.spec_facts import OPERATIONS

DEFAULT_ADAPTER_TIMEOUT: Final = 60.0  # seconds for one adapter run; scenarios need far less
_CHUNK: Final = 1 << 16  # bytes per read from the adapter's pipes
_WRONG_TOKEN: Final = "conformance-wrong-token"  # noqa: S105 (a value the fake refuses)


@dataclass
class Result:
    name: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    money: bool = False
    #: What the adapter was sent and gave back, scrubbed and cut short (`AdapterRun.report`);
    #: None when the scenario failed before the adapter ran.
    adapter: dict[str, Any] | None = None

    def line(self) -> str:
        status = "PASS" if self.passed else "FAIL"
        detail = f": {'; '.join(self.problems)}" if self.problems else ""
        return f"{status} {self.name} ({self.seconds:.1f} s){detail}"


def run_scenario(scenario: Scenario, adapter: str, adapter_timeout: float) -> Result:
    """Run one scenario against `adapter` (a shell command); never raises for its failures."""
    from parallel_account.testing import FakeAccountAPI  # only the runner needs the fake

    started = time.monotonic()
    token = secrets.token_urlsafe(18)
    fake = FakeAccountAPI(token=token)
    secret_texts = {token}
    run: AdapterRun | None = None
    try:
        with _quiet_fakes(), fake.serve(port=0, host="127.0.0.1") as base_url:
            try:
                problems, run = _run(scenario, adapter, adapter_timeout, base_url, token)
            finally:  # every live key's raw value, however the adapter printed it
                secret_texts |= {key.raw_api_key for key in fake.keys.values()}
    except ScenarioError as exc:
        problems = [f"cannot run: {exc}"]
    except httpx.HTTPError as exc:
        problems = [f"set-up failed: {type(exc).__name__}: {exc}"]
    if run is not None:
        secret_texts |= run.secret_texts
        problems = run.problems(secret_texts) + problems
    scrubbed = [scrub(problem, secret_texts) for problem in problems]
    return Result(
        scenario.name,
        not problems,
        scrubbed,
        time.monotonic() - started,
        money=scenario.money,
        adapter=None if run is None else run.report(secret_texts),
    )


@contextlib.contextmanager
def _quiet_fakes() -> Iterator[None]:
    """The fakes are the runner's own: their request log (`-v`) is noise beside the adapter's."""
    log = logging.getLogger("parallel_account.testing")
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(level)


def _run(
    scenario: Scenario, adapter: str, adapter_timeout: float, base_url: str, token: str
) -> tuple[list[str], AdapterRun | None]:
    """The scenario's problems beyond how the adapter ran, and the adapter's run."""
    refs = References()
    # `{"$key": ...}` makes keys to the spec's lengths: the called operation's key field,
    # else the first operation's that has one (a set-up top-up before another call).
    called = OPERATIONS.get(scenario.call["operation"])
    keyed = [op for op in (called, *OPERATIONS.values()) if op and op.idempotency_key_field]
    if keyed:
        refs.key_field = keyed[0].body_field(str(keyed[0].idempotency_key_field))
    root = base_url.removesuffix(_base_path(base_url))
    with httpx.Client(base_url=root, timeout=10) as http:
        for step in scenario.setup:
            for _ in range(step.get("repeat", 1)):
                _set_up(http, base_url, token, step, refs)
        before = http.get("/__fake/requests").raise_for_status().json()["counts"]
        arguments = refs.arguments_for(scenario.call["operation"], scenario.call["arguments"])
        refs.arguments = arguments
        request = {
            "operation": scenario.call["operation"],
            "arguments": arguments,
            "timeout_seconds": scenario.timeout_seconds,
        }
        given_token = _WRONG_TOKEN if scenario.wrong_token else token
        run = run_adapter(adapter, request, base_url, given_token, adapter_timeout)
        run.secret_texts |= secret_values(refs.saved)
        if not run.answered:
            return [], run
        state = _state(http, before)
    return check(scenario.expect, run.output, state, refs), run


def _base_path(base_url: str) -> str:
    return urlsplit(base_url).path


def _set_up(
    http: httpx.Client, base_url: str, token: str, step: dict[str, Any], refs: References
) -> None:
    """One set-up step: a control request (`"control": "POST /__fake/..."`) or an API call
    (`"api": OPERATION`), its answer kept under `"save"` when given."""
    if "control" in step:
        method, _, path = step["control"].partition(" ")
        answer = http.request(method, path, json=refs.value(step.get("body", {})))
    else:
        op = OPERATIONS.get(step["api"])
        if op is None:
            raise ScenarioError(f"set-up: the spec has no operation {step['api']!r}")
        arguments = refs.arguments_for(op.name, step.get("arguments", {}))
        path = op.path.format(
            **{p.name: quote(str(arguments.pop(p.name)), safe="") for p in op.path_params}
        )
        query = {p.name: arguments.pop(p.name) for p in op.query_params if p.name in arguments}
        answer = http.request(
            op.method,
            base_url + path,
            params=query,
            json=arguments if op.body_model else None,
            headers={"authorization": f"Bearer {token}"},
        )
    if answer.status_code >= 300:
        where = step.get("control") or step.get("api")
        raise ScenarioError(f"set-up step {where}: HTTP {answer.status_code}")
    if "save" in step:
        refs.saved[step["save"]] = answer.json() if answer.content else None


def run_adapter(
    command: str, request: dict[str, Any], base_url: str, token: str, timeout: float
) -> AdapterRun:
    """Run the adapter once: `request` on stdin; its stdout and stderr read as they come.

    Its stdout is kept up to MAX_OUTPUT_BYTES: one byte more and its process group is
    killed (nothing unbounded is held in memory); its stderr's first STDERR_KEEP_BYTES
    are kept and the rest read and dropped."""
    env = dict(os.environ, **{API_URL_ENV: base_url, TOKEN_ENV: token})
    process = subprocess.Popen(  # noqa: S602 (the command is the user's own, as with `sh -c`)
        command,
        shell=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,  # its own process group: a timeout kills its children too
    )
    sent = json.dumps(request)
    run = AdapterRun(stdin=sent)
    try:
        run.killed = _exchange(process, sent.encode(), run, time.monotonic() + timeout)
    finally:
        if run.killed is None and process.poll() is None:  # an exception of our own
            run.killed = "was stopped"
        if run.killed is not None:
            _kill_group(process)
        run.exit_status = process.returncode
    if run.killed == "timeout":
        run.killed = f"did not finish within {timeout:g} s"
    run.parse()
    return run


def _exchange(
    process: subprocess.Popen[bytes], sent: bytes, run: AdapterRun, deadline: float
) -> str | None:
    """Write stdin, read stdout and stderr until both end; why the adapter must be killed."""
    assert process.stdin and process.stdout and process.stderr
    out, err = bytearray(), bytearray()
    with selectors.DefaultSelector() as selector:
        os.set_blocking(process.stdin.fileno(), False)
        selector.register(process.stdin, selectors.EVENT_WRITE)
        selector.register(process.stdout, selectors.EVENT_READ)
        selector.register(process.stderr, selectors.EVENT_READ)
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            for key, _ in selector.select(left):
                if key.fileobj is process.stdin:
                    try:
                        sent = sent[os.write(key.fd, sent[:_CHUNK]) :]
                    except OSError:  # it closed its stdin: its business
                        sent = b""
                    if not sent:
                        selector.unregister(key.fileobj)
                        process.stdin.close()
                    continue
                chunk = os.read(key.fd, _CHUNK)
                if not chunk:
                    selector.unregister(key.fileobj)
                elif key.fileobj is process.stdout:
                    out += chunk
                    if len(out) > MAX_OUTPUT_BYTES:
                        run.stdout = bytes(out[:MAX_OUTPUT_BYTES])
                        return f"printed more than {MAX_OUTPUT_BYTES} bytes on stdout"
                else:
                    run.stderr_cut |= len(err) + len(chunk) > STDERR_KEEP_BYTES
                    err += chunk[: max(0, STDERR_KEEP_BYTES - len(err))]
                    run.stderr = bytes(err)
        run.stdout = bytes(out)
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:  # it closed both pipes and went on running
            return "timeout"
    return None


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:  # a child that left the group may hold the pipes: not our wait
            with contextlib.suppress(OSError):
                stream.close()
    process.wait(timeout=5)


def _state(http: httpx.Client, before: dict[str, int]) -> State:
    """The fake's state after the adapter ran, through the control API."""

    def read(path: str) -> Any:
        return http.get(f"/__fake/{path}").raise_for_status().json()

    requests = read("requests")
    counts = {
        name: count - before.get(name, 0)
        for name, count in requests["counts"].items()
        if count - before.get(name, 0) > 0
    }
    times = {name: arrived[before.get(name, 0) :] for name, arrived in requests["times"].items()}
    return State(
        requests=counts,
        times=times,
        ledger=read("ledger"),
        balance=read("balance"),
        apps=len(read("apps")["apps"]),
        keys=len(read("keys")["keys"]),
    )
