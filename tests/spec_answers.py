"""Clients whose every call succeeds: answers made from the pinned spec, as Prism's static mode.

For tests that need a success from every operation (request ids, raw responses,
headers): the answers come from `parallel_account.testing`'s spec sampler, and
each carries a new `x-request-id`, recorded with the request it answered.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

import parallel_account as pa
from parallel_account.testing._sample import spec_answer
from parallel_account_api.spec_facts import OPERATIONS
from tests.support import FACES as FACES  # re-exported: the tests over both faces
from tests.test_surface import python_call

TOKEN = "spec-answers-token-5b1e"
BASE = "https://api.example.test/account"


@dataclass
class SpecAnswers:
    """A MockTransport handler answering each request with its operation's spec sample."""

    requests: list[httpx.Request] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    before: list[httpx.Response] = field(default_factory=list)  # answered first, in order

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        request_id = f"req_{uuid.uuid4().hex[:16]}"
        self.request_ids.append(request_id)
        if self.before:
            queued = self.before.pop(0)
            headers = [*queued.headers.multi_items(), ("x-request-id", request_id)]
            return httpx.Response(queued.status_code, headers=headers, content=queued.content)
        path = request.url.path.removeprefix(httpx.URL(BASE).path)
        op = next(
            op
            for op in OPERATIONS.values()
            if op.method == request.method and _matches(op.path, path)
        )
        outcome = spec_answer(op)
        headers = [*outcome.headers, ("x-request-id", request_id)]
        return httpx.Response(outcome.status, headers=headers, content=outcome.body)


def _matches(template: str, path: str) -> bool:
    wanted, got = template.strip("/").split("/"), path.strip("/").split("/")
    return len(wanted) == len(got) and all(
        w == g or (w.startswith("{") and w.endswith("}")) for w, g in zip(wanted, got, strict=True)
    )


def run(
    face: str,
    handler: SpecAnswers,
    use: Callable[[Any], Any],
    **options: Any,
) -> Any:
    """`use(client)` with a client of `face` over `handler`; awaited for the async face."""
    transport = httpx.MockTransport(handler)
    options.setdefault("sleep", _no_sleep(face))
    if face == "sync":
        with pa.AccountClient(
            TOKEN, base_url=BASE, http_client=httpx.Client(transport=transport), **options
        ) as client:
            return use(client)

    async def go() -> Any:
        async with pa.AsyncAccountClient(
            TOKEN, base_url=BASE, http_client=httpx.AsyncClient(transport=transport), **options
        ) as client:
            return await use(client)

    return asyncio.run(go())


def _no_sleep(face: str) -> Callable[[float], Any]:
    async def later(seconds: float) -> None:
        return None

    return (lambda seconds: None) if face == "sync" else later


def call_sample(name: str, **per_call: Any) -> Callable[[Any], Any]:
    """A `use` calling operation `name` with sample arguments (and per-call options)."""
    positional, keywords = python_call(OPERATIONS[name])
    return lambda target: getattr(target, name)(*positional, **keywords, **per_call)
