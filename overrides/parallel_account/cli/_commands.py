"""One function per command: call the library, hand the result to `Output`.

Where the token comes from (one rule for every command, `token` included, so
it prints exactly what the others send): `--profile NAME` means that profile's
stored sign-in; otherwise the library's own rule (`resolve_auth`):
$PARALLEL_ACCOUNT_TOKEN, then the stored sign-in of $PARALLEL_ACCOUNT_PROFILE
(default `default`), then, with no $PARALLEL_ACCOUNT_PROFILE, Parallel's own
CLI's sign-in (`parallel-cli login`). `status` says which one is in use.

`login --json` streams JSON lines on stdout, one per event, as Parallel's CLI
does (so an agent can show the code while the login waits): `auth_start`,
`device_code` (URL, user code, lifetimes, whether a browser was opened),
`auth_waiting`, then `slow_down` / `poll_failed` as they happen, and last
`auth_success` with the status document, or `auth_error` with the error document.

Sign-in (`parallel_account.signin`, the device flow, the shared sign-in, the file
lock) is imported only by the commands that sign in, out or show the sign-in, and by
a command that falls back to a stored sign-in: `balance` with $PARALLEL_ACCOUNT_TOKEN
set loads none of it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from parallel_account._auth import BearerAuth, TokenProvider, resolve_auth, stored_sign_in
from parallel_account._client import AccountClient
from parallel_account._env import PROFILE_ENV, TOKEN_ENV
from parallel_account._errors import (
    AuthenticationError,
    Cancelled,
    CannotServe,
    Interrupted,
    NotSignedInError,
    OutputLost,
    ParallelAccountError,
)
from parallel_account._idempotency import new_idempotency_key
from parallel_account._validation import check_field
from parallel_account.cli import _conformance
from parallel_account.cli._curated import curated_operation
from parallel_account.cli._money import format_cents, parse_cents, parse_dollars
from parallel_account.cli._output import (
    Output,
    abandon_stdout,
    apps_text,
    balance_text,
    iso,
    model_dict,
    safe,
    safe_lines,
)
from parallel_account.cli._parser import EXIT_NOT_SIGNED_IN, EXIT_OK, PROG, UsageError

if TYPE_CHECKING:
    from parallel_account.signin import SignInStatus
    from parallel_account.signin._polling import Progress

Command = Callable[[argparse.Namespace, Output], int]


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program was (see `main`), so it takes Ctrl-C's path."""


# --- credentials and the client -------------------------------------------------------------


def _not_signed_in(profile: str | None) -> NotSignedInError:
    from parallel_account.signin._store import resolve_profile

    login_hint = f"run `{PROG} login" + (
        f" --profile {profile}`" if profile else "` (or `parallel-cli login`)"
    )
    return NotSignedInError(
        f"not signed in (profile {resolve_profile(profile)!r}): {login_hint}, or set ${TOKEN_ENV}"
    )


def token_provider(profile: str | None) -> TokenProvider:
    """The token source, checked now: missing credentials fail before anything is sent."""
    if profile is not None:  # that profile's sign-in, whatever the environment says
        stored = stored_sign_in(profile)
        if stored is None:
            raise _not_signed_in(profile)
        return stored
    try:
        auth = resolve_auth(None)
    except AuthenticationError as exc:  # no credentials: say it in the command line's terms
        raise _not_signed_in(None) from exc
    if not isinstance(auth, BearerAuth):  # resolve_auth(None) always gives one
        raise TypeError(f"resolve_auth(None) gave {type(auth).__name__}, not BearerAuth")
    return auth.provider


def make_client(args: argparse.Namespace) -> AccountClient:
    options: dict[str, Any] = {}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    if args.max_retries is not None:
        options["max_retries"] = args.max_retries
    return AccountClient(token_provider(args.profile), base_url=args.base_url, **options)


# --- sign-in --------------------------------------------------------------------------------


def _status_document(status: SignInStatus, source: str | None) -> dict[str, Any]:
    return {
        "source": source,
        "signed_in": status.signed_in,
        "profile": status.profile,
        "path": str(status.path),
        "platform_url": status.platform_url,
        "org_id": status.org_id,
        "org_name": status.org_name,
        "scopes": list(status.scopes),
        "access_token_expires_at": iso(status.access_token_expires_at),
        "refresh_token_expires_at": iso(status.refresh_token_expires_at),
        "authorization_expires_at": iso(status.authorization_expires_at),
        "needs_login": status.needs_login,
    }


def _login_events(out: Output) -> Progress:
    """--json: every event of the flow as one JSON line on stdout, at once."""

    def progress(event: str, fields: dict[str, Any]) -> None:
        out.event({"event": event, **fields})

    return progress


def _login_notes(out: Output) -> Progress:
    """Text mode: the flow stays quiet, but says why no browser opened when one was wanted."""

    def progress(event: str, fields: dict[str, Any]) -> None:
        why = fields.get("browser_not_opened_because")
        if event == "device_code" and why and not why.startswith("not asked"):
            out.note(f"(no browser opened: {safe(why)}; open the URL above)")

    return progress


def login(args: argparse.Namespace, out: Output) -> int:
    from parallel_account._urls import platform_base_url
    from parallel_account.signin import DEFAULT_SCOPE
    from parallel_account.signin import login as sign_in

    scope = " ".join(" ".join(args.scope).split()) if args.scope else DEFAULT_SCOPE
    if args.json:
        out.error_event = "auth_error"  # from here on, an error is one JSON line too
        out.event({"event": "auth_start", "platform_url": platform_base_url(args.platform_url)})
    status = sign_in(
        args.profile,
        platform_url=args.platform_url,
        scope=scope,
        open_browser=not args.no_browser,
        progress=_login_events(out) if args.json else _login_notes(out),
    )
    if args.json:
        out.event({"event": "auth_success", **_status_document(status, status.source)})
    else:
        out.result(_status_document(status, status.source), safe_lines(status.describe()))
    return 0


def _note_shared_sign_in_stays(args: argparse.Namespace, out: Output) -> None:
    """After a logout with nothing of ours to end: say if Parallel's CLI's sign-in stays in use."""
    from parallel_account.signin._status import parallel_cli_status

    if args.profile is not None or os.environ.get(PROFILE_ENV):
        return
    with contextlib.suppress(ParallelAccountError):  # an unusable file is `status`'s to report
        if parallel_cli_status() is not None:
            out.note(
                "note: the sign-in shared with Parallel's CLI stays in use; "
                "`parallel-cli logout` ends it"
            )


def logout(args: argparse.Namespace, out: Output) -> int:
    from parallel_account.signin import logout as sign_out

    result = sign_out(args.profile)
    if not result.was_signed_in:
        _note_shared_sign_in_stays(args, out)
    document = {
        "profile": result.profile,
        "path": str(result.path),
        "was_signed_in": result.was_signed_in,
        "revoked": result.revoked,
        "revoke_error": result.revoke_error,
    }
    out.result(document, safe_lines(result.describe()))
    return 0


def _shown_sign_in(profile: str | None) -> tuple[SignInStatus, str | None]:
    """The sign-in `status` shows, and the token source commands use (None: none)."""
    from parallel_account.signin import status as sign_in_status
    from parallel_account.signin._status import parallel_cli_status

    current = sign_in_status(profile)
    env_token = profile is None and os.environ.get(TOKEN_ENV) is not None
    if not current.signed_in and profile is None and not os.environ.get(PROFILE_ENV):
        shared = parallel_cli_status()  # the next link of the token chain
        if shared is not None:
            current = shared
    if env_token:
        return current, "environment"
    return current, current.source if current.signed_in else None


def _source_line(source: str | None, current: SignInStatus) -> str | None:
    """`status`'s first line: where the token that commands send comes from."""
    from parallel_account.signin._status import SHARED_SOURCE

    if source == "environment":
        return f"Token source: ${TOKEN_ENV}"
    if source == SHARED_SOURCE:
        return (
            "Token source: Parallel CLI's sign-in (`parallel-cli login`); "
            f"`{PROG} login` stores one of this client's own, used first"
        )
    if source is not None:
        return f"Token source: this client's sign-in (`{PROG} login`, profile {current.profile!r})"
    return None


def status(args: argparse.Namespace, out: Output) -> int:
    current, source = _shown_sign_in(args.profile)
    if source == "environment":
        out.human_note(
            f"note: ${TOKEN_ENV} is set: commands use it, not this sign-in (unless --profile)"
        )
    text = safe_lines(current.describe())
    line = _source_line(source, current)
    if line is not None:
        text = f"{line}\n{text}"
    out.result(_status_document(current, source), text)
    # Scripts can test `parallel-account status` alone: 3 means a login is needed.
    return EXIT_NOT_SIGNED_IN if current.needs_login else EXIT_OK


def token(args: argparse.Namespace, out: Output) -> int:
    value = token_provider(args.profile).get_token()
    # The only place a token is ever printed; stdout only, never in a log or on stderr.
    out.result({"access_token": value}, value)
    return 0


# --- balance --------------------------------------------------------------------------------


def _amount_cents(args: argparse.Namespace) -> int:
    if (args.amount is None) == (args.cents is None):
        raise UsageError(
            "give the amount either in dollars (AMOUNT, like 25.50) or with --cents, "
            f"not {'both' if args.amount is not None else 'neither'} "
            f"(see `{PROG} balance add --help`)"
        )
    return parse_dollars(args.amount) if args.amount is not None else parse_cents(args.cents)


def _idempotency_key(given: str | None) -> str:
    top_up = curated_operation("add_balance", "balance add")
    # `import parallel_account` already refused a charge without a key (_request.py).
    field = top_up.idempotency_key_field or ""
    key = new_idempotency_key() if given is None else given
    return str(check_field(field, key, top_up.body_field(field)))


def ask_before_moving_money(args: argparse.Namespace, out: Output, question: str) -> None:
    """At a terminal, unless --yes: ask `question` [y/N]; anything but yes raises Cancelled.

    A prompt only with a person at a terminal; a script's command line is its consent.
    Every command that moves money (`balance add`, `api` on a `moves_money` operation)
    asks here.
    """
    if args.yes or not sys.stdin.isatty():
        return
    if not _confirmed(question, sys.stdin, out.stderr):
        raise Cancelled("cancelled; nothing was charged")


def _confirmed(question: str, stdin: TextIO, stderr: TextIO) -> bool:
    stderr.write(f"{question} [y/N] ")
    stderr.flush()
    answer = stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def show_balance(args: argparse.Namespace, out: Output) -> int:
    curated_operation("get_balance", "balance")
    with make_client(args) as client:
        balance = client.get_balance()
    out.result(model_dict(balance), balance_text(balance))
    return 0


def add_balance(args: argparse.Namespace, out: Output) -> int:
    cents = _amount_cents(args)
    key = _idempotency_key(args.idempotency_key)
    client = make_client(args)  # credentials checked before anyone is asked to confirm
    with client:
        ask_before_moving_money(
            args, out, f"Charge {format_cents(cents)} to the organisation's default payment method?"
        )
        # Written before sending, in --json mode too: whatever happens next (an error,
        # Ctrl-C, SIGTERM, a crash), a retry with this key is safe.
        out.note(f"idempotency key: {key} (retry with --idempotency-key {key})")
        try:
            balance = client.add_balance(cents, idempotency_key=key)
        except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (Terminated)
            terminated = isinstance(stop, Terminated)
            raise Interrupted(
                f"{'terminated (SIGTERM)' if terminated else 'interrupted'}: the charge may or "
                f"may not have been made; {retry_hint(cents, key)}",
                idempotency_key=key,
                terminated=terminated,
            ) from None
        except Exception as exc:
            _annotate_top_up_error(exc, cents, key)
            raise
    document = {"amount_cents": cents, "idempotency_key": key, "balance": model_dict(balance)}
    out.result(document, f"Added {format_cents(cents)}.\n{balance_text(balance)}")
    return 0


def retry_hint(cents: int, key: str) -> str:
    return f"to retry safely run: {PROG} balance add --cents {cents} --idempotency-key {key}"


def _annotate_top_up_error(exc: Exception, cents: int, key: str) -> None:
    """Whatever the error's type, its report names the key; an unknown outcome says what to run.

    The library annotates its own errors (`.idempotency_key`, `.outcome_unknown`);
    anything else is stamped here, so the message and the JSON document carry the key.
    """
    if getattr(exc, "idempotency_key", None) is None:
        with contextlib.suppress(AttributeError):  # an exception type without a __dict__
            exc.idempotency_key = key  # type: ignore[attr-defined]
    if getattr(exc, "outcome_unknown", False):
        already_said = "may or may not have been made" in str(exc)
        exc.add_note(
            retry_hint(cents, key)
            if already_said
            else f"the charge may or may not have been made; {retry_hint(cents, key)}"
        )
    elif not isinstance(exc, ParallelAccountError):
        # Not one of the library's errors: nobody said whether the charge was sent.
        exc.add_note(retry_hint(cents, key))


# --- apps and keys --------------------------------------------------------------------------


def _note_if_maybe_created(exc: Exception, hint: str) -> None:
    """A create that timed out or lost its connection may have happened: say how to check."""
    if getattr(exc, "outcome_unknown", False):
        exc.add_note(hint)


def list_apps(args: argparse.Namespace, out: Output) -> int:
    curated_operation("list_apps", "apps list")
    with make_client(args) as client:
        apps = client.list_apps()
    out.result({"apps": [model_dict(app) for app in apps]}, apps_text(apps))
    return 0


def create_app(args: argparse.Namespace, out: Output) -> int:
    curated_operation("create_app", "apps create")
    with make_client(args) as client:
        try:
            created = client.create_app(args.name)
        except Exception as exc:
            _note_if_maybe_created(
                exc,
                f"the app {args.name!r} may have been created: check `{PROG} apps list` "
                "before creating it again",
            )
            raise
    document = {**model_dict(created), "app_name": args.name}
    out.result(document, f"Created app {args.name!r}: {safe(created.app_id)}")
    return 0


def delete_app(args: argparse.Namespace, out: Output) -> int:
    curated_operation("delete_app", "apps delete")
    with make_client(args) as client:
        client.delete_app(args.app_id)
    out.result({"deleted": True, "app_id": args.app_id}, f"Deleted app {safe(args.app_id)}.")
    return 0


def create_key(args: argparse.Namespace, out: Output) -> int:
    curated_operation("create_key", "keys create")
    if out.stdout_closed:  # the raw key is shown once, on stdout: refuse before creating it
        raise OutputLost("stdout is closed, so the raw key could not be shown; nothing was created")
    with make_client(args) as client:
        try:
            key = client.create_key(args.app_id, args.name)
        except Exception as exc:
            _note_if_maybe_created(
                exc,
                f"the API key {args.name!r} may have been created (its raw key never arrived "
                "and cannot be shown again): this API cannot list keys, so look for it under "
                f"app {args.app_id} where your organisation manages keys, delete it with "
                f"`{PROG} keys delete {args.app_id} KEY_ID`, then create another",
            )
            raise
    # Which key it is goes out first, on stderr: if stdout then fails (closed pipe, full
    # disk), the person still knows which key to delete.
    out.note(
        f"Created API key {safe(repr(key.api_key_name))} (id {safe(key.api_key_id)}, shown as "
        f"{safe(key.display_value)}) for app {safe(repr(key.app_name))} (id {safe(key.app_id)}). "
        "The raw key goes to stdout once: it cannot be shown again, so store it now."
    )
    try:
        # stdout: the raw key alone (or in the JSON), so `$(... keys create ...)` captures just it.
        out.result(model_dict(key), key.raw_api_key)
    except OSError as exc:
        abandon_stdout(out.stdout)
        reason = exc.strerror or type(exc).__name__
        raise OutputLost(
            f"API key {key.api_key_id} was created, but its raw key could not be written to "
            f"stdout ({reason}) and cannot be shown again: delete it with "
            f"`{PROG} keys delete {key.app_id} {key.api_key_id}` and create another"
        ) from exc
    return 0


def delete_key(args: argparse.Namespace, out: Output) -> int:
    curated_operation("delete_key", "keys delete")
    with make_client(args) as client:
        client.delete_key(args.app_id, args.key_id)
    document = {"deleted": True, "app_id": args.app_id, "api_key_id": args.key_id}
    out.result(document, f"Deleted API key {safe(args.key_id)} of app {safe(args.app_id)}.")
    return 0


# --- any operation ---------------------------------------------------------------------------


def api(args: argparse.Namespace, out: Output) -> int:
    from parallel_account.cli import _api  # only this command needs it

    return _api.run(args, out, make_client, ask_before_moving_money)


# --- the fake server ------------------------------------------------------------------------


def mock_server(args: argparse.Namespace, out: Output) -> int:
    from parallel_account.testing import _main  # only this command needs the fake

    try:
        return _main.serve_options(args, out.stdout)  # as `python -m parallel_account.testing`
    except CannotServe as exc:
        raise UsageError(str(exc)) from None


COMMANDS: dict[tuple[str, str | None], Command] = {
    ("login", None): login,
    ("logout", None): logout,
    ("status", None): status,
    ("token", None): token,
    ("balance", None): show_balance,
    ("balance", "show"): show_balance,
    ("balance", "add"): add_balance,
    ("apps", "list"): list_apps,
    ("apps", "create"): create_app,
    ("apps", "delete"): delete_app,
    ("keys", "create"): create_key,
    ("keys", "delete"): delete_key,
    ("api", None): api,
    ("mock-server", None): mock_server,
    ("conformance", "list"): _conformance.list_scenarios,
    ("conformance", "run"): _conformance.run_scenarios,
}
