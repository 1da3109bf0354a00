"""Idempotency keys for add_balance.

The key lives in the JSON body (AddBalanceRequest.idempotency_key), and the
server deduplicates on it for at least 24 hours per organisation. A call
without a key gets a fresh uuid4, reused on every retry of that call. To make a
retry after a crash or restart of the calling process safe too, derive the key
from your own identifiers with `idempotency_key_for`.
"""

from __future__ import annotations

import uuid

from parallel_account._errors import InvalidRequestError

# Fixed for this package forever: changing it would change every derived key.
NAMESPACE = uuid.uuid5(
    uuid.NAMESPACE_URL, "https://pypi.org/project/parallel-account-client/idempotency"
)


def new_idempotency_key() -> str:
    """A high-entropy key for one add_balance call (122 random bits)."""
    return str(uuid.uuid4())


def idempotency_key_for(*parts: str | int) -> str:
    """A stable key from your own identifiers, e.g. `idempotency_key_for("invoice", 1042)`.

    The same parts always give the same key, so a top-up retried after a restart is
    deduplicated by the server. Parts are joined unambiguously (length-prefixed), so
    ("ab", "c") and ("a", "bc") differ.

    Args:
        parts: one or more of your own identifiers, each a str or an int.

    Returns:
        A uuid5 string (36 characters), within add_balance's key bounds.

    Raises:
        InvalidRequestError: no parts, or a part that is not a str or an int.
    """
    if not parts:
        raise InvalidRequestError(
            "idempotency_key_for: give at least one part (e.g. an invoice or job id)"
        )
    for part in parts:
        if isinstance(part, bool) or not isinstance(part, str | int):
            raise InvalidRequestError(
                f"idempotency_key_for: parts must be str or int; got {type(part).__name__}"
            )
    joined = "".join(f"{len(str(p))}:{type(p).__name__}:{p};" for p in parts)
    return str(uuid.uuid5(NAMESPACE, joined))
