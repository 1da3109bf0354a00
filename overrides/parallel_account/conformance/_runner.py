"""Running one scenario: a fresh fake, its set-up over HTTP, the adapter, the checks.

Per scenario the runner serves a new `FakeAccountAPI` on 127.0.0.1 (a random
token), applies the set-up through the control API and the Account API over
HTTP, as a team in another language would, notes the request counts, runs the
adapter through the shell with `PARALLEL_SERVICE_API_URL` and
`PARALLEL_ACCOUNT_TOKEN` set and one JSON object on stdin, reads one JSON object
from its stdout and checks the expectations (`_expect`) against it and the
fake's state, read back through the control API. The adapter's whole process
group is killed when it outlives the timeout. Nothing the runner reports
contains the token or a raw API key: every line is scrubbed of both.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote, urlsplit

import httpx

from parallel_account.conformance._expect import State, check, protocol_problems
from parallel_account.conformance._scenarios import References, Scenario, ScenarioError
from parallel_account_api.spec_facts import OPERATIONS

DEFAULT_ADAPTER_TIMEOUT: Final = 60.0  # seconds for one adapter run; scenarios need far less
MAX_OUTPUT_BYTES: Final = 1 << 20  # an adapter printing more is broken
_WRONG_TOKEN: Final = "conformance-wrong-token"  # noqa: S105 (a value the fake refuses)


@dataclass
class Result:
    name: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

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
    try:
        with fake.serve(port=0, host="127.0.0.1") as base_url:
            try:
                problems = _run(scenario, adapter, adapter_timeout, base_url, token, secret_texts)
            finally:  # every live key's raw value, however the adapter printed it
                secret_texts |= {key.raw_api_key for key in fake.keys.values()}
    except ScenarioError as exc:
        problems = [f"cannot run: {exc}"]
    except httpx.HTTPError as exc:
        problems = [f"set-up failed: {type(exc).__name__}: {exc}"]
    scrubbed = [_scrub(problem, secret_texts) for problem in problems]
    return Result(scenario.name, not problems, scrubbed, time.monotonic() - started)


def _run(
    scenario: Scenario,
    adapter: str,
    adapter_timeout: float,
    base_url: str,
    token: str,
    secret_texts: set[str],
) -> list[str]:
    """The scenario's problems; every secret met (raw API keys) is added to `secret_texts`."""
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
            _set_up(http, base_url, token, step, refs)
        secret_texts |= _secret_values(refs.saved)
        before = http.get("/__fake/requests").raise_for_status().json()["counts"]
        arguments = refs.arguments_for(scenario.call["operation"], scenario.call["arguments"])
        refs.arguments = arguments
        request = {
            "operation": scenario.call["operation"],
            "arguments": arguments,
            "timeout_seconds": scenario.timeout_seconds,
        }
        given_token = _WRONG_TOKEN if scenario.wrong_token else token
        output, problems = _adapter(adapter, request, base_url, given_token, adapter_timeout)
        secret_texts |= _secret_values(output)
        if problems:
            return problems
        state = _state(http, before)
    return check(scenario.expect, output, state, refs)


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


def _adapter(
    command: str, request: dict[str, Any], base_url: str, token: str, timeout: float
) -> tuple[Any, list[str]]:
    """Run the adapter once: its parsed stdout, or the problems with how it answered."""
    env = dict(os.environ, PARALLEL_SERVICE_API_URL=base_url, PARALLEL_ACCOUNT_TOKEN=token)
    process = subprocess.Popen(  # noqa: S602 (the command is the user's own, as with `sh -c`)
        command,
        shell=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,  # its own process group: a timeout kills its children too
    )
    try:
        stdout, stderr = process.communicate(json.dumps(request).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        return None, [f"the adapter did not finish within {timeout:g} s (killed)"]
    if len(stdout) > MAX_OUTPUT_BYTES:
        return None, [f"the adapter printed {len(stdout)} bytes; expected one JSON object"]
    text = stdout.decode("utf-8", "replace").strip()
    try:
        output = json.loads(text.splitlines()[-1] if text else "")
    except ValueError:
        tail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        why = f"exit status {process.returncode}" + (
            f", stderr: {tail[0][:200]}" if tail[0] else ""
        )
        return None, [f"the adapter's stdout is not one JSON object ({why})"]
    return output, protocol_problems(output)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    try:
        process.communicate(timeout=5)
    except subprocess.TimeoutExpired:  # a child left the group and holds the pipes open
        process.kill()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
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


#: Answer fields the spec marks secret (`format: password`, `writeOnly`): a new key's raw key.
_SECRET_FIELDS: Final = frozenset(
    f.name for op in OPERATIONS.values() for f in op.response_fields if f.secret
)


def _secret_values(document: Any) -> set[str]:
    """Every text under a secret field name, anywhere in `document`."""
    found: set[str] = set()
    if isinstance(document, dict):
        for name, value in document.items():
            if name in _SECRET_FIELDS and isinstance(value, str):
                found.add(value)
            else:
                found |= _secret_values(value)
    elif isinstance(document, list):
        for item in document:
            found |= _secret_values(item)
    return found


def _scrub(text: str, secret_texts: set[str]) -> str:
    for secret in secret_texts:
        if secret:
            text = text.replace(secret, "[secret]")
    return text
