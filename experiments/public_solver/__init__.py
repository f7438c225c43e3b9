"""The public-solver comparison: copies for a jigsaw solver from outside the project, its
answers scored as the audit scores its own attacks (docs/AUDIT.md).

    python -m experiments.public_solver --help
"""

from experiments.public_solver.copies import (
    load_copies,
    paper_copies,
    save_copies,
    setting_copies,
)
from experiments.public_solver.score import relation_union, score_orders

__all__ = ["load_copies", "paper_copies", "relation_union", "save_copies", "score_orders",
           "setting_copies"]
