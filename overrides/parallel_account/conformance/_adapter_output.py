"""What one adapter run gave back, read under the adapter contract, and shown in reports.

The contract (docs/other-languages.md, "The adapter contract"): stdout holds exactly one JSON
document, an object, in UTF-8; whitespace around and inside it is fine
(pretty-printed or not), anything else is refused and shown; at most
MAX_OUTPUT_BYTES and MAX_DEPTH levels deep. Exit status 0 means "I printed my
answer", a failed call included; any other status, or a signal, fails the
scenario whatever stdout holds. stderr is free; reports show its first lines and
later lines that name an error, so a runtime that ends with a banner (Node's
`Node.js v20...`) still shows its error.

Every text shown is scrubbed of the secrets first and cut short after, so a
secret straddling a cut never shows in part.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Final

from parallel_account.conformance._expect import checkable, nesting_problem, protocol_problems
from parallel_account_api.spec_facts import OPERATIONS

MAX_OUTPUT_BYTES: Final = 1 << 20  # an adapter printing more is broken: killed at the cap
STDERR_KEEP_BYTES: Final = 64 << 10  # stderr beyond this is read and dropped
MAX_DEPTH: Final = 64  # JSON nesting an answer may have (the spec's answers need a handful)
_LINE_CHARS: Final = 300  # one stderr line or the stdout excerpt in a failure line
_STDOUT_CHARS: Final = 2000  # the stdout excerpt in reports
_HEAD_LINES: Final = 8  # stderr: its first lines...
_LATER_ERROR_LINES: Final = 3  # ...and the last few later lines that name an error
# A line that names an error, in the runtimes teams use: `ValueError: x` (Python),
# `Error: x` / `TypeError [ERR_X]: x` (Node), `panic: x` (Go), `Exception in thread` (Java).
_ERROR_LINE: Final = re.compile(
    r"^\s*(?:[\w.$]*(?:Error|Exception)\b|panic:|fatal(?: error)?:|error(?:\[\w+\])?:)",
    re.IGNORECASE,
)


@dataclass
class AdapterRun:
    """One run of the adapter: what it was sent, what it printed, how it ended."""

    stdin: str
    stdout: bytes = b""
    stderr: bytes = b""
    stderr_cut: bool = False  # more than STDERR_KEEP_BYTES were printed
    exit_status: int | None = None  # negative: the signal that ended it
    killed: str | None = None  # why the runner killed it, if it did
    output: Any = None  # the parsed document, when stdout held one
    secret_texts: set[str] = field(default_factory=set)  # met in its output
    _problem: str | None = field(default=None, init=False)  # why stdout is no answer
    _protocol: list[str] = field(default_factory=list, init=False)

    @property
    def answered(self) -> bool:
        """Whether the output can be checked against the scenario."""
        return self.killed is None and self.exit_status == 0 and checkable(self.output)

    def parse(self) -> None:
        """Read stdout under the contract (called once the run ended)."""
        try:
            text = self.stdout.decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            self._problem = f"stdout: expected UTF-8, got the byte {self.stdout[exc.start]:#04x}"
            return
        try:
            self.output = json.loads(text)
        except RecursionError:
            self._problem = f"stdout: JSON nested too deep to read, expected at most {MAX_DEPTH}"
        except ValueError as exc:
            self._problem = _not_json(text, exc)
        else:
            self._problem = nesting_problem(self.output, MAX_DEPTH)
            if self._problem is None:
                self.secret_texts |= secret_values(self.output)
                self._protocol = protocol_problems(self.output)
            else:
                self.output = None

    def problems(self, secret_texts: set[str]) -> list[str]:
        """How the run broke the contract, each saying what was expected and what was seen."""
        if self.killed is not None:
            return [f"the adapter {self.killed} (killed){self._stderr_hint(secret_texts)}"]
        if self.exit_status != 0:
            return [
                f"the adapter {_ended(self.exit_status)}, expected exit status 0 "
                f"(an answer, a failed call included){self._stderr_hint(secret_texts)}"
            ]
        if self._problem is not None:
            excerpt = _cut(scrub(self._text(), secret_texts), _LINE_CHARS)
            seen = f"stdout was {json.dumps(excerpt)}" if excerpt else "stdout was empty"
            return [f"{self._problem}; {seen}{self._stderr_hint(secret_texts)}"]
        return list(self._protocol)

    def report(self, secret_texts: set[str]) -> dict[str, Any]:
        """The run for reports (`-v`, `--json`, `--junit`): scrubbed, then cut short."""
        stdout = scrub(self._text(), secret_texts)
        return {
            "stdin": scrub(self.stdin, secret_texts),
            "exit_status": self.exit_status,
            "killed": self.killed,
            "stdout": _cut(stdout, _STDOUT_CHARS),
            "stdout_bytes": len(self.stdout),
            "stderr": self.stderr_lines(secret_texts),
        }

    def stderr_lines(self, secret_texts: set[str]) -> list[str]:
        """The first lines of stderr and the last later ones that name an error."""
        text = self.stderr.decode("utf-8", "replace")
        if self.stderr_cut:  # the last line kept may end inside a secret: drop it
            text = text[: text.rfind("\n") + 1]
        lines = [line.rstrip() for line in scrub(text, secret_texts).splitlines()]
        lines = [line for line in lines if line.strip()]
        head, rest = lines[:_HEAD_LINES], lines[_HEAD_LINES:]
        named = [line for line in rest if _ERROR_LINE.match(line)][-_LATER_ERROR_LINES:]
        if rest:
            head.append(f"... ({len(rest) - len(named)} more lines)")
        return [_cut(line, _LINE_CHARS) for line in head + named]

    def _stderr_hint(self, secret_texts: set[str]) -> str:
        """The stderr line that best says what went wrong, for the failure line itself."""
        lines = self.stderr_lines(secret_texts)
        best = next((line for line in lines if _ERROR_LINE.match(line)), None)
        best = best or next((line for line in lines if not line.startswith("... (")), None)
        return f"; stderr: {best.strip()}" if best else ""

    def _text(self) -> str:
        return self.stdout.decode("utf-8", "replace")


def _not_json(text: str, exc: ValueError) -> str:
    if not text:
        return "stdout: expected one JSON object, got nothing"
    message = exc.args[0].split(":")[0] if exc.args else "not JSON"
    if message == "Extra data":
        return (
            "stdout: expected one JSON document, got more after it (logs go to stderr, not stdout)"
        )
    first = text.lstrip()[:1]
    if first not in ("{", "["):
        return "stdout: expected one JSON object, got text that is not JSON (logs go to stderr)"
    return f"stdout: expected one JSON object, got JSON that does not parse ({exc})"


def _ended(status: int | None) -> str:
    if status is not None and status < 0:
        return f"was ended by signal {-status}"
    return f"exited with status {status}"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def scrub(text: str, secret_texts: set[str]) -> str:
    """`text` with every secret replaced by `[secret]` (longest first: one may hold another)."""
    for secret in sorted(secret_texts, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "[secret]")
    return text


#: Answer fields the spec marks secret (`format: password`, `writeOnly`): a new key's raw key.
_SECRET_FIELDS: Final = frozenset(
    f.name for op in OPERATIONS.values() for f in op.response_fields if f.secret
)


def secret_values(document: Any) -> set[str]:
    """Every text under a secret field name, anywhere in `document` (read without
    recursion: an adapter's answer may nest deep)."""
    found: set[str] = set()
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for name, value in item.items():
                if name in _SECRET_FIELDS and isinstance(value, str):
                    found.add(value)
                else:
                    pending.append(value)
        elif isinstance(item, list):
            pending.extend(item)
    return found
