"""Way in 3: the package's own clients, wired to a fake, with retries that never wait.

A service's tests exercise its retry handling (a 503, then success) without paying
the backoff: `NO_BACKOFF` keeps the retry rules and count but makes every delay,
Retry-After included, zero seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import httpx

from parallel_account._retry import RetryPolicy
from parallel_account.testing._transport import FakeTransport

if TYPE_CHECKING:
    from parallel_account._client import AccountClient, AsyncAccountClient

#: The retry policy of `FakeAccountAPI.client()`: same rules, no waiting.
NO_BACKOFF: Final = RetryPolicy(initial_delay=0.0, max_delay=0.0, max_retry_after=0.0)


def _options(base_url: str, options: dict[str, Any]) -> dict[str, Any]:
    for name in ("token", "base_url", "http_client"):
        if name in options:
            raise TypeError(f"{name}: set by the fake's client factory; pass other options")
    options.setdefault("policy", NO_BACKOFF)
    return {"base_url": base_url, **options}


def account_client(
    token: str, base_url: str, transport: FakeTransport, options: dict[str, Any]
) -> AccountClient:
    """An `AccountClient` with `token` on `transport` (a fake's), `options` over NO_BACKOFF."""
    from parallel_account._client import AccountClient

    client = AccountClient(
        token, http_client=httpx.Client(transport=transport), **_options(base_url, options)
    )
    client._owns_http = True  # made here for this client alone: close() closes it
    return client


def async_account_client(
    token: str, base_url: str, transport: FakeTransport, options: dict[str, Any]
) -> AsyncAccountClient:
    """The `AsyncAccountClient` twin of `account_client`."""
    from parallel_account._client import AsyncAccountClient

    client = AsyncAccountClient(
        token, http_client=httpx.AsyncClient(transport=transport), **_options(base_url, options)
    )
    client._owns_http = True
    return client
