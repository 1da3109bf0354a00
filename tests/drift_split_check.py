"""Check that a refactoring of the drift checker changed no report: render every corpus
case of tests/test_drift.py (both directions, plus all mutations at once) with the
self-contained codegen/drift.py of a git revision and with the current checker, in the
text, json and markdown formats with their exit statuses, and compare the bytes.

    .venv/bin/python -m tests.drift_split_check [REV]    # default: the last commit before the split

Exit status 0 when every report is identical; 1 with the differing cases listed.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from codegen import drift
from tests.support import ROOT
from tests.test_drift import BASE, CASES, _apply

BEFORE_SPLIT = "0c572c5"
FORMATS = ("text", "json", "markdown")


def _module_at(rev: str, directory: Path) -> ModuleType:
    source = subprocess.run(
        ["git", "show", f"{rev}:codegen/drift.py"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    path = directory / "drift_at_rev.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("drift_at_rev", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["drift_at_rev"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _pairs() -> list[tuple[str, Any, Any]]:
    pairs = []
    everything = copy.deepcopy(BASE)
    for case in CASES:
        old, new = _apply(case)
        pairs += [(case.name, old, new), (f"{case.name} (reversed)", new, old)]
        if case.old is None:
            with contextlib.suppress(LookupError):  # an earlier mutation removed its target
                case.new(everything)
    return [*pairs, ("all mutations", BASE, everything), ("all reversed", everything, BASE)]


def _reports(module: Any, old: Any, new: Any) -> list[str]:
    try:
        changes = module.compare(old, new)
    except module.SpecError as exc:
        return [f"SpecError: {exc}"]
    status = module.exit_code(changes)
    return [f"{module.render(changes, fmt)}exit {status}" for fmt in FORMATS]


def main(argv: list[str]) -> int:
    rev = argv[0] if argv else BEFORE_SPLIT
    with tempfile.TemporaryDirectory() as directory:
        before = _module_at(rev, Path(directory))
        differing = [
            name
            for name, old, new in _pairs()
            if _reports(before, old, new) != _reports(drift, old, new)
        ]
    total = len(_pairs())
    print(f"{total - len(differing)} of {total} spec pairs give identical reports ({rev} vs now)")
    for name in differing:
        print(f"  differs: {name}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
