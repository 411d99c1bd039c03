"""`python -m kerasloss`: the `kerasloss` command (report, summary, dashboard; `kerasloss_tensorboard.cli`)."""

import sys

from kerasloss_tensorboard.cli import main

sys.exit(main())
