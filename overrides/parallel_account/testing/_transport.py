"""Way in 1: an httpx transport (sync and async) serving the fake in process, without sockets."""

from __future__ import annotations

import httpx

from parallel_account.testing._answer import Answering


class FakeTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Serves requests from a FakeAccountAPI in process, for httpx.Client and httpx.AsyncClient.

    Args:
        fake: the FakeAccountAPI that answers.
    """

    def __init__(self, fake: Answering) -> None:
        self.fake = fake

    def __repr__(self) -> str:
        return f"FakeTransport({self.fake!r})"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer `request` from the fake (raises httpx.RemoteProtocolError for a dropped one)."""
        request.read()
        return self._respond(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer `request` from the fake, for httpx.AsyncClient."""
        await request.aread()
        return self._respond(request)

    def _respond(self, request: httpx.Request) -> httpx.Response:
        raw_path = request.url.raw_path.decode("ascii")
        answer = self.fake._handle(request.method, raw_path, request.headers, request.content)
        if answer.drop:
            # What httpx raises when a real server closes the connection without answering.
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        # No time passes here: a delay matters only if it outlasts the read timeout.
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        read_timeout = timeouts.get("read")
        if answer.delay and read_timeout is not None and answer.delay > read_timeout:
            raise httpx.ReadTimeout("The read operation timed out", request=request)
        # An answer to HEAD has the headers only, as from the served fake.
        body = b"" if request.method == "HEAD" else answer.body
        return httpx.Response(answer.status, headers=answer.headers, content=body, request=request)
