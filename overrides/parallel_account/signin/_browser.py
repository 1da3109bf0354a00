"""Opening the sign-in page in a browser, only where the person signing in can see it.

A browser is opened only when asked and a display is likely there (`has_display()`:
not over SSH, not in CI or a container, and on Linux and other X11/Wayland systems
only with $DISPLAY or $WAYLAND_DISPLAY); only web URLs are opened, so a hostile
answer cannot make us open a file: or custom-scheme URL. Whatever happens, the URL
is also shown, so a headless machine loses nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from parallel_account._env import CI_ENV, CONTAINER_ENV, DISPLAY_ENV, REMOTE_SESSION_ENV
from parallel_account.signin._answers import DeviceCode

# Container markers of Docker and Podman; systemd-nspawn, LXC and Podman set $container.
CONTAINER_MARKERS = ("/.dockerenv", "/run/.containerenv")


def has_display(
    environ: Mapping[str, str] | None = None,
    system: str | None = None,
    exists: Callable[[str], bool] = os.path.exists,
) -> bool:
    """Whether a browser opened here would be seen by the person signing in.

    No: over SSH ($SSH_CONNECTION, $SSH_CLIENT or $SSH_TTY), in CI ($CI), in a
    container (/.dockerenv, /run/.containerenv, $container), and on systems other
    than macOS and Windows without $DISPLAY or $WAYLAND_DISPLAY. Yes otherwise.

    Args:
        environ: the environment to read (None: os.environ).
        system: the platform, as `sys.platform` names it (None: this one).
        exists: tells whether a path exists (for the container markers).

    Returns:
        True when a browser is likely to be seen.

    Raises:
        Nothing.
    """
    return no_display_reason(environ, system, exists) is None


def no_display_reason(
    environ: Mapping[str, str] | None = None,
    system: str | None = None,
    exists: Callable[[str], bool] = os.path.exists,
) -> str | None:
    """Why a browser opened here would not be seen (see `has_display`), or None.

    Args:
        environ: the environment to read (None: os.environ).
        system: the platform, as `sys.platform` names it (None: this one).
        exists: tells whether a path exists (for the container markers).

    Returns:
        A short reason ("an SSH session", "a CI run", ...), or None if one can be seen.

    Raises:
        Nothing.
    """
    env = os.environ if environ is None else environ
    system = sys.platform if system is None else system
    if any(env.get(name) for name in REMOTE_SESSION_ENV):
        return "an SSH session"
    if env.get(CI_ENV, "").strip().lower() not in ("", "0", "false", "no"):
        return "a CI run"
    if env.get(CONTAINER_ENV) or any(exists(marker) for marker in CONTAINER_MARKERS):
        return "a container"
    desktop = system == "darwin" or system.startswith(("win", "cygwin", "msys"))
    if not desktop and not any(env.get(name) for name in DISPLAY_ENV):
        return "no $DISPLAY or $WAYLAND_DISPLAY"
    return None


def open_if_possible(
    browser: Callable[[str], object], code: DeviceCode, no_display: Callable[[], str | None]
) -> tuple[bool, str]:
    """(opened, why not): the browser only with a display, and only for a web URL."""
    reason = no_display()
    if reason is not None:
        return False, reason
    url = code.verification_uri_complete or code.verification_uri
    # Only web URLs: a hostile answer must not make us open a file: or custom-scheme URL.
    if urlsplit(url).scheme not in ("http", "https"):
        return False, "the URL is not a web address"
    # No browser is fine: the instructions are already on screen.
    try:
        opened = browser(url)
    except Exception:  # any failure of any browser means: not opened
        return False, "the browser could not be started"
    if opened is False:  # webbrowser.open says False when it found no browser
        return False, "no browser was found"
    return True, ""
