"""The exit statuses of every `spec` command: one table, one meaning per number.

The commands: `parallel-account spec diff|check|rules|schema` and
`python -m parallel_account_drift` (the same), and in a checkout `python -m codegen.spec
fetch|normalise` (`make spec`) and `python -m codegen.workflow check|update` (`make
spec-check`, `make spec-update`).

    status  name               meaning
    0       OK                 no changes (diff, check); done (update, fetch, normalise,
                               rules, schema; update also when there was nothing to adopt)
    1       CHANGES            non-breaking changes only (diff, check)
    2       BREAKING           at least one breaking change (diff, check)
    3       UNREACHABLE        the URL cannot be reached (check, update, fetch); nothing written
    4       UNUSABLE           a document that cannot be used: the fetched or given one (HTTP
                               error, refused redirect, HTML, not JSON, not OpenAPI 3.x, broken
                               $ref, refused name), the pinned spec, or the version file;
                               nothing written
    5       GENERATION_FAILED  update: generating the client failed (everything restored)
    6       TESTS_FAILED       update: the test command failed (everything restored)
    64      USAGE              bad usage: unknown command or option, unusable --ignore file
    130     INTERRUPTED        codegen.workflow check or update interrupted by SIGINT or
                               SIGTERM (update restores everything)

2 means "breaking", so no command lets argparse end a usage error with its own 2. GNU make
turns any failing status into its own 2; its error line (`*** [...] Error 3`) shows the
one above. Errors are one line on stderr.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum
from typing import Final


class ExitStatus(IntEnum):
    """How a `spec` command ended; the module docstring is the table."""

    OK = 0
    CHANGES = 1
    BREAKING = 2
    UNREACHABLE = 3
    UNUSABLE = 4
    GENERATION_FAILED = 5
    TESTS_FAILED = 6
    USAGE = 64
    INTERRUPTED = 130

    @property
    def meaning(self) -> str:
        """A few words for `--help` (no commas: `help_text` lists them comma-separated)."""
        return _MEANINGS[self]


_MEANINGS: Final[dict[ExitStatus, str]] = {
    ExitStatus.OK: "no changes or done",
    ExitStatus.CHANGES: "non-breaking changes only",
    ExitStatus.BREAKING: "breaking changes",
    ExitStatus.UNREACHABLE: "URL unreachable",
    ExitStatus.UNUSABLE: "input unusable",
    ExitStatus.GENERATION_FAILED: "generation failed (all restored)",
    ExitStatus.TESTS_FAILED: "tests failed (all restored)",
    ExitStatus.USAGE: "bad usage",
    ExitStatus.INTERRUPTED: "interrupted",
}


def help_text(statuses: Iterable[ExitStatus]) -> str:
    """`Exit status: 0 no changes or done, 1 ...`: the statuses a command can end with, for
    its `--help`, so no command states a number the table does not."""
    return "Exit status: " + ", ".join(f"{s.value} {s.meaning}" for s in statuses) + "."
