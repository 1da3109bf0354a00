"""The one refusal shared by `import parallel_account` and the request builder."""

from __future__ import annotations


def refuse_unkeyed_charges(names: tuple[str, ...]) -> None:
    """Raise ImportError if any operation in `names` moves money without an idempotency key.

    A charge is retried only because its body carries a key the server dedupes on. If
    a regenerated spec loses that key, refuse to load (the build goes red) rather than
    find out at a retry, with a double charge.
    """
    if names:
        raise ImportError(
            f"spec_facts: {names[0]} moves money (codegen/curated.toml) but its request no "
            "longer carries an idempotency key, so a retry could charge twice; see CONTRIBUTING.md, "
            "'How a spec change flows'"
        )
