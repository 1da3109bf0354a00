"""`python -m parallel_account_drift diff|check|rules` (see parallel_account_drift.cli)."""

import sys

from parallel_account_drift.cli import main

sys.exit(main())
