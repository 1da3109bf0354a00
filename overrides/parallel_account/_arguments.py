"""Command-line text, checked and quoted alike by `parallel-account` and by the mock server's
own entry point (`python -m parallel_account.testing`).

Every text on a command line is checked once parsed, whichever option takes it: at most
MAX_ARGUMENT_CHARS characters and valid Unicode (a lone surrogate, as bytes that are not
UTF-8 arrive through surrogateescape, is refused). `shown` quotes an argument in a refusal.
"""

from __future__ import annotations

import argparse

from parallel_account._errors import InvalidRequestError

MAX_ARGUMENT_CHARS = 10_000  # no id, name, key or --body of this API comes near


def shown(text: str) -> str:
    """An argument for a message: short ones as typed, long ones by their length."""
    return repr(text) if len(text) <= 40 else f"a value of {len(text)} characters"


def check_text(name: str, text: str) -> str:
    """Refuse text too long, or not valid Unicode, naming where it came from."""
    if len(text) > MAX_ARGUMENT_CHARS:
        raise InvalidRequestError(
            f"{name}: {len(text)} characters is too long; at most {MAX_ARGUMENT_CHARS} are accepted"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequestError(
            f"{name}: not valid Unicode text (bytes that are not UTF-8, or a lone surrogate); "
            "give it as UTF-8 text"
        ) from None
    return text


def check_parsed(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Every text value `parser` parsed into `args` within bounds (`check_text`), named as
    the user typed it (`--scope`, `KEY_ID`).

    Raises:
        InvalidRequestError: a value is too long or not valid Unicode.
    """
    names = _names(parser)
    for dest, value in vars(args).items():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                check_text(names.get(dest, dest), text)


def _names(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Each destination's name as the user typed it: `--scope`, `KEY_ID`."""
    names: dict[str, str] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                for dest, name in _names(sub).items():
                    names.setdefault(dest, name)
        elif action.option_strings:
            names.setdefault(action.dest, max(action.option_strings, key=len))
        else:
            metavar = action.metavar if isinstance(action.metavar, str) else None
            names.setdefault(action.dest, metavar or action.dest.upper())
    return names
