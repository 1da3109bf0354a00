"""`python -m codegen.drift OLD NEW [--format ...]`: the drift checker, for the build.

The checker itself ships in the wheel as `parallel_account_drift` (rules, areas of
checks, report formats; see its docstring); this module keeps the name the Makefile,
codegen.workflow and the tests have always used. Same rules, same reports.

Exit status: 0 no changes, 1 changes but none breaking, 2 at least one breaking
change, 3 input unreadable or not OpenAPI 3.x (one line on stderr) or bad usage.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from parallel_account_drift import (
    EXIT_BREAKING,
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_NO_CHANGES,
    FORMATS,
    LEVELS,
    RULES,
    Change,
    Direction,
    Format,
    Level,
    SpecError,
    compare,
    exit_code,
    load,
    render,
    report_dict,
    sort_changes,
    summarize,
)
from parallel_account_drift.cli import diff_main


def main(argv: Sequence[str] | None = None) -> int:
    return diff_main(argv, prog="python -m codegen.drift")


__all__ = [
    "EXIT_BREAKING",
    "EXIT_CHANGES",
    "EXIT_ERROR",
    "EXIT_NO_CHANGES",
    "FORMATS",
    "LEVELS",
    "RULES",
    "Change",
    "Direction",
    "Format",
    "Level",
    "SpecError",
    "compare",
    "exit_code",
    "load",
    "main",
    "render",
    "report_dict",
    "sort_changes",
    "summarize",
]

if __name__ == "__main__":
    sys.exit(main())
