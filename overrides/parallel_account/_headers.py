"""Headers a caller adds to requests: checked once, merged in one documented order.

Three sources, later ones winning for the same (case-insensitive) name:

1. `$PARALLEL_ACCOUNT_CUSTOM_HEADERS`: one `Name: value` per line (blank lines
   skipped), read when a client is made;
2. `default_headers=` of the client (and of `with_options`, merged over the
   client's own);
3. `extra_headers=` of one call.

Headers the client sets itself, and headers that would change what the request
means or who makes it, are refused before any request, with an error naming the
parameter (refused, not silently dropped, so a caller never believes a header was
sent that was not): `User-Agent`, `Accept` and `Accept-Encoding` (the body reader
inflates only what the client asked for), `Authorization` and
`Proxy-Authorization` (use `token=`), `Content-Type`, `Content-Length`,
`Transfer-Encoding` and `Host` (the client frames the body), and the idempotency
key (a body field, `idempotency_key=` of the method; as a header the server would
ignore it, so a caller relying on it could charge twice).

A name must be an HTTP token (RFC 9110: letters, digits and ``!#$%&'*+-.^_`|~``);
a value printable ASCII or tab, without CR or LF (which would split the header).
Errors name the header but never quote its value: values are often credentials.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import httpx

from parallel_account._env import CUSTOM_HEADERS_ENV
from parallel_account._errors import InvalidRequestError
from parallel_account_api.spec_facts import OPERATIONS

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FOLD = str.maketrans("_", "-")

_WHY_REFUSED = {
    "user-agent": "the client identifies itself (parallel-account-client/VERSION)",
    "accept": "the client asks for JSON, the only answer it parses",
    "accept-encoding": "the body reader inflates only the encodings the client asks for itself",
    "authorization": "the client sends the token given as token= (or from the environment)",
    "proxy-authorization": "credentials belong in token= or in the http_client's proxy",
    "content-type": "the client sends the body as JSON and says so itself",
    "content-length": "the client frames the body itself",
    "transfer-encoding": "the client frames the body itself",
    "host": "the host comes from base_url",
    "idempotency-key": (
        "the idempotency key travels in the request body: pass idempotency_key= to the method"
    ),
}
# The spec's own idempotency fields, in header form too (`idempotency_key`, folded).
for _operation in OPERATIONS.values():
    if _operation.idempotency_key_field is not None:
        _WHY_REFUSED.setdefault(
            _operation.idempotency_key_field.lower().translate(_FOLD),
            _WHY_REFUSED["idempotency-key"],
        )

#: Headers the client sets on every request (a caller's are refused, above).
CLIENT_OWNED = ("User-Agent", "Accept", "Accept-Encoding")


def _shown(name: str) -> str:
    return repr(name) if len(name) <= 60 else repr(name[:57] + "...")


def _check_value(where: str, name: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidRequestError(
            f"{where}: the value of {_shown(name)} is a {type(value).__name__}; expected a str"
        )
    for char in value:
        if char in "\r\n":
            raise InvalidRequestError(
                f"{where}: the value of {_shown(name)} contains a line break (CR or LF), "
                "which would split the header; expected one line of printable ASCII"
            )
        if not char.isascii():
            raise InvalidRequestError(
                f"{where}: the value of {_shown(name)} contains a non-ASCII character; "
                "expected printable ASCII (encode other text first, e.g. percent-encoding)"
            )
        if not (char.isprintable() or char == "\t"):
            raise InvalidRequestError(
                f"{where}: the value of {_shown(name)} contains a control character; "
                "expected printable ASCII"
            )
    return value


def _check_name(where: str, name: object) -> str:
    if not isinstance(name, str):
        raise InvalidRequestError(
            f"{where}: a header name is a {type(name).__name__}; expected a str"
        )
    if not _TOKEN.fullmatch(name):
        raise InvalidRequestError(
            f"{where}: {_shown(name)} is not a valid header name; expected letters, digits "
            "and !#$%&'*+-.^_`|~ only (no spaces, colons, line breaks or non-ASCII)"
        )
    why = _WHY_REFUSED.get(name.lower().translate(_FOLD))
    if why is not None:
        raise InvalidRequestError(f"{where}: {_shown(name)} cannot be set this way; {why}")
    return name


def checked(where: str, headers: object) -> list[tuple[str, str]]:
    """`headers` (a mapping of names to values; None for none) checked, as (name, value) pairs."""
    if headers is None:
        return []
    if not isinstance(headers, Mapping):
        raise InvalidRequestError(
            f"{where}: got {type(headers).__name__}; expected a mapping of header names to "
            "values, e.g. {'X-Team': 'billing'}"
        )
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name, value in headers.items():
        name = _check_name(where, name)
        if name.lower() in seen:
            raise InvalidRequestError(
                f"{where}: {_shown(name)} is given twice (header names ignore case)"
            )
        seen.add(name.lower())
        pairs.append((name, _check_value(where, name, value)))
    return pairs


def from_env(text: str | None) -> list[tuple[str, str]]:
    """The headers of `$PARALLEL_ACCOUNT_CUSTOM_HEADERS`, one `Name: value` per line."""
    headers: dict[str, str] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        where = f"${CUSTOM_HEADERS_ENV} line {number}"
        if not colon:
            raise InvalidRequestError(f"{where}: expected 'Name: value' (no colon found)")
        headers[name.strip()] = value.strip()
    return checked(f"${CUSTOM_HEADERS_ENV}", headers)


def layered(*layers: list[tuple[str, str]]) -> httpx.Headers:
    """The layers merged, a later layer's header replacing an earlier one of the same name."""
    merged = httpx.Headers()
    for layer in layers:
        merged.update(dict(layer))
    return merged
