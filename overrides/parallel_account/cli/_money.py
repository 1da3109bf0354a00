"""Money on the command line: dollars or cents in, exact integer cents out; cents to `$12.34`.

Choices:

* Dollars are parsed with `decimal.Decimal`, never float, after a strict
  syntax check: ASCII digits with at most one decimal point. Signs, exponents
  (`1e3`), `nan`, `inf`, thousands separators and non-ASCII digits are refused,
  because each of them is a plausible typo for a very different amount.
* More than two decimals are accepted only when the extra digits are zeros
  (`25.500`); a fraction of a cent (`100.001`) is refused, never rounded.
* The allowed range comes from `spec_facts` (`add_balance.amount_cents`), so a
  changed bound upstream changes this check without anyone editing it.
* Length is checked before anything reads the number (int() refuses more than
  4300 digits with a message naming nothing): AMOUNT at most MAX_AMOUNT_CHARS
  characters, --cents at most MAX_CENTS_DIGITS digits, each error naming which.
"""

from __future__ import annotations

import decimal
import math
import re
from typing import NamedTuple

from parallel_account._errors import InvalidRequestError
from parallel_account.cli._curated import curated_operation
from parallel_account_api.spec_facts import FieldFacts

_DOLLARS_RE = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_CENTS_RE = re.compile(r"[0-9]+")
EXAMPLES = "like 25, 25.5 or 25.50 (dollars), or --cents 2550"
MAX_AMOUNT_CHARS = 40
MAX_CENTS_DIGITS = 30


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else f"of {len(text)} characters"


class CentsRange(NamedTuple):  # not a dataclass: made at import, a tenth of the time
    """Inclusive integer bounds in cents; None where the spec states none."""

    low: int | None
    high: int | None

    @classmethod
    def from_facts(cls, facts: FieldFacts) -> CentsRange:
        lows = [math.ceil(facts.minimum)] if facts.minimum is not None else []
        if facts.exclusive_minimum is not None:
            lows.append(math.floor(facts.exclusive_minimum) + 1)
        highs = [math.floor(facts.maximum)] if facts.maximum is not None else []
        if facts.exclusive_maximum is not None:
            highs.append(math.ceil(facts.exclusive_maximum) - 1)
        return cls(max(lows, default=None), min(highs, default=None))

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"from {format_cents(self.low)} to {format_cents(self.high)}"
        if self.low is not None:
            return f"at least {format_cents(self.low)}"
        if self.high is not None:
            return f"at most {format_cents(self.high)}"
        return "any amount"

    def check(self, cents: int, shown: str, *, name: str = "amount") -> int:
        if self.low is not None and cents < self.low:
            raise InvalidRequestError(
                f"{name}: amount {shown} is below the minimum {format_cents(self.low)}; "
                f"a top-up must be {self.describe()}"
            )
        if self.high is not None and cents > self.high:
            raise InvalidRequestError(
                f"{name}: amount {shown} is over the maximum {format_cents(self.high)}; "
                f"a top-up must be {self.describe()}"
            )
        return cents


def top_up_range() -> CentsRange:
    top_up = curated_operation("add_balance", "balance add")
    return CentsRange.from_facts(top_up.body_field("amount_cents"))


def parse_dollars(text: str, allowed: CentsRange | None = None) -> int:
    """`'25.50'` -> 2550. Raises InvalidRequestError (naming AMOUNT) unless an exact, in-range amount."""
    allowed = allowed or top_up_range()
    raw = text.strip()
    if not raw:
        raise InvalidRequestError(f"AMOUNT is empty; give an amount {EXAMPLES}")
    if len(raw) > MAX_AMOUNT_CHARS:
        raise InvalidRequestError(
            f"AMOUNT: {len(raw)} characters is too long for an amount; a top-up must be "
            f"{allowed.describe()}, {EXAMPLES}"
        )
    if raw.startswith("-"):
        raise InvalidRequestError(f"AMOUNT: amount {text!r} is negative; give an amount {EXAMPLES}")
    if not _DOLLARS_RE.fullmatch(raw):
        raise InvalidRequestError(
            f"AMOUNT: amount {text!r} is not a number of dollars; give digits with an optional "
            f"decimal point {EXAMPLES} (no signs, exponents or thousands separators)"
        )
    value = decimal.Decimal(raw)
    # Enough precision for every digit given: the multiplication below is exact.
    with decimal.localcontext(decimal.Context(prec=len(raw) + 3)):
        cents = value * 100
    if cents != cents.to_integral_value():
        raise InvalidRequestError(
            f"AMOUNT: amount {text!r} has a fraction of a cent; use at most two decimals"
        )
    return allowed.check(int(cents), f"${raw}", name="AMOUNT")


def parse_cents(text: str, allowed: CentsRange | None = None) -> int:
    """`'2550'` -> 2550. Only ASCII digits: int() would also take `2_550`, ` 25 ` and non-ASCII digits."""
    allowed = allowed or top_up_range()
    if not _CENTS_RE.fullmatch(text):
        raise InvalidRequestError(
            f"--cents {_shown(text)} is not a whole number of cents; give digits only, like 2550"
        )
    if len(text) > MAX_CENTS_DIGITS:
        raise InvalidRequestError(
            f"--cents: {len(text)} digits is far out of range; a top-up must be {allowed.describe()}"
        )
    cents = int(text)
    return allowed.check(cents, f"{cents} cents ({format_cents(cents)})", name="--cents")


def format_cents(cents: float) -> str:
    """1234 -> `$12.34`, -500 -> `-$5.00`; a fractional cent is shown, not rounded away."""
    if isinstance(cents, float):
        if not math.isfinite(cents):
            return f"{cents} cents"
        if cents.is_integer():
            cents = int(cents)  # JSON numbers may arrive as 1234.0
    amount = decimal.Decimal(str(cents)).scaleb(-2)
    exponent = amount.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{'-' if amount < 0 else ''}${abs(amount):,.{places}f}"
