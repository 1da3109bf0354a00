"""Reading JSON a server sent, within bounds, so no answer becomes a raw Python exception.

Python's json module turns deep nesting into RecursionError, a 5000-digit integer
into ValueError (or, below Python's digit limit, a number no balance can be), and
accepts NaN, Infinity and 1e400 (as inf). Here each of those is `UnreadableJSON`,
which callers map to this package's errors.
"""

from __future__ import annotations

import json
import math
from typing import Any

# Longer integers are refused before int() reads them: no amount, count or id the
# Account API sends comes near, and int() of thousands of digits costs quadratic time.
MAX_INTEGER_DIGITS = 40


class UnreadableJSON(ValueError):
    """The bytes are not JSON this client can use; the message says why, never the bytes."""


def _integer(text: str) -> int:
    if len(text) > MAX_INTEGER_DIGITS + 1:  # the sign
        raise UnreadableJSON(f"an integer of {len(text)} digits")
    return int(text)


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnreadableJSON(f"a number too large for a float ({len(text)} characters)")
    return value


def _constant(name: str) -> Any:
    raise UnreadableJSON(f"{name} is not a JSON number")


# Built once: json.loads with hooks would build a new decoder for every answer.
_DECODER = json.JSONDecoder(parse_int=_integer, parse_float=_number, parse_constant=_constant)


def loads(content: bytes | str) -> Any:
    """The JSON value of `content`, or UnreadableJSON."""
    try:
        if isinstance(content, bytes | bytearray):
            # What json.loads does with bytes: UTF-8, -16 or -32, told apart by the first bytes.
            content = content.decode(json.detect_encoding(content), "surrogatepass")
        elif content.startswith("\ufeff"):  # json.loads refuses a BOM in text, so do we
            raise UnreadableJSON("not JSON (a byte order mark before the value)")
        return _DECODER.decode(content)
    except UnreadableJSON:
        raise
    except RecursionError:
        raise UnreadableJSON("JSON nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise UnreadableJSON(f"not JSON ({exc.msg} at character {exc.pos})") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise UnreadableJSON(f"not JSON ({type(exc).__name__})") from None
