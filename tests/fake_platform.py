"""A fake of Parallel's OAuth platform: a real HTTP server on 127.0.0.1 with scripted answers.

It keeps the state a real one would (registered clients, device codes,
single-use rotating refresh tokens) so that a refresh token used twice, or a
client_id it never issued, fails the way it would in production. Every request
is recorded; `count(path)` says how many came.

Shapes follow ../shared/reference/account-api-auth.md (what Parallel's own CLI
sends and gets): registration is JSON with `client_name` and a `platform` object
of text facts; revoking is a form with the single field `refresh_token`; an
unknown client_id is answered `invalid_client` / "Unknown client_id". The public
client id `parallel-cli` is always known, as on the real platform.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

REGISTER = "/getServiceKeys/register"
DEVICE_CODE = "/getServiceKeys/device/code"
TOKEN = "/getServiceKeys/token"
REVOKE = "/getServiceKeys/token/revoke"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PUBLIC_CLIENT_ID = "parallel-cli"
UNKNOWN_CLIENT = {"error": "invalid_client", "error_description": "Unknown client_id"}

NOW = 1_700_000_000.0


class FakeClock:
    """An injected clock and sleep: sleeping only moves the clock, and is recorded."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Recorded:
    path: str
    params: dict[str, str]
    content_type: str
    body: Any = None  # the JSON body as sent (registration), else None


@dataclass
class FakePlatform:
    """Scripted answers; change the public fields before (or between) requests."""

    # Poll outcomes in order (OAuth error codes); once empty, the poll succeeds.
    poll_script: deque[str] = field(default_factory=deque)
    interval: int | None = 5
    expires_in: int | None = 600
    access_lifetime: int = 3600
    refresh_lifetime: int | None = 86400
    rotate_refresh_tokens: bool = True
    refresh_delay: float = 0.0  # widen the window for concurrent refreshes
    revoke_status: int = 200
    register_status: int = 200  # anything else: registration fails with that status
    # What an unknown client_id gets (the documented answer, unless a test changes it).
    unknown_client_answer: dict[str, Any] = field(default_factory=lambda: dict(UNKNOWN_CLIENT))
    # While set and not yet set(), every device-code poll is answered authorization_pending.
    approval: threading.Event | None = None
    # Hostile answers: fields replaced in the token / device-code answers, or a whole raw body.
    token_overrides: dict[str, Any] = field(default_factory=dict)
    device_overrides: dict[str, Any] = field(default_factory=dict)
    raw_token_answer: bytes | None = None
    requests: list[Recorded] = field(default_factory=list)
    clients: set[str] = field(default_factory=lambda: {PUBLIC_CLIENT_ID})
    live_refresh_tokens: set[str] = field(default_factory=set)
    revoked: list[str] = field(default_factory=list)
    _counter: int = 0
    _device_codes: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------

    def __enter__(self) -> FakePlatform:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                platform._handle(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # ---- helpers for tests -----------------------------------------------

    def count(self, path: str, **params: str) -> int:
        """Requests to `path` whose parameters include `params`."""
        with self._lock:
            return sum(
                1
                for r in self.requests
                if r.path == path and all(r.params.get(k) == v for k, v in params.items())
            )

    def issue_client(self) -> str:
        with self._lock:
            return self._new_client()

    def issue_refresh_token(self) -> str:
        """A refresh token the fake accepts (for a sign-in stored by the test itself)."""
        with self._lock:
            self._counter += 1
            token = f"rt-{self._counter}"
            self.live_refresh_tokens.add(token)
            return token

    # ---- the platform ----------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length).decode("utf-8")
        content_type = request.headers.get("Content-Type") or ""
        body: Any = None
        if content_type.startswith("application/json"):
            body = json.loads(raw or "{}")
            params = {k: str(v) for k, v in body.items()}
        else:
            params = {k: v[-1] for k, v in parse_qs(raw).items()}
        with self._lock:
            self.requests.append(Recorded(request.path, params, content_type, body))
        if request.path == TOKEN and params.get("grant_type") == "refresh_token":
            time.sleep(self.refresh_delay)  # outside the lock: requests may overlap
        with self._lock:
            status, answer = self._answer(request.path, params, content_type, body)
        data = json.dumps(answer).encode("utf-8")
        if request.path == TOKEN and status == 200 and self.raw_token_answer is not None:
            data = self.raw_token_answer
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def _answer(self, path: str, params: dict[str, str], ctype: str, body: Any) -> tuple[int, Any]:
        form = ctype.startswith("application/x-www-form-urlencoded")
        if path == REGISTER:
            if not _is_registration(body):
                return 422, {"detail": "expected JSON with client_name and a platform object"}
            if self.register_status != 200:
                return self.register_status, {"detail": "registration is down"}
            return 200, {"client_id": self._new_client()}
        if not form:
            return 415, {"detail": "expected a form-encoded body"}
        if path == REVOKE:
            if set(params) != {"refresh_token"}:
                return 400, {"error": "invalid_request", "error_description": "refresh_token"}
            self.revoked.append(params["refresh_token"])
            self.live_refresh_tokens.discard(params["refresh_token"])
            return self.revoke_status, {} if self.revoke_status == 200 else {"detail": "boom"}
        if params.get("client_id") not in self.clients:
            return 400, self.unknown_client_answer
        if path == DEVICE_CODE:
            return 200, self._device_code(params)
        if path == TOKEN and params.get("grant_type") == DEVICE_GRANT:
            if params.get("device_code") not in self._device_codes:
                return 400, {"error": "invalid_grant"}
            if self.approval is not None and not self.approval.is_set():
                return 400, {"error": "authorization_pending"}
            if self.poll_script:
                step = self.poll_script.popleft()
                if step.startswith("http:"):  # e.g. "http:503": a passing server fault
                    return int(step[5:]), {"detail": "temporarily unavailable"}
                return 400, {"error": step}
            return 200, self._tokens(scope="keys:read balance:read")
        if path == TOKEN and params.get("grant_type") == "refresh_token":
            token = params.get("refresh_token", "")
            if token not in self.live_refresh_tokens:
                return 400, {"error": "invalid_grant", "error_description": "refresh token expired"}
            if self.rotate_refresh_tokens:
                self.live_refresh_tokens.discard(token)
                return 200, self._tokens()
            body = self._tokens()
            self.live_refresh_tokens.discard(body.pop("refresh_token"))
            return 200, body
        return 404, {"detail": "not found"}

    def _new_client(self) -> str:
        self._counter += 1
        client_id = f"client-{self._counter}"
        self.clients.add(client_id)
        return client_id

    def _device_code(self, params: dict[str, str]) -> dict[str, Any]:
        self._counter += 1
        code = f"device-{self._counter}"
        self._device_codes.add(code)
        body: dict[str, Any] = {
            "device_code": code,
            "user_code": "WDJB-MJHT",
            "verification_uri": f"{self.url}/device",
            "verification_uri_complete": f"{self.url}/device?user_code=WDJB-MJHT",
            "scope_echo": params.get("scope"),
        }
        if self.interval is not None:
            body["interval"] = self.interval
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        body.update(self.device_overrides)
        return body

    def _tokens(self, scope: str | None = None) -> dict[str, Any]:
        self._counter += 1
        n = self._counter
        refresh = f"rt-{n}"
        self.live_refresh_tokens.add(refresh)
        body: dict[str, Any] = {
            "access_token": f"at-{n}",
            "refresh_token": refresh,
            "token_type": "Bearer",
            "expires_in": self.access_lifetime,
            "org_id": "org_123",
            "org_name": "Acme Research",
        }
        if self.refresh_lifetime is not None:
            body["refresh_token_expires_in"] = self.refresh_lifetime
        if scope is not None:
            body["scope"] = scope
        body.update(self.token_overrides)
        return body


def _is_registration(body: Any) -> bool:
    """JSON with a client_name and a `platform` object of text facts, as the reference says."""
    return (
        isinstance(body, dict)
        and isinstance(body.get("client_name"), str)
        and isinstance(body.get("platform"), dict)
        and all(isinstance(v, str) and v for v in body["platform"].values())
    )
