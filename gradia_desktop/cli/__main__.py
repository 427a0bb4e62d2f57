"""`python -m gradia_desktop.cli ...`: the form torchrun and cluster schedulers start (see docs/distributed.md)."""

import sys

from . import main

sys.exit(main())
