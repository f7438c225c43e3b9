"""Encrypt arrays in memory with given settings, keeping the ground truth (for audits and tests).

The same augmentation functions as ``bs-encrypt dataset`` (crop, flip, GridMask), followed by
block scrambling with random permutations from a seeded generator. Nothing here touches a key:
the permutations only exist in memory and serve as the answer key of an attack.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from encrypt_tool.augment import AugmentConfig, apply_augment, sample_augment
from encrypt_tool.scramble import block_grid, scramble

__all__ = ["Settings", "simulate"]


@dataclass(frozen=True)
class Settings:
    """Encryption settings of one audited configuration."""

    block: int = 8
    pad: int = 4
    pad_mode: str = "zero"
    flip: bool = True
    gridmask: bool = True
    n_copies: int = 4
    gm_d_range: tuple[int, int] = (14, 32)
    gm_ratio: float = 0.6
    gm_p: float = 0.8

    def augment(self) -> AugmentConfig:
        """The same settings as ``bs-encrypt dataset`` takes them."""
        return AugmentConfig(crop=self.pad > 0, pad=self.pad, pad_mode=self.pad_mode,
                             flip=self.flip, gridmask=self.gridmask, gridmask_d=self.gm_d_range,
                             gridmask_ratio=self.gm_ratio, gridmask_prob=self.gm_p)


def simulate(
    images: np.ndarray, settings: Settings, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encrypt ``images`` (M, H, W, C) uint8 into N copies each.

    Returns (plain, scrambled, perms): plain and scrambled (M, N, H, W, C) uint8, where plain is
    the augmented image before scrambling, and perms (M, N, gy*gx) int64.
    """
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(f"images must be (M, H, W, C) uint8, got {images.shape} {images.dtype}")
    rng = np.random.default_rng(seed)
    M, H, W, C = images.shape
    block = (settings.block, settings.block)
    gy, gx = block_grid((H, W), block)
    aug = settings.augment()
    plain, enc, perms = [], [], []
    for _ in range(settings.n_copies):
        x = apply_augment(images, sample_augment(rng, M, aug), aug)  # (M, H, W, C)
        perm = rng.permuted(np.tile(np.arange(gy * gx), (M, 1)), axis=1)  # (M, n)
        plain.append(x)
        enc.append(scramble(x, perm, block))
        perms.append(perm)
    return np.stack(plain, 1), np.stack(enc, 1), np.stack(perms, 1)
