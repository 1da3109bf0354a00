"""The spec is not trusted as code: its names are checked, its text escaped (codegen.untrusted).

Every hostile name is refused, before anything is generated or written, with one line
naming the kind of name and where it is; names the generator normalises (keywords,
builtins, hyphens) are accepted and normalised as it does; hostile prose reaches
docstrings, api.md and spec_facts.py only escaped. Built on the frozen spec.
"""

from __future__ import annotations

import ast
import copy
import json
import keyword
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openapi_python_client.strings import PythonIdentifier
from parallel_account_drift.errors import SpecError

from codegen import generate, spec, untrusted
from tests.support import (
    FROZEN_SPEC,
    answer,
    curated_only_for,
    make,
    serve,
    tree_bytes,
)

# Frozen or hand-made specs only: run once, not again on the superset (make unit-superset).
pytestmark = pytest.mark.spec_independent

Spec = dict[str, Any]
FROZEN: Spec = json.loads(FROZEN_SPEC.read_text(encoding="utf-8"))
BALANCE = "/service/v1/balance"
APPS = "/service/v1/apps"

# Closes the docstring of `AsyncOperations.get_balance`, runs code at import, and reopens
# a class so that the rest of the template still parses (what the old template allowed).
IMPORT_TIME_PAYLOAD = (
    'get_balance"""\n__import__("pathlib").Path("pwned-on-import").touch()\n'
    'class _Again:\n    async def again(self):\n        """'
)

HOSTILE_NAMES = {
    "double quote": 'a"b',
    "single quote": "a'b",
    "triple quote": 'a"""b',
    "newline": "a\nb",
    "carriage return": "a\rb",
    "backslash": "a\\b",
    "jinja braces": "a{{b}}",
    "jinja block": "a{%b%}",
    "non-ascii": "na\u00efve",
    "nul": "a\x00b",
    "line separator": "a\u2028b",
    "10000 chars": "x" * 10_000,
    "payload": IMPORT_TIME_PAYLOAD,
}
# Accepted, and normalised by the generator's rules (a trailing `_`, or kept).
KEYWORDS_AND_BUILTINS = ["class", "from", "None", "list", "id", "type", "print", "self"]


def _tier(spec_: Spec) -> Spec:
    schemas = spec_["components"]["schemas"]
    schemas["Tier"] = {"type": "string", "enum": ["free", "paid"]}
    return schemas["Tier"]  # type: ignore[no-any-return]


def _place(kind: str, name: str) -> tuple[Spec, str]:
    """A copy of the frozen spec with `name` as a `kind` name, and the pointer of its place."""
    s = copy.deepcopy(FROZEN)
    if kind == "operation":
        s["paths"][BALANCE]["get"]["operationId"] = name
        return s, "/paths/~1service~1v1~1balance/get/operationId"
    if kind == "parameter":
        s["paths"][APPS]["get"]["parameters"] = [
            {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
        ]
        return s, "/paths/~1service~1v1~1apps/get/parameters/0/name"
    if kind == "field":
        s["components"]["schemas"]["CreateAppRequestModel"]["properties"][name] = {"type": "string"}
        return s, "/components/schemas/CreateAppRequestModel/properties"
    if kind == "schema":
        s["components"]["schemas"][name] = {"type": "string"}
        return s, "/components/schemas"
    if kind == "tag":
        s["paths"][BALANCE]["get"]["tags"] = [name]
        return s, "/paths/~1service~1v1~1balance/get/tags/0"
    if kind == "enum value":
        _tier(s)["enum"].append(name)
        return s, "/components/schemas/Tier/enum/2"
    if kind == "enum name":
        _tier(s)["x-enum-varnames"] = ["FREE", name]
        return s, "/components/schemas/Tier/x-enum-varnames/1"
    assert kind == "path"
    s["paths"]["/" + name] = copy.deepcopy(s["paths"][BALANCE])
    s["paths"]["/" + name]["get"]["operationId"] = "other"
    return s, "/paths"


def _refusals() -> list[Any]:
    cases = []
    for kind in untrusted.RULES:
        for label, name in HOSTILE_NAMES.items():
            if kind == "enum value" and label == "payload":
                continue  # quotes already covered; the payload's newline is what is refused
            cases.append(pytest.param(kind, name, id=f"{kind}-{label}"))
    return cases


@pytest.mark.parametrize(("kind", "name"), _refusals())
def test_a_hostile_name_is_refused_naming_it_and_where_it_is(kind: str, name: str) -> None:
    document, where = _place(kind, name)
    with pytest.raises(untrusted.UnsafeSpecError) as caught:
        untrusted.check_names(document)
    message = str(caught.value)
    assert f"{kind} name" in message and f"at {where}" in message and "allowed are" in message
    assert "\n" not in message and "\r" not in message and len(message) < 400
    assert message.isascii()  # shown escaped: nothing of the name reaches a terminal raw


@pytest.mark.parametrize("kind", sorted(untrusted.RULES))
def test_fetching_a_spec_with_a_hostile_name_is_refused_before_anything_is_written(
    kind: str,
) -> None:
    document, where = _place(kind, 'x"""\n')
    body = json.dumps(document).encode()
    with pytest.raises(SpecError, match=f"^memory: {kind} name .* at {where}"):
        spec.parse(body, "application/json", "memory")


def test_the_pinned_and_frozen_specs_pass_the_name_check() -> None:
    for document in (FROZEN, json.loads(generate.SPEC.read_text(encoding="utf-8"))):
        untrusted.check_names(document)


@pytest.mark.parametrize("name", KEYWORDS_AND_BUILTINS)
@pytest.mark.parametrize("kind", ["parameter", "field"])
def test_keywords_and_builtins_are_accepted_for_the_generator_to_normalise(
    kind: str, name: str
) -> None:
    document, _ = _place(kind, name)
    untrusted.check_names(document)
    python_name = str(PythonIdentifier(name, "field_"))
    assert python_name.isidentifier() and not keyword.iskeyword(python_name)


def test_generation_refuses_a_hostile_operation_id_before_the_generator_runs(
    tmp_path: Path,
) -> None:
    document, where = _place("operation", IMPORT_TIME_PAYLOAD)
    with pytest.raises(generate.GenerationError, match=f"operation name .* at {where}"):
        generate.build(tmp_path, json.dumps(document))
    assert list(tmp_path.iterdir()) == []  # nothing generated, not even the working spec


# ---------------------------------------------------------------- make spec-update


def test_spec_update_refuses_a_hostile_operation_id_and_writes_nothing(
    base_repo: Path, tmp_path: Path
) -> None:
    repo = Path(shutil.copytree(base_repo, tmp_path / "repo", symlinks=True))
    document, where = _place("operation", IMPORT_TIME_PAYLOAD)
    before = {"openapi.json": (repo / "openapi.json").read_bytes()}
    before.update(tree_bytes(repo / "generated"))
    with serve({"/openapi.json": answer(200, json.dumps(document).encode())}) as base:
        done = make(
            repo,
            "spec-update",
            f"SPEC_URL={base}/openapi.json",
            "SPEC_UPDATE_TEST_CMD=true",
        )
    assert done.returncode != 0, done.stdout
    assert 'operation name \'get_balance"""\\n__import__(' in done.stderr  # shown escaped
    assert "Error 4" in done.stderr  # the workflow's "unusable document" status
    assert f"at {where} is refused" in done.stderr
    after = {"openapi.json": (repo / "openapi.json").read_bytes()}
    after.update(tree_bytes(repo / "generated"))
    assert after == before
    assert (
        not (repo / "CHANGELOG.md").exists()
        or 'get_balance"' not in (repo / "CHANGELOG.md").read_text()
    )
    assert not list(repo.rglob("pwned-on-import"))


# ---------------------------------------------------------------- escaping

HOSTILE_TEXT = [
    *HOSTILE_NAMES.values(),
    'ends with a quote"',
    'ends with two quotes""',
    "ends with a backslash\\",
    '"""',
    "'''",
    "\\N{BULLET} \\u0041 \\x41 \\",
    "{{ config }} {% if x %}{% endif %} {# c #}",
    "crlf\r\nline\rbreaks",
    "tab\tescape\x1b[2J bell\x07 del\x7f",
    "lone surrogate \ud800",
    "| a | table | row |\n| --- |",
    "<script>alert(1)</script> &amp;",
    "emoji \U0001f600 and \u00e9",
    "x" * 5_000 + "\\" * 5_000,
]


def _shown_as_text(text: str) -> str:
    """What a docstring or cell shows for `text`: \\r dropped, unprintables as escapes."""
    return "".join(
        ch
        if ch.isprintable() or ch == "\n"
        else f"\\x{ord(ch):02x}"
        if ord(ch) <= 0xFF
        else f"\\u{ord(ch):04x}"
        for ch in text.replace("\r", "")
    )


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_escaped_docstring_text_is_a_docstring_that_reads_as_the_text(text: str) -> None:
    inside = untrusted.escape(text, "docstring")
    source = f'def f():\n    """{inside}"""\n    return 1\n'
    tree = ast.parse(source)  # one function, nothing else: the text closed nothing
    assert len(tree.body) == 1 and len(tree.body[0].body) == 2  # type: ignore[attr-defined]
    doc = tree.body[0].body[0].value.value  # type: ignore[attr-defined]
    assert doc == _shown_as_text(text)
    assert all(ch.isprintable() or ch == "\n" for ch in inside)


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_escaped_python_literal_evaluates_to_the_text(text: str) -> None:
    assert ast.literal_eval(untrusted.escape(text, "python")) == text


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_escaped_markdown_is_one_cell_without_html(text: str) -> None:
    cell = untrusted.escape(text, "markdown")
    assert "\n" not in cell and "\r" not in cell and cell.isprintable()
    assert re.search("<[A-Za-z/!?]", cell) is None  # no raw HTML
    unescaped_pipes = [
        i
        for i, ch in enumerate(cell)
        if ch == "|" and (len(cell[:i]) - len(cell[:i].rstrip("\\"))) % 2 == 0
    ]
    assert unescaped_pipes == []


def test_python_literals_of_json_data_round_trip_and_refuse_non_finite_numbers() -> None:
    data = {"a": [1, 2.5, None, True, "x\"'\\"], "b": ("only",), "c": ()}
    assert ast.literal_eval(untrusted.escape(data, "python")) == data
    with pytest.raises(untrusted.UnsafeSpecError, match="finite"):
        untrusted.escape({"maximum": float("nan")}, "python")


def test_a_lone_surrogate_is_refused_when_fetched() -> None:
    body = json.dumps({**FROZEN, "info": {**FROZEN["info"], "description": "\ud800"}}).encode()
    with pytest.raises(SpecError, match=r"^memory: cannot read: a string holds a lone surrogate"):
        spec.parse(body, "application/json", "memory")


# Text a fetched spec may hold (codegen.spec refuses lone surrogates before generation).
STORABLE_TEXT = [text for text in HOSTILE_TEXT if "\ud800" not in text]


def _hostile_but_accepted(document: Spec) -> None:
    """Every prose field of the spec hostile; names tricky but inside the rules."""
    prose = iter(STORABLE_TEXT * 4)
    get = document["paths"][BALANCE]["get"]
    get["summary"], get["description"] = next(prose), next(prose)
    get["tags"] = ["Balance and Top-ups"]
    listing = document["paths"][APPS]["get"]
    listing["parameters"] = [
        {"name": name, "in": "query", "required": False, "description": next(prose),
         "schema": {"type": "string", "description": next(prose), "enum": ["a b", "c.d", "e-f"]}}
        for name in ("from", "class", "X-Page.size")
    ]  # fmt: skip
    schemas = document["components"]["schemas"]
    for schema in schemas.values():
        schema["description"] = next(prose)
        for prop in schema.get("properties", {}).values():
            prop["description"], prop["title"] = next(prose), next(prose)


@pytest.fixture(scope="module")
def hostile_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    document = copy.deepcopy(FROZEN)
    _hostile_but_accepted(document)
    untrusted.check_names(document)
    workdir = tmp_path_factory.mktemp("hostile-prose")
    with pytest.MonkeyPatch.context() as monkeypatch:
        curated_only_for(monkeypatch, document)
        generate.build(workdir, json.dumps(document))
    return workdir


def test_hostile_prose_leaves_every_generated_file_plain_python(hostile_package: Path) -> None:
    for path in sorted((hostile_package / generate.PACKAGE).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in tree.body:  # module level: only imports, definitions and assignments
            assert not isinstance(node, ast.Expr) or isinstance(node.value, ast.Constant), (
                path.name,
                ast.unparse(node)[:200],
            )


def test_hostile_prose_imports_without_side_effects_and_reads_back(hostile_package: Path) -> None:
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); sys.modules.pop('parallel_account_api', None)\n"
        "import parallel_account_api.operations as o, parallel_account_api.spec_facts as f\n"
        "print(repr(o.SyncOperations.get_balance.__doc__.split(chr(10))[0]))\n"
        "print(repr(f.OPERATIONS['get_balance'].summary))\n"
        "print(sorted(f.OPERATIONS['list_apps'].query_params[i].identifier for i in range(3)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(hostile_package)],
        cwd=hostile_package,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    first_line, summary, identifiers = done.stdout.splitlines()
    assert ast.literal_eval(summary) == STORABLE_TEXT[0]
    assert ast.literal_eval(first_line).startswith(_shown_as_text(STORABLE_TEXT[0]).split("\n")[0])
    assert ast.literal_eval(identifiers) == ["class_", "from_", "x_page_size"]
    assert list(hostile_package.rglob("pwned*")) == []


def test_hostile_prose_stays_inside_its_api_md_cells(hostile_package: Path) -> None:
    text = (hostile_package / generate.API_MD.name).read_text(encoding="utf-8")
    assert "<script>" not in text
    table_rows = [line for line in text.splitlines() if line.startswith("| `")]
    header_cells = {line.count(" | ") for line in text.splitlines() if line.startswith("| ---")}
    assert table_rows and header_cells
    for row in table_rows:  # a cell count matches some header: no pipe broke out
        assert len(row.replace("\\|", "").split(" | ")) - 1 in header_cells, row[:200]
