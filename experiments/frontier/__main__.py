"""``python -m experiments.frontier``: the privacy-accuracy frontier (experiments.frontier.cli)."""

import sys

from experiments.frontier.cli import main

sys.exit(main())
