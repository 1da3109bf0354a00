"""The server's request id: read from an answer's headers, carried by what a call returns.

The id comes from the `x-request-id` response header, else `request-id` (the
names the errors have always read). Results carry it as `._request_id`:

- a model (every generated model declares `_request_id`, left out of `==` and
  repr, so equal answers stay equal);
- a list (`list_apps`): a `ResultList`, a `list` subclass equal to the plain list,
  with the same repr; each model in it carries the id too;
- a dict (an inline schema the generator made no model of): a `ResultDict`, likewise.

An empty answer (`None`, e.g. `delete_app`) and a bare scalar cannot carry an
attribute; `client.with_raw_response.<operation>(...)` gives their `.request_id`.
"""

from __future__ import annotations

from collections import deque
from itertools import repeat
from typing import Any, TypeVar

import httpx

# In the order they are read; the first one present wins.
REQUEST_ID_HEADERS = ("x-request-id", "request-id")

T = TypeVar("T")


def request_id_of(headers: httpx.Headers) -> str | None:
    """The request id an answer's headers carry, or None."""
    for name in REQUEST_ID_HEADERS:
        value: str | None = headers.get(name)
        if value:
            return value
    return None


class ResultList(list[T]):
    """A list a call returned: a plain list, plus the `_request_id` of its answer."""

    _request_id: str | None = None


class ResultDict(dict[str, Any]):
    """A JSON object a call returned as a dict, plus the `_request_id` of its answer."""

    _request_id: str | None = None


_SET = object.__setattr__


def _taggable(kind: type) -> bool:
    return hasattr(kind, "__attrs_attrs__") and any(
        a.name == "_request_id" for a in kind.__attrs_attrs__
    )


def _tag_model(value: object, request_id: str | None) -> None:
    # Generated attrs models declare the slot; anything else is left alone.
    if hasattr(type(value), "__attrs_attrs__") and hasattr(value, "_request_id"):
        object.__setattr__(value, "_request_id", request_id)


def with_request_id(result: T, request_id: str | None) -> T:
    """`result`, made to carry `request_id` where it can (see the module docstring)."""
    if isinstance(result, list):
        tagged_list: ResultList[Any] = ResultList(result)
        kinds = set(map(type, tagged_list))  # one test per class, not per item (10,000 apps)
        if len(kinds) == 1 and _taggable(next(iter(kinds))):
            # A C-level loop: object.__setattr__(item, "_request_id", request_id) for each.
            deque(map(_SET, tagged_list, repeat("_request_id"), repeat(request_id)), maxlen=0)
        elif kinds:
            for item in tagged_list:
                _tag_model(item, request_id)
        tagged_list._request_id = request_id
        return tagged_list  # type: ignore[return-value]  # a subclass of the list given
    if isinstance(result, dict):
        tagged_dict = ResultDict(result)
        tagged_dict._request_id = request_id
        return tagged_dict  # type: ignore[return-value]  # a subclass of the dict given
    _tag_model(result, request_id)
    return result
