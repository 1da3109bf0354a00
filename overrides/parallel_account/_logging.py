"""The package's logger, and the PARALLEL_ACCOUNT_LOG switch.

Log records carry method, path, status, attempt, timing and retry reasons: never
headers or bodies, so neither a bearer token nor a raw API key can reach a log.
"""

from __future__ import annotations

import logging
import os

from parallel_account._env import LOG_ENV

logger = logging.getLogger("parallel_account")
# A library must not print on its own: without this, Python's last-resort handler
# would write every retry WARNING to stderr of an application that set up no logging.
logger.addHandler(logging.NullHandler())
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}


def configure_from_env() -> None:
    """With PARALLEL_ACCOUNT_LOG=debug|info, install one stderr handler (once)."""
    level = _LEVELS.get(os.environ.get(LOG_ENV, "").strip().lower())
    if level is None or any(getattr(h, "_parallel_account", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._parallel_account = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
