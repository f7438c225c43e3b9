"""Random horizontal flip."""

from __future__ import annotations

import numpy as np

__all__ = ["apply_flip", "sample_flip"]


def sample_flip(rng: np.random.Generator, batch: int, p: float = 0.5) -> np.ndarray:
    """Which images to mirror: (B,) bool, each True with probability ``p``."""
    return rng.random(batch) < p


def apply_flip(x: np.ndarray, flip: np.ndarray) -> np.ndarray:
    """Mirror the images of x (B, H, W, C) where ``flip`` (B,) is True; returns a new array."""
    out = x.copy()
    idx = np.flatnonzero(flip)
    out[idx] = x[idx, :, ::-1]
    return out
