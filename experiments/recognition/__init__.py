"""The recognition test (docs/AUDIT.md): a classifier trained on plain images classifies what
the audit's attacks reassemble from encrypted images, beside its accuracy on the plain images.

    python -m experiments.recognition [--smoke]
"""

from experiments.recognition.attack import FILLS, Attacked, attack_setting, refill
from experiments.recognition.score import score, table, union
from experiments.recognition.train import train_plain

__all__ = ["FILLS", "Attacked", "attack_setting", "refill", "score", "table", "train_plain",
           "union"]
