"""Security requirements (document and operation level) and security schemes."""

from __future__ import annotations

from typing import Final

from parallel_account_drift._docs import strip_docs
from parallel_account_drift._model import Checks
from parallel_account_drift.jsondoc import Json, escape_token, names, obj, same, show
from parallel_account_drift.rules import BREAKING, NON_BREAKING, rule

AREA: Final = "security"

SECURITY_CHANGED: Final = rule(
    "security-changed", BREAKING, AREA, "a security requirement was added or changed"
)
SECURITY_LOOSENED: Final = rule(
    "security-loosened", NON_BREAKING, AREA, "a security requirement was relaxed or removed"
)
SECURITY_SCHEME_CHANGED: Final = rule(
    "security-scheme-changed",
    BREAKING,
    AREA,
    "a security scheme's type, scheme or location changed",
)
SECURITY_SCHEME_REMOVED: Final = rule(
    "security-scheme-removed", BREAKING, AREA, "a security scheme was removed"
)
SECURITY_SCHEME_ADDED: Final = rule(
    "security-scheme-added", NON_BREAKING, AREA, "a security scheme was added"
)

Alternative = frozenset[tuple[str, frozenset[str]]]


class SecurityChecks(Checks):
    def security(self, where: str, old: Json, new: Json) -> None:
        old_alts, new_alts = _alternatives(old), _alternatives(new)
        if set(old_alts) == set(new_alts):
            return
        shown = f"{_show_alternatives(old_alts)} to {_show_alternatives(new_alts)}"
        text = f"security changed from {shown}"
        still_accepted = all(any(_satisfies(a, b) for b in new_alts) for a in old_alts)
        self.add(SECURITY_LOOSENED if still_accepted else SECURITY_CHANGED, where, text)

    def security_schemes(self) -> None:
        old = obj(obj(self.old.root.get("components")).get("securitySchemes"))
        new = obj(obj(self.new.root.get("components")).get("securitySchemes"))
        for name in sorted(old.keys() | new.keys()):
            where = f"#/components/securitySchemes/{escape_token(name)}"
            if name not in new:
                self.add(SECURITY_SCHEME_REMOVED, where, f"security scheme {name} removed")
            elif name not in old:
                self.add(SECURITY_SCHEME_ADDED, where, f"security scheme {name} added")
            else:
                before = strip_docs(self.old.obj(old[name]))
                after = strip_docs(self.new.obj(new[name]))
                if not same(before, after):
                    msg = f"security scheme {name} changed from {show(before)} to {show(after)}"
                    self.add(SECURITY_SCHEME_CHANGED, where, msg)


def _alternatives(requirements: Json) -> list[Alternative]:
    """Security requirement objects as sets; an absent or empty list means no auth needed."""
    if not isinstance(requirements, list) or not requirements:
        return [frozenset()]
    return [
        frozenset((name, frozenset(names(scopes))) for name, scopes in obj(req).items())
        for req in requirements
    ]


def _satisfies(held: Alternative, asked: Alternative) -> bool:
    """Whether a client holding `held` credentials meets the requirement `asked`."""
    have = dict(held)
    return all(name in have and scopes <= have[name] for name, scopes in asked)


def _show_alternatives(alternatives: list[Alternative]) -> str:
    def one(alt: Alternative) -> str:
        parts = [f"{n}[{','.join(sorted(s))}]" if s else n for n, s in sorted(alt)]
        return " + ".join(parts) or "none"

    return " or ".join(sorted(one(a) for a in alternatives))
