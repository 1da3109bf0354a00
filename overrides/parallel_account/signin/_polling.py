"""Waiting for the user's approval: polling the token endpoint (RFC 8628 3.4, 3.5).

`poll_for_grant` waits `interval + safety_margin` seconds before each poll (the
margin absorbs clock drift and latency so we never poll early and earn a
`slow_down`), adds 5 s per `slow_down` (RFC 8628 3.5), and gives up at the device
code's `expires_in` without a final pointless request. Parallel's CLI polls once at
once; nobody approves within milliseconds of seeing a code, so that first poll only
spends a request. Unlike Parallel's CLI, a passing network error or 5xx does not end
the wait (the user's approval would be lost). `progress(event, fields)` hears
`auth_waiting`, `slow_down` and `poll_failed`.

The default sleep checks the clock in short steps, so Ctrl-C ends a ten-minute wait
at once. Sleep and clock are parameters: tests never wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from parallel_account._errors import (
    APIConnectionError,
    DeviceCodeExpiredError,
    DeviceFlowError,
    InternalServerError,
)
from parallel_account._logging import logger
from parallel_account.signin._answers import DeviceCode, TokenGrant
from parallel_account.signin._platform import LOGIN_HINT, Platform

SLOW_DOWN_STEP = 5.0  # RFC 8628 3.5
POLL_SAFETY_MARGIN = 1.0
SLEEP_STEP = 0.2  # longest uninterruptible stretch of the default sleep

Sleep = Callable[[float], None]
Clock = Callable[[], float]
Progress = Callable[[str, dict[str, Any]], None]


def interruptible_sleep(seconds: float) -> None:
    """Sleep in steps of at most SLEEP_STEP, so KeyboardInterrupt lands within one step."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(SLEEP_STEP, left))


def poll_for_grant(
    platform: Platform,
    client_id: str,
    code: DeviceCode,
    *,
    sleep: Sleep = interruptible_sleep,
    clock: Clock = time.time,
    safety_margin: float = POLL_SAFETY_MARGIN,
    progress: Progress | None = None,
) -> TokenGrant:
    """Poll until the user approves, declines, or the code expires.

    `progress(event, fields)`, if given, hears `auth_waiting` (once, before the first
    wait), `slow_down` (with the new interval) and `poll_failed` (a passing fault).
    """
    tell: Progress = progress or nobody
    interval = code.interval
    deadline = clock() + code.expires_in
    tell("auth_waiting", {"interval": interval, "expires_in": code.expires_in})
    while True:
        remaining = deadline - clock()
        if remaining > 0:
            sleep(min(interval + safety_margin, remaining))
        if clock() >= deadline:
            raise DeviceCodeExpiredError(
                f"the code {code.user_code} expired before it was approved "
                f"({code.expires_in:g} s); {LOGIN_HINT} to get a new one"
            )
        try:
            return platform.poll(client_id, code.device_code)
        except DeviceFlowError as exc:
            if exc.error == "authorization_pending":
                continue
            if exc.error == "slow_down":
                interval += SLOW_DOWN_STEP
                tell("slow_down", {"interval": interval})
                continue
            raise
        except (APIConnectionError, InternalServerError) as exc:
            # A passing fault must not waste the user's approval: poll on until the deadline.
            logger.warning("sign-in: polling failed (%s); trying again", type(exc).__name__)
            tell("poll_failed", {"error": type(exc).__name__})


def nobody(event: str, fields: dict[str, Any]) -> None:
    """The progress listener when nobody listens."""
