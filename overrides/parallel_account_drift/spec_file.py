"""Reading the documents to compare: a local file (`load`) or a URL (`fetch`).

Every spec the project reads (the drift tool, `codegen.spec`, `codegen.workflow`) is
decoded by `decode`, which refuses what the comparison and the generator cannot walk
safely: nesting deeper than MAX_NESTING, numbers longer than MAX_NUMBER_DIGITS digits or
not finite, and the NaN/Infinity literals JSON does not have.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from http.client import HTTPMessage
from pathlib import Path
from typing import IO, Final, NoReturn

from parallel_account_drift.errors import SpecError, SpecUnreachableError
from parallel_account_drift.jsondoc import Json

# Where the Account API publishes its spec (the Makefile's SPEC_URL default, checked by a test).
LIVE_SPEC_URL: Final = "https://api.parallel.ai/account/service/openapi.json"
FETCH_TIMEOUT_S: Final = 30.0
MAX_SPEC_BYTES: Final = 20 * 1024 * 1024
# Real specs nest about ten levels deep; the recursive walks stay far from Python's limit.
MAX_NESTING: Final = 128
# A float holds about 308 digits; a longer number only serves to break arithmetic on it.
MAX_NUMBER_DIGITS: Final = 300


def load(path: str | Path) -> dict[str, Json]:
    """Read an OpenAPI 3.x JSON document, or raise SpecError with a one-line reason."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(f"cannot read {path}: {reason}") from None
    return parse(text, str(path))


class _Unreadable(ValueError):
    """Raised inside json.loads by the number hooks; becomes a SpecError naming the source."""


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _Unreadable(f"a number of more than {MAX_NUMBER_DIGITS} digits")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or len(text) > MAX_NUMBER_DIGITS + 8:
        raise _Unreadable(
            f"a number that is not finite or has more than {MAX_NUMBER_DIGITS} digits"
        )
    return value


def _constant(text: str) -> float:
    raise _Unreadable(f"{text}, which is not JSON")


def _deepest(value: Json, limit: int) -> int:
    """How deep `value` nests, counted without recursion; stops counting past `limit`."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return deepest


def decode(text: str, source: str) -> Json:
    """JSON text as a value, or SpecError naming `source` and what is wrong, on one line.

    Refuses nesting deeper than MAX_NESTING, numbers the comparison cannot handle and
    strings that are not text (a lone surrogate).
    """
    too_deep = f"{source}: cannot read: nested more than {MAX_NESTING} levels deep"
    try:
        value = json.loads(text, parse_int=_integer, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"{source}: not JSON: invalid or truncated JSON at line {exc.lineno}, "
            f"column {exc.colno} ({exc.msg})"
        ) from None
    except _Unreadable as exc:
        raise SpecError(f"{source}: cannot read: {exc}") from None
    except RecursionError:
        raise SpecError(too_deep) from None
    if _deepest(value, MAX_NESTING) > MAX_NESTING:
        raise SpecError(too_deep)
    try:  # `\ud800` is valid JSON but no text: it could be neither printed, stored nor generated
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise SpecError(
            f"{source}: cannot read: a string holds a lone surrogate (\\ud800-\\udfff escape)"
        ) from None
    return value


def parse(text: str, source: str) -> dict[str, Json]:
    """An OpenAPI 3.x JSON document from its text, or SpecError naming `source`."""
    document = decode(text, source)
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3."):
        raise SpecError(f"{source}: not an OpenAPI 3.x document (no 'openapi: 3.x' field)")
    return document


_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def redirect_refusal(source: str, target: str) -> str | None:
    """Why a redirect from `source` to `target` is not followed; None when it is.

    Followed only to the same host and port (http:80 may move to https:443 on that
    host), never from https to http nor to another scheme: whoever answers for the
    spec's host must not be able to hand the fetch to another server.
    """
    old, new = urllib.parse.urlsplit(source), urllib.parse.urlsplit(target)
    if new.scheme not in _DEFAULT_PORTS:
        return f"not an http(s) URL ({new.scheme or 'no'} scheme)"
    if old.scheme == "https" and new.scheme == "http":
        return "from https to http"
    try:
        old_port = old.port or _DEFAULT_PORTS[old.scheme]
        new_port = new.port or _DEFAULT_PORTS[new.scheme]
    except (ValueError, KeyError):
        return "a port that is not a number"
    upgrade = (old.scheme, old_port, new.scheme, new_port) == ("http", 80, "https", 443)
    if old.hostname != new.hostname or (old_port != new_port and not upgrade):
        return "another host"
    return None


class _RedirectRefusedError(Exception):
    def __init__(self, target: str, reason: str) -> None:
        super().__init__(reason)
        self.target, self.reason = target, reason


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """urllib's redirects, each checked by `redirect_refusal` first."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        refusal = redirect_refusal(req.full_url, newurl)
        if refusal is not None:
            fp.close()
            raise _RedirectRefusedError(newurl, refusal)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _refused(url: str, exc: _RedirectRefusedError) -> NoReturn:
    target = "".join(ch for ch in exc.target[:200] if ch.isprintable())
    raise SpecError(
        f"{url}: refused a redirect to {target} ({exc.reason}); "
        "redirects are followed only on the same host, never from https to http: "
        "use the final URL"
    ) from None


def read_url(url: str, hint: str = "") -> tuple[bytes, str]:
    """The body and content type at an http(s):// or file:// URL: bounded in time and size.

    Raises SpecUnreachableError when the host cannot be reached (its message ends with
    `hint`, if given), SpecError for an HTTP error, a redirect `redirect_refusal`
    refuses, or a body over MAX_SPEC_BYTES, naming the URL. Shared with `codegen.spec`,
    which fetches the spec the same way.
    """
    if not url.startswith(("http://", "https://", "file://")):
        raise SpecError(f"{url}: unsupported URL; use http://, https:// or file:///absolute/path")
    tail = f"; {hint}" if hint else ""
    try:
        opener = urllib.request.build_opener(_SameHostRedirects)
        with opener.open(url, timeout=FETCH_TIMEOUT_S) as answer:
            body: bytes = answer.read(MAX_SPEC_BYTES + 1)
            content_type = answer.headers.get("Content-Type", "") or ""
    except _RedirectRefusedError as exc:
        _refused(url, exc)
    except urllib.error.HTTPError as exc:
        raise SpecError(f"{url}: server answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        if url.startswith("file://"):
            raise SpecError(f"{url}: cannot read file ({exc.reason})") from None
        raise SpecUnreachableError(f"{url}: cannot reach host ({exc.reason}){tail}") from None
    except (TimeoutError, ConnectionError, OSError) as exc:
        raise SpecUnreachableError(f"{url}: cannot reach host ({exc}){tail}") from None
    if len(body) > MAX_SPEC_BYTES:
        raise SpecError(f"{url}: document larger than {MAX_SPEC_BYTES} bytes")
    return body, content_type


def fetch(url: str) -> dict[str, Json]:
    """The OpenAPI 3.x document at an http(s):// or file:// URL: bounded in time and size.

    Raises SpecUnreachableError when the host cannot be reached, SpecError for any
    unusable answer (HTTP error, HTML, empty, not JSON, not OpenAPI 3.x), naming the URL.
    """
    body, content_type = read_url(url)
    return parse(fetched_text(body, content_type, url), url)


def fetched_text(body: bytes, content_type: str, source: str) -> str:
    """A fetched body as text, or SpecError naming `source` when it is an HTML page (a
    login or error page answering in the spec's place) or empty. Shared with
    `codegen.spec`, which checks what it fetches the same way."""
    text = body.decode("utf-8", errors="replace")
    stripped = text.lstrip()
    if "html" in content_type.lower() or stripped[:1] == "<":
        raise SpecError(f"{source}: got an HTML page, not an OpenAPI JSON document")
    if not stripped:
        raise SpecError(f"{source}: empty response, not an OpenAPI JSON document")
    return text
