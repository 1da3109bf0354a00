"""The OAuth scopes a sign-in asks for by default (`parallel-account login --scope`).

Chosen in codegen/curated.toml ([sign_in]) and generated into
`parallel_account_api.scopes`; apart from the device flow, so the command line's help can
show them without loading it.
"""

from __future__ import annotations

from parallel_account_api.scopes import DEFAULT_SCOPES

DEFAULT_SCOPE = " ".join(DEFAULT_SCOPES)

__all__ = ["DEFAULT_SCOPE", "DEFAULT_SCOPES"]
