"""The privacy-accuracy frontier: each setting's leakage under the audit and the accuracy of the
models that apply to it (docs/FRONTIER.md).

    python -m experiments.frontier --budget cpu          # CIFAR-10, the measured table
    python -m experiments.frontier.photos                # leakage on 224-px photos
"""

from experiments.frontier.budget import BUDGETS, Budget, with_overrides
from experiments.frontier.report import chart, leak_chart
from experiments.frontier.run import encrypt_setting, leakage, run_frontier

__all__ = ["BUDGETS", "Budget", "chart", "encrypt_setting", "leak_chart", "leakage",
           "run_frontier", "with_overrides"]
