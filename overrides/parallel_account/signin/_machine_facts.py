"""What registration tells the sign-in platform about this machine, as Parallel's CLI sends it."""

from __future__ import annotations

import contextlib
import os
import platform as platform_module
from collections.abc import Callable

from parallel_account.signin._answers import MAX_TEXT_CHARS


def platform_facts() -> dict[str, str]:
    """The machine's facts for registration, an object as Parallel's CLI sends it.

    Keys `system`, `release`, `machine`, `processor`, `version`, `os_name`; a fact
    that is empty or cannot be read is left out.
    """
    readers: dict[str, Callable[[], str]] = {
        "system": platform_module.system,
        "release": platform_module.release,
        "machine": platform_module.machine,
        "processor": platform_module.processor,
        "version": platform_module.version,
        "os_name": lambda: os.name,
    }
    facts: dict[str, str] = {}
    for key, read in readers.items():
        with contextlib.suppress(Exception):  # a fact that cannot be read is only left out
            value = read()
            if isinstance(value, str) and value:
                facts[key] = value[:MAX_TEXT_CHARS]
    return facts
