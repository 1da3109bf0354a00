"""The spec operations behind the curated commands (`balance`, `apps`, `keys`), looked up late.

A curated command names the operation it calls; the spec may drop it at the next
update. Looking it up when the command runs (not at import) keeps every other
command working, and says plainly what is missing instead of failing to start.
"""

from __future__ import annotations

from parallel_account._errors import OperationGone
from parallel_account_api.spec_facts import OPERATIONS, OperationFacts


def curated_operation(name: str, command: str) -> OperationFacts:
    """The facts of operation `name`, which `command` calls; OperationGone if the spec lacks it."""
    operation = OPERATIONS.get(name)
    if operation is None:
        raise OperationGone(
            f"`{command}` calls the Account API operation {name}, which the spec this version "
            "was generated from no longer has; `parallel-account api --list` shows the "
            "operations it has"
        )
    return operation
