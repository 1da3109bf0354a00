"""The `parallel-account` command line: sign-in, balance, apps and API keys.

    parallel-account login | logout | status | token
    parallel-account balance [show] | balance add AMOUNT | --cents N
    parallel-account apps list | create NAME | delete APP_ID
    parallel-account keys create APP_ID NAME | delete APP_ID KEY_ID
    parallel-account mock-server [--port N] [--token T] [--host H] [--allow-remote]
                                 [--log-format text|json]
    parallel-account conformance list | run --adapter COMMAND [--only NAME]...

Modules: `_parser` (arguments, exit statuses), `_commands` (one function per
command), `_money` (dollars and cents), `_output` (JSON documents and terminal
text), `_main` (errors to one line and an exit status), `_conformance` (the
conformance pack's commands). `parallel-account --help` and docs/cli.md describe
the behaviour.
"""

from parallel_account.cli._main import exit_status, main

__all__ = ["exit_status", "main"]
