"""Arguments the scalar facts cannot describe (arrays, objects, unions, non-string enums)
are checked whole by the schema engine before any request leaves, naming the place.

The facts are made here (FieldFacts with a `schema`), as codegen writes them for such an
argument, so the test does not depend on the pinned spec having one.
"""

from __future__ import annotations

import enum
from typing import Any

import pytest

from parallel_account import InvalidRequestError
from parallel_account._request import _json_value
from parallel_account._validation import check_field, field_schema
from parallel_account_api.spec_facts import FieldFacts

LINES = FieldFacts(
    name="lines",
    required=True,
    type="array",
    schema={
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "required": ["sku", "quantity"],
            "properties": {
                "sku": {"type": "string"},
                "quantity": {"type": "integer", "minimum": 1},
            },
        },
    },
)
TERM = FieldFacts(
    name="term_months",
    required=False,
    type="integer",
    schema={"type": "integer", "enum": [1, 3, 12]},
)


@pytest.mark.parametrize(
    ("facts", "value", "message"),
    [
        (LINES, [], "lines: at least 1 items are needed, got 0"),
        (LINES, [{"sku": "a", "quantity": 1}, {"sku": "b", "quantity": "2"}], "lines[1].quantity: expected integer, got string"),
        (LINES, [{"sku": "a", "quantity": 0}], "lines[0].quantity: 0 is below the minimum of 1"),
        (LINES, [{"quantity": 1}], "lines[0].sku: required field missing"),
        (TERM, 6, "term_months: 6 is not one of [1, 3, 12]"),
    ],
)  # fmt: skip
def test_a_bad_complex_argument_is_refused_naming_the_place(
    facts: FieldFacts, value: Any, message: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        check_field(facts.name, value, facts)
    assert str(caught.value) == message


def test_a_good_complex_argument_passes_as_it_is() -> None:
    lines = [{"sku": "a", "quantity": 2}]
    assert check_field("lines", lines, LINES) == lines
    assert check_field("term_months", 12, TERM) == 12


def test_an_enum_member_is_sent_as_its_value() -> None:
    class Kind(str, enum.Enum):  # noqa: UP042  (as the generated enums are written)
        TOP_UP = "top_up"

    facts = FieldFacts(name="kind", required=False, type="string", enum=("top_up", "refund"))
    assert _json_value("kind", Kind.TOP_UP, facts) == "top_up"
    assert type(_json_value("kind", Kind.TOP_UP, facts)) is str


def test_the_scalar_facts_read_as_a_schema() -> None:
    facts = FieldFacts(name="n", required=True, type="integer", minimum=1, exclusive_maximum=10)
    assert field_schema(facts) == {"type": "integer", "minimum": 1, "exclusiveMaximum": 10}
    assert field_schema(LINES) is LINES.schema


def test_the_fake_checks_a_complex_argument_whole_naming_the_place() -> None:
    from parallel_account.testing._spec import _check

    bad = [{"sku": "a", "quantity": 1}, {"sku": "b", "quantity": "2"}]
    (error,) = _check(LINES, bad, ["body", "lines"])
    assert error["loc"] == ["body", "lines", 1, "quantity"]
    assert "expected integer, got string" in str(error["msg"])
    assert _check(LINES, [{"sku": "a", "quantity": 1}], ["body", "lines"]) == []
