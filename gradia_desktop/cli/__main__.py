"""`python -m gradia_desktop.cli ...`: the form torchrun and cluster schedulers start (docs/scaling.md)."""

import os
import sys

from . import main

status = main()
if int(os.environ.get("WORLD_SIZE", "1") or 1) > 1:  # a process of a distributed run: it leaves its group
    from ..training.distributed import end_process  # and exits there

    end_process(status)
sys.exit(status)
