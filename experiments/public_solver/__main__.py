"""``python -m experiments.public_solver``: the public-solver comparison
(experiments.public_solver.cli)."""

import sys

from experiments.public_solver.cli import main

sys.exit(main())
