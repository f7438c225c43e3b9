"""Random crop with padding: pad every side by ``pad`` pixels, cut an H x W window."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["PAD_MODES", "apply_crop", "check_pad", "sample_crop"]

PAD_MODES = ("zero", "reflect")


def check_pad(pad: int, image_hw: tuple[int, int]) -> None:
    """ValueError unless ``pad`` keeps at least half of every crop inside the image."""
    limit = min(image_hw) // 2
    if not 0 <= pad <= limit:
        h, w = image_hw
        raise ValueError(f"--pad {pad} is not valid for {h}x{w} images: a crop could hold more "
                         f"padding than image; give 0..{limit} (at most half the shorter side)")


def sample_crop(rng: np.random.Generator, batch: int, pad: int) -> np.ndarray:
    """Window offsets (B, 2) int64 as (dy, dx), each uniform in [0, 2 * pad]."""
    return rng.integers(0, 2 * pad + 1, size=(batch, 2))


def apply_crop(x: np.ndarray, offsets: np.ndarray, pad: int, mode: str = "zero") -> np.ndarray:
    """Crop every image of x (B, H, W, C) at its offset after padding; returns (B, H, W, C)."""
    if mode not in PAD_MODES:
        raise ValueError(f"pad mode {mode!r} is not valid; choose one of {', '.join(PAD_MODES)}")
    B, H, W, C = x.shape
    if pad == 0:
        return x.copy()
    if mode == "zero":
        padded = np.zeros((B, H + 2 * pad, W + 2 * pad, C), dtype=x.dtype)
        padded[:, pad : pad + H, pad : pad + W] = x
    else:
        padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    rows = padded.reshape(B, H + 2 * pad, (W + 2 * pad) * C)  # (B, H+2p, (W+2p)*C)
    windows = sliding_window_view(rows, W * C, axis=2)  # (B, H+2p, 2p*C+1, W*C) view
    dy, dx = offsets[:, 0], offsets[:, 1]
    b = np.arange(B)[:, None]  # (B, 1)
    y = dy[:, None] + np.arange(H)[None, :]  # (B, H)
    out = windows[b, y, (dx * C)[:, None]]  # (B, H, W*C)
    return out.reshape(B, H, W, C)
