"""Training-time augmentation applied by the client before scrambling.

``sample_augment`` draws every random parameter for a batch; ``apply_augment`` is pure.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

import numpy as np

from encrypt_tool.augment.crop import PAD_MODES, apply_crop, sample_crop
from encrypt_tool.augment.flip import apply_flip, sample_flip
from encrypt_tool.augment.gridmask import GridMaskParams, sample_gridmask, zero_holes

__all__ = [
    "AugmentConfig", "AugmentParams", "apply_augment", "describe_augment", "sample_augment",
    "scaled_defaults",
]


REFERENCE_SIDE = 32  # the defaults below are for 32 x 32 images; other sizes scale them
DEFAULT_PAD = 4
DEFAULT_GRIDMASK_D = (14, 32)
# A GridMask hole takes (1 - r)^2 of each unit: below r = 0.3 a masked image would lose more
# than half its pixels (r = 0 erases all of it), so that is the least ratio allowed.
MIN_GRIDMASK_RATIO = 0.3


def scaled_defaults(side: int) -> tuple[int, tuple[int, int]]:
    """Crop padding and GridMask d range for images whose shorter side is ``side`` pixels:
    the 32-pixel defaults (4; 14-32) times side / 32, rounded (224: 28; 98-224)."""
    f = side / REFERENCE_SIDE
    d = (max(2, round(DEFAULT_GRIDMASK_D[0] * f)), max(2, round(DEFAULT_GRIDMASK_D[1] * f)))
    return round(DEFAULT_PAD * f), d


@dataclass(frozen=True)
class AugmentConfig:
    """What to apply, in order: crop (with padding), horizontal flip, GridMask.

    ``pad`` or ``gridmask_d`` None means "scaled with the image size"; ``resolve`` fills them.
    """

    crop: bool = True
    pad: int | None = DEFAULT_PAD
    pad_mode: str = "zero"
    flip: bool = True
    gridmask: bool = True
    gridmask_d: tuple[int, int] | None = DEFAULT_GRIDMASK_D
    gridmask_ratio: float = 0.6
    gridmask_prob: float = 0.8

    def __post_init__(self) -> None:
        if self.pad_mode not in PAD_MODES:
            modes = " or ".join(PAD_MODES)
            raise ValueError(f"pad mode (--pad-mode) {self.pad_mode!r} is not valid; choose "
                             f"{modes}")
        if self.pad is not None and self.pad < 0:
            raise ValueError(f"padding (--pad) {self.pad} is not valid; it must be >= 0")
        if self.gridmask_d is not None:
            d0, d1 = self.gridmask_d
            if not 2 <= d0 <= d1:
                raise ValueError(
                    f"GridMask d range (--gridmask-d) {d0}-{d1} is not valid; need 2 <= d_min <= "
                    f"d_max")
        r = self.gridmask_ratio
        low = MIN_GRIDMASK_RATIO if self.gridmask else 0.0
        if not low <= r < 1.0:
            raise ValueError(
                f"GridMask ratio (--gridmask-ratio) {r} is not valid; a hole takes (1-r)^2 of "
                f"each unit ({max(0.0, 1 - r) ** 2:.0%} here), so give {MIN_GRIDMASK_RATIO} <= r "
                f"< 1 (holes of at most {(1 - MIN_GRIDMASK_RATIO) ** 2:.0%}; or --no-gridmask)")
        if not 0.0 <= self.gridmask_prob <= 1.0:
            raise ValueError(f"GridMask probability (--gridmask-prob) {self.gridmask_prob} is not "
                             f"valid; need 0..1")

    @property
    def resolved(self) -> bool:
        """Whether every size is in pixels (no "scaled" left)."""
        return self.pad is not None and self.gridmask_d is not None

    def resolve(self, image_shape: tuple[int, ...]) -> AugmentConfig:
        """The same settings with scaled sizes turned into pixels for (H, W, ...) images."""
        pad, d = scaled_defaults(min(image_shape[:2]))
        return replace(self, pad=pad if self.pad is None else self.pad,
                       gridmask_d=d if self.gridmask_d is None else tuple(self.gridmask_d))

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
    if not cfg.resolved:
        raise ValueError("augmentation sizes are not resolved; call AugmentConfig.resolve first")
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
        if params.crop is None and params.flip is None:
            x = x.copy()  # pure: never change the caller's array
        zero_holes(x, params.gridmask)  # x is already a fresh array here
    return x


def describe_augment(stored: str | dict | None) -> str:
    """One line from a stored ``augment`` attribute (JSON text or its dict): the pixel values."""
    a = stored
    if isinstance(stored, str):
        try:
            a = json.loads(stored) if stored else None
        except ValueError:
            return stored
    if not a:
        return "none"
    parts = []
    if a.get("crop"):
        parts.append(f"crop pad {a.get('pad')} px ({a.get('pad_mode')})")
    if a.get("flip"):
        parts.append("flip")
    if a.get("gridmask"):
        d = a.get("gridmask_d") or ["?", "?"]
        parts.append(f"GridMask d {d[0]}-{d[1]} px, r {a.get('gridmask_ratio')}, "
                     f"p {a.get('gridmask_prob')}")
    return ", ".join(parts) or "none"
