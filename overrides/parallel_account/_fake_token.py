"""The bearer token the fake Account API accepts unless given another (`mock-server --token`).

A module of its own so the command line's `--help` can name it without loading the fake.
"""

from typing import Final

DEFAULT_TOKEN: Final = "fake-account-token"  # noqa: S105 (a well-known test value, not a secret)
