"""Base URLs: defaults, environment overrides, and the plain-http-only-to-loopback rule."""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

from parallel_account._env import API_URL_ENV, PLATFORM_URL_ENV
from parallel_account._errors import InvalidRequestError
from parallel_account_api.spec_facts import SERVER_URL

if not SERVER_URL:  # the default comes from the spec's `servers`; without it there is none
    raise ImportError("spec_facts: the pinned spec names no server URL")
DEFAULT_API_URL: str = SERVER_URL
DEFAULT_PLATFORM_URL = "https://platform.parallel.ai"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_base_url(url: str, *, parameter: str) -> str:
    """Return `url` without a trailing slash, or raise InvalidRequestError.

    A bearer token must never cross a network in clear text, so plain http:// is
    refused unless the host is loopback (127.0.0.0/8, ::1, localhost): local fakes.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequestError(
            f"{parameter}: {url!r} is not an http(s) URL; expected e.g. https://api.parallel.ai/account"
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise InvalidRequestError(
            f"{parameter}: plain http:// to {parts.hostname!r} would send the bearer token "
            "unencrypted; use https://, or http:// only to a loopback host (127.0.0.1, ::1, localhost)"
        )
    if parts.query or parts.fragment:
        raise InvalidRequestError(f"{parameter}: {url!r} must not have a query or fragment")
    return url.rstrip("/")


def _resolve(explicit: str | None, env_name: str, default: str, parameter: str) -> str:
    """Explicit argument, else the environment variable, else the default; checked either way."""
    if explicit:
        return checked_base_url(explicit, parameter=parameter)
    from_env = os.environ.get(env_name)
    if from_env:
        return checked_base_url(from_env, parameter=f"${env_name}")
    return checked_base_url(default, parameter=parameter)


def api_base_url(explicit: str | None = None) -> str:
    return _resolve(explicit, API_URL_ENV, DEFAULT_API_URL, "base_url")


def platform_base_url(explicit: str | None = None) -> str:
    return _resolve(explicit, PLATFORM_URL_ENV, DEFAULT_PLATFORM_URL, "platform_url")
