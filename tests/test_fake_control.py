"""The fake's control API (/__fake/): the Python API's features over HTTP, each endpoint
documented by a JSON Schema; the spec and the facts served; loopback only by default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema  # type: ignore[import-untyped]
import pytest

from parallel_account._spec import spec_text
from parallel_account.testing import FakeAccountAPI, remote_refusal
from parallel_account.testing._control import _HANDLERS, endpoint_schemas, facts_bytes
from parallel_account_api.spec_facts import OPERATIONS
from tests.support import LOWEST, ROOT, SHORTEST

SCHEMAS = ROOT / "overrides" / "parallel_account" / "schemas"
JSON_TYPE = {"content-type": "application/json"}


@pytest.fixture
def served() -> Iterator[tuple[FakeAccountAPI, httpx.Client, httpx.Client]]:
    """A served fake, a client on its root (control API) and one on its API base URL."""
    fake = FakeAccountAPI(token="control-test-token")
    with fake.serve() as base_url:
        root = base_url.removesuffix(fake.base_url.split(".invalid", 1)[1])
        headers = {"authorization": "Bearer control-test-token"}
        with (
            httpx.Client(base_url=root, timeout=5) as control,
            httpx.Client(base_url=base_url, headers=headers, timeout=5) as api,
        ):
            yield fake, control, api


def _entry(method: str, path: str) -> dict[str, Any]:
    return next(
        e for e in endpoint_schemas()["endpoints"] if (e["method"], e["path"]) == (method, path)
    )


def _checked(response: httpx.Response, method: str, path: str) -> Any:
    """The answer's JSON, after checking it against the endpoint's published response schema."""
    assert response.status_code == 200, response.text
    document = response.json()
    jsonschema.validate(document, _entry(method, path)["response_schema"])
    return document


def test_every_endpoint_has_a_valid_schema_and_a_handler() -> None:
    documented = {(e["method"], e["path"]) for e in endpoint_schemas()["endpoints"]}
    assert documented == set(_HANDLERS)
    for entry in endpoint_schemas()["endpoints"]:
        for key in ("request_schema", "response_schema"):
            if entry[key] is not None:
                jsonschema.Draft202012Validator.check_schema(entry[key])
    jsonschema.Draft202012Validator.check_schema(endpoint_schemas()["error_schema"])


def test_the_index_lists_the_endpoints_with_their_schemas(served: Any) -> None:
    _, control, _ = served
    index = _checked(control.get("/__fake/"), "GET", "/__fake/")
    assert len(index["endpoints"]) == len(_HANDLERS)
    assert control.get("/__fake").json() == index  # without the slash too


def test_drop_after_commit_through_http_charges_once(served: Any) -> None:
    fake, control, api = served
    body = {"amount_cents": LOWEST, "idempotency_key": "control-order-1"}
    _checked(
        control.post(
            "/__fake/faults/drop_next", json={"operation": "add_balance", "after_commit": True}
        ),
        "POST",
        "/__fake/faults/drop_next",
    )
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(OPERATIONS["add_balance"].path, json=body)
    assert api.post(OPERATIONS["add_balance"].path, json=body).status_code == 200
    ledger = _checked(control.get("/__fake/ledger"), "GET", "/__fake/ledger")
    assert ledger["charges"] == 1
    assert ledger["entries"] == [
        {
            "idempotency_key": "control-order-1",
            "amount_cents": LOWEST,
            "charges": 1,
            "replays": 1,
            "conflicts": 0,
        }
    ]
    charges = control.get("/__fake/charges", params={"idempotency_key": "control-order-1"})
    assert _checked(charges, "GET", "/__fake/charges")["charges"] == fake.charges_for(
        "control-order-1"
    )
    requests = _checked(control.get("/__fake/requests"), "GET", "/__fake/requests")
    assert requests["counts"] == {"add_balance": 2} == fake.requests
    assert len(requests["times"]["add_balance"]) == 2
    faults = _checked(control.get("/__fake/faults"), "GET", "/__fake/faults")
    assert faults["injected"] == {"drop_after_commit": 1}


def test_fail_next_sends_the_status_and_retry_after(served: Any) -> None:
    _, control, api = served
    control.post(
        "/__fake/faults/fail_next",
        json={"status": 429.0, "retry_after": 3, "retry_after_ms": 2500, "n": 2},  # 429.0 is 429
    ).raise_for_status()
    for _ in range(2):
        refused = api.get(OPERATIONS["get_balance"].path)
        assert (refused.status_code, refused.headers["retry-after"]) == (429, "3")
        assert refused.headers["retry-after-ms"] == "2500"
    assert api.get(OPERATIONS["get_balance"].path).status_code == 200


def test_delay_random_and_clear(served: Any) -> None:
    fake, control, api = served
    control.post("/__fake/faults/delay_next", json={"seconds": 0.2}).raise_for_status()
    with pytest.raises(httpx.ReadTimeout):
        api.get(OPERATIONS["get_balance"].path, timeout=0.05)
    control.post(
        "/__fake/faults/random", json={"seed": "s", "rate": 1, "kinds": ["status"]}
    ).raise_for_status()
    assert api.get(OPERATIONS["get_balance"].path).status_code >= 400
    _checked(control.post("/__fake/faults/clear"), "POST", "/__fake/faults/clear")
    assert api.get(OPERATIONS["get_balance"].path).status_code == 200
    assert fake.injected == {"delay": 1, "status": 1}


def test_balance_apps_keys_token_and_reset(served: Any) -> None:
    fake, control, api = served
    new = _checked(
        control.post("/__fake/balance", json={"credit_balance_cents": 1234, "will_invoice": True}),
        "POST",
        "/__fake/balance",
    )
    assert new == _checked(control.get("/__fake/balance"), "GET", "/__fake/balance")
    assert (fake.balance.credit_balance_cents, fake.balance.will_invoice) == (1234, True)
    app_id = api.post(OPERATIONS["create_app"].path, json={"app_name": "a"}).json()["app_id"]
    created = api.post(
        OPERATIONS["create_key"].path.format(app_id=app_id), json={"api_key_name": "k"}
    ).json()
    apps = _checked(control.get("/__fake/apps"), "GET", "/__fake/apps")
    assert [a["app_id"] for a in apps["apps"]] == [app_id]
    keys = control.get("/__fake/keys")
    assert [k["api_key_id"] for k in _checked(keys, "GET", "/__fake/keys")["keys"]] == [
        created["api_key_id"]
    ]
    assert created["raw_api_key"] not in keys.text  # the raw key is never shown again
    _checked(control.post("/__fake/token", json={"token": "rotated"}), "POST", "/__fake/token")
    assert api.get(OPERATIONS["get_balance"].path).status_code == 401
    assert fake.token == "rotated"
    control.post("/__fake/faults/fail_next", json={}).raise_for_status()
    _checked(control.post("/__fake/reset", json={}), "POST", "/__fake/reset")
    assert (fake.apps, fake.keys, fake.ledger, fake.requests) == ({}, {}, {}, {})
    assert fake.balance.credit_balance_cents == 0
    assert fake.token == "rotated"  # configuration, not state
    api.headers["authorization"] = "Bearer rotated"
    assert api.get(OPERATIONS["get_balance"].path).status_code == 200  # the fault went too


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/__fake/faults/fail_next", {"status": "503"}, "status"),
        ("POST", "/__fake/faults/fail_next", {"status": 200}, "status"),
        ("POST", "/__fake/faults/fail_next", {"operation": "no_such_operation"}, "operation"),
        ("POST", "/__fake/faults/fail_next", {"n": 0}, "n"),
        ("POST", "/__fake/faults/drop_next", {"after_commit": "yes"}, "after_commit"),
        ("POST", "/__fake/faults/drop_next", {"after": True}, "after"),
        ("POST", "/__fake/faults/delay_next", {}, "seconds"),
        ("POST", "/__fake/faults/random", {"seed": 1, "rate": 2}, "rate"),
        ("POST", "/__fake/faults/random", {"seed": 1, "rate": 1, "kinds": ["x"]}, "kinds.0"),
        ("POST", "/__fake/balance", {"credit_balance_cents": 1.5}, "credit_balance_cents"),
        ("POST", "/__fake/token", {"token": ""}, "token"),
        ("GET", "/__fake/charges", None, "idempotency_key"),
        ("POST", "/__fake/reset", [], None),
        ("POST", "/__fake/reset", b"{not json", None),
    ],
)
def test_a_bad_control_request_is_400_naming_the_field(
    served: Any, method: str, path: str, body: Any, field: str | None
) -> None:
    fake, control, _ = served
    content = body if isinstance(body, bytes) else None if body is None else json.dumps(body)
    answer = control.request(method, path, content=content, headers=JSON_TYPE)
    assert answer.status_code == 400
    jsonschema.validate(answer.json(), endpoint_schemas()["error_schema"])
    assert answer.json()["error"]["field"] == field
    assert fake.injected == {}


def test_unknown_endpoint_404_and_wrong_method_405(served: Any) -> None:
    _, control, _ = served
    assert control.get("/__fake/nothing").status_code == 404
    answer = control.delete("/__fake/ledger")
    assert (answer.status_code, answer.headers["allow"]) == (405, "GET")
    jsonschema.validate(answer.json(), endpoint_schemas()["error_schema"])


def test_control_requests_are_not_counted_or_faulted(served: Any) -> None:
    fake, control, _ = served
    control.post("/__fake/faults/drop_next", json={"n": 5}).raise_for_status()
    assert control.get("/__fake/ledger").status_code == 200
    assert fake.requests == {}


def test_the_spec_and_the_facts_are_served(served: Any) -> None:
    _, control, api = served
    for where in ("openapi.json", "service/openapi.json"):  # the second: the live API's path
        spec = api.get(where)
        assert (spec.status_code, spec.text) == (200, spec_text())
    facts = control.get("/__fake/facts")
    assert facts.content == facts_bytes()
    assert facts.json()["operations"].keys() == OPERATIONS.keys()


def test_the_transport_serves_the_control_api_too() -> None:
    fake = FakeAccountAPI()
    root = fake.base_url.rsplit("/", 1)[0]
    with httpx.Client(transport=fake.transport(), base_url=root) as control:
        control.post("/__fake/balance", json={"credit_balance_cents": 7}).raise_for_status()
    assert fake.balance.credit_balance_cents == 7


def test_remote_addresses_are_refused_unless_allowed() -> None:
    assert remote_refusal("127.0.0.1", False) is None
    assert remote_refusal("::1", False) is None
    assert remote_refusal("192.0.2.1", True) is None
    refusal = remote_refusal("192.0.2.1", False)
    assert refusal is not None
    assert "--allow-remote" in refusal
    done = subprocess.run(
        [sys.executable, "-m", "parallel_account.cli", "mock-server", "--host", "192.0.2.1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "not a loopback address" in done.stderr


_SAMPLES: list[Any] = [
    {},
    {"n": 2},
    {"n": True},
    {"n": 1.0},
    {"n": -1},
    {"status": 503, "retry_after": "Wed, 21 Oct 2026 07:28:00 GMT"},
    {"status": 503, "retry_after": -1},
    {"retry_after": None, "operation": None},
    {"after_commit": 1},
    {"seconds": 0.5},
    {"seconds": 4000},
    {"seed": "abc", "rate": 0.5, "kinds": []},
    {"seed": 1.5, "rate": 0.5},
    {"seed": 1, "rate": 0, "statuses": [429, 700]},
    {"credit_balance_cents": 5, "will_invoice": None},
    {"token": "t" * 5000},
    {"idempotency_key": ""},
    {"unknown": 1},
]


@pytest.mark.parametrize("body", _SAMPLES)
def test_the_fake_s_schema_check_agrees_with_jsonschema(body: Any) -> None:
    """The package's schema engine (no runtime dependency) gives jsonschema's verdict."""
    from parallel_account.testing._control import BadControlRequest, check

    for entry in endpoint_schemas()["endpoints"]:
        schema = entry["request_schema"]
        if schema is None:
            continue
        expected = jsonschema.Draft202012Validator(schema).is_valid(body)
        try:
            check(body, schema)
            accepted = True
        except BadControlRequest:
            accepted = False
        assert accepted == expected, (entry["method"], entry["path"], body)


# --- a fake you can see into: health, the request log, queued faults ----------------------------


def test_health_answers_with_the_pid_and_the_spec(served: Any) -> None:
    from parallel_account._spec import SPEC_SHA256

    _, control, _ = served
    health = _checked(control.get("/__fake/health"), "GET", "/__fake/health")
    assert health["ok"] is True
    assert health["pid"] == os.getpid()
    assert health["spec_sha256"] == SPEC_SHA256


def test_requests_lists_each_request_with_its_operation_status_key_and_fault(
    served: Any,
) -> None:
    fake, control, api = served
    path = OPERATIONS["add_balance"].path
    key = "seen-".ljust(SHORTEST, "1")
    body = {"amount_cents": LOWEST, "idempotency_key": key}
    control.post(
        "/__fake/faults/drop_next", json={"operation": "add_balance", "after_commit": True}
    ).raise_for_status()
    control.post("/__fake/faults/fail_next", json={"operation": "get_balance"}).raise_for_status()
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(path, json=body)
    api.post(path, json=body).raise_for_status()
    assert api.get(OPERATIONS["get_balance"].path).status_code == 503
    log = _checked(control.get("/__fake/requests"), "GET", "/__fake/requests")["log"]
    seen = [
        (e["method"], e["path"], e["operation"], e["status"], e["idempotency_key"], e["fault"])
        for e in log
    ]
    base = urlsplit(str(api.base_url)).path.rstrip("/")
    assert seen == [
        ("POST", base + path, "add_balance", None, key, "drop_after_commit"),
        ("POST", base + path, "add_balance", 200, key, None),
        ("GET", base + OPERATIONS["get_balance"].path, "get_balance", 503, None, "status"),
    ]
    assert [e["request_id"] for e in log[1:]] != [None, None]
    assert log[0]["request_id"] is None  # no answer was sent
    assert fake.request_log == log
    fake.reset()
    assert control.get("/__fake/requests").json()["log"] == []


def test_faults_lists_the_queued_faults_and_the_random_ones(served: Any) -> None:
    fake, control, api = served
    control.post(
        "/__fake/faults/fail_next",
        json={"n": 2, "status": 429, "operation": "get_balance", "retry_after": 3},
    ).raise_for_status()
    control.post("/__fake/faults/delay_next", json={"seconds": 0.5}).raise_for_status()
    control.post("/__fake/faults/random", json={"seed": 1, "rate": 0.25}).raise_for_status()
    faults = _checked(control.get("/__fake/faults"), "GET", "/__fake/faults")
    assert faults["queued"] == [
        {
            "kind": "status",
            "remaining": 2,
            "operation": "get_balance",
            "status": 429,
            "headers": {"retry-after": "3"},
            "delay_seconds": None,
        },
        {
            "kind": "delay",
            "remaining": 1,
            "operation": None,
            "status": None,
            "headers": {},
            "delay_seconds": 0.5,
        },
    ]
    assert faults["random"]["rate"] == 0.25
    assert faults["injected"] == {}
    assert api.get(OPERATIONS["get_balance"].path).status_code == 429
    after = control.get("/__fake/faults").json()
    assert after["queued"][0]["remaining"] == 1
    assert after["injected"] == {"status": 1}
    assert fake.queued_faults == after["queued"]
    control.post("/__fake/faults/clear").raise_for_status()
    assert control.get("/__fake/faults").json()["queued"] == []


# --- issue 18 #13: a web page cannot drive the control API --------------------------------------


_JSON = "application/json"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        # DNS rebinding: the page's own name, resolved to 127.0.0.1.
        ({"host": "attacker.example", "content-type": _JSON}, 403),
        ({"host": "attacker.example:80", "content-type": _JSON}, 403),
        ({"origin": "http://attacker.example", "content-type": _JSON}, 403),  # a page elsewhere
        ({"origin": "null", "content-type": _JSON}, 403),  # a sandboxed frame
        ({"content-type": "text/plain"}, 415),  # a "simple" request: no CORS preflight
        ({"content-type": "application/x-www-form-urlencoded"}, 415),
        ({"content-type": "multipart/form-data; boundary=x"}, 415),
        ({}, 415),  # a Blob body without a type: no content-type at all
    ],
)
def test_a_web_page_cannot_drive_the_control_api(
    served: Any, headers: dict[str, str], status: int
) -> None:
    fake, control, _ = served
    body = json.dumps({"credit_balance_cents": 999})
    answer = control.post("/__fake/balance", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    jsonschema.validate(answer.json(), endpoint_schemas()["error_schema"])
    assert fake.balance.credit_balance_cents == 0


def test_loopback_names_its_own_origin_and_json_are_accepted(served: Any) -> None:
    _, control, _ = served
    port = urlsplit(str(control.base_url)).port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "127.0.0.1", "[::1]"):
        assert control.get("/__fake/balance", headers={"host": host}).status_code == 200, host
    own = {"origin": f"http://127.0.0.1:{port}", "content-type": "application/json; charset=utf-8"}
    body = json.dumps({"credit_balance_cents": 5})
    assert control.post("/__fake/balance", content=body, headers=own).status_code == 200
    assert control.post("/__fake/reset").status_code == 200  # no body: no type needed
    assert control.get("/__fake/ledger", headers={"origin": "http://x.example"}).status_code == 403


# --- issue 18 #14: retry_after is checked before it becomes a header ----------------------------


@pytest.mark.parametrize(
    "retry_after",
    ["1\r\nx-injected: yes", "1\nx", "\x00", "bientôt", "soon…", "\uff19", " 1", "1" * 201],
)
def test_a_retry_after_a_header_cannot_carry_is_400_naming_it(
    served: Any, retry_after: str
) -> None:
    fake, control, api = served
    answer = control.post("/__fake/faults/fail_next", json={"retry_after": retry_after})
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "retry_after"
    assert fake.queued_faults == []
    with pytest.raises(ValueError, match=r"^retry_after: "):
        fake.fail_next(retry_after=retry_after)
    assert api.get(OPERATIONS["get_balance"].path).status_code == 200


@pytest.mark.parametrize("retry_after", ["Wed, 21 Oct 2026 07:28:00 GMT", "2", "soon"])
def test_a_printable_retry_after_is_sent_as_given(served: Any, retry_after: str) -> None:
    _, control, api = served
    control.post("/__fake/faults/fail_next", json={"retry_after": retry_after}).raise_for_status()
    refused = api.get(OPERATIONS["get_balance"].path)
    assert (refused.status_code, refused.headers["retry-after"]) == (503, retry_after)
