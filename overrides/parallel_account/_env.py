"""Every environment variable this package reads, by name, in one place.

The bottom layer: it imports nothing of ours, so any module may import it. A module
that reads a variable takes its name from here.
"""

from __future__ import annotations

# The token a client without `token=` sends (the first link of the token chain).
TOKEN_ENV = "PARALLEL_ACCOUNT_TOKEN"  # noqa: S105 (a variable name, not a secret)
# Which stored sign-in (profile) a client without a token uses; set, it also keeps
# Parallel CLI's shared sign-in out of the token chain.
PROFILE_ENV = "PARALLEL_ACCOUNT_PROFILE"
# The Account API's base URL when `base_url=` is not given.
API_URL_ENV = "PARALLEL_SERVICE_API_URL"
# The sign-in platform's base URL when `platform_url=` / `--platform-url` is not given.
PLATFORM_URL_ENV = "PARALLEL_PLATFORM_URL"
# `debug` or `info`: log the `parallel_account` logger to stderr.
LOG_ENV = "PARALLEL_ACCOUNT_LOG"
# Extra request headers, one `Name: value` a line, read when a client is made.
CUSTOM_HEADERS_ENV = "PARALLEL_ACCOUNT_CUSTOM_HEADERS"
# The base of the sign-in directory (only when absolute, as the XDG spec says).
CONFIG_HOME_ENV = "XDG_CONFIG_HOME"
# Set in a remote session: a browser opened by `login` would not be seen there.
REMOTE_SESSION_ENV = ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")
# Set (and not 0/false/no) in a CI run: no browser.
CI_ENV = "CI"
# Set by systemd-nspawn, LXC and Podman inside a container: no browser.
CONTAINER_ENV = "container"
# Outside macOS and Windows, a browser needs one of these displays (X11, Wayland).
DISPLAY_ENV = ("DISPLAY", "WAYLAND_DISPLAY")
