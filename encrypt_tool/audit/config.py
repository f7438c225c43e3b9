"""The one typed configuration of an audit: which images, which attacks, how to run them."""

from __future__ import annotations

from dataclasses import dataclass

from encrypt_tool.audit.attack import COSTS
from encrypt_tool.audit.attacks import choose

__all__ = ["ATTACK_STEPS", "AuditConfig"]

ATTACK_STEPS = 300  # the learned attacks' training steps (minutes on 2 cores at photo size)
MIN_ATTACK_STEPS, MAX_ATTACK_STEPS = 50, 100_000


@dataclass(frozen=True)
class AuditConfig:
    """Everything an audit needs besides the file and the key.

    Selection: ``indices`` (positions in ``split``), or ``samples`` images from ``start`` (None:
    to the end), or with ``start=None`` a seeded sample of ``samples`` stratified by label.
    ``attacks``: registry names (None: all). ``train``: a public image folder the learned
    attacks train on instead of the owner's images that are not audited. ``models``: the
    folder that caches their models (None: no cache); ``retrain``: ignore a cached one;
    ``attack_steps``: their training steps (a cached model trained for other steps is trained
    again).
    """

    split: str = "test"
    samples: int | None = 200
    start: int | None = 0
    indices: tuple[int, ...] | None = None
    attacks: tuple[str, ...] | None = None
    jobs: int = 1
    progress: bool = False
    train: str | None = None
    models: str | None = None
    retrain: bool = False
    attack_steps: int = ATTACK_STEPS
    beam: int = 64
    costs: tuple[str, ...] = COSTS

    def __post_init__(self) -> None:
        if self.samples is not None and self.samples < 1:
            raise ValueError(f"--samples {self.samples} is not valid; it must be at least 1")
        if self.start is not None and self.start < 0:
            raise ValueError(f"--start {self.start} is not valid; it must be at least 0")
        if not MIN_ATTACK_STEPS <= self.attack_steps <= MAX_ATTACK_STEPS:
            raise ValueError(f"--attack-steps {self.attack_steps} is not valid; it must be "
                             f"{MIN_ATTACK_STEPS} to {MAX_ATTACK_STEPS}")
        if self.jobs < 1:
            raise ValueError(f"--jobs {self.jobs} is not valid; it must be at least 1")
        if self.indices is not None and self.start not in (None, 0):
            raise ValueError("--start and --indices exclude each other; give one of them")
        if self.attacks is not None:
            choose(list(self.attacks))  # an unknown name is refused here, before any work
