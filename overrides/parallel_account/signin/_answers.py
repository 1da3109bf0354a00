"""The sign-in platform's OAuth answers, read and checked: `DeviceCode` and `TokenGrant`.

Lifetimes are clamped to 0..MAX_LIFETIME seconds (a negative one means already
expired); a lifetime that is not a number is refused. Text the platform sends must
be valid Unicode of bounded length (tokens: visible ASCII), so whatever is stored
can be read back. Tokens and the device code stay out of every repr.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from parallel_account._errors import DeviceFlowError

DEFAULT_INTERVAL = 5.0  # RFC 8628 3.2 and Parallel's own CLI, when the answer has none
DEFAULT_EXPIRES_IN = 600.0  # Parallel's own CLI, when the answer has none
MAX_LIFETIME = 10 * 366 * 86400.0  # ten years: longer lifetimes are clamped to it
MAX_DEVICE_CODE_LIFETIME = 86400.0  # a user code lives minutes; a day at most
MAX_INTERVAL = 300.0  # poll at least every five minutes, whatever the platform says
MAX_TOKEN_CHARS = 8192  # a JWT is 1-2 KiB
MAX_TEXT_CHARS = 1024  # ids, names, scope strings, URLs


@dataclass(frozen=True)
class DeviceCode:
    """What to show the user; `device_code` (the poll secret) stays out of repr.

    Attributes:
        user_code: the code the user enters on the platform.
        verification_uri: where to enter it.
        verification_uri_complete: a link with the code filled in, if the platform sent one.
        expires_in: seconds until the code expires.
        interval: seconds to wait between polls.
        device_code: the secret the client polls with.
    """

    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float
    device_code: str = field(repr=False)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> DeviceCode | None:
        """The device-code answer `body`, or None if it lacks device_code, user_code or the URI."""
        device_code = text(body.get("device_code"))
        user_code = text(body.get("user_code"))
        uri = text(body.get("verification_uri"))
        if device_code is None or user_code is None or uri is None:
            return None
        return cls(
            user_code=user_code,
            verification_uri=uri,
            verification_uri_complete=text(body.get("verification_uri_complete")),
            expires_in=min(
                _seconds(body.get("expires_in"), positive=True) or DEFAULT_EXPIRES_IN,
                MAX_DEVICE_CODE_LIFETIME,
            ),
            interval=min(
                _or_default(_seconds(body.get("interval")), DEFAULT_INTERVAL), MAX_INTERVAL
            ),
            device_code=device_code,
        )


@dataclass(frozen=True)
class TokenGrant:
    """A successful answer of the token endpoint; tokens stay out of repr. Lifetimes in seconds."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    token_type: str
    expires_in: float | None
    refresh_token_expires_in: float | None
    authorization_expires_in: float | None
    scope: str | None
    org_id: str | None
    org_name: str | None

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> TokenGrant:
        access = body.get("access_token")
        if not is_bare_token(access):
            raise DeviceFlowError("the platform's token answer has no usable access_token")
        refresh = body.get("refresh_token")
        if refresh is not None and refresh != "" and not is_bare_token(refresh):
            raise DeviceFlowError(
                "the platform's token answer has an unusable refresh_token (expected at most "
                f"{MAX_TOKEN_CHARS} visible ASCII characters)"
            )
        return cls(
            access_token=access,
            refresh_token=refresh if is_bare_token(refresh) else None,
            token_type=text(body.get("token_type")) or "Bearer",
            expires_in=_lifetime(body, "expires_in"),
            refresh_token_expires_in=_lifetime(body, "refresh_token_expires_in"),
            authorization_expires_in=_lifetime(body, "authorization_expires_in"),
            scope=text(body.get("scope")),
            org_id=text(body.get("org_id")),
            org_name=text(body.get("org_name")),
        )


def is_bare_token(value: object) -> TypeGuard[str]:
    """Visible ASCII only: what a header can carry and a sign-in file accepts back."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_TOKEN_CHARS
        and all(33 <= ord(ch) <= 126 for ch in value)
    )


def text(value: object) -> str | None:
    """Non-empty, valid Unicode text of bounded length; anything else counts as absent."""
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT_CHARS:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" in the JSON)
        return None
    return value


def _lifetime(body: dict[str, Any], name: str) -> float | None:
    """A lifetime of the token answer, clamped to 0..MAX_LIFETIME; None if absent.

    Negative means already expired (0); beyond MAX_LIFETIME is clamped to it. Anything
    that is not a number (or a numeric string) is refused: guessing could keep a dead
    sign-in looking alive, or throw a good one away.
    """
    value = body.get(name)
    if value is None:
        return None
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and len(value) <= 40:
        with contextlib.suppress(ValueError):
            number = float(value)
    if number is None or math.isnan(number):
        raise DeviceFlowError(
            f"the platform's token answer has an unusable {name} "
            f"({'a ' + type(value).__name__ if not isinstance(value, float) else 'NaN'}); "
            "expected a number of seconds"
        )
    return min(max(number, 0.0), MAX_LIFETIME)


def _seconds(value: object, *, positive: bool = False) -> float | None:
    """A lifetime in seconds from a JSON number (or numeric string); None if absent or invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    if positive and value == 0:
        return None
    return float(value)


def _or_default(value: float | None, default: float) -> float:
    return default if value is None else value
