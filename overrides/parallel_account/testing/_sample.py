"""Answers made from the spec, for operations the fake does not model yet (as Prism's static mode).

`spec_answer(op)` finds the operation in the pinned spec by method and path,
takes its lowest documented 2xx response and builds the body from it: the media
type's `example` or first `examples` entry if there is one, else `sample()` of
its schema. `documented(op, answer)` gives a modelled operation's success that
same status. The values come from the package's schema engine
(`parallel_account._schema.sample`), `$ref`s resolved by its resolver.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from functools import cache
from typing import Final

from parallel_account._schema import MAX_REF_REPEATS, Resolver, compile_check, sample
from parallel_account.testing._answer import JSON, Answer, detail, json_body
from parallel_account_api.spec_facts import OperationFacts

_BODILESS: Final = frozenset({204, 205, 304})
# --- The answer for one operation ---------------------------------------------------------


@cache
def _document() -> dict[str, JSON]:
    """The pinned spec, parsed once (on the first request that needs it, not at import)."""
    from parallel_account._spec import spec

    return spec()


def spec_answer(op: OperationFacts, given: Mapping[str, JSON] | None = None) -> Answer:
    """The operation's lowest documented 2xx answer, its body made from the spec.

    A top-level field of the answer named as a value the request `given` (its path
    parameters and body fields) takes that value where the sample has the same JSON type:
    a rename answers with the app it renamed, so a client (or Schemathesis's links) can
    use the id it gets back. Not when the answer would then break its schema."""
    document = _document()
    operation = _operation(document, op)
    if operation is None:
        # Cannot happen while the facts and the spec are generated together.
        return detail(501, f"{op.method} {op.path} ({op.name}) is not in the pinned spec")
    status, response = _success(document, operation.get("responses") or {})
    content = response.get("content") or {}
    media_type = _media_type(content)
    if media_type is None or status in _BODILESS:
        return Answer(status, b"", [])
    value = _media_sample(document, content[media_type] or {})
    if given and isinstance(value, dict):
        echoed = {
            name: given[name] if name in given and type(given[name]) is type(field) else field
            for name, field in value.items()
        }
        schema = (content[media_type] or {}).get("schema", {})
        if echoed != value and compile_check(schema, Resolver(document))(echoed) is None:
            value = echoed  # only an answer the spec allows (format, enum, bounds and all)
    if isinstance(value, str) and "json" not in media_type:
        body = value.encode()
    else:
        body = json.dumps(value, separators=(",", ":")).encode()
    if media_type == "application/json":
        return json_body(status, body)
    return _typed(status, body, media_type)


def documented(op: OperationFacts, answer: Answer) -> Answer:
    """A modelled operation's success (status `SUCCESS`) with the lowest 2xx status the spec
    documents for it, and no body if that status has none."""
    document = _document()
    operation = _operation(document, op) or {}
    status, _ = _success(document, operation.get("responses") or {})
    if status in _BODILESS:
        return replace(answer, status=status, body=b"", headers=[])
    return replace(answer, status=status)


def _operation(document: Mapping[str, JSON], op: OperationFacts) -> dict[str, JSON] | None:
    """The spec's operation object for `op`, found by method and path."""
    path_item = _resolve(document, document.get("paths", {}).get(op.path))
    operation = path_item.get(op.method.lower())
    return operation if isinstance(operation, dict) else None


def _typed(status: int, body: bytes, media_type: str) -> Answer:
    return Answer(status, body, [("content-type", media_type)])


def _success(
    document: Mapping[str, JSON], responses: Mapping[str, JSON]
) -> tuple[int, dict[str, JSON]]:
    """The lowest documented 2xx status and its response object (resolved)."""
    codes = sorted(int(code) for code in responses if re.fullmatch(r"2\d\d", str(code)))
    if codes:
        return codes[0], _resolve(document, responses.get(str(codes[0])))
    for key in ("2XX", "2xx", "default"):
        if key in responses:
            return 200, _resolve(document, responses[key])
    return 200, {}


def _media_type(content: Mapping[str, JSON]) -> str | None:
    """application/json if offered, else another JSON type, else the first listed."""
    if "application/json" in content:
        return "application/json"
    jsonish = [t for t in content if "json" in t]
    return next(iter(jsonish or content), None)


def _media_sample(document: Mapping[str, JSON], media: Mapping[str, JSON]) -> JSON:
    if "example" in media:
        return media["example"]
    examples = media.get("examples")
    if isinstance(examples, dict):
        for example in examples.values():
            resolved = _resolve(document, example)
            if "value" in resolved:
                return resolved["value"]
    return sample(media.get("schema", {}), Resolver(document))


def _resolve(document: Mapping[str, JSON], node: JSON) -> dict[str, JSON]:
    """`node` with its `$ref`s followed (OpenAPI objects other than schemas)."""
    found = Resolver(document).node(node)
    return found if isinstance(found, dict) else {}


__all__ = ["MAX_REF_REPEATS", "documented", "sample", "spec_answer"]
