"""The schema engine: one `$ref` resolver, validator, sampler and mutator for the package.

Used by the client's response check and request validation, the fake's control API and
its answers for unmodelled operations, the conformance runner and the tests. It covers
the OpenAPI 3.0/3.1 and JSON Schema 2020-12 subset that FastAPI and common APIs emit;
CONTRIBUTING.md ("The schema engine") says what it does not cover. Standard library only, so the
zipapp stays free of jsonschema.

- `Resolver(document)` / `Resolver.from_components(SCHEMAS)`: `$ref` lookup, one rule for
  keys next to a `$ref`; unknown, external or cyclic refs raise SchemaRefError naming them.
- `compile_check(schema, resolver)`: a function naming a value's first problem, or None.
- `sample(schema, resolver)`: a valid instance. `mutations(schema, resolver)`: invalid ones.

The sampler and mutator are imported on first use (the client needs neither).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from parallel_account._schema._check import (
    FORMATS,
    Check,
    checker,
    compile_check,
    refusing_check,
)
from parallel_account._schema._resolve import (
    MAX_DEPTH,
    MAX_REF_REPEATS,
    Resolver,
    SchemaError,
    SchemaRefError,
)

if TYPE_CHECKING:
    from parallel_account._schema._mutate import Mutation, mutations
    from parallel_account._schema._sample import sample

__all__ = [
    "FORMATS",
    "MAX_DEPTH",
    "MAX_REF_REPEATS",
    "Check",
    "Mutation",
    "Resolver",
    "SchemaError",
    "SchemaRefError",
    "checker",
    "compile_check",
    "mutations",
    "refusing_check",
    "sample",
]


def __getattr__(name: str) -> Any:
    if name == "sample":
        from parallel_account._schema._sample import sample

        return sample
    if name in ("mutations", "Mutation"):
        from parallel_account._schema import _mutate

        return getattr(_mutate, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
