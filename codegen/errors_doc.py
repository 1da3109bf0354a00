"""The errors section of api.md, read from `parallel_account/_errors.py`.

That module is the one place the exceptions are written: its docstring holds the class
tree, each class's docstring what it means and, in `Attributes:` or `Args:`, what it
carries. api.md shows the tree and a table built from the classes, so a new or moved
exception reaches the reference without a second list to keep. Read as text with `ast`,
never imported, for the reason `client_doc` gives.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from codegen.client_doc import ClientDocError, cell, docstring_of, entries, sections

SOURCE = Path(__file__).resolve().parents[1] / "overrides" / "parallel_account" / "_errors.py"
ROOT_CLASS = "ParallelAccountError"


@dataclass(frozen=True)
class ErrorDoc:
    """One exception class as a row of api.md's table."""

    name: str
    meaning: str
    carries: tuple[str, ...]


@dataclass(frozen=True)
class ErrorsDoc:
    """The tree (as the module docstring draws it) and the classes in source order."""

    tree: str
    errors: tuple[ErrorDoc, ...]


def _tree(module_doc: str) -> str:
    """The indented block of the module docstring that starts with the root class."""
    lines = module_doc.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == ROOT_CLASS)
    except StopIteration:
        raise ClientDocError(f"the errors docstring draws no tree from {ROOT_CLASS}") from None
    block: list[str] = []
    for line in lines[start:]:
        if not line.strip():
            break
        block.append(line[4:] if line.startswith("    ") else line)
    return "\n".join(block)


def read(source: Path = SOURCE) -> ErrorsDoc:
    """Every public exception class of `source`, with the tree its docstring draws."""
    module = ast.parse(source.read_text(encoding="utf-8"))
    errors: list[ErrorDoc] = []
    for node in module.body:
        if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
            continue
        parts = sections(docstring_of(node))
        meaning = "\n".join(parts[""]).strip().split("\n\n", 1)[0]
        named = entries(parts.get("Attributes", [])) + entries(parts.get("Args", []))
        errors.append(ErrorDoc(node.name, cell(meaning), tuple(e.name for e in named)))
    return ErrorsDoc(tree=_tree(ast.get_docstring(module) or ""), errors=tuple(errors))
