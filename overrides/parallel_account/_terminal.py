"""Text a server sent, made safe for a terminal (no escape sequences reach it).

Apart from the device flow, so every command's output can use it without loading sign-in.
"""

from __future__ import annotations

import unicodedata


def terminal_safe(text: object) -> str:
    """`text` with control, format and surrogate characters shown escaped (`\\x1b`, `\\u202e`).

    For anything a server sent that goes to a terminal: it cannot move the cursor,
    set the window title, recolour the screen or reorder a line, and it always encodes.
    """
    return "".join(
        ch.encode("unicode_escape", "backslashreplace").decode("ascii")
        if unicodedata.category(ch) in _UNSAFE_CATEGORIES
        else ch
        for ch in str(text)
    )


def terminal_lines(text: object) -> str:
    """`terminal_safe` for each line, keeping the line breaks themselves."""
    return "\n".join(terminal_safe(line) for line in str(text).split("\n"))


_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
