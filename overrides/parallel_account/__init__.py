"""Python client for Parallel's Account API (hand-written layer over `parallel_account_api`).

from parallel_account import AccountClient, idempotency_key_for

with AccountClient() as client:          # token from $PARALLEL_ACCOUNT_TOKEN or `parallel-account login`
    print(client.get_balance().credit_balance_cents)
    client.add_balance(2500, idempotency_key=idempotency_key_for("invoice", 1042))
"""

from typing import TYPE_CHECKING, Any

from parallel_account._auth import TokenProvider
from parallel_account._client import AccountClient, AsyncAccountClient
from parallel_account._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    ParallelAccountError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from parallel_account._idempotency import idempotency_key_for
from parallel_account._retry import RetryPolicy
from parallel_account._spec import SPEC_SHA256, spec, spec_text
from parallel_account._version import __version__
from parallel_account_api.operations import NOT_GIVEN, NotGiven, RawResponse

if TYPE_CHECKING:
    from parallel_account_api.models import (
        AppItem,
        BalanceResponse,
        CreateAppResponseModel,
        CreateKeyResponse,
    )

# The curated methods' result models, re-exported on first use: if a spec update drops
# one, `import parallel_account` still works and only that name fails, saying why.
_MODELS = ("AppItem", "BalanceResponse", "CreateAppResponseModel", "CreateKeyResponse")


def __getattr__(name: str) -> Any:
    if name in _MODELS:
        from parallel_account_api import models

        found = getattr(models, name, None)
        if found is None:
            raise AttributeError(
                f"parallel_account.{name}: the spec this version was generated from has no "
                f"model {name}; see parallel_account_api.models for the ones it has"
            )
        return found
    raise AttributeError(f"module 'parallel_account' has no attribute {name!r}")


__all__ = [
    "NOT_GIVEN",
    "SPEC_SHA256",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AccountClient",
    "AppItem",
    "AsyncAccountClient",
    "AuthenticationError",
    "BadRequestError",
    "BalanceResponse",
    "ConflictError",
    "CreateAppResponseModel",
    "CreateKeyResponse",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "NotGiven",
    "ParallelAccountError",
    "PermissionDeniedError",
    "RateLimitError",
    "RawResponse",
    "RetryPolicy",
    "TokenProvider",
    "UnprocessableEntityError",
    "__version__",
    "idempotency_key_for",
    "spec",
    "spec_text",
]
