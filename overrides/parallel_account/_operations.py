"""The seam to the generated layer: one `Call` per Account API operation.

Each function checks its arguments against `spec_facts`, builds the request
with the generated module's `_get_kwargs` (method, path, body, headers) and
parses a success with the generated model's `from_dict`. Nothing here knows a
path or a bound; the generated layer's own status handling (None for an
undocumented status, a returned 422) is bypassed: errors are mapped by
`parallel_account._errors` before parsing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from parallel_account._errors import APIError
from parallel_account._idempotency import new_idempotency_key
from parallel_account._validation import check_field
from parallel_account_api.api.apps import create_app as _create_app
from parallel_account_api.api.apps import delete_app as _delete_app
from parallel_account_api.api.apps import list_apps as _list_apps
from parallel_account_api.api.balance import add_balance as _add_balance
from parallel_account_api.api.balance import get_balance as _get_balance
from parallel_account_api.api.keys import create_key as _create_key
from parallel_account_api.api.keys import delete_key as _delete_key
from parallel_account_api.models import (
    AddBalanceRequest,
    AppItem,
    BalanceResponse,
    CreateApiKeyRequestModel,
    CreateAppRequestModel,
    CreateAppResponseModel,
    CreateKeyResponse,
    GetAppsForOrgResponseModel,
)
from parallel_account_api.spec_facts import OPERATIONS, FieldFacts, OperationFacts

T = TypeVar("T")

# Retrying a charge is safe only because its body carries a key the server dedupes on.
# If a regenerated spec loses it, fail at import (the build goes red), not at a retry.
_key_field = OPERATIONS["add_balance"].idempotency_key_field
if _key_field is None:
    raise ImportError("spec_facts: add_balance no longer carries an idempotency key; see README")
_TOP_UP_KEY_FIELD: str = _key_field


@dataclass(frozen=True)
class Call(Generic[T]):
    """A checked, built request for one operation, and how to read its success."""

    operation: OperationFacts
    request_kwargs: dict[str, Any]
    parse: Callable[[httpx.Response], T]
    idempotency_key: str | None = None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        request = response.request
        raise APIError(
            f"{request.method} {request.url.path}: HTTP {response.status_code} with a body "
            "that is not JSON",
            request=request,
        ) from None


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def _shape_problem(data: Any, fields: tuple[FieldFacts, ...]) -> str | None:
    """What is wrong with a success body's top level, judged by the spec's facts, or None.

    The generated `from_dict` trusts types (a str where cents belong would pass), and a
    wrong balance printed as money is worse than an error.
    """
    if not isinstance(data, dict):
        return f"expected a JSON object, got {type(data).__name__}"
    for field in fields:
        if field.name not in data:
            if field.required:
                return f"required field {field.name!r} is missing"
            continue
        value, allowed = data[field.name], _JSON_TYPES.get(field.type or "")
        if value is None and not field.required:
            continue
        wrong_bool = isinstance(value, bool) and bool not in (allowed or ())
        if allowed is not None and (wrong_bool or not isinstance(value, allowed)):
            return f"field {field.name!r} should be {field.type}, got {type(value).__name__}"
    return None


def _model(
    operation: OperationFacts, from_dict: Callable[[Any], T]
) -> Callable[[httpx.Response], T]:
    def parse(response: httpx.Response) -> T:
        data = _json(response)
        problem = _shape_problem(data, operation.response_fields)
        try:
            if problem is None:
                return from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        request = response.request
        raise APIError(
            f"{request.method} {request.url.path}: success body does not match the spec "
            f"({problem}); is the client older than the API?",
            request=request,
        )

    return parse


def _no_content(response: httpx.Response) -> None:
    return None


def _path_args(operation: OperationFacts, **values: object) -> dict[str, Any]:
    checked = {
        name: check_field(name, value, operation.path_param(name), path_segment=True)
        for name, value in values.items()
    }
    # The generated layer types uuid path parameters as uuid.UUID.
    return {
        name: uuid.UUID(str(value)) if operation.path_param(name).format == "uuid" else value
        for name, value in checked.items()
    }


def get_balance() -> Call[BalanceResponse]:
    operation = OPERATIONS["get_balance"]
    return Call(operation, _get_balance._get_kwargs(), _model(operation, BalanceResponse.from_dict))


def add_balance(amount_cents: object, idempotency_key: object = None) -> Call[BalanceResponse]:
    operation = OPERATIONS["add_balance"]
    key_field = _TOP_UP_KEY_FIELD
    amount = check_field("amount_cents", amount_cents, operation.body_field("amount_cents"))
    key = new_idempotency_key() if idempotency_key is None else idempotency_key
    key = check_field(key_field, key, operation.body_field(key_field))
    body = AddBalanceRequest(amount_cents=amount, idempotency_key=key)  # type: ignore[arg-type]
    return Call(
        operation,
        _add_balance._get_kwargs(body=body),
        _model(operation, BalanceResponse.from_dict),
        idempotency_key=str(key),
    )


def _apps(data: Any) -> list[AppItem]:
    return GetAppsForOrgResponseModel.from_dict(data).apps


def list_apps() -> Call[list[AppItem]]:
    operation = OPERATIONS["list_apps"]
    return Call(operation, _list_apps._get_kwargs(), _model(operation, _apps))


def create_app(app_name: object) -> Call[CreateAppResponseModel]:
    operation = OPERATIONS["create_app"]
    name = check_field("app_name", app_name, operation.body_field("app_name"))
    body = CreateAppRequestModel(app_name=name)  # type: ignore[arg-type]
    return Call(
        operation,
        _create_app._get_kwargs(body=body),
        _model(operation, CreateAppResponseModel.from_dict),
    )


def delete_app(app_id: object) -> Call[None]:
    operation = OPERATIONS["delete_app"]
    return Call(
        operation, _delete_app._get_kwargs(**_path_args(operation, app_id=app_id)), _no_content
    )


def create_key(app_id: object, api_key_name: object) -> Call[CreateKeyResponse]:
    operation = OPERATIONS["create_key"]
    path = _path_args(operation, app_id=app_id)
    name = check_field("api_key_name", api_key_name, operation.body_field("api_key_name"))
    body = CreateApiKeyRequestModel(api_key_name=name)  # type: ignore[arg-type]
    return Call(
        operation,
        _create_key._get_kwargs(body=body, **path),
        _model(operation, CreateKeyResponse.from_dict),
    )


def delete_key(app_id: object, api_key_id: object) -> Call[None]:
    operation = OPERATIONS["delete_key"]
    path = _path_args(operation, app_id=app_id, api_key_id=api_key_id)
    return Call(operation, _delete_key._get_kwargs(**path), _no_content)
