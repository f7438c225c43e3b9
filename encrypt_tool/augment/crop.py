"""Random crop with padding: pad every side by ``pad`` pixels, cut an H x W window."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from encrypt_tool.augment.paths import pick_path

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


def apply_crop(
    x: np.ndarray, offsets: np.ndarray, pad: int, mode: str = "zero", path: str = "auto"
) -> np.ndarray:
    """Crop every image of x (B, H, W, C) at its offset after padding; returns (B, H, W, C).

    ``path``: "batch" (one gather), "slices" (one copy per image) or "auto" (by image size,
    see :mod:`encrypt_tool.augment.paths`); all give the same bytes.
    """
    if mode not in PAD_MODES:
        raise ValueError(f"pad mode {mode!r} is not valid; choose one of {', '.join(PAD_MODES)}")
    B, H, W, C = x.shape
    path = pick_path(path, H, W)
    if pad == 0:
        return x.copy()
    if path == "slices" and mode == "zero":
        return _zero_crop_slices(x, offsets, pad)
    if mode == "zero":
        padded = np.zeros((B, H + 2 * pad, W + 2 * pad, C), dtype=x.dtype)
        padded[:, pad : pad + H, pad : pad + W] = x
    else:
        padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    if path == "slices":
        out = np.empty_like(x)  # (B, H, W, C)
        for i, (dy, dx) in enumerate(offsets.tolist()):
            out[i] = padded[i, dy : dy + H, dx : dx + W]
        return out
    rows = padded.reshape(B, H + 2 * pad, (W + 2 * pad) * C)  # (B, H+2p, (W+2p)*C)
    windows = sliding_window_view(rows, W * C, axis=2)  # (B, H+2p, 2p*C+1, W*C) view
    b = np.arange(B)[:, None]  # (B, 1)
    y = offsets[:, 0:1] + np.arange(H)[None, :]  # (B, H)
    return windows[b, y, offsets[:, 1:2] * C].reshape(B, H, W, C)  # (B, H, W*C) gathered


def _zero_crop_slices(x: np.ndarray, offsets: np.ndarray, pad: int) -> np.ndarray:
    """Zero-padded crop without a padded copy: one contiguous block copy per image."""
    B, H, W, C = x.shape
    out = np.zeros_like(x)  # (B, H, W, C)
    for i, (dy, dx) in enumerate(offsets.tolist()):
        sy, sx = dy - pad, dx - pad  # source shift of the window
        r0, r1, c0, c1 = max(0, -sy), min(H, H - sy), max(0, -sx), min(W, W - sx)
        out[i, r0:r1, c0:c1] = x[i, r0 + sy : r1 + sy, c0 + sx : c1 + sx]
    return out
