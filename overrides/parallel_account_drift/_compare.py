"""The comparer: every area of checks combined, run over two documents."""

from __future__ import annotations

from typing import Final

from parallel_account_drift._bodies import RequestBodyChecks
from parallel_account_drift._content import ContentChecks
from parallel_account_drift._docs import walk_docs
from parallel_account_drift._document import DocumentChecks, effective_servers
from parallel_account_drift._model import Change, Doc, Report, unclassified
from parallel_account_drift._parameters import ParameterChecks
from parallel_account_drift._paths import PathChecks
from parallel_account_drift._responses import ResponseChecks
from parallel_account_drift._schemas import SchemaChecks
from parallel_account_drift._security import SecurityChecks
from parallel_account_drift.errors import SpecError
from parallel_account_drift.jsondoc import Json

_ROOT_KEYS: Final = frozenset(
    {"openapi", "info", "paths", "components", "servers", "security", "tags"}
)


class Comparer(
    PathChecks,
    ParameterChecks,
    RequestBodyChecks,
    ResponseChecks,
    ContentChecks,
    SchemaChecks,
    SecurityChecks,
    DocumentChecks,
):
    def run(self) -> None:
        old, new = self.old.root, self.new.root
        self.root_fields(old, new)
        self.servers("#/servers", effective_servers(old), effective_servers(new))
        self.security("#/security", old.get("security"), new.get("security"))
        self.security_schemes()
        self.component_schemas()
        self.paths()
        unclassified(self.report, old, new, _ROOT_KEYS, "#", per_key=True)


def compare(old: dict[str, Json], new: dict[str, Json]) -> list[Change]:
    """Every meaningful change from `old` to `new`, breaking first, in a stable order.

    Raises SpecError for a dangling or non-local `$ref`, and for documents too deep or
    too complex to compare (see SchemaChecks.schema).
    """
    for name, doc in (("old", old), ("new", new)):
        if not isinstance(doc, dict):
            raise SpecError(f"{name} document is not a JSON object")
    report = Report()
    try:
        Comparer(Doc(old), Doc(new), report).run()
        walk_docs(old, new, "#", report, as_map=False)
    except RecursionError:  # a backstop: spec_file.decode and MAX_DEPTH bound the walks
        raise SpecError("cannot compare: the documents nest too deeply") from None
    return report.changes()
