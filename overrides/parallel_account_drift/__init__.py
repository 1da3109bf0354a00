"""Semantic drift between two OpenAPI 3.x documents, classified for a generated client.

`compare(old, new)` compares two JSON documents by meaning: key order, whitespace and
number spelling (`10000` vs `10000.0`) are not changes, list order is ignored where the
specification gives it no meaning (parameters, `required`, `enum`, tags, servers), and
local `$ref`s are followed (cycles are cut). Each difference becomes a `Change` with a
stable rule id (see `REGISTRY`), a level, a location and a one-line message.

"Breaking" is judged for this project: a caller of the regenerated client, or an
already released client talking to the new server, may fail. That is why some
changes the server side thinks harmless are breaking here (a response enum value
added, an operationId or first tag changed, a component schema renamed).

Schemas are judged in the direction they are used: one reached from a parameter
or request body is a request schema, one reached from a response is a response
schema, and a component used both ways is judged both ways, once per operation.

Modules: `rules` (the registry), one module per area of checks (`_paths`,
`_parameters`, `_bodies`, `_content`, `_responses`, `_schemas`, `_security`,
`_document`, `_docs`), `_compare` (all areas together), `report` (report formats),
`ignore` (ignore files), `jsondoc` (JSON helpers shared with codegen), `spec_file`
(reading and fetching specs), `errors` (the spec errors, shared with codegen),
`exit_status` (the exit statuses of every `spec` command), `cli` (the command line:
`python -m parallel_account_drift` and `parallel-account spec`, and the `check` flow
the build's `make spec-check` uses too).

Standard library only, and independent of the generated client: it works even when
that client is stale or missing.
"""

from __future__ import annotations

from parallel_account_drift._compare import compare
from parallel_account_drift._model import Change, Direction, sort_changes
from parallel_account_drift.errors import SpecError, SpecUnreachableError
from parallel_account_drift.exit_status import ExitStatus
from parallel_account_drift.report import (
    FORMATS,
    Format,
    Ignored,
    exit_code,
    render,
    report_dict,
    summarize,
    summary_line,
)
from parallel_account_drift.rules import LEVELS, REGISTRY, Level, Rule
from parallel_account_drift.spec_file import load

__all__ = [
    "FORMATS",
    "LEVELS",
    "REGISTRY",
    "Change",
    "Direction",
    "ExitStatus",
    "Format",
    "Ignored",
    "Level",
    "Rule",
    "SpecError",
    "SpecUnreachableError",
    "compare",
    "exit_code",
    "load",
    "render",
    "report_dict",
    "sort_changes",
    "summarize",
    "summary_line",
]
