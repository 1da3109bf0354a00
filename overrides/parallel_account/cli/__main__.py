"""`python -m parallel_account.cli ...`: the same as the `parallel-account` script."""

import sys

from parallel_account.cli._main import main

if __name__ == "__main__":
    sys.exit(main())
