"""Bearer-token authentication: where the token comes from, and how it is attached.

A token source is a `TokenProvider`: `get_token()` before each request, and
`refresh_token(rejected)` once after a 401. A plain string has nothing to
refresh; a callable is asked again; a stored device-flow sign-in refreshes
through the platform.

The default chain, when no token is passed (first found wins):
$PARALLEL_ACCOUNT_TOKEN; this package's stored sign-in of the profile
($PARALLEL_ACCOUNT_PROFILE, else `default`); Parallel's own CLI's sign-in
(`parallel-cli login`, see `signin._shared_sign_in`). The last one only when no
profile was chosen through $PARALLEL_ACCOUNT_PROFILE: a chosen profile that is
not signed in must fail, not quietly act for whatever organisation that CLI
has selected. `BearerAuth` is an `httpx.Auth`, so the same object
serves the sync and the async client. The token never appears in a repr,
a log line or an error message.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, Protocol, TypeVar, runtime_checkable

import httpx

from parallel_account._env import PROFILE_ENV, TOKEN_ENV
from parallel_account._errors import AuthenticationError, InvalidRequestError

T = TypeVar("T")


@runtime_checkable
class TokenProvider(Protocol):
    """Anything that can hand out a bearer token and, after a 401, perhaps a fresh one."""

    def get_token(self) -> str:
        """A token to send now (refreshing first if it is about to expire)."""
        ...

    def refresh_token(self, rejected: str) -> str | None:
        """A different token after `rejected` got a 401, or None if there is none."""
        ...


def check_token(token: object, *, source: str) -> str:
    """Raise InvalidRequestError (never quoting the token) unless it is a usable bearer token."""
    if not isinstance(token, str):
        raise InvalidRequestError(f"token: {source} gave {type(token).__name__}; expected a str")
    if not token:
        raise InvalidRequestError(f"token: {source} gave an empty string; expected a bearer token")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in token):
        raise InvalidRequestError(
            f"token: {source} gave a token containing whitespace or control characters "
            "(a stray newline from a file or $(...)?); expected a bare bearer token"
        )
    # A header value must be ASCII: anything else (an accented letter, a lone surrogate
    # from a mis-decoded file) would make the HTTP library fail with the value quoted.
    if not token.isascii():
        raise InvalidRequestError(
            f"token: {source} gave a token with {sum(not c.isascii() for c in token)} "
            "non-ASCII character(s); expected a bearer token of visible ASCII characters"
        )
    return token


class StaticToken:
    """A fixed token: nothing to refresh."""

    def __init__(self, token: str, *, source: str = "token") -> None:
        self._token = check_token(token, source=source)

    def get_token(self) -> str:
        return self._token

    def refresh_token(self, rejected: str) -> str | None:
        return None

    def __repr__(self) -> str:
        return "StaticToken(<redacted>)"


class CallableToken:
    """A callable returning the current token, called before each request."""

    def __init__(self, func: Callable[[], str]) -> None:
        self._func = func

    def get_token(self) -> str:
        return check_token(self._func(), source="the token callable")

    def refresh_token(self, rejected: str) -> str | None:
        fresh = self.get_token()
        return fresh if fresh != rejected else None

    def __repr__(self) -> str:
        return f"CallableToken({getattr(self._func, '__qualname__', 'callable')})"


class BearerAuth(httpx.Auth):
    """Attach `Authorization: Bearer ...`; after a 401, ask the provider once for a fresh token.

    Every token is checked before it goes into a header: a stray newline would make
    the HTTP library raise an error that quotes the header value. The async flow
    runs a provider that may block (a stored sign-in refreshing over the network,
    waiting on its file lock) in a worker thread, so the event loop keeps running.
    """

    def __init__(self, provider: TokenProvider) -> None:
        self.provider = provider
        # The last token that passed check_token: a provider handing out the same str
        # object again (a static token, a cached one) is not checked on every request.
        self._checked: str | None = None

    def _token(self) -> str:
        token = self.provider.get_token()
        if token is not self._checked or type(token) is not str:
            token = self._checked = check_token(token, source="the token provider")
        return token

    def _fresh_token(self, rejected: str) -> str | None:
        fresh = self.provider.refresh_token(rejected)
        if fresh is None or fresh == rejected:
            return None
        return check_token(fresh, source="the token refresh")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            fresh = self._fresh_token(token)
            if fresh is not None:
                request.headers["Authorization"] = f"Bearer {fresh}"
                yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._off_loop(self._token)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            fresh = await self._off_loop(self._fresh_token, token)
            if fresh is not None:
                request.headers["Authorization"] = f"Bearer {fresh}"
                yield request

    async def _off_loop(self, func: Callable[..., T], *args: Any) -> T:
        if isinstance(self.provider, StaticToken):  # nothing to wait for; skip the thread hop
            return func(*args)
        import asyncio

        return await asyncio.to_thread(func, *args)

    def __repr__(self) -> str:
        return f"BearerAuth({self.provider!r})"


def stored_sign_in(profile: str | None = None) -> TokenProvider | None:
    """The device-flow sign-in kept on this machine, if any (see `parallel_account.signin`)."""
    # Imported here: only a client without an explicit token needs the store.
    # Loading now makes a corrupt or world-readable file fail at client creation,
    # with its own message, instead of passing as "no credentials".
    from parallel_account.signin._store import TokenStore
    from parallel_account.signin._stored_sign_in import StoredSignIn

    if TokenStore(profile).load() is None:
        return None
    return StoredSignIn(profile)


def shared_sign_in() -> TokenProvider | None:
    """Parallel CLI's sign-in, if it holds one and no profile was chosen by the environment.

    Returns:
        Its TokenProvider, or None (no such file, no org selected, or a profile chosen).

    Raises:
        TokenStoreError: the file is there but unusable (its message says why).
    """
    if os.environ.get(PROFILE_ENV):
        return None
    from parallel_account.signin._shared_sign_in import parallel_cli_sign_in

    return parallel_cli_sign_in()


def resolve_auth(token: str | Callable[[], str] | httpx.Auth | TokenProvider | None) -> httpx.Auth:
    """The auth for a client: explicit token, else the default chain (see the module docstring)."""
    if isinstance(token, httpx.Auth):
        return token
    if isinstance(token, TokenProvider):
        return BearerAuth(token)
    if isinstance(token, str):
        return BearerAuth(StaticToken(token))
    if callable(token):
        return BearerAuth(CallableToken(token))
    if token is not None:
        raise InvalidRequestError(
            f"token: got {type(token).__name__}; expected a str, a callable returning one, "
            "an httpx.Auth, or None"
        )
    from_env = os.environ.get(TOKEN_ENV)
    if from_env is not None:
        return BearerAuth(StaticToken(from_env, source=f"${TOKEN_ENV}"))
    stored = stored_sign_in()
    if stored is not None:
        return BearerAuth(stored)
    shared = shared_sign_in()
    if shared is not None:
        return BearerAuth(shared)
    raise AuthenticationError(
        "no credentials: pass token=... (a str, a callable returning one, or an httpx.Auth), "
        f"set ${TOKEN_ENV}, or sign in with `parallel-account login` (or `parallel-cli login`)",
        response=None,
    )
