"""The drift checker's bounds on hostile specs: shared `$ref`s compared once per place of use
(no exponential walk), a bounded amount of work, and documents nested too deep or holding
numbers too long refused with the "input unusable" status and one line, by `spec diff`
and by `python -m codegen.workflow check` alike (both read specs through
`parallel_account_drift.spec_file`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from parallel_account_drift import ExitStatus, SpecError, compare, spec_file
from parallel_account_drift import _schemas as schemas_module
from parallel_account_drift._compare import Comparer

from codegen import workflow
from parallel_account.cli import main as cli_main
from tests.support import FROZEN_SPEC

# Frozen or hand-made specs only: run once, not again on the superset (make unit-superset).
pytestmark = pytest.mark.spec_independent

# Each level has two properties referring to the next: 2**LEVELS paths to the bottom.
LEVELS = 40


def _doubling_spec(levels: int, leaf: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = {
        f"L{i}": {
            "type": "object",
            "properties": {
                "p": {"$ref": f"#/components/schemas/L{i + 1}"},
                "q": {"$ref": f"#/components/schemas/L{i + 1}"},
            },
        }
        for i in range(levels)
    }
    schemas[f"L{levels}"] = leaf
    body = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/L0"}}}}
    answer = {"description": "ok", **body}
    return {
        "openapi": "3.1.0",
        "info": {"title": "doubling", "version": "1"},
        "paths": {"/x": {"post": {"requestBody": body, "responses": {"200": answer}}}},
        "components": {"schemas": schemas},
    }


class _TooMuchWork(Exception):
    pass


def _counting_schema_calls(monkeypatch: pytest.MonkeyPatch, stop_after: int) -> list[int]:
    """Count SchemaChecks.schema calls; give up (raise) past `stop_after`, so an
    exponential walk fails the test at once instead of running for hours."""
    calls = [0]
    original: Callable[..., None] = schemas_module.SchemaChecks.schema

    def counted(self: Any, *args: Any, **kwargs: Any) -> None:
        calls[0] += 1
        if calls[0] > stop_after:
            raise _TooMuchWork(f"more than {stop_after} schema comparisons")
        original(self, *args, **kwargs)

    monkeypatch.setattr(schemas_module.SchemaChecks, "schema", counted)
    return calls


def test_shared_refs_are_compared_once_per_place_of_use(monkeypatch: pytest.MonkeyPatch) -> None:
    old = _doubling_spec(LEVELS, {"type": "string", "maxLength": 10})
    new = _doubling_spec(LEVELS, {"type": "string", "maxLength": 5})
    calls = _counting_schema_calls(monkeypatch, stop_after=100 * LEVELS)
    changes = compare(old, new)
    # Linear in the levels: per place of use (request body, response, component) each
    # level's pair is compared once, plus its two properties.
    assert calls[0] <= 10 * LEVELS
    tightened = [c for c in changes if c.id == "request-bounds-tightened"]
    # The change is still reported, at the first path (properties in sorted order).
    assert [c.location for c in tightened] == ["POST /x request body " + ".p" * LEVELS]
    assert compare(old, old) == []


def test_shared_all_of_branches_are_folded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each level is allOf [next, next]: folding it branch by branch doubles per level.
    from parallel_account_drift import _views

    old = _doubling_spec(LEVELS, {"type": "object", "properties": {"leaf": {"type": "string"}}})
    for i in range(LEVELS):
        same = {"$ref": f"#/components/schemas/L{i + 1}"}
        old["components"]["schemas"][f"L{i}"] = {"allOf": [same, dict(same)]}
    new = json.loads(
        json.dumps(old).replace('"leaf": {"type": "string"}', '"leaf": {"type": "integer"}')
    )
    calls = [0]
    original = _views._merge_all_of

    def counted(*args: Any) -> Any:
        calls[0] += 1
        if calls[0] > 100 * LEVELS * LEVELS:
            raise _TooMuchWork("allOf folded too often")
        return original(*args)

    monkeypatch.setattr(_views, "_merge_all_of", counted)
    changes = compare(old, new)
    assert ("request-type-changed", "POST /x request body .leaf") in {
        (c.id, c.location) for c in changes
    }


def test_changes_at_distinct_shared_places_are_all_reported() -> None:
    # Memoising by $ref pair must not merge different places: .p and .q refer to
    # different components here, and both changes show.
    old = _doubling_spec(1, {"type": "string"})
    new = _doubling_spec(1, {"type": "string"})
    for doc, length in ((old, 3), (new, 2)):
        doc["components"]["schemas"]["Q"] = {"type": "string", "maxLength": length}
        doc["components"]["schemas"]["L0"]["properties"]["q"] = {"$ref": "#/components/schemas/Q"}
        doc["components"]["schemas"]["L0"]["properties"]["r"] = {
            "$ref": "#/components/schemas/Q",
            "minLength": 1 if doc is old else 2,  # siblings of a $ref make it another schema
        }
    located = {(c.id, c.location) for c in compare(old, new)}
    assert ("request-bounds-tightened", "POST /x request body .q") in located
    assert ("request-bounds-tightened", "POST /x request body .r") in located


def test_a_spec_over_the_work_bound_is_refused_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = spec_file.load(FROZEN_SPEC)
    calls = _counting_schema_calls(monkeypatch, stop_after=10**6)
    compare(document, document)
    needed = calls[0]
    monkeypatch.setattr(Comparer, "max_schema_comparisons", needed - 1)
    with pytest.raises(SpecError, match=rf"more than {needed - 1} schema comparisons"):
        compare(document, document)
    capsys.readouterr()
    status = cli_main(["spec", "diff", str(FROZEN_SPEC), str(FROZEN_SPEC)])
    out, err = capsys.readouterr()
    assert (status, out) == (ExitStatus.UNUSABLE, "") and len(err.splitlines()) == 1
    assert "schema comparisons" in err


def test_the_work_bound_leaves_room_for_real_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    document = spec_file.load(FROZEN_SPEC)
    calls = _counting_schema_calls(monkeypatch, stop_after=10**6)
    compare(document, document)
    assert calls[0] * 100 <= Comparer.max_schema_comparisons


# ---------------------------------------------------------------- unreadable documents

_HEAD = '{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}, "x-data": '
HOSTILE: dict[str, str] = {
    "nested 10,000 deep": _HEAD + "[" * 10_000 + "]" * 10_000 + "}",
    "nested 200 deep": _HEAD + "[" * 200 + "]" * 200 + "}",
    "an integer of 5,000 digits": _HEAD + "9" * 5_000 + "}",
    "an integer of 400 digits": _HEAD + "9" * 400 + "}",
    "NaN": _HEAD + "NaN}",
    "a float overflowing to infinity": _HEAD + "1e999}",
    "a lone surrogate in a path": _HEAD.replace('"paths": {}', '"paths": {"/\\ud800": {}}') + "1}",
}
REASONS = (
    "nested more than",
    "nested more than",
    "digits",
    "digits",
    "NaN",
    "not finite",
    "lone surrogate",
)


@pytest.mark.parametrize(
    ("text", "reason"), list(zip(HOSTILE.values(), REASONS, strict=True)), ids=list(HOSTILE)
)
def test_spec_diff_and_workflow_check_refuse_unreadable_documents_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, reason: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(text, encoding="utf-8")
    runs: list[tuple[Callable[[], int], int]] = [
        (lambda: cli_main(["spec", "diff", str(bad), str(FROZEN_SPEC)]), ExitStatus.UNUSABLE),
        (lambda: cli_main(["spec", "diff", str(FROZEN_SPEC), str(bad)]), ExitStatus.UNUSABLE),
        (lambda: workflow.main(["check", bad.as_uri()]), ExitStatus.UNUSABLE),
    ]
    for run, expected in runs:
        capsys.readouterr()
        status = run()
        out, err = capsys.readouterr()
        assert (status, out) == (expected, "")
        assert err.count("\n") == 1 and "Traceback" not in err
        assert "bad.json" in err and reason in err


def test_the_nesting_bound_leaves_room_for_real_specs() -> None:
    def depth(node: Any) -> int:
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
        )
        return 1 + max((depth(c) for c in children), default=0)

    assert depth(json.loads(FROZEN_SPEC.read_text("utf-8"))) * 4 <= spec_file.MAX_NESTING


def test_a_schema_chain_deeper_than_the_walk_bound_is_refused_not_cut_silently() -> None:
    # A chain of distinct $refs: no cycle to cut, and a change at the bottom that a
    # silent cut would hide.
    levels = 100
    old, new = (_doubling_spec(levels, {"type": "string", "maxLength": n}) for n in (9, 8))
    for doc in (old, new):
        for i in range(levels):
            del doc["components"]["schemas"][f"L{i}"]["properties"]["q"]
    with pytest.raises(SpecError, match="nested more than"):
        compare(old, new)
    shallow = [_doubling_spec(3, {"type": "string", "maxLength": n}) for n in (9, 8)]
    assert "request-bounds-tightened" in {c.id for c in compare(*shallow)}


def test_extreme_but_finite_numbers_compare_without_crashing() -> None:
    # 1e300 / 1e-300 overflows to infinity, 1e-300 / 1e300 underflows to 0: the
    # multipleOf check neither crashes nor calls a step it cannot verify looser.
    old, new = (_doubling_spec(0, {"type": "number", "multipleOf": m}) for m in (1e300, 1e-300))
    expected = {"request-bounds-tightened", "response-bounds-changed"}
    assert {c.id for c in compare(old, new)} == expected
    assert {c.id for c in compare(new, old)} == expected
    old, new = (_doubling_spec(0, {"type": "number", "multipleOf": m}) for m in (0.5, 0.25))
    assert {c.id for c in compare(old, new)} == {
        "request-bounds-loosened",
        "response-bounds-changed",
    }
