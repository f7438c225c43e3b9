"""``python -m experiments.frontier_search``."""

from experiments.frontier_search.cli import main

main()
