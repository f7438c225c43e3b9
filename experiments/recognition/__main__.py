"""``python -m experiments.recognition``: the recognition test (experiments.recognition.cli)."""

import sys

from experiments.recognition.cli import main

sys.exit(main())
