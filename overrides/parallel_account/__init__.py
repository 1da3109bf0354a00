"""Python client for Parallel's Account API (hand-written layer over `parallel_account_api`).

from parallel_account import AccountClient, idempotency_key_for

with AccountClient() as client:          # token from $PARALLEL_ACCOUNT_TOKEN or `parallel-account login`
    print(client.get_balance().credit_balance_cents)
    client.add_balance(2500, idempotency_key=idempotency_key_for("invoice", 1042))
"""

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
from parallel_account_api.models import (
    AppItem,
    BalanceResponse,
    CreateAppResponseModel,
    CreateKeyResponse,
)

__all__ = [
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
    "ParallelAccountError",
    "PermissionDeniedError",
    "RateLimitError",
    "RetryPolicy",
    "TokenProvider",
    "UnprocessableEntityError",
    "__version__",
    "idempotency_key_for",
    "spec",
    "spec_text",
]
