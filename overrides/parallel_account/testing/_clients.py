"""Way in 3: the package's own clients, wired to a fake, with retries that never wait.

A service's tests exercise its retry handling (a 503, then success) without paying
the backoff: `NO_BACKOFF` keeps the retry rules and count but makes every delay,
Retry-After included, zero seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import httpx

from parallel_account._retry import RetryPolicy

if TYPE_CHECKING:
    from parallel_account._client import AccountClient, AsyncAccountClient
    from parallel_account.testing._api import FakeAccountAPI

#: The retry policy of `FakeAccountAPI.client()`: same rules, no waiting.
NO_BACKOFF: Final = RetryPolicy(initial_delay=0.0, max_delay=0.0, max_retry_after=0.0)


def _options(fake: FakeAccountAPI, options: dict[str, Any]) -> dict[str, Any]:
    for name in ("token", "base_url", "http_client"):
        if name in options:
            raise TypeError(f"{name}: set by the fake's client factory; pass other options")
    options.setdefault("policy", NO_BACKOFF)
    return {"base_url": fake.base_url, **options}


def account_client(fake: FakeAccountAPI, options: dict[str, Any]) -> AccountClient:
    from parallel_account._client import AccountClient

    client = AccountClient(
        fake.token,
        http_client=httpx.Client(transport=fake.transport()),
        **_options(fake, options),
    )
    client._owns_http = True  # made here for this client alone: close() closes it
    return client


def async_account_client(fake: FakeAccountAPI, options: dict[str, Any]) -> AsyncAccountClient:
    from parallel_account._client import AsyncAccountClient

    client = AsyncAccountClient(
        fake.token,
        http_client=httpx.AsyncClient(transport=fake.transport()),
        **_options(fake, options),
    )
    client._owns_http = True
    return client
