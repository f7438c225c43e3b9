"""Random horizontal flip."""

from __future__ import annotations

import numpy as np

__all__ = ["apply_flip", "sample_flip"]


def sample_flip(rng: np.random.Generator, batch: int, p: float = 0.5) -> np.ndarray:
    """Which images to mirror: (B,) bool, each True with probability ``p``."""
    return rng.random(batch) < p


def apply_flip(x: np.ndarray, flip: np.ndarray) -> np.ndarray:
    """Mirror the images of x (B, H, W, C) where ``flip`` (B,) is True; returns a new array."""
    B, H, W, C = x.shape
    out = x.copy()
    idx = np.flatnonzero(flip)
    # byte order of a mirrored row: pixels reversed, channels kept (one gather, no strided copy)
    order = (np.arange(W)[::-1, None] * C + np.arange(C)[None, :]).reshape(-1)  # (W*C,)
    rows = x[idx].reshape(len(idx), H, W * C)  # (b, H, W*C)
    out[idx] = np.take(rows, order, axis=2).reshape(len(idx), H, W, C)
    return out
