"""What the command line writes: one JSON document, or text for a terminal.

Rules kept here so every command follows them:

* stdout carries the result only (one JSON document in --json mode, written
  in one piece at the end, so an interrupted run leaves nothing half-written);
  notes, prompts and errors go to stderr. The one exception is a command that
  streams JSON lines (`login --json`): each event is one line, flushed at once,
  and once it has streamed, its error is one line too (`error_event`).
* Text that came from the server (app names, messages, the sign-in platform's
  codes and URLs, tracebacks and log lines) is made safe for a terminal:
  control, format and surrogate characters are shown escaped, so a hostile
  name cannot move the cursor, recolour the screen, set the window title or
  reorder a line, and every line can be encoded. Multi-line text keeps its
  real line breaks (`safe_lines`).
* JSON field names are the API models' own; money stays in integer cents; times are
  ISO 8601 in UTC (`_times`).
"""

from __future__ import annotations

import errno
import json
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from parallel_account._errors import APIStatusError
from parallel_account._terminal import terminal_lines, terminal_safe
from parallel_account.cli._money import format_cents
from parallel_account.cli._times import utc_times

if TYPE_CHECKING:  # the curated commands' models; a spec that drops one breaks only them
    from parallel_account_api.models import AppItem, BalanceResponse


class _Model(Protocol):
    additional_properties: dict[str, Any]

    def to_dict(self) -> dict[str, Any]: ...


def safe(text: object) -> str:
    """`text` with control, format and surrogate characters escaped (for terminals, not JSON)."""
    return terminal_safe(text)


def safe_lines(text: object) -> str:
    """`safe` line by line: the line breaks stay real, everything else is escaped."""
    return terminal_lines(text)


def one_line(text: object) -> str:
    """A message as a single terminal-safe line."""
    return safe(" ".join(str(text).split()))


def model_dict(model: _Model) -> dict[str, Any]:
    """The model's documented fields only (extra server fields would make the shape unstable),
    times in ISO 8601 UTC (`_times`)."""
    extra = set(model.additional_properties)
    documented = {k: v for k, v in model.to_dict().items() if k not in extra}
    times: dict[str, Any] = utc_times(documented)
    return times


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns two spaces apart."""
    cells = [[safe(c) for c in headers], *[[safe(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def fields(pairs: Sequence[tuple[str, object]]) -> str:
    """`label:  value` lines with the values aligned."""
    width = max(len(label) for label, _ in pairs) + 1
    return "\n".join(f"{(label + ':').ljust(width)}  {safe(value)}" for label, value in pairs)


def balance_text(balance: BalanceResponse) -> str:
    return fields(
        [
            ("Organisation", balance.org_id),
            ("Credit balance", format_cents(balance.credit_balance_cents)),
            ("Pending debits", format_cents(balance.pending_debit_balance_cents)),
            ("Billing", "by invoice" if balance.will_invoice else "prepaid"),
        ]
    )


def apps_text(apps: Sequence[AppItem]) -> str:
    if not apps:
        return "No apps."
    rows = [(app.app_id, app.app_name) for app in sorted(apps, key=lambda a: a.app_name)]
    return table(("APP ID", "NAME"), rows)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def dumps(document: Mapping[str, Any]) -> str:
    # ASCII-only output: safe in any terminal or pipe encoding, and still valid JSON.
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"


def json_error(exc: BaseException, message: str, *, kind: str | None = None) -> dict[str, Any]:
    """`{"error": {...}}` for --json mode; the same fields for every kind of failure."""
    status = exc if isinstance(exc, APIStatusError) else None
    return {
        "error": {
            "type": kind or type(exc).__name__,
            "message": " ".join(message.split()),
            "status_code": status.status_code if status else None,
            "request_id": status.request_id if status else None,
            "idempotency_key": getattr(exc, "idempotency_key", None),
            "outcome_unknown": bool(getattr(exc, "outcome_unknown", False)),
        }
    }


def abandon_stdout(stream: TextIO | None) -> None:
    """Point the process's stdout at /dev/null after writing to it (`stream`) failed.

    What could not be written stays in Python's buffer; without this, the flush
    at exit fails again, prints "Exception ignored ..." and exits 120. Only the
    process's own stdout is touched, never a stream a caller passed in.
    """
    own = sys.__stdout__
    if own is None or stream is not own:
        return
    try:
        fd = own.fileno()
    except (OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


class Output:
    """Where results, notes and errors go, in human or --json mode."""

    def __init__(
        self, *, json_mode: bool, stdout: TextIO | None = None, stderr: TextIO | None = None
    ) -> None:
        self.json_mode = json_mode
        # Set by a command that streams JSON lines: its error goes out as one line with this
        # "event" name instead of an indented document.
        self.error_event: str | None = None
        # sys.stdout is None when the program started with file descriptor 1 closed.
        self.stdout: TextIO | None = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr

    @property
    def stdout_closed(self) -> bool:
        """True when stdout cannot take anything at all (closed before we started)."""
        return self.stdout is None or self.stdout.closed

    def result(self, document: Mapping[str, Any], human: str) -> None:
        """The command's result: `document` in --json mode, else `human` (already terminal-safe).

        Raises OSError when stdout cannot take it (closed, broken pipe, disk full).
        """
        self._write(self.stdout, dumps(document) if self.json_mode else human + "\n")

    def event(self, document: Mapping[str, Any]) -> None:
        """One JSON line on stdout, flushed at once (for commands that stream their progress)."""
        self._write(self.stdout, json.dumps(document, ensure_ascii=True) + "\n")

    def note(self, text: str) -> None:
        """A line for the person at the terminal, in both modes (stderr never breaks a parser)."""
        self._write(self.stderr, text + "\n")

    def human_note(self, text: str) -> None:
        """A note only for human mode: in --json mode the same fact is in the document."""
        if not self.json_mode:
            self.note(text)

    def error(self, exc: BaseException, message: str, *, kind: str | None = None) -> None:
        """The one-line error on stderr, plus the error document on stdout in --json mode.

        stderr first: when stdout is what failed (closed, broken pipe, disk full),
        the line still gets out.
        """
        self._write(self.stderr, f"parallel-account: error: {one_line(message)}\n")
        if self.json_mode and not self.stdout_closed:
            try:
                document = json_error(exc, message, kind=kind)
                if self.error_event is not None:
                    self.event({"event": self.error_event, **document})
                else:
                    self._write(self.stdout, dumps(document))
            except OSError:  # nobody can read it; the line on stderr got out
                abandon_stdout(self.stdout)

    @staticmethod
    def _write(stream: TextIO | None, text: str) -> None:
        if stream is None:
            raise OSError(errno.EBADF, "stdout is closed")
        stream.write(text)  # one write per piece: nothing interleaves half a document
        stream.flush()
