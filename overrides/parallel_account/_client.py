"""`AccountClient` and `AsyncAccountClient`: two faces of one implementation.

Everything that decides (validation, request building, retries, backoff, error
mapping, logging) lives in `_request`, `_retry` and `_attempts`; the classes
here only hold configuration and drive the shared attempt loop with blocking or
awaitable I/O. The typed methods, one per operation of the pinned spec, are
generated (`parallel_account_api.operations`) and inherited: each hands its
arguments to `_call`, under the spec's own names.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from parallel_account._attempts import SendResult, Sleep, attempts
from parallel_account._auth import TokenProvider, resolve_auth
from parallel_account._env import CUSTOM_HEADERS_ENV
from parallel_account._errors import InvalidRequestError
from parallel_account._headers import CLIENT_OWNED, checked, from_env, layered
from parallel_account._logging import configure_from_env
from parallel_account._raw import RawHTTPResponse
from parallel_account._reading import (
    ACCEPT_ENCODING,
    DEFAULT_MAX_RESPONSE_BYTES,
    BoundedBody,
    attempt_seconds,
    reading_until,
)
from parallel_account._request import Call, build, call_arguments, operation_named
from parallel_account._retry import RetryPolicy
from parallel_account._urls import api_base_url, is_loopback
from parallel_account._version import __version__
from parallel_account_api.operations import (
    NOT_GIVEN,
    AsyncOperations,
    AsyncRawOperations,
    NotGiven,
    SyncOperations,
    SyncRawOperations,
)
from parallel_account_api.spec_facts import SPEC_SHA256

T = TypeVar("T")
Token = str | Callable[[], str] | httpx.Auth | TokenProvider | None
USER_AGENT = (
    f"parallel-account-client/{__version__} "
    f"(python {'.'.join(map(str, sys.version_info[:3]))}; spec {SPEC_SHA256[:8]})"
)
DEFAULT_MAX_RETRIES = 2
_OWN_HEADERS = dict(
    zip(CLIENT_OWNED, (USER_AGENT, "application/json", ACCEPT_ENCODING), strict=True)
)
MAX_TIMEOUT = 86_400.0
_URL_CACHE_SIZE = 256


def _check_options(timeout: object, max_retries: object) -> None:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float | httpx.Timeout | None):
        raise InvalidRequestError(
            f"timeout: got {type(timeout).__name__}; expected seconds (a positive number), "
            "an httpx.Timeout, or None for no timeout"
        )
    parts = (
        [timeout.connect, timeout.read, timeout.write, timeout.pool]
        if isinstance(timeout, httpx.Timeout)
        else [timeout]
    )
    for part in parts:
        if part is not None and not (0 < part <= MAX_TIMEOUT):
            raise InvalidRequestError(
                f"timeout: got {part:.6g}; expected a positive number of seconds up to "
                f"{MAX_TIMEOUT} (a day), or None for no timeout"
            )
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise InvalidRequestError(f"max_retries: got {max_retries!r}; expected an int >= 0")


async def _asyncio_sleep(seconds: float) -> None:
    # Imported on first use: asyncio adds about 25 ms (measured here) to a sync-only import.
    import asyncio

    await asyncio.sleep(seconds)


class _ClientBase:
    """Configuration shared by both clients; never used on its own."""

    _http: httpx.Client | httpx.AsyncClient
    _owns_http: bool
    _sleep: Callable[[float], object]

    def _configure(
        self,
        token: Token,
        base_url: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int | None,
        policy: RetryPolicy | None,
        max_response_bytes: int,
        default_headers: Mapping[str, str] | None,
        http_client: httpx.Client | httpx.AsyncClient | None,
        sleep: Callable[[float], object],
    ) -> None:
        """Check and keep the options, for both clients (each makes its own kind of
        httpx client, `_new_http_client`, when none is given)."""
        expected, twin = (
            (httpx.Client, AsyncAccountClient)
            if isinstance(self, AccountClient)
            else (httpx.AsyncClient, AccountClient)
        )
        if http_client is not None and not isinstance(http_client, expected):
            other = httpx.AsyncClient if expected is httpx.Client else httpx.Client
            raise InvalidRequestError(
                f"http_client: got {type(http_client).__name__}; expected an "
                f"httpx.{expected.__name__} (use {twin.__name__} for an httpx.{other.__name__})"
            )
        self._owns_http = http_client is None
        configure_from_env()
        # Checked before anything else is set up: a bad header fails here, not at a call.
        self._headers = layered(
            from_env(os.environ.get(CUSTOM_HEADERS_ENV)),
            checked("default_headers", default_headers),
        )
        if (
            isinstance(max_response_bytes, bool)
            or not isinstance(max_response_bytes, int)
            or max_response_bytes < 1
        ):
            raise InvalidRequestError(
                f"max_response_bytes: got {max_response_bytes!r:.40}; expected an int >= 1"
            )
        self._max_response_bytes = max_response_bytes
        # An explicit policy's max_retries wins over the default; an explicit max_retries
        # wins over both.
        if max_retries is None:
            max_retries = policy.max_retries if policy is not None else DEFAULT_MAX_RETRIES
        _check_options(timeout, max_retries)
        self._base_url = api_base_url(base_url)
        self._auth = resolve_auth(token)
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._policy = dataclasses.replace(policy or RetryPolicy(), max_retries=max_retries)
        self._http = http_client if http_client is not None else self._new_http_client()
        self._sleep = sleep

    def _new_http_client(self) -> httpx.Client | httpx.AsyncClient:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        """The API root every request goes to (read-only)."""
        return self._base_url

    @property
    def timeout(self) -> httpx.Timeout:
        """The timeout of each attempt (read-only; `with_options(timeout=...)` changes it)."""
        return self._timeout

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt (read-only; `with_options(max_retries=...)`)."""
        return self._policy.max_retries

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        default_headers: Mapping[str, str] | None = None,
    ) -> Self:
        """A client with other options, sharing this one's connection pool and credentials.

        Args:
            timeout: as the constructor's; omitted: this client's.
            max_retries: as the constructor's; omitted: this client's.
            default_headers: added over this client's (the same name replaces it);
                omitted: this client's.

        Returns:
            A new client of the same class; closing it leaves the shared pool open (close
            the original).

        Raises:
            InvalidRequestError: an option or header is not allowed (named in the message).
        """
        timeout = self._timeout if isinstance(timeout, NotGiven) else timeout
        retries = self._policy.max_retries if isinstance(max_retries, NotGiven) else max_retries
        _check_options(timeout, retries)
        headers = checked("default_headers", default_headers)
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        clone._policy = dataclasses.replace(self._policy, max_retries=retries)
        clone._headers = layered(list(self._headers.multi_items()), headers)
        clone._owns_http = False  # the pool belongs to the client it was derived from
        return clone

    def _prepare(
        self,
        operation: str,
        arguments: Mapping[str, object],
        extra_headers: Mapping[str, str] | None,
        timeout: float | httpx.Timeout | NotGiven | None,
    ) -> tuple[Self, Call[Any], list[tuple[str, str]]]:
        """Everything checked before any request: the arguments and the per-call options.

        Returns the client to send with (this one, or one with the call's timeout), the
        built call and the call's extra headers.
        """
        headers = checked("extra_headers", extra_headers)
        client = self if isinstance(timeout, NotGiven) else self.with_options(timeout=timeout)
        return client, build(operation_named(operation), arguments), headers

    def _own_client_options(self) -> dict[str, Any]:
        """Options of the httpx client we create (a caller's own client is used as given).

        A loopback target (a local fake, a tunnel) is never sent through a proxy from
        the environment (HTTP_PROXY, ALL_PROXY): over plain http that proxy would read
        the bearer token. Other targets are https, which a proxy only tunnels.
        """
        host = httpx.URL(self._base_url).host
        return {"follow_redirects": False, "trust_env": not is_loopback(host)}

    def _attempt_deadline(self) -> float | None:
        seconds = attempt_seconds(self._timeout)
        return None if seconds is None else time.monotonic() + seconds

    def _url(self, path: str) -> httpx.URL:
        """The parsed URL of `path` under base_url, parsed once per path (a URL is immutable)."""
        urls: dict[str, httpx.URL] = self.__dict__.setdefault("_urls", {})
        url = urls.get(path)
        if url is None:
            if len(urls) >= _URL_CACHE_SIZE:  # ids in paths vary without end: stay bounded
                urls.clear()
            url = urls[path] = httpx.URL(self._base_url + path)
        return url

    def _build(self, call: Call[Any], extra_headers: list[tuple[str, str]]) -> httpx.Request:
        kwargs = dict(call.request_kwargs)
        request_own: dict[str, str] = kwargs.pop("headers", {})  # Content-Type, if a body
        headers: dict[str, str] | httpx.Headers
        if self._headers or extra_headers:
            # Lowest first: environment and default_headers, this call's, the request's
            # own, then the client's.
            headers = layered(
                list(self._headers.multi_items()),
                extra_headers,
                list(request_own.items()),
                list(_OWN_HEADERS.items()),
            )
        else:  # the common case, without merging
            headers = {**request_own, **_OWN_HEADERS}
        return self._http.build_request(
            kwargs.pop("method").upper(),
            self._url(kwargs.pop("url")),
            headers=headers,
            timeout=self._timeout,
            **kwargs,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self._base_url!r}, "
            f"max_retries={self._policy.max_retries}, auth={self._auth!r})"
        )


# This docstring is the one description of the options and the token chain: api.md's
# client section is generated from it (codegen/client_doc.py reads it as text) and README
# links there, so every constructor argument stays under Args (tests/test_docs.py).
class AccountClient(_ClientBase, SyncOperations):
    """Blocking client for Parallel's Account API.

    Args:
        token: where the bearer token comes from: a str; a callable returning one
            (called before each request, so short-lived tokens rotate; asked once more
            after a 401); a `TokenProvider` (`get_token()`, `refresh_token(rejected)`),
            such as `parallel_account.signin.StoredSignIn(profile)`; an `httpx.Auth`;
            or None (the default): the token chain below.
        base_url: the API root; default: the spec's server (`https://api.parallel.ai/account`
            today), or `$PARALLEL_SERVICE_API_URL` when set. Plain `http://` is refused
            unless the host is loopback (127.0.0.0/8, ::1, localhost), so a token never
            crosses a network in clear text.
        timeout: seconds per attempt, positive and at most 86,400 (a day; default
            30.0); an `httpx.Timeout` whose every part is such a number or None; or None
            for none. It bounds each read as httpx does and each attempt as a whole
            (headers and body).
        max_retries: retries after the first attempt, an int >= 0 (default 2, or
            `policy.max_retries` when a policy is given).
        http_client: your own `httpx.Client` (proxies, transports, tests); `close()`
            leaves it open. Used as given (its `trust_env`, proxies and mounts), except
            that redirects are never followed; its response headers are bounded by its
            own per-read timeout only (the client this one makes reads them within the
            attempt's deadline, `_reading.reading_until`).
        sleep: how to wait between attempts (default `time.sleep`; a no-op makes
            retries instant in tests).
        policy: a `RetryPolicy` (backoff, jitter, Retry-After cap); its `max_retries`
            applies unless `max_retries` is given.
        max_response_bytes: the largest answer body read, after decompression, an int
            >= 1 (default 16 MiB); a larger one is an `APIConnectionError` (for a
            charge: with its idempotency key, outcome unknown).
        default_headers: a mapping of header names to values sent with every request,
            over `$PARALLEL_ACCOUNT_CUSTOM_HEADERS` and under a call's `extra_headers`
            (a later one replaces a header of the same name; names ignore case). The
            client's own headers, `Authorization` (use `token`) and the idempotency key
            are refused (`parallel_account._headers` has the rules).

    Token chain (where the token comes from; the first source found wins):
        1. `token=`: a token passed to the constructor is used alone; no other source
           is read.
        2. `$PARALLEL_ACCOUNT_TOKEN`: the token itself, from the environment.
        3. `parallel-account login`: this package's stored sign-in of the profile
           `$PARALLEL_ACCOUNT_PROFILE` (else `default`), refreshed as needed.
        4. `parallel-cli login`: Parallel CLI's shared sign-in (PyPI
           `parallel-web-tools`), refreshed as needed; only while
           `$PARALLEL_ACCOUNT_PROFILE` is unset, so a chosen profile that was never
           signed in fails instead of acting for whatever organisation that CLI has
           selected.
        None found: `AuthenticationError` when the client is made, before any request.

    Every result carries the server's request id as `._request_id` (None and bare
    values excepted); `with_raw_response` gives the answer itself.

    Raises:
        InvalidRequestError: an option or header is not allowed (named in the message).
        AuthenticationError: no token given and none found along the token chain.
        TokenStoreError: a stored sign-in exists but cannot be used (its file is
            corrupt or readable by others).
    """

    _http: httpx.Client
    _sleep: Callable[[float], None]

    def __init__(
        self,
        token: Token = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = 30.0,
        max_retries: int | None = None,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        policy: RetryPolicy | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self._configure(
            token,
            base_url,
            timeout,
            max_retries,
            policy,
            max_response_bytes,
            default_headers,
            http_client,
            sleep,
        )

    def _new_http_client(self) -> httpx.Client:
        # Here, not at import: it loads httpcore, as making the httpx.Client does.
        from parallel_account._socket_deadline import bound_reads

        return bound_reads(httpx.Client(**self._own_client_options()))

    @property
    def with_raw_response(self) -> SyncRawOperations:
        """Every method, returning the answer's RawResponse; `.parse()` gives the result.

        `client.with_raw_response.get_balance().request_id`; error answers raise as usual.
        """
        return _SyncRaw(self)

    def _run(self, call: Call[T]) -> T:
        return self._answer(call, []).parse()

    def _answer(self, call: Call[T], extra_headers: list[tuple[str, str]]) -> RawHTTPResponse[T]:
        flow = attempts(call, self._build(call, extra_headers), self._policy)
        step = next(flow)
        try:
            while True:
                sent: SendResult = None
                try:
                    if isinstance(step, Sleep):
                        self._sleep(step.seconds)
                    else:
                        sent = self._receive(step.request)
                except httpx.RequestError as exc:
                    sent = exc
                except BaseException as exc:  # the loop annotates it (idempotency key)
                    flow.throw(exc)
                    raise  # not reached: the loop re-raises
                step = flow.send(sent)
        except StopIteration as done:
            answer: RawHTTPResponse[T] = done.value
            return answer

    def _receive(self, request: httpx.Request) -> httpx.Response:
        """One attempt: send, then read the body within the size limit and the deadline."""
        deadline = self._attempt_deadline()
        # Every socket read of a client we made ends by the deadline, headers included
        # (`_reading.reading_until`); a caller's own http_client reads as it was set up.
        with reading_until(deadline):
            # Redirects are never followed: a redirected request would carry the token
            # (and a charge's body) to wherever the Location says.
            response = self._http.send(
                request, auth=self._auth, stream=True, follow_redirects=False
            )
            try:
                body = BoundedBody(response, self._max_response_bytes, deadline)
                if not body.took_content_already_read():
                    for chunk in response.iter_raw():
                        body.add_raw(chunk)
                return body.finish()
            finally:
                response.close()

    def _call(
        self,
        operation: str,
        arguments: Mapping[str, object],
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
    ) -> Any:
        return self._call_raw(operation, arguments, extra_headers, timeout).parse()

    def _call_raw(
        self,
        operation: str,
        arguments: Mapping[str, object],
        extra_headers: Mapping[str, str] | None,
        timeout: float | httpx.Timeout | NotGiven | None,
    ) -> RawHTTPResponse[Any]:
        client, call, headers = self._prepare(operation, arguments, extra_headers, timeout)
        return client._answer(call, headers)

    def call(
        self,
        operation: str,
        arguments: Mapping[str, object] | None = None,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
    ) -> Any:
        """Call any operation of the pinned spec by name, arguments keyed by the spec's names.

        The same checks, retries, per-call options and errors as the typed methods
        (`client.call("get_balance")` is `client.get_balance()`); for tools that work from
        the spec, such as `parallel-account api`.

        Args:
            operation: the operation's name, as the typed method is named.
            arguments: the operation's arguments keyed by the spec's names (None: none).
            extra_headers: headers for this call only (see the class docstring).
            timeout: this call's timeout, as the constructor's; omitted: the client's.

        Returns:
            What the typed method returns.

        Raises:
            InvalidRequestError: an unknown operation, or arguments or headers that are
                not allowed; nothing was sent.
            APIError: as the typed method (see its docstring or api.md).
        """
        return self._call(operation, call_arguments(arguments), extra_headers, timeout)

    def close(self) -> None:
        """Close the connection pool this client made; an `http_client` passed in stays open.

        Never raises for a pool already closed.
        """
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        """`with AccountClient() as client:` closes the client on leaving the block."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncAccountClient(_ClientBase, AsyncOperations):
    """The same client with coroutine methods; the options are `AccountClient`'s.

    Args:
        token: as for AccountClient.
        base_url: as for AccountClient.
        timeout: as for AccountClient (the deadline covers the headers here for your
            own `http_client` too).
        max_retries: as for AccountClient.
        http_client: your own `httpx.AsyncClient`; `aclose()` leaves it open.
        sleep: an async callable to wait between attempts (default `asyncio.sleep`).
        policy: as for AccountClient.
        max_response_bytes: as for AccountClient.
        default_headers: as for AccountClient.

    The token chain is `AccountClient`'s; a token provider that may block (a stored
    sign-in refreshing) is asked from a worker thread.

    Raises:
        InvalidRequestError: an option or header is not allowed (named in the message).
        AuthenticationError: as for AccountClient.
        TokenStoreError: as for AccountClient.
    """

    _http: httpx.AsyncClient
    _sleep: Callable[[float], Awaitable[None]]

    def __init__(
        self,
        token: Token = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = 30.0,
        max_retries: int | None = None,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        policy: RetryPolicy | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self._configure(
            token,
            base_url,
            timeout,
            max_retries,
            policy,
            max_response_bytes,
            default_headers,
            http_client,
            sleep or _asyncio_sleep,
        )

    def _new_http_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(**self._own_client_options())

    @property
    def with_raw_response(self) -> AsyncRawOperations:
        """Every method as a coroutine of the answer's RawResponse; see `AccountClient`'s."""
        return _AsyncRaw(self)

    async def _run(self, call: Call[T]) -> T:
        return (await self._answer(call, [])).parse()

    async def _answer(
        self, call: Call[T], extra_headers: list[tuple[str, str]]
    ) -> RawHTTPResponse[T]:
        flow = attempts(call, self._build(call, extra_headers), self._policy)
        step = next(flow)
        try:
            while True:
                sent: SendResult = None
                try:
                    if isinstance(step, Sleep):
                        await self._sleep(step.seconds)
                    else:
                        sent = await self._receive(step.request)
                except httpx.RequestError as exc:
                    sent = exc
                except BaseException as exc:  # the loop annotates it (idempotency key)
                    flow.throw(exc)
                    raise  # not reached: the loop re-raises
                step = flow.send(sent)
        except StopIteration as done:
            answer: RawHTTPResponse[T] = done.value
            return answer

    async def _receive(self, request: httpx.Request) -> httpx.Response:
        """One attempt, as in `AccountClient._receive`, the headers within the deadline too."""
        import asyncio

        deadline = self._attempt_deadline()
        seconds = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            async with asyncio.timeout(seconds):
                response = await self._http.send(
                    request, auth=self._auth, stream=True, follow_redirects=False
                )
                try:
                    body = BoundedBody(response, self._max_response_bytes, deadline)
                    if not body.took_content_already_read():
                        async for chunk in response.aiter_raw():
                            body.add_raw(chunk)
                    return body.finish()
                finally:
                    await response.aclose()
        except TimeoutError:
            raise httpx.ReadTimeout(
                "no whole answer within the attempt's timeout", request=request
            ) from None

    async def _call(
        self,
        operation: str,
        arguments: Mapping[str, object],
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
    ) -> Any:
        return (await self._call_raw(operation, arguments, extra_headers, timeout)).parse()

    async def _call_raw(
        self,
        operation: str,
        arguments: Mapping[str, object],
        extra_headers: Mapping[str, str] | None,
        timeout: float | httpx.Timeout | NotGiven | None,
    ) -> RawHTTPResponse[Any]:
        client, call, headers = self._prepare(operation, arguments, extra_headers, timeout)
        return await client._answer(call, headers)

    async def call(
        self,
        operation: str,
        arguments: Mapping[str, object] | None = None,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
    ) -> Any:
        """Call any operation of the pinned spec by name, awaitable; see `AccountClient.call`.

        `operation` is named as the typed method is; `arguments` are keyed by the spec's
        names; `extra_headers` and `timeout` apply to this call only. Returns what the typed
        method returns; raises InvalidRequestError before sending anything (unknown
        operation, bad arguments or headers), else as the typed method.
        """
        return await self._call(operation, call_arguments(arguments), extra_headers, timeout)

    async def aclose(self) -> None:
        """Close the connection pool this client made; an `http_client` passed in stays open."""
        if self._owns_http:
            await self._http.aclose()

    async def close(self) -> None:
        """The same as `aclose()` (awaitable), for code written against either client."""
        await self.aclose()

    async def __aenter__(self) -> Self:
        """`async with AsyncAccountClient() as client:` closes the client on leaving."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class _Raw:
    """`with_raw_response` of either client: the generated methods, answered unread."""

    def __init__(self, client: AccountClient | AsyncAccountClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"{self._client!r}.with_raw_response"

    def _call(
        self,
        operation: str,
        arguments: dict[str, Any],
        extra_headers: Mapping[str, str] | None,
        timeout: float | httpx.Timeout | NotGiven | None,
    ) -> Any:
        return self._client._call_raw(operation, arguments, extra_headers, timeout)


class _SyncRaw(_Raw, SyncRawOperations):
    pass


class _AsyncRaw(_Raw, AsyncRawOperations):
    pass
