"""Fetch, check and normalise the Account API's OpenAPI document.

`python -m codegen.spec fetch URL OUT` is what `make spec` runs: it reads URL
(http(s):// or file://), refuses anything that is not a valid OpenAPI 3.x JSON
document with a one-line error naming the URL, and only then replaces OUT
atomically. `python -m codegen.spec normalise PATH` rewrites a file in place.
Exit statuses: the table every `spec` command shares (parallel_account_drift.exit_status;
the usage message lists this command's).

Normal form: JSON with sorted keys, two-space indentation, UTF-8, one trailing
newline, and whole-valued floats written as integers (FastAPI emits
`10000.0` for an integer bound; JSON Schema gives both the same meaning).
Normalising a normalised document changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from parallel_account_drift import spec_file
from parallel_account_drift.errors import SpecError
from parallel_account_drift.exit_status import ExitStatus, help_text
from parallel_account_drift.jsondoc import (
    PointerError,
    canonical_numbers,
    escape_token,
    resolve_pointer,
)

from codegen import untrusted

_UNREACHABLE_HINT = (
    "set SPEC_URL to a reachable URL or a file:// path, e.g. SPEC_URL=file://$PWD/openapi.json"
)


def normalise(document: dict[str, Any]) -> dict[str, Any]:
    """Return the document with numbers in canonical form (keys are sorted on output)."""
    result: dict[str, Any] = canonical_numbers(document)
    return result


def dumps(document: dict[str, Any]) -> str:
    """The normal text form of a document."""
    return json.dumps(normalise(document), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, fsync it, then rename it into place."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    # mkstemp makes the file 0600; keep the mode of the file it replaces (0644 for a new one).
    os.chmod(tmp_name, path.stat().st_mode & 0o777 if path.exists() else 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def parse(body: bytes, content_type: str, source: str) -> dict[str, Any]:
    """Decode and check a fetched document; raise SpecError naming `source` if unusable."""
    # The drift tool's sniffing and decoder: one place refuses HTML, bounds nesting and
    # numbers, and refuses non-text.
    document = spec_file.decode(spec_file.fetched_text(body, content_type, source), source)
    check_openapi(document, source)
    return normalise(document)


def _broken_refs(node: Any, root: dict[str, Any], where: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not _resolves(root, ref):
            found.append(f"{ref} (at {where or '/'})")
        for key, value in node.items():
            found += _broken_refs(value, root, f"{where}/{escape_token(str(key))}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _broken_refs(value, root, f"{where}/{index}")
    return found


def _resolves(root: dict[str, Any], ref: str) -> bool:
    # Only local references are allowed in a pinned, self-contained spec.
    try:
        resolve_pointer(root, ref)
    except PointerError:
        return False
    return True


def check_openapi(document: Any, source: str) -> None:
    """Raise SpecError unless `document` is a valid, self-contained OpenAPI 3.x document
    whose names generated code may take in (codegen.untrusted)."""
    if not isinstance(document, dict) or not isinstance(document.get("openapi"), str):
        raise SpecError(f"{source}: JSON but not an OpenAPI document (no 'openapi' version field)")
    if not document["openapi"].startswith("3."):
        raise SpecError(f"{source}: OpenAPI {document['openapi']} is not supported (need 3.x)")
    broken = _broken_refs(document, document)
    if broken:
        raise SpecError(
            f"{source}: broken $ref {broken[0]}"
            + (f" and {len(broken) - 1} more" if len(broken) > 1 else "")
        )
    try:  # before anything is written: names reach generated code
        untrusted.check_names(document)
    except untrusted.UnsafeSpecError as exc:
        raise SpecError(f"{source}: {exc}") from None
    from openapi_spec_validator import validate  # imported late: slow, and only needed here

    try:
        validate(document)
    except Exception as exc:  # the validator raises several unrelated types
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpecError(f"{source}: not a valid OpenAPI document ({first_line})") from None


def fetch(url: str) -> dict[str, Any]:
    """The checked, normalised document at `url` (http(s):// or file://): the drift tool's
    bounded reader, then `parse`. SpecUnreachableError when the host cannot be reached."""
    body, content_type = spec_file.read_url(url, _UNREACHABLE_HINT)
    return parse(body, content_type, url)


def _main(argv: list[str]) -> int:
    usage = "usage: python -m codegen.spec fetch URL OUT | normalise PATH\n" + help_text(
        (ExitStatus.OK, ExitStatus.UNREACHABLE, ExitStatus.UNUSABLE, ExitStatus.USAGE)
    )
    try:
        if len(argv) == 3 and argv[0] == "fetch":
            url, out = argv[1], Path(argv[2])
            text = dumps(fetch(url))
            changed = not out.exists() or out.read_text(encoding="utf-8") != text
            if changed:
                write_atomic(out, text)
            print(
                f"{out}: {'updated' if changed else 'unchanged'} from {url} (sha256 {sha256_of(text)[:12]})"
            )
            return ExitStatus.OK
        if len(argv) == 2 and argv[0] == "normalise":
            path = Path(argv[1])
            document = parse(path.read_bytes(), "application/json", str(path))
            write_atomic(path, dumps(document))
            return ExitStatus.OK
    except SpecError as exc:
        print(f"spec error: {exc}", file=sys.stderr)
        return exc.exit_status
    print(usage, file=sys.stderr)
    return ExitStatus.USAGE


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
