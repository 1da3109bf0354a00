"""The one request builder: any operation of the spec, from its facts, to a checked `Call`.

`build(operation, arguments)` checks every argument (path, query, body) against
`spec_facts`, fills an omitted idempotency key with a new one, builds the request
with the generated endpoint module's `request_kwargs` and the generated body model,
and says how to read a success (the generated response model's `from_dict`, after
a shape check). Nothing here names an operation or a field of today's spec: the
facts say what each operation takes, returns and promises, so an operation added
upstream is callable the day `make generate` picks it up.

The generated layer's own status handling (None for an undocumented status, a
returned 422) is bypassed: errors are mapped by `parallel_account._errors`.
"""

from __future__ import annotations

import datetime
import enum
import importlib
import uuid
from collections.abc import Callable, Iterator, Mapping
from itertools import starmap
from operator import itemgetter
from typing import Any, Final, Generic, NamedTuple, TypeVar

import httpx

from parallel_account._charges import refuse_unkeyed_charges
from parallel_account._errors import APIResponseValidationError, InvalidRequestError
from parallel_account._idempotency import new_idempotency_key
from parallel_account._json import UnreadableJSON, loads
from parallel_account._request_id import request_id_of, with_request_id
from parallel_account._schema import Check, checker
from parallel_account._validation import check_field, check_path_segment
from parallel_account_api.spec_facts import OPERATIONS, SCHEMAS, FieldFacts, OperationFacts

T = TypeVar("T")
_PACKAGE = "parallel_account_api"


# Also checked by `import parallel_account` (from the precomputed charges.py); again here
# from the facts themselves, for code that imports the client modules directly.
refuse_unkeyed_charges(
    tuple(
        op.name for op in OPERATIONS.values() if op.moves_money and op.idempotency_key_field is None
    )
)


class Call(NamedTuple, Generic[T]):  # not a dataclass: made at import, a tenth of the time
    """A checked, built request for one operation, and how to read its success."""

    operation: OperationFacts
    request_kwargs: dict[str, Any]
    parse: Callable[[httpx.Response], T]
    idempotency_key: str | None = None


def operation_named(name: object) -> OperationFacts:
    """The facts of operation `name`, or InvalidRequestError listing the known ones."""
    if isinstance(name, str) and name in OPERATIONS:
        return OPERATIONS[name]
    shown = repr(name) if isinstance(name, str) and len(name) <= 60 else "that name"
    raise InvalidRequestError(
        f"operation: {shown} is not an operation of the pinned spec; expected one of "
        f"{', '.join(sorted(OPERATIONS))}"
    )


def call_arguments(arguments: object) -> dict[str, object]:
    """`client.call`'s arguments: a mapping of the spec's parameter names to values."""
    if arguments is None:
        return {}
    if not isinstance(arguments, Mapping) or not all(isinstance(k, str) for k in arguments):
        raise InvalidRequestError(
            f"arguments: got {type(arguments).__name__}; expected a mapping of parameter "
            "names (str) to values, e.g. {'app_id': '...'}"
        )
    return dict(arguments)


def _json_value(name: str, value: object, facts: FieldFacts) -> object:
    """`value` checked against the facts, in the form the generated models read from JSON."""
    if isinstance(value, enum.Enum):  # a generated enum's member: its JSON value
        value = value.value
    if facts.format in ("date-time", "date") and isinstance(value, datetime.date):
        if facts.format == "date-time" and not isinstance(value, datetime.datetime):
            raise InvalidRequestError(
                f"{name}: got a date; expected a datetime.datetime or an RFC 3339 string"
            )
        return value.isoformat()
    checked = check_field(name, value, facts)
    if facts.format in ("date-time", "date") and isinstance(checked, str):
        _parse_time(name, checked, facts.format)
    return checked


def _parse_time(name: str, text: str, kind: str) -> datetime.date:
    from dateutil.parser import isoparse  # only operations with times need it

    try:
        moment = isoparse(text)
    except (ValueError, OverflowError):
        raise InvalidRequestError(
            f"{name}: {text[:40]!r} is not an ISO 8601 {kind}; expected e.g. "
            f"{'2026-11-22T09:30:00Z' if kind == 'date-time' else '2026-11-22'}"
        ) from None
    return moment if kind == "date-time" else moment.date()


def _path_value(name: str, value: object, facts: FieldFacts) -> object:
    checked = check_field(name, value, facts, path_segment=True)
    # The generated layer types uuid path parameters as uuid.UUID.
    if facts.format == "uuid":
        return uuid.UUID(str(checked))
    # Whatever its type, the value becomes one segment of the path: it must stay one.
    check_path_segment(name, str(checked))
    return checked


def _query_value(name: str, value: object, facts: FieldFacts) -> object:
    """A query value as it is sent: checked, in its JSON form (a time as its ISO text, an
    enum as its value). Query values bypass the generated `request_kwargs`, which wants the
    generated enum and datetime types."""
    return _json_value(name, value, facts)


class _QueryPlaceholder:
    """What the generated `request_kwargs` gets for a required query parameter.

    `build` makes the query from the checked values itself (the generated code wants its
    own datetime and Enum types there) and replaces whatever `request_kwargs` made of this.
    It answers the conversions generated code applies to a query value.
    """

    value = None

    def isoformat(self) -> str:
        return ""

    def to_dict(self) -> dict[str, Any]:
        return {}

    def __iter__(self) -> Iterator[Any]:
        return iter(())


_QUERY_PLACEHOLDER: Final = _QueryPlaceholder()


def _missing(operation: OperationFacts, facts: FieldFacts, where: str) -> InvalidRequestError:
    # The type's own message says what is allowed ("got None; expected a str of ...").
    check_field(facts.identifier, None, facts)
    return InvalidRequestError(
        f"{facts.identifier}: got None; {operation.name} requires this {where} "
        f"(expected a {facts.type or 'value'})"
    )


def build(operation: OperationFacts, arguments: Mapping[str, object]) -> Call[Any]:
    """Check `arguments` (keyed by the spec's names; None means omitted) and build the call."""
    known = {
        f.name for f in (*operation.path_params, *operation.query_params, *operation.body_fields)
    }
    unknown = sorted(set(arguments) - known)
    if unknown:
        raise InvalidRequestError(
            f"{unknown[0]}: not a parameter of {operation.name}; expected "
            f"{', '.join(sorted(known)) or 'no arguments'}"
        )
    kwargs: dict[str, Any] = {}
    query: dict[str, object] = {}
    for facts in operation.path_params:
        value = arguments.get(facts.name)
        if value is None:
            raise _missing(operation, facts, "path parameter")
        kwargs[facts.identifier] = _path_value(facts.identifier, value, facts)
    for facts in operation.query_params:
        value = arguments.get(facts.name)
        if value is None:
            if facts.required:
                raise _missing(operation, facts, "query parameter")
            continue
        query[facts.name] = _query_value(facts.identifier, value, facts)
        if facts.required:  # the generated `request_kwargs` needs it
            kwargs[facts.identifier] = _QUERY_PLACEHOLDER
    key: str | None = None
    if operation.body_model is not None:
        body: dict[str, object] = {}
        for facts in operation.body_fields:
            value = arguments.get(facts.name)
            if value is None and facts.name == operation.idempotency_key_field:
                value = new_idempotency_key()
            if value is None:
                if facts.required:
                    raise _missing(operation, facts, "field")
                continue
            body[facts.name] = _json_value(facts.identifier, value, facts)
        if operation.idempotency_key_field is not None:
            key = str(body[operation.idempotency_key_field])
        kwargs["body"] = _model_class(operation.body_model).from_dict(body)
    request_kwargs, parse = _steps(operation)
    built = request_kwargs(**kwargs)
    if query:  # by the spec's names and in its order, with the generated defaults of the rest
        given = {**built.get("params", {}), **query}
        built["params"] = {f.name: given[f.name] for f in operation.query_params if f.name in given}
    return Call(operation, built, parse, key)


RequestKwargs = Callable[..., dict[str, Any]]
Parse = Callable[[httpx.Response], Any]
# Operation name -> the facts it was made from, the endpoint module's request_kwargs and the
# success parser. Both depend on the operation alone, so they are made on its first call;
# facts replaced since (tests do) are made afresh.
_STEPS: dict[str, tuple[OperationFacts, RequestKwargs, Parse]] = {}


def _steps(operation: OperationFacts) -> tuple[RequestKwargs, Parse]:
    cached = _STEPS.get(operation.name)
    if cached is None or cached[0] is not operation:
        module = importlib.import_module(f"{_PACKAGE}.{operation.module}")
        cached = _STEPS[operation.name] = (operation, module.request_kwargs, _parser(operation))
    return cached[1], cached[2]


def _model_class(name: str) -> Any:
    return getattr(importlib.import_module(f"{_PACKAGE}.models"), name)


# --- reading a success ------------------------------------------------------------------


def _unreadable(response: httpx.Response, why: str) -> APIResponseValidationError:
    request = response.request
    return APIResponseValidationError(
        f"{request.method} {request.url.path}: HTTP {response.status_code} with a body that "
        f"does not match the spec ({why}); is the client older than the API?",
        request=request,
    )


def _reader(operation: OperationFacts) -> Callable[[Any], Any]:
    """From a success body's JSON to what the method returns (facts and curated.toml decide)."""
    if operation.response_empty:
        return lambda data: None
    if operation.response_model is None:
        return lambda data: data  # an inline schema the generator made no model of
    model = _model_class(operation.response_model)
    if operation.response_array:
        rows = _rows_reader(operation.response_model)
        return rows or (lambda data: [model.from_dict(item) for item in data])
    if operation.returns_field is not None:
        field = operation.returns_field
        items = SCHEMAS.get(operation.response_model, {}).get("properties", {}).get(field, {})
        item_ref = items.get("items", {}).get("$ref") if items.get("type") == "array" else None
        rows = _rows_reader(item_ref) if isinstance(item_ref, str) else None
        if rows is not None:
            # The wrapper's from_dict would build each item with from_dict: the same models.
            return lambda data: rows(data[field])
        return lambda data: getattr(model.from_dict(data), field)
    return lambda data: model.from_dict(data)


_PLAIN_TYPES = frozenset({"string", "integer", "number", "boolean"})


def _rows_reader(model_name: str) -> Callable[[list[Any]], list[Any]] | None:
    """A faster reader of a (checked) list of `model_name` objects, where it is the same.

    A model whose fields are all required and plain JSON values (no format, enum, nested
    model) has a generated `from_dict` that only moves each value into the constructor:
    rows with exactly those keys are built positionally, in C-level loops, about five
    times faster (a list of 10,000 apps). Any other row goes through `from_dict`. None
    when the model is not of that kind.
    """
    schema = SCHEMAS.get(model_name)
    model = _model_class(model_name)
    if not isinstance(schema, dict) or set(schema) - {"type", "properties", "required"}:
        return None
    properties: dict[str, Any] = schema.get("properties") or {}
    if set(schema.get("required") or []) != set(properties) or not properties:
        return None
    if not all(
        isinstance(sub, dict) and set(sub) == {"type"} and sub["type"] in _PLAIN_TYPES
        for sub in properties.values()
    ):
        return None
    fields = [a for a in getattr(model, "__attrs_attrs__", ()) if a.init]
    names = [a.alias for a in fields]
    if sorted(names) != sorted(properties) or any(a.kw_only for a in fields):
        return None
    getter = itemgetter(*names)
    width = len(names)
    from_dict = model.from_dict

    def read_rows(rows: list[Any]) -> list[Any]:
        if set(map(len, rows)) <= {width}:  # no extra keys: nothing for additional_properties
            if width == 1:
                return list(map(model, map(getter, rows)))
            return list(starmap(model, map(getter, rows)))
        return [from_dict(row) for row in rows]

    return read_rows


def _parser(operation: OperationFacts) -> Callable[[httpx.Response], Any]:
    read = _reader(operation)
    check = _check_for(operation)

    def parse(response: httpx.Response) -> Any:
        if operation.response_empty:
            return None
        try:
            data = loads(response.content)
        except UnreadableJSON as exc:
            raise _unreadable(response, str(exc)) from None
        try:
            problem = check(data)
        except RecursionError:  # a recursive schema meeting a deep (but readable) body
            problem = ": nested too deeply to check"
        if problem is not None:
            raise _unreadable(response, "body" + problem)
        try:
            result = read(data)
        except Exception as exc:  # whatever a model's from_dict trips on: the work was done
            raise _unreadable(response, type(exc).__name__) from None
        return with_request_id(result, request_id_of(response.headers))

    return parse


_CHECKS: dict[str, Check] = {}


def _check_for(operation: OperationFacts) -> Check:
    """The compiled check of an operation's success schema, built on first use."""
    check = _CHECKS.get(operation.name)
    if check is None:
        check = _CHECKS[operation.name] = checker(operation.response_schema, SCHEMAS)
    return check
