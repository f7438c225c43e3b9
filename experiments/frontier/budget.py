"""How much one frontier run does: images, epochs, settings, models, audit samples, device."""

from __future__ import annotations

from dataclasses import dataclass, replace

from experiments.settings import FRONTIER

__all__ = ["ALL", "BUDGETS", "Budget", "with_overrides"]

ALL = tuple(s.name for s in FRONTIER)


@dataclass(frozen=True)
class Budget:
    """How much of everything one frontier run does."""

    name: str
    n_train: int
    epochs: int
    n_test: int = 1000  # the exact CIFAR-10 test images
    settings: tuple[str, ...] = ALL  # names in experiments.settings.FRONTIER
    models: tuple[str, ...] = ("resnet18-narrow", "blockset-narrow")
    plain_blocks: tuple[int, ...] = (8,)  # block grids of the plain block-set references
    gridmask: bool = False
    audit_samples: int = 200
    batch_size: int = 128
    device: str = "cpu"


BUDGETS = {
    # the CPU reference budget: about 30 min on 2 idle cores for the paper's setting alone
    "cpu": Budget("cpu", n_train=10_000, epochs=10),
    # the same on a loaded machine: a quarter of the images, 4 epochs
    "cpu-quick": Budget("cpu-quick", n_train=2_500, epochs=4, audit_samples=100),
    # a GPU budget that fits gpu-check's 8 minutes on one H100
    "gpu": Budget("gpu", n_train=25_000, epochs=15, settings=("4x4", "8x8", "16x16", "plain"),
                  models=("resnet18", "blockset"), plain_blocks=(4, 8, 16), audit_samples=500,
                  batch_size=256, device="auto"),
    # a whole run in seconds, for tests
    "smoke": Budget("smoke", n_train=256, epochs=1, n_test=128,
                    settings=("4x4", "8x8", "8x8 drop 2 + all", "plain"), audit_samples=8,
                    batch_size=64),
}


def with_overrides(b: Budget, **kw) -> Budget:
    """``b`` with the given fields replaced (None leaves a field as it is)."""
    return replace(b, **{k: v for k, v in kw.items() if v is not None})
