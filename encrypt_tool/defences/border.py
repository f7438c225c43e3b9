"""Border drop: every block keeps only its interior, so neighbouring blocks share no edge.

The stored image is the grid of kept interiors (gy*(bh-2d), gx*(bw-2d)); the dropped pixels are
gone for good, and a decrypted image has them at 0.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MIN_KEPT", "check_border", "drop_border", "kept_block", "restore_border"]

MIN_KEPT = 2  # pixels a block must keep on each side


def kept_block(block: tuple[int, int], border: int) -> tuple[int, int]:
    """The (bh-2d, bw-2d) interior that a ``border`` of d px leaves of (bh, bw) blocks."""
    return int(block[0]) - 2 * int(border), int(block[1]) - 2 * int(border)


def check_border(block: tuple[int, int], border: int) -> None:
    """ValueError unless ``border`` is 0, or positive and leaves at least ``MIN_KEPT`` px of
    each side of the blocks."""
    bh, bw = block
    if border < 0:
        raise ValueError(f"--drop-border {border} is not valid; it must be 0 or more px")
    kh, kw = kept_block(block, border)
    if border and min(kh, kw) < MIN_KEPT:
        most = (min(bh, bw) - MIN_KEPT) // 2
        allowed = f"use 0..{most}" if most >= 0 else "use 0"
        raise ValueError(
            f"--drop-border {border} leaves {max(kh, 0)}x{max(kw, 0)} px of the {bh}x{bw} "
            f"blocks; each block must keep at least {MIN_KEPT}x{MIN_KEPT} px: {allowed}, or "
            f"choose larger blocks")


def drop_border(blocks: np.ndarray, border: int) -> np.ndarray:
    """(B, n, bh, bw, C) -> (B, n, bh-2d, bw-2d, C): the interiors, as a new array."""
    bh, bw = blocks.shape[2:4]
    check_border((bh, bw), border)
    return np.ascontiguousarray(blocks[:, :, border:bh - border, border:bw - border])


def restore_border(blocks: np.ndarray, border: int) -> np.ndarray:
    """(B, n, kh, kw, C) -> (B, n, kh+2d, kw+2d, C) with the border pixels set to 0."""
    B, n, kh, kw, C = blocks.shape
    out = np.zeros((B, n, kh + 2 * border, kw + 2 * border, C), dtype=blocks.dtype)
    out[:, :, border:border + kh, border:border + kw] = blocks
    return out
