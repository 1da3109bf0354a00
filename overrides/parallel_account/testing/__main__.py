"""`python -m parallel_account.testing [--port N] [--host H] [--token T]`: serve the fake."""

import sys

from parallel_account.testing._main import main

if __name__ == "__main__":
    sys.exit(main())
