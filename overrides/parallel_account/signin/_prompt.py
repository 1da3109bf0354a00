"""The sign-in's words on the terminal: how the user code is shown while a login waits.

The platform's text is shown through `terminal_safe`: escape sequences appear escaped.
"""

from __future__ import annotations

import sys
from typing import TextIO

from parallel_account._terminal import terminal_safe
from parallel_account.signin._answers import DeviceCode


def print_instructions(code: DeviceCode, file: TextIO | None = None) -> None:
    """The default way to show the user code: a few lines on stderr (stdout stays for data).

    Args:
        code: the device code the platform handed out.
        file: where to write (None: stderr).

    The platform's text is shown terminal-safe: escape sequences appear escaped.
    """
    out = file if file is not None else sys.stderr
    print(f"To sign in, open {terminal_safe(code.verification_uri)}", file=out)
    print(f"and enter the code: {terminal_safe(code.user_code)}", file=out)
    if code.verification_uri_complete:
        print(f"(or open {terminal_safe(code.verification_uri_complete)} directly)", file=out)
    print(f"Waiting for approval; the code expires in {code.expires_in / 60:.0f} min.", file=out)
    out.flush()
