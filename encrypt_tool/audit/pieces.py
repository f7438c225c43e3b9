"""Cut images into puzzle pieces and assemble pieces back into images: the audit's names for
the one block cutter of :mod:`encrypt_tool.defences.blocks`."""

from __future__ import annotations

import numpy as np

from encrypt_tool.defences.blocks import from_blocks, interiors, take_rows, to_blocks

__all__ = ["assemble", "kept_pixels", "to_pieces"]


def to_pieces(x: np.ndarray, block: tuple[int, int]) -> np.ndarray:
    """(M, H, W, C) -> (M, gy*gx, bh, bw, C), pieces in row-major grid order."""
    return to_blocks(x, block)


def assemble(pieces: np.ndarray, order: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Image whose grid position ``p`` holds piece ``order[m, p]``: (M, gy*bh, gx*bw, C).

    pieces (M, n, bh, bw, C): n may exceed the grid (pieces in several states, say)."""
    M, n = pieces.shape[:2]
    P = grid[0] * grid[1]
    if order.shape != (M, P):
        raise ValueError(f"order of shape {order.shape} does not fit {M} images of "
                         f"{grid[0]}x{grid[1]}")
    flat = np.arange(M, dtype=np.int64)[:, None] * n + order  # (M, P) rows of all pieces
    placed = take_rows(pieces.reshape(M * n, -1), flat).reshape(M, P, *pieces.shape[2:])
    return from_blocks(placed, grid)


def kept_pixels(plain: np.ndarray, defences: dict | None) -> np.ndarray:
    """Plain images (M, H, W, C) at the source size cut down to what a file with ``defences``
    (its public attribute) stores: each source block's interior, in plain order,
    (M, H', W', C); the images themselves without a border drop."""
    d = int((defences or {}).get("drop_border", 0))
    if d == 0:
        return plain
    return interiors(plain, tuple(defences["source_block_size"]), d)
