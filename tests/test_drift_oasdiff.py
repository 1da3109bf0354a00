"""The drift rules cross-checked against oasdiff's checker tests.

`tests/data/oasdiff/cases.json` (its README says where each case comes from) holds one
case per line of the table below: a minimal old and new schema restating an oasdiff
fixture pair, the level oasdiff's rule table gives the change, and the highest level
our report gives it. Where the two differ, the case says why:

| case                                             | oasdiff | ours         |
| ------------------------------------------------ | ------- | ------------ |
| request body wrapped in a oneOf (overlapping)    | ERR     | breaking     |
| response body wrapped in a oneOf                 | ERR     | breaking     |
| request wrapped in a oneOf of distinct types     | INFO    | non-breaking |
| request pattern changed to `.*` / `^.*$`         | INFO    | non-breaking |
| request pattern changed to another restriction   | WARN    | breaking     |
| request pattern added / removed                  | ERR/INFO| breaking/non |
| request type, enum value, maxLength, required    | ERR     | breaking     |
| response required property removed               | ERR     | breaking     |
| response enum value added                        | WARN    | breaking (generated enums reject unknown values) |
| response minimum decreased                       | ERR     | non-breaking (response bounds are not checked) |
| request default changed                          | INFO    | non-breaking |
| request `contains` added                         | ERR     | non-breaking (unclassified-change: review by hand) |
| operation gains a security requirement           | INFO    | breaking (a call without it fails) |
| request x-extensible-enum value removed          | ERR     | info (x- extensions are documentation) |

A survey over the whole of oasdiff's checker tests (fixture pairs converted from YAML,
276 tests whose expected level could be read) found the same kinds of difference: the
JSON Schema 2020-12 keywords we report as unclassified (contains, if/then/else,
prefixItems, propertyNames, patternProperties, dependentRequired/Schemas, unevaluated*,
contentSchema, not), response bounds, security added, x-extensible-enum, and the two
this file pins as fixed (a oneOf wrapping a request, a pattern that accepts every string).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from parallel_account_drift import LEVELS, compare

# Frozen or hand-made specs only: run once, not again on the superset (make unit-superset).
pytestmark = pytest.mark.spec_independent

CASES_FILE = Path(__file__).parent / "data" / "oasdiff" / "cases.json"
CASES: list[dict[str, Any]] = json.loads(CASES_FILE.read_text("utf-8"))
BREAKING_TO_OASDIFF = {"ERR": True, "INFO": False, "none": False}


def _document(where: str, part: Any) -> dict[str, Any]:
    """A one-operation spec with `part` as its request body, response body, query
    parameter schema, or extra operation keys."""
    operation: dict[str, Any] = {"responses": {"200": {"description": "ok"}}}
    if where == "request":
        operation["requestBody"] = {"content": {"application/json": {"schema": part}}}
    elif where == "response":
        operation["responses"]["200"]["content"] = {"application/json": {"schema": part}}
    elif where == "parameter":
        operation["parameters"] = [{"name": "q", "in": "query", "schema": part}]
    else:
        operation.update(part)
    return {
        "openapi": "3.1.0",
        "info": {"title": "cross-check", "version": "1"},
        "paths": {"/x": {"post": operation}},
        "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "k"}}},
    }


def _highest(changes: list[Any]) -> str:
    return next((level for level in LEVELS if any(c.level == level for c in changes)), "none")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_our_verdict_on_each_oasdiff_case(case: dict[str, Any]) -> None:
    old, new = _document(case["where"], case["old"]), _document(case["where"], case["new"])
    assert _highest(compare(old, new)) == case["ours"]
    assert compare(old, old) == [] and compare(new, new) == []


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_every_disagreement_says_why(case: dict[str, Any]) -> None:
    assert case["oasdiff"] in ("ERR", "WARN", "INFO", "none") and case["origin"]
    if case["oasdiff"] == "WARN":  # "may break": either verdict, but say which and why
        assert case.get("why")
        return
    agrees = BREAKING_TO_OASDIFF[case["oasdiff"]] == (case["ours"] == "breaking")
    assert agrees or case.get("why"), "a disagreement with oasdiff needs its reason"
