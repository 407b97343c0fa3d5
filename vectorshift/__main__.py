"""``python -m vectorshift``: the ``vectorshift`` command."""

import sys

from vectorshift.cli import main

if __name__ == "__main__":
    sys.exit(main())
