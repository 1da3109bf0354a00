"""The documentation holds together: links resolve, and README, api.md and the code agree.

README.md is the front door (and the PyPI page); CONTRIBUTING.md and docs/ hold what
moved out of it. The clients' options and the token chain are described once, in the
`AccountClient` docstring, which api.md renders (codegen/client_doc.py); README names
the options and the chain's order only, and these tests catch any of the three
drifting from the others or from the constructors' signatures.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from codegen import client_doc
from parallel_account import AccountClient, AsyncAccountClient, _env
from parallel_account.testing import FakeAccountAPI
from tests.support import DOCS, ROOT

README = ROOT / "README.md"
API_MD = ROOT / "api.md"
CONTRIBUTING = ROOT / "CONTRIBUTING.md"
CLI_DOC = ROOT / "docs" / "cli.md"
CLIENTS: tuple[type[AccountClient] | type[AsyncAccountClient], ...] = (
    AccountClient,
    AsyncAccountClient,
)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
# What only a maintainer needs; README is the PyPI page, so none of it belongs there.
MAINTAINER_ONLY = (
    "| benchmark |",
    "git tag",
    "PYPI_PUBLISH",
    "SPEC_DRIFT_TOKEN",
    "trusted publish",
)
FRONT_DOOR_LINES = 250


def _prose(text: str) -> str:
    """Markdown without its code blocks and inline code (links there are not links)."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, - for space."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor, repeats numbered `-1`, `-2` as GitHub numbers them."""
    seen: dict[str, int] = {}
    found = set()
    for match in re.finditer(r"^#{1,6} (.+)$", FENCE.sub("", text), re.M):
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(doc: Path) -> list[str]:
    """Relative links in `doc` to a file that does not exist or a heading it lacks."""
    broken = []
    for target in LINK.findall(_prose(doc.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...: not ours to check
            continue
        path_part, _, anchor = target.partition("#")
        path = (doc.parent / path_part).resolve() if path_part else doc
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path.read_text("utf-8")):
            broken.append(f"{target}: no heading #{anchor} in {path.name}")
    return broken


@pytest.mark.parametrize("doc", [*DOCS, API_MD], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc: Path) -> None:
    assert not broken_links(doc)


def test_the_link_check_catches_a_missing_file_and_a_missing_heading(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## Known `heading` (here)\n", encoding="utf-8")
    doc = tmp_path / "doc.md"
    doc.write_text(
        "# Doc\n\n[ok](other.md#known-heading-here) [self](#doc) [web](https://example.com)\n"
        "[gone](missing.md) [lost](other.md#unknown) `[code](missing-too.md)`\n\n"
        "```\n[fenced](missing-three.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(doc) == [
        "missing.md: no such file",
        "other.md#unknown: no heading #unknown in other.md",
    ]


def test_repeated_headings_get_numbered_anchors() -> None:
    assert anchors("## Limits\n\n## Limits\n") == {"limits", "limits-1"}


def test_readme_is_a_front_door_and_links_every_doc() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= FRONT_DOOR_LINES
    # The two set-up commands come first, before anything else is explained.
    first_block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split()[1] for line in first_block.splitlines()[:2]] == ["generate", "test"]
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in LINK.findall(text)}
    missing = [p.name for p in (*DOCS, API_MD) if p != README and p.resolve() not in linked]
    assert not missing, f"README does not link {missing}"


@pytest.mark.parametrize("marker", MAINTAINER_ONLY)
def test_the_pypi_page_holds_nothing_maintainer_only(marker: str) -> None:
    readme_is_the_pypi_page = 'readme = "README.md"'
    assert readme_is_the_pypi_page in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert marker not in README.read_text(encoding="utf-8")
    # Each marker is real: the text it stands for lives in CONTRIBUTING.md.
    assert marker in CONTRIBUTING.read_text(encoding="utf-8")


def test_every_make_target_is_in_contributing() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = re.findall(r"^([a-z][\w-]*):[^\n]*##", makefile, re.M)
    assert "bench" in targets
    text = CONTRIBUTING.read_text(encoding="utf-8")
    missing = [t for t in targets if t != "help" and f"`make {t}`" not in text]
    assert not missing, f"Makefile targets CONTRIBUTING.md does not name: {missing}"


def test_readme_s_first_calls_run_against_the_fake(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both examples as written, the token and base URL from the environment (the chain)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    sync, async_ = (b for b in blocks if "AccountClient()" in b)
    fake = FakeAccountAPI(credit_balance_cents=100)
    stored: list[str] = []
    with fake.serve() as base_url:
        monkeypatch.setenv("PARALLEL_ACCOUNT_TOKEN", fake.token)
        monkeypatch.setenv("PARALLEL_SERVICE_API_URL", base_url)
        namespace = {"invoice": SimpleNamespace(id="inv_42"), "store_secret": stored.append}
        exec(compile(sync, "README.md", "exec"), namespace)  # noqa: S102 (our own README)
        exec(compile(async_, "README.md", "exec"), {})  # noqa: S102
    assert fake.balance.credit_balance_cents == 100 + 2500
    assert [app.app_name for app in fake.apps.values()] == ["billing-worker"]
    assert len(stored) == 1 and len(fake.keys) == 1


def test_readme_lists_every_environment_variable_the_package_reads() -> None:
    # _env names every variable read (tests/test_env.py holds the code to that)
    read: set[str] = set()
    for name, value in vars(_env).items():
        if name.endswith("_ENV"):
            read |= {value} if isinstance(value, str) else set(value)
    assert "PARALLEL_ACCOUNT_TOKEN" in read
    table = README.read_text(encoding="utf-8").split("## Environment variables", 1)[1]
    first_cells = re.findall(r"^\| (`.*?) \|", table.split("\n## ", 1)[0], re.M)
    listed = [name for cell in first_cells for name in re.findall(r"`([^`]+)`", cell)]
    assert sorted(listed) == sorted(read)


# --- the clients' options: one description, and everyone agrees with it ----------------

DOC = client_doc.read()


def _parameters(function: Callable[..., object]) -> list[str]:
    """The parameters a caller passes (a class: its constructor's), `self` left out."""
    return [p for p in inspect.signature(function).parameters if p != "self"]


def _rows(section: str) -> list[str]:
    """The first-column names of the option tables under api.md's `## section`."""
    text = API_MD.read_text(encoding="utf-8")
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `(\w+)` \|", body, re.M)


def test_client_doc_reads_the_docstrings_python_sees() -> None:
    for cls, options in ((AccountClient, DOC.options), (AsyncAccountClient, DOC.async_options)):
        seen = inspect.getdoc(cls) or ""
        assert options
        for option in options:
            assert re.search(rf"^    {option.name}: ", seen, re.M), (cls.__name__, option.name)


@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
def test_every_constructor_parameter_is_described_and_in_api_md(
    cls: type[AccountClient] | type[AsyncAccountClient],
) -> None:
    parameters = _parameters(cls)
    documented = client_doc.sections(inspect.getdoc(cls) or "")["Args"]
    described = [e.name for e in client_doc.entries(documented)]
    assert described == parameters, f"{cls.__name__} docstring Args vs signature"
    assert [o.name for o in DOC.options] == _parameters(AccountClient)
    assert set(parameters) <= set(_rows("Clients"))


def test_the_async_client_s_own_differences_are_rendered() -> None:
    rendered = [o.name for o in DOC.async_options]
    assert {"http_client", "sleep"} <= set(rendered)  # the two that take async things
    body = API_MD.read_text(encoding="utf-8").split("In `AsyncAccountClient`:", 1)[1]
    assert "`httpx.AsyncClient`" in body.split("###", 1)[0]


@pytest.mark.parametrize("cls", CLIENTS, ids=lambda c: c.__name__)
def test_every_with_options_parameter_is_described_and_in_api_md(
    cls: type[AccountClient] | type[AsyncAccountClient],
) -> None:
    parameters = _parameters(cls.with_options)
    assert [o.name for o in DOC.with_options] == parameters
    section = API_MD.read_text(encoding="utf-8").split("### `with_options`", 1)[1]
    assert set(parameters) <= set(re.findall(r"^\| `(\w+)` \|", section.split("###")[0], re.M))
    assert DOC.with_options_signature in section


def _chain(text: str) -> list[str]:
    """The first `code` of each numbered item of the first numbered list in `text`."""
    items = re.findall(r"^(\d+)\. ([^\n]*)", text, re.M)
    assert items, "no numbered list"
    found: list[str] = []
    for number, line in items:
        if number == "1" and found:
            break
        found.append(re.findall(r"`([^`]+)`", line)[0])
    return found


def test_the_token_chain_is_in_one_order_everywhere() -> None:
    order = _chain("\n".join(f"{n}. {s}" for n, s in enumerate(DOC.token_chain, 1)))
    assert order == [
        "token=",
        "$PARALLEL_ACCOUNT_TOKEN",
        "parallel-account login",
        "parallel-cli login",
    ]
    readme = README.read_text(encoding="utf-8").split("**The token chain.**", 1)[1]
    api_md = API_MD.read_text(encoding="utf-8").split("### Token chain", 1)[1]
    cli = CLI_DOC.read_text(encoding="utf-8").split("**The token chain**", 1)[1]
    assert _chain(readme) == order
    assert _chain(api_md) == order
    # The command line has no token= but puts --profile first.
    assert _chain(cli) == ["--profile NAME", *order[1:]]


def test_the_token_chain_check_catches_a_swap() -> None:
    assert _chain("1. `b` x\n2. `a` y\n\n1. `other list`\n") == ["b", "a"]


def test_readme_names_exactly_the_constructor_s_options() -> None:
    text = README.read_text(encoding="utf-8")
    listed = text.split("The constructor's options:", 1)[1].split(". ", 1)[0]
    assert re.findall(r"`(\w+)`", listed) == _parameters(AccountClient)
    # Options given in README's examples exist too.
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        for call in re.findall(r"(?:Async)?AccountClient\(([^)]*)\)", block):
            given = re.findall(r"(\w+)=", call)
            assert set(given) <= set(_parameters(AccountClient)), given


def test_client_doc_refuses_a_docstring_it_cannot_read() -> None:
    with pytest.raises(client_doc.ClientDocError, match="out of order"):
        client_doc.token_chain(["1. `a`", "3. `b`", "None found: x"])
    with pytest.raises(client_doc.ClientDocError, match="none found"):
        client_doc.token_chain(["1. `a`"])
    with pytest.raises(client_doc.ClientDocError, match="belongs to no entry"):
        client_doc.entries(["not an entry"])
    assert client_doc.entries(["a: one", "    two | three", "b: x"]) == (
        client_doc.Entry("a", "one two \\| three"),
        client_doc.Entry("b", "x"),
    )


def test_a_parameter_left_out_of_the_docstring_is_caught(tmp_path: Path) -> None:
    source = client_doc.SOURCE.read_text(encoding="utf-8")
    start = source.index("        default_headers: a mapping")
    end = source.index("\n    Token chain", start)
    copy = tmp_path / "_client.py"
    copy.write_text(source[:start] + source[end + 1 :], encoding="utf-8")
    names = [o.name for o in client_doc.read(copy).options]
    assert "default_headers" not in names
    assert names != _parameters(AccountClient)
