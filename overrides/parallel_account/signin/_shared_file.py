"""The store of Parallel's own CLI's sign-in (`parallel-cli login`): its file, read and written.

Choices:

* The file: `~/.config/parallel-web-tools/auth.json`, from the home directory
  (Parallel's CLI does not read $XDG_CONFIG_HOME, so neither do we). Layout
  version 1 only: `{"version": 1, "selected_org_id", "client_id", "orgs": {ID:
  {"api_key", "org_name", "control_api": {...tokens, Unix-second expiries...}}}}`.
  Another version, or none, is refused with a message saying so: guessing at a
  layout we do not know could write a file that CLI can no longer read.
* An organisation whose sign-in holds no Account API (control API) access token
  is no sign-in.
* Read with this package's own checks (regular file, no symlink, owned by you,
  mode 0600, in a directory others cannot write, bounded size and JSON, every
  token visible ASCII, every expiry whole seconds from 1970 to 9999). Parallel's
  CLI checks none of this on read; a file that fails is refused, never used.
* Written back (`dumps_like`) in the file's own layout: its indent, ASCII escapes
  only if the file was all ASCII (re-escaping another organisation's non-ASCII
  name could triple the file past the size cap), its final newline.
* The lock is this package's, kept in this package's own directory
  (`parallel-cli-auth.json.lock`), never beside that CLI's file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parallel_account import _json
from parallel_account._errors import CorruptTokenFileError, UnsupportedSignInFileError
from parallel_account.signin._answers import is_bare_token
from parallel_account.signin._platform import FALLBACK_CLIENT_ID
from parallel_account.signin._private_file import PrivateFile
from parallel_account.signin._store import MAX_EPOCH

LAYOUT_VERSION = 1
LOCK_NAME = "parallel-cli-auth.json.lock"
# The end of every message that only a new sign-in with that CLI (or ours) can fix.
RELOGIN_HINT = "run `parallel-cli login` (or `parallel-account login`)"
WHAT = "Parallel CLI's sign-in file"


def auth_file() -> Path:
    """`~/.config/parallel-web-tools/auth.json`, where `parallel-cli login` keeps its sign-in."""
    return Path.home() / ".config" / "parallel-web-tools" / "auth.json"


@dataclass(frozen=True)
class SharedSignIn:
    """The selected organisation's Account API sign-in in that file; tokens stay out of repr."""

    org_id: str
    org_name: str | None
    client_id: str
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    scopes: tuple[str, ...]
    access_token_expires_at: int | None
    refresh_token_expires_at: int | None
    authorization_expires_at: int | None


class SharedFile(PrivateFile):
    """That CLI's file, read and written with this package's checks and lock."""

    def __init__(self, path: Path, lock_directory: Path) -> None:
        super().__init__(
            path, lock_path=lock_directory / LOCK_NAME, what=WHAT, logout="parallel-cli logout"
        )

    def corrupt(self, why: str) -> CorruptTokenFileError:
        return CorruptTokenFileError(
            f"{WHAT} {self.path} is unreadable ({why}); it was left as it is: "
            f"{RELOGIN_HINT} to replace it",
            path=self.path,
        )

    def document(self) -> dict[str, Any] | None:
        """The whole file as JSON (layout checked), or None if there is no file."""
        raw = self.read_bytes()
        return None if raw is None else self.parse(raw)

    def parse(self, raw: bytes) -> dict[str, Any]:
        """The file's bytes as JSON, layout version checked."""
        try:
            data = _json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise self.corrupt("not UTF-8 text") from None
        except _json.UnreadableJSON as exc:
            raise self.corrupt(str(exc)) from None
        if not isinstance(data, dict):
            raise self.corrupt("not a JSON object")
        version = data.get("version")
        if isinstance(version, bool) or version != LAYOUT_VERSION:
            shown = repr(version)[:20] if isinstance(version, int | float | str) else "missing"
            raise UnsupportedSignInFileError(
                f"{WHAT} {self.path} has layout version {shown}; this client reads version "
                f"{LAYOUT_VERSION} only and left it untouched. Sign in here with "
                "`parallel-account login`, or update parallel-account-client",
                path=self.path,
            )
        return data

    def sign_in(self, data: dict[str, Any], org_id: str | None = None) -> SharedSignIn | None:
        """Organisation `org_id`'s sign-in (None: the selected one's), None if none; checked."""
        if org_id is None:
            org_id = data.get("selected_org_id")
        orgs = data.get("orgs")
        if org_id is None or orgs is None:
            return None
        if not isinstance(org_id, str) or not org_id or not isinstance(orgs, dict):
            raise self.corrupt("selected_org_id or orgs is not of the expected type")
        org = orgs.get(org_id)
        if org is None:
            return None
        control = org.get("control_api") if isinstance(org, dict) else None
        if not isinstance(org, dict) or not isinstance(control, dict | None):
            raise self.corrupt(f"the selected organisation {org_id!r} is not a JSON object")
        if control is None or control.get("access_token") is None:
            return None  # signed in for the data API only (an API key): nothing for this API
        scopes = control.get("access_token_scopes") or []
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise self.corrupt("access_token_scopes is not a list of text")
        return SharedSignIn(
            org_id=org_id,
            org_name=self._text(org, "org_name"),
            # No registered client: its tokens were issued to the public client id.
            client_id=self._text(data, "client_id") or FALLBACK_CLIENT_ID,
            access_token=self._token(control, "access_token"),
            refresh_token=self._token(control, "refresh_token", optional=True),
            scopes=tuple(scopes),
            access_token_expires_at=self._epoch(control, "access_token_expires_at"),
            refresh_token_expires_at=self._epoch(control, "refresh_token_expires_at"),
            authorization_expires_at=self._epoch(control, "authorization_expires_at"),
        )

    def _text(self, holder: dict[str, Any], name: str) -> str | None:
        value = holder.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.corrupt(f"{name} is not text")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise self.corrupt(f"{name} is not valid Unicode text (a lone surrogate)") from None
        return value

    def _token(self, holder: dict[str, Any], name: str, *, optional: bool = False) -> Any:
        value = holder.get(name)
        if value is None and optional:
            return None
        if not is_bare_token(value):
            raise self.corrupt(f"{name} is not a token of visible ASCII characters")
        return value

    def _epoch(self, holder: dict[str, Any], name: str) -> int | None:
        value = holder.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_EPOCH:
            raise self.corrupt(f"{name} is not whole epoch seconds between 1970 and 9999")
        return value


def dumps_like(raw: bytes, data: dict[str, Any]) -> bytes:
    """`data` as JSON in the layout of `raw`: its indent, its escaping, its final newline.

    A file holding raw UTF-8 text stays so (escaping it would make a name of
    another organisation six to twelve bytes a character); an all-ASCII file stays
    ASCII, as that CLI writes it.
    """
    text = raw.decode("utf-8")
    lines = text.splitlines()
    indent: str | None = None
    separators = (",", ": ")
    if len(lines) > 1:
        second = lines[1]
        indent = second[: len(second) - len(second.lstrip(" \t"))]
    elif '", "' not in text and '": ' not in text:
        separators = (",", ":")
    else:
        separators = (", ", ": ")
    out = json.dumps(data, indent=indent, separators=separators, ensure_ascii=raw.isascii())
    return (out + ("\n" if text.endswith("\n") else "")).encode("utf-8")
