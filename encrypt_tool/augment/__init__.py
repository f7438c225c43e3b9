"""Training-time augmentation applied by the client before scrambling.

``sample_augment`` draws every random parameter for a batch; ``apply_augment`` is pure.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

import numpy as np

from encrypt_tool.augment.crop import PAD_MODES, apply_crop, sample_crop
from encrypt_tool.augment.flip import apply_flip, sample_flip
from encrypt_tool.augment.gridmask import GridMaskParams, apply_gridmask, sample_gridmask

__all__ = ["AugmentConfig", "AugmentParams", "apply_augment", "sample_augment"]


@dataclass(frozen=True)
class AugmentConfig:
    """What to apply, in order: crop (with padding), horizontal flip, GridMask."""

    crop: bool = True
    pad: int = 4
    pad_mode: str = "zero"
    flip: bool = True
    gridmask: bool = True
    gridmask_d: tuple[int, int] = (14, 32)
    gridmask_ratio: float = 0.6
    gridmask_prob: float = 0.8

    def __post_init__(self) -> None:
        if self.pad_mode not in PAD_MODES:
            modes = " or ".join(PAD_MODES)
            raise ValueError(f"pad mode {self.pad_mode!r} is not valid; choose {modes}")
        if self.pad < 0:
            raise ValueError(f"padding {self.pad} is not valid; it must be >= 0")
        d0, d1 = self.gridmask_d
        if not 2 <= d0 <= d1:
            raise ValueError(f"GridMask d range {d0}-{d1} is not valid; need 2 <= d_min <= d_max")
        if not 0.0 <= self.gridmask_ratio < 1.0:
            raise ValueError(f"GridMask ratio {self.gridmask_ratio} is not valid; need 0 <= r < 1")
        if not 0.0 <= self.gridmask_prob <= 1.0:
            raise ValueError(f"GridMask probability {self.gridmask_prob} is not valid; need 0..1")

    def without_gridmask(self) -> AugmentConfig:
        """The test-split augmentation of the paper: crop and flip only."""
        return replace(self, gridmask=False)

    def to_json(self) -> str:
        """Settings as a JSON string (stored in the file)."""
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class AugmentParams:
    """The random draws for one batch; a field is None where its transform is off."""

    crop: np.ndarray | None
    flip: np.ndarray | None
    gridmask: GridMaskParams | None


def sample_augment(rng: np.random.Generator, batch: int, cfg: AugmentConfig) -> AugmentParams:
    """Draw every parameter of ``cfg`` for ``batch`` images, in a fixed order."""
    return AugmentParams(
        crop=sample_crop(rng, batch, cfg.pad) if cfg.crop else None,
        flip=sample_flip(rng, batch) if cfg.flip else None,
        gridmask=(
            sample_gridmask(rng, batch, cfg.gridmask_d, cfg.gridmask_ratio, cfg.gridmask_prob)
            if cfg.gridmask
            else None
        ),
    )


def apply_augment(x: np.ndarray, params: AugmentParams, cfg: AugmentConfig) -> np.ndarray:
    """Apply the drawn augmentation to x (B, H, W, C); returns a new array of the same shape."""
    if params.crop is not None:
        x = apply_crop(x, params.crop, cfg.pad, cfg.pad_mode)
    if params.flip is not None:
        x = apply_flip(x, params.flip)
    if params.gridmask is not None:
        x = apply_gridmask(x, params.gridmask)
    return x
