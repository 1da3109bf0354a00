"""Python client for Parallel's Account API (hand-written layer over `parallel_account_api`).

from parallel_account import AccountClient, idempotency_key_for

with AccountClient() as client:          # token from $PARALLEL_ACCOUNT_TOKEN or `parallel-account login`
    print(client.get_balance().credit_balance_cents)
    client.add_balance(2500, idempotency_key=idempotency_key_for("invoice", 1042))

Every name below is imported on first use (PEP 562), so `import parallel_account` and a
command line that needs only part of the package start fast; `from parallel_account
import AccountClient` works, and type checkers see the real types.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from parallel_account._charges import refuse_unkeyed_charges
from parallel_account._exports import load_export
from parallel_account._version import __version__
from parallel_account_api.charges import UNKEYED_CHARGES

# Precomputed by `make generate`: a spec update that took the idempotency key away from
# a charge makes the package refuse to load, before any client exists.
refuse_unkeyed_charges(UNKEYED_CHARGES)

if TYPE_CHECKING:
    from parallel_account._auth import TokenProvider
    from parallel_account._client import AccountClient, AsyncAccountClient
    from parallel_account._errors import (
        AccessDeniedError,
        APIConnectionError,
        APIError,
        APIResponseValidationError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        Cancelled,
        CannotServe,
        ConflictError,
        CorruptTokenFileError,
        DeviceCodeExpiredError,
        DeviceFlowError,
        InsecureTokenFileError,
        InternalServerError,
        Interrupted,
        InvalidClientError,
        InvalidRequestError,
        NotFoundError,
        NotSignedInError,
        OperationGone,
        OutputLost,
        ParallelAccountError,
        PermissionDeniedError,
        RateLimitError,
        ScenarioError,
        SignInExpiredError,
        TokenStoreError,
        UnprocessableEntityError,
        UnsupportedSignInFileError,
    )
    from parallel_account._idempotency import idempotency_key_for
    from parallel_account._retry import RetryPolicy
    from parallel_account._spec import SPEC_SHA256, spec, spec_text
    from parallel_account_api.models import (
        AppItem,
        BalanceResponse,
        CreateAppResponseModel,
        CreateKeyResponse,
    )
    from parallel_account_api.operations import NOT_GIVEN, NotGiven, RawResponse

# Exported name -> the module that defines it.
_HOMES: dict[str, str] = {
    "TokenProvider": "parallel_account._auth",
    "AccountClient": "parallel_account._client",
    "AsyncAccountClient": "parallel_account._client",
    "idempotency_key_for": "parallel_account._idempotency",
    "RetryPolicy": "parallel_account._retry",
    "SPEC_SHA256": "parallel_account._spec",
    "spec": "parallel_account._spec",
    "spec_text": "parallel_account._spec",
    "NOT_GIVEN": "parallel_account_api.operations",
    "NotGiven": "parallel_account_api.operations",
    "RawResponse": "parallel_account_api.operations",
}


class _ExportedModels:
    """The generated models this package exports: the ones the typed methods return
    (generated from the spec, `parallel_account_api.results`, so a model a spec update adds
    is exported with it) and the ones named in __all__ with no other home (so one a spec
    update dropped fails in __getattr__, saying why, while `import parallel_account` works).

    `__all__` and the TYPE_CHECKING imports name today's four by hand: type checkers read
    only literal names. A model a spec update adds is an attribute here at once, but not
    in `__all__` (nor `import *`) until it is named there.
    """

    def __contains__(self, name: object) -> bool:
        from parallel_account_api.results import RESULT_MODELS  # a tuple, loaded on first use

        return name in RESULT_MODELS or (
            isinstance(name, str) and name in __all__ and _home(name) is None
        )


_MODELS = _ExportedModels()


def _home(name: str) -> str | None:
    if name in _HOMES:
        return _HOMES[name]
    # Every other export but the models is an exception class, and every exception class
    # lives in `_errors`; asked there, so a model a spec update dropped is not sent to it.
    if name in __all__:
        from parallel_account import _errors

        found = getattr(_errors, name, None)
        if isinstance(found, type) and issubclass(found, BaseException):
            return "parallel_account._errors"
    return None


def __getattr__(name: str) -> Any:
    if name in _MODELS:  # looked up every time, in the generated package as it is
        found = getattr(import_module("parallel_account_api.models"), name, None)
        if found is None:
            raise AttributeError(
                f"parallel_account.{name}: the spec this version was generated from has no "
                f"model {name}; see parallel_account_api.models for the ones it has"
            )
        return found
    return load_export(globals(), _home(name), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "NOT_GIVEN",
    "SPEC_SHA256",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AccessDeniedError",
    "AccountClient",
    "AppItem",
    "AsyncAccountClient",
    "AuthenticationError",
    "BadRequestError",
    "BalanceResponse",
    "Cancelled",
    "CannotServe",
    "ConflictError",
    "CorruptTokenFileError",
    "CreateAppResponseModel",
    "CreateKeyResponse",
    "DeviceCodeExpiredError",
    "DeviceFlowError",
    "InsecureTokenFileError",
    "InternalServerError",
    "Interrupted",
    "InvalidClientError",
    "InvalidRequestError",
    "NotFoundError",
    "NotGiven",
    "NotSignedInError",
    "OperationGone",
    "OutputLost",
    "ParallelAccountError",
    "PermissionDeniedError",
    "RateLimitError",
    "RawResponse",
    "RetryPolicy",
    "ScenarioError",
    "SignInExpiredError",
    "TokenProvider",
    "TokenStoreError",
    "UnprocessableEntityError",
    "UnsupportedSignInFileError",
    "__version__",
    "idempotency_key_for",
    "spec",
    "spec_text",
]
