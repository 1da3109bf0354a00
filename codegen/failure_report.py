"""What `make spec-update` reports when an adoption fails: the failing tests, read from
the test command's output, and the markdown the nightly workflow puts in its issue."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, Literal

from codegen.changelog import code_span

_ANSI: Final = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# pytest's short summary: `FAILED tests/test_x.py::test_y[param] - AssertionError: ...`,
# `ERROR tests/test_x.py::test_y - ...` (a fixture) or `ERROR tests/test_x.py` (collection).
_PYTEST_FAILED: Final = re.compile(r"^(?:FAILED|ERROR) (\S+?\.py(?:::.+?)?)(?: - .*)?$")
# `make: *** [Makefile:77: lint] Error 1`, `make[1]: *** [Makefile:80: unit] Error 2`
_MAKE_ERROR: Final = re.compile(r"^\S*make(?:\[\d+\])?: \*\*\* \[.*\] Error \d+$")
FAILED_DETAIL_LINES: Final = 40

Step = Literal["generation", "tests"]


def failing_tests(output: str) -> list[str]:
    """What failed, read from a test command's output: pytest's failed or erroring test ids
    in order, without repeats; if there are none, make's error lines."""
    lines = [_ANSI.sub("", line).rstrip() for line in output.splitlines()]
    found: dict[str, None] = {}
    for line in lines:
        match = _PYTEST_FAILED.match(line)
        if match:
            found.setdefault(match.group(1))
    if not found:
        for line in lines:
            if _MAKE_ERROR.match(line):
                found.setdefault(line)
    return list(found)


def failure_report(
    drift_markdown: str,
    transition: str,
    step: Step,
    failing: Sequence[str],
    detail: str,
) -> str:
    """The drift report with what stopped the adoption after it (markdown)."""
    lines = [drift_markdown.rstrip(), "", "## Adoption failed", ""]
    what = "Generating the client" if step == "generation" else "The tests"
    lines.append(
        f"{what} failed on this spec, so nothing was adopted ({transition} was not made): "
        "openapi.json, generated/, CHANGELOG.md and the version are unchanged. To work on it: "
        "`make spec-update SPEC_URL=... SPEC_UPDATE_TEST_CMD=` adopts without running the tests."
    )
    if step == "tests":
        lines += ["", "### Failing tests", ""]
        lines += [f"- `{code_span(name)}`" for name in failing] or [
            "- none named in the output; see the job log"
        ]
    else:
        lines += ["", "### Generation errors", ""]
    tail = [_ANSI.sub("", line) for line in detail.rstrip().splitlines()[-FAILED_DETAIL_LINES:]]
    if tail:
        label = "test output" if step == "tests" else "generation errors"
        fence = "~~~~" if any(line.startswith("~~~") for line in tail) else "~~~"
        lines += ["", f"<details><summary>Last {len(tail)} lines of the {label}</summary>", ""]
        lines += [fence, *tail, fence, "", "</details>"]
    elif step == "generation":
        lines.append("None printed; see the job log.")
    return "\n".join(lines) + "\n"
