"""Cut images into puzzle pieces and assemble pieces back into images."""

from __future__ import annotations

import numpy as np

from encrypt_tool.scramble import block_grid

__all__ = ["assemble", "to_pieces"]


def to_pieces(x: np.ndarray, block: tuple[int, int]) -> np.ndarray:
    """(M, H, W, C) -> (M, gy*gx, bh, bw, C), pieces in row-major grid order."""
    M, H, W, C = x.shape
    bh, bw = block
    gy, gx = block_grid((H, W), block)
    p = x.reshape(M, gy, bh, gx, bw, C).transpose(0, 1, 3, 2, 4, 5)  # (M, gy, gx, bh, bw, C)
    return p.reshape(M, gy * gx, bh, bw, C)


def assemble(pieces: np.ndarray, order: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Image whose grid position ``p`` holds piece ``order[m, p]``: (M, gy*bh, gx*bw, C)."""
    M, n, bh, bw, C = pieces.shape
    gy, gx = grid
    if order.shape != (M, gy * gx):
        raise ValueError(f"order of shape {order.shape} does not fit {M} images of {gy}x{gx}")
    placed = np.take_along_axis(pieces, order[:, :, None, None, None], axis=1)  # (M, n, bh, bw, C)
    img = placed.reshape(M, gy, gx, bh, bw, C).transpose(0, 1, 3, 2, 4, 5)
    return img.reshape(M, gy * bh, gx * bw, C)
