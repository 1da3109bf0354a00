"""Python client for Parallel's Account API (hand-written layer over `parallel_account_api`)."""

from parallel_account._spec import SPEC_SHA256, spec, spec_text
from parallel_account._version import __version__

__all__ = ["SPEC_SHA256", "__version__", "spec", "spec_text"]
