"""The clients' options for api.md, read from their docstrings in the hand-written layer.

The `AccountClient` docstring is the one description of the constructor's options and
the token chain; `AsyncAccountClient`'s says where the async client differs, and
`with_options`'s what it accepts. README links to api.md for them instead of repeating
them. They are read here as text with `ast`, never imported: generation must not load
the hand-written package, which imports the generated one this run is writing (as
`facts_json` reads the retry table).

A docstring has Google-style sections: a line `Name:` at the first indent opens one,
and its body is indented one step further. In `Args:` and `Raises:` each entry is
`name: text` with continuation lines indented further; in the token chain each source
is a numbered item, and a last unnumbered line says what happens when none is found.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "overrides" / "parallel_account" / "_client.py"
SYNC, ASYNC = "AccountClient", "AsyncAccountClient"
TOKEN_CHAIN = "Token chain"  # noqa: S105 (a section heading, not a secret)
# An async argument described only as "as for AccountClient" adds nothing to the table.
_SAME = re.compile(r"^as for AccountClient\.$")
_ITEM = re.compile(r"^(\d+)\. (.*)$")


class ClientDocError(ValueError):
    """A client docstring is missing or not in the shape this module reads."""


@dataclass(frozen=True)
class Entry:
    """One `name: text` entry of an Args or Raises section, as one line of Markdown."""

    name: str
    text: str


@dataclass(frozen=True)
class ClientDoc:
    """What api.md's client section shows, in the docstrings' words."""

    summary: str
    signature: str
    options: tuple[Entry, ...]
    token_chain: tuple[str, ...]
    token_chain_none: str
    raises: tuple[Entry, ...]
    async_signature: str
    async_options: tuple[Entry, ...]
    with_options_signature: str
    with_options: tuple[Entry, ...]


def cell(text: str) -> str:
    """Docstring text as one Markdown table cell: one line, `|` escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def sections(docstring: str) -> dict[str, list[str]]:
    """The docstring's sections by name (`Args`, `Raises`, ...), each body dedented once.

    Text outside any section is under the name "" (the summary first)."""
    found: dict[str, list[str]] = {"": []}
    current = ""
    for line in docstring.splitlines():
        if line and not line[0].isspace():
            match = re.fullmatch(r"([A-Z][^:]*?)(?: \(.*\))?:", line)
            current = match.group(1) if match else ""
            if match:
                if current in found:
                    raise ClientDocError(f"section {current!r} appears twice")
                found[current] = []
                continue
        found[current].append(line[4:] if current else line)
    return found


def entries(body: list[str]) -> tuple[Entry, ...]:
    """The `name: text` entries of an Args or Raises section."""
    found: list[tuple[str, list[str]]] = []
    for line in body:
        match = re.fullmatch(r"([A-Za-z_]\w*): (.*)", line)
        if match:
            found.append((match.group(1), [match.group(2)]))
        elif line.strip():
            if not found or not line[0].isspace():
                raise ClientDocError(f"a line belongs to no entry: {line!r}")
            found[-1][1].append(line)
    return tuple(Entry(name, cell(" ".join(text))) for name, text in found)


def token_chain(body: list[str]) -> tuple[tuple[str, ...], str]:
    """The numbered sources of the token chain, in order, and the line for none found."""
    items: list[list[str]] = []
    none_found: list[str] = []
    for line in body:
        match = _ITEM.fullmatch(line)
        if match:
            if int(match.group(1)) != len(items) + 1:
                raise ClientDocError(f"token chain item {match.group(1)} out of order")
            items.append([match.group(2)])
        elif line[:1].isspace() and items and not none_found:
            items[-1].append(line)
        elif line.strip():
            none_found.append(line)
    if not items or not none_found:
        raise ClientDocError("the token chain needs numbered sources and a line for none found")
    return tuple(cell(" ".join(item)) for item in items), cell(" ".join(none_found))


def _signature(name: str, function: ast.FunctionDef) -> str:
    """`name(arg=default, *, ...)` without `self` or annotations, as the code declares it."""
    args = function.args
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    parts = [
        arg.arg if default is None else f"{arg.arg}={ast.unparse(default)}"
        for arg, default in zip(positional, defaults, strict=True)
        if arg.arg != "self"
    ]
    if args.kwonlyargs:
        parts.append("*")
        parts += [
            arg.arg if default is None else f"{arg.arg}={ast.unparse(default)}"
            for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True)
        ]
    return f"{name}({', '.join(parts)})"


def _classes(source: str) -> dict[str, ast.ClassDef]:
    return {node.name: node for node in ast.parse(source).body if isinstance(node, ast.ClassDef)}


def _method(cls: ast.ClassDef, name: str) -> ast.FunctionDef:
    for node in cls.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    raise ClientDocError(f"{cls.name} has no method {name}")


def docstring_of(node: ast.ClassDef | ast.FunctionDef) -> str:
    """The cleaned docstring of a class or function (ClientDocError when it has none)."""
    text = ast.get_docstring(node, clean=True)
    if not text:
        raise ClientDocError(f"{node.name} has no docstring")
    return text


def read(source: Path = SOURCE) -> ClientDoc:
    """The client section of api.md, from the clients' source file."""
    classes = _classes(source.read_text(encoding="utf-8"))
    try:
        sync, async_, base = classes[SYNC], classes[ASYNC], classes["_ClientBase"]
    except KeyError as exc:
        raise ClientDocError(f"{source}: no class {exc}") from None
    doc = sections(docstring_of(sync))
    async_doc = sections(docstring_of(async_))
    with_options = _method(base, "with_options")
    chain, none_found = token_chain(doc.get(TOKEN_CHAIN, []))
    summary = "\n".join(doc[""]).strip().split("\n\n", 1)[0]
    return ClientDoc(
        summary=cell(summary),
        signature=_signature(SYNC, _method(sync, "__init__")),
        options=entries(doc.get("Args", [])),
        token_chain=chain,
        token_chain_none=none_found,
        raises=entries(doc.get("Raises", [])),
        async_signature=_signature(ASYNC, _method(async_, "__init__")),
        async_options=tuple(
            e for e in entries(async_doc.get("Args", [])) if not _SAME.match(e.text)
        ),
        with_options_signature=_signature("with_options", with_options),
        with_options=entries(sections(docstring_of(with_options)).get("Args", [])),
    )
