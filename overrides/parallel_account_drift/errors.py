"""The spec errors: one family for the drift checker and the build-time codegen.

    SpecError(ValueError)          a spec cannot be read, compared or used (exit status 4)
    └── SpecUnreachableError       its URL cannot be reached at all (exit status 3)

codegen's own "this spec cannot be handled" errors (codegen.untrusted.UnsafeSpecError,
codegen.naming.NamingError, codegen.surface.SurfaceError) subclass SpecError. Each
error's message is one line for a human; `exit_status` is what a `spec` command that
stops on it returns (parallel_account_drift.exit_status).
"""

from __future__ import annotations

from typing import ClassVar

from parallel_account_drift.exit_status import ExitStatus


class SpecError(ValueError):
    """The spec cannot be read, compared or used; the message is one line for a human."""

    exit_status: ClassVar[ExitStatus] = ExitStatus.UNUSABLE


class SpecUnreachableError(SpecError):
    """The URL could not be reached at all (as opposed to answering badly)."""

    exit_status: ClassVar[ExitStatus] = ExitStatus.UNREACHABLE
