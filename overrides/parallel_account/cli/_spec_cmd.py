"""`parallel-account spec diff|check|rules`: the drift report (parallel_account_drift).

Its own argument parser and exit statuses, those of every `spec` command
(parallel_account_drift.exit_status): 2 means "breaking change found" there, so a usage
error is 64, not the CLI's usual 2. Imported only when a `spec` command runs; the
checker needs neither a token nor the generated client.
"""

from __future__ import annotations

from collections.abc import Sequence

PROG = "parallel-account spec"


def _pinned_spec() -> str:
    from parallel_account._spec import spec_text

    return spec_text()


def run_spec(argv: Sequence[str]) -> int:
    from parallel_account_drift.cli import main

    return main(argv, prog=PROG, pinned=_pinned_spec)
