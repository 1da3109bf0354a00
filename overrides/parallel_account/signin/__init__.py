"""Sign in to Parallel with the device flow, keep the sign-in, and use it as a token source.

    login(...)  -> SignInStatus   show a code, wait for approval, store the tokens
    logout(...) -> LogoutResult   revoke the refresh token, delete the file either way
    status(...) -> SignInStatus   what is stored (never a token)
    StoredSignIn(profile)         a TokenProvider: `AccountClient(token=None)` finds it

The modules below import only downward, layer by layer (tests/test_imports.py
holds this order and checks it):

1. platform: HTTP to the sign-in platform and what it answers (`_answers`,
   `_machine_facts`, `_platform`, `_polling`);
2. store: the sign-in files and their locks (`_private_file`), this package's
   (`_store`) and Parallel CLI's (`_shared_file`), and what they hold for people
   (`_status`);
3. token sources: refreshing under the lock (`_refresh`) for this package's sign-in
   (`_stored_sign_in`) and Parallel CLI's (`_shared_sign_in`);
4. bearer auth: the token chain of a client (`parallel_account._auth`).

The user interface stands apart: showing the code (`_prompt`) and opening a browser
only where someone can see it (`_browser`); `_login` puts the layers and the user
interface together into `login` and `logout`. No layer imports the user interface.

Every name here is imported on first use (PEP 562), so a client that only reads a
stored sign-in never loads the browser or the login flow.
"""

from typing import TYPE_CHECKING, Any

from parallel_account._exports import load_export

if TYPE_CHECKING:
    from parallel_account._errors import (
        AccessDeniedError,
        CorruptTokenFileError,
        DeviceCodeExpiredError,
        DeviceFlowError,
        InsecureTokenFileError,
        InvalidClientError,
        NotSignedInError,
        SignInExpiredError,
        TokenStoreError,
    )
    from parallel_account._scopes import DEFAULT_SCOPE, DEFAULT_SCOPES
    from parallel_account._terminal import terminal_safe
    from parallel_account.signin._answers import DeviceCode
    from parallel_account.signin._browser import has_display, no_display_reason
    from parallel_account.signin._login import LogoutResult, login, logout
    from parallel_account.signin._prompt import print_instructions
    from parallel_account.signin._refresh import REFRESH_MARGIN
    from parallel_account.signin._status import SignInStatus, status
    from parallel_account.signin._store import TokenStore
    from parallel_account.signin._stored_sign_in import StoredSignIn

# Exported name -> the module that defines it.
_HOMES: dict[str, str] = {
    "AccessDeniedError": "parallel_account._errors",
    "CorruptTokenFileError": "parallel_account._errors",
    "DeviceCodeExpiredError": "parallel_account._errors",
    "DeviceFlowError": "parallel_account._errors",
    "InsecureTokenFileError": "parallel_account._errors",
    "InvalidClientError": "parallel_account._errors",
    "NotSignedInError": "parallel_account._errors",
    "SignInExpiredError": "parallel_account._errors",
    "TokenStoreError": "parallel_account._errors",
    "DEFAULT_SCOPE": "parallel_account._scopes",
    "DEFAULT_SCOPES": "parallel_account._scopes",
    "terminal_safe": "parallel_account._terminal",
    "DeviceCode": "parallel_account.signin._answers",
    "has_display": "parallel_account.signin._browser",
    "no_display_reason": "parallel_account.signin._browser",
    "LogoutResult": "parallel_account.signin._login",
    "login": "parallel_account.signin._login",
    "logout": "parallel_account.signin._login",
    "print_instructions": "parallel_account.signin._prompt",
    "REFRESH_MARGIN": "parallel_account.signin._refresh",
    "SignInStatus": "parallel_account.signin._status",
    "status": "parallel_account.signin._status",
    "TokenStore": "parallel_account.signin._store",
    "StoredSignIn": "parallel_account.signin._stored_sign_in",
}


def __getattr__(name: str) -> Any:
    return load_export(globals(), _HOMES.get(name), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "DEFAULT_SCOPE",
    "DEFAULT_SCOPES",
    "REFRESH_MARGIN",
    "AccessDeniedError",
    "CorruptTokenFileError",
    "DeviceCode",
    "DeviceCodeExpiredError",
    "DeviceFlowError",
    "InsecureTokenFileError",
    "InvalidClientError",
    "LogoutResult",
    "NotSignedInError",
    "SignInExpiredError",
    "SignInStatus",
    "StoredSignIn",
    "TokenStore",
    "TokenStoreError",
    "has_display",
    "login",
    "logout",
    "no_display_reason",
    "print_instructions",
    "status",
    "terminal_safe",
]
