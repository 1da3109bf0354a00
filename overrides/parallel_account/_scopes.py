"""The OAuth scopes a sign-in asks for by default (`parallel-account login --scope`).

Apart from the device flow, so the command line's help can show them without loading it.
"""

from __future__ import annotations

DEFAULT_SCOPES: tuple[str, ...] = (
    "keys:read",
    "keys:create",
    "keys:delete",
    "apps:read",
    "apps:create",
    "apps:delete",
    "balance:read",
    "balance:add",
)
DEFAULT_SCOPE = " ".join(DEFAULT_SCOPES)
