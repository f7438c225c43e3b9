"""The privacy goal a setting must meet under every attack, and the budgets of stages b-d."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BUDGETS", "GOALS", "STAGE_BUDGET", "Budget", "Goal", "budget"]


@dataclass(frozen=True)
class Goal:
    """At most ``neighbour`` of true neighbour pairs, at most ``perfect`` and ``recognisable``
    of the images (shares, the union of every attack)."""

    neighbour: float
    perfect: float
    recognisable: float

    def met(self, row: dict) -> bool:
        """Whether a stage-(a) row meets the goal (a row without figures does not)."""
        try:
            return (row["neighbour"] <= self.neighbour and row["perfect"] <= self.perfect
                    and row["recognisable"] <= self.recognisable)
        except (KeyError, TypeError):
            return False

    def describe(self) -> str:
        return (f"at most {self.neighbour:.0%} of neighbour pairs, {self.perfect:.0%} of "
                f"images exact, {self.recognisable:.0%} recognisable")


GOALS = {
    "cifar": Goal(neighbour=0.10, perfect=0.0, recognisable=0.05),
    "photos": Goal(neighbour=0.10, perfect=0.0, recognisable=0.0),
    "synthetic": Goal(neighbour=0.10, perfect=0.0, recognisable=0.05),
}


@dataclass(frozen=True)
class Budget:
    """One training of stages b-d: ``n_train`` images (N copies each, as the setting says),
    ``epochs``, the first ``n_test`` test images (CIFAR-10's first 1,000 are the exact ones)."""

    name: str
    n_train: int
    epochs: int
    n_test: int = 1000
    batch_size: int = 128


BUDGETS = {
    "smoke": Budget("smoke", n_train=64, epochs=1, n_test=32, batch_size=32),
    "quick": Budget("quick", n_train=2_500, epochs=4),
    "reference": Budget("reference", n_train=10_000, epochs=10),
    # all 50,000 images; 30 epochs: plain narrow ResNet-18 was still improving at 10 epochs
    # of 10,000 images (docs/FRONTIER.md); stage d reads its curve from metrics.csv
    "full": Budget("full", n_train=50_000, epochs=30),
}
STAGE_BUDGET = {"b": "quick", "c": "reference", "d": "full"}


def budget(name: str) -> Budget:
    """The named budget; ValueError naming the known ones."""
    if name not in BUDGETS:
        raise ValueError(f"--budget {name!r} is not known; use one of: {', '.join(BUDGETS)}")
    return BUDGETS[name]
