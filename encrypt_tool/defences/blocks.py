"""Cut a batch of images into blocks and put blocks back together; take whole blocks as rows.

A block array is (B, n, bh, bw, C) with blocks in row-major order of the (gy, gx) grid. Row
gathers view each block as one row of bytes (read as the widest word that divides it), so that
moving blocks costs one ``np.take`` of few, large items.
"""

from __future__ import annotations

import numpy as np

__all__ = ["from_blocks", "interiors", "take_blocks", "take_rows", "to_blocks"]


def to_blocks(x: np.ndarray, block: tuple[int, int], border: int = 0) -> np.ndarray:
    """(B, H, W, C) -> (B, gy*gx, bh-2*border, bw-2*border, C): each block's interior, a copy."""
    B, H, W, C = x.shape
    bh, bw = block
    gy, gx = H // bh, W // bw
    if gy * bh != H or gx * bw != W:
        raise ValueError(f"image size {H}x{W} is not divisible by block size {bh}x{bw}")
    if min(bh, bw) - 2 * border < 1:
        raise ValueError(f"a border of {border} px leaves nothing of {bh}x{bw} blocks")
    x6 = x.reshape(B, gy, bh, gx, bw, C)[:, :, border:bh - border, :, border:bw - border]
    kh, kw = bh - 2 * border, bw - 2 * border
    out = np.empty((B, gy, gx, kh, kw, C), dtype=x.dtype)  # (B, gy, gx, kh, kw, C)
    out[...] = x6.transpose(0, 1, 3, 2, 4, 5)
    return out.reshape(B, gy * gx, kh, kw, C)


def interiors(x: np.ndarray, block: tuple[int, int], border: int) -> np.ndarray:
    """(B, H, W, C) -> (B, gy*(bh-2*border), gx*(bw-2*border), C): the grid of block interiors
    in place (x itself when ``border`` is 0)."""
    if not border:
        return x
    B, H, W, C = x.shape
    bh, bw = block
    gy, gx = H // bh, W // bw
    kh, kw = bh - 2 * border, bw - 2 * border
    out = np.empty((B, gy * kh, gx * kw, C), dtype=x.dtype)
    out.reshape(B, gy, kh, gx, kw, C)[...] = \
        x.reshape(B, gy, bh, gx, bw, C)[:, :, border:bh - border, :, border:bw - border]
    return out


def from_blocks(
    blocks: np.ndarray, grid: tuple[int, int], border: int = 0, fill: int = 0
) -> np.ndarray:
    """(B, gy*gx, kh, kw, C) -> (B, gy*(kh+2*border), gx*(kw+2*border), C).

    The inverse of :func:`to_blocks`: every block is put back in its place, and the
    ``border`` pixels around each block are ``fill``.
    """
    B, n, kh, kw, C = blocks.shape
    gy, gx = grid
    if gy * gx != n:
        raise ValueError(f"{n} blocks do not fill a {gy}x{gx} grid")
    bh, bw = kh + 2 * border, kw + 2 * border
    out = np.empty((B, gy * bh, gx * bw, C), dtype=blocks.dtype)  # (B, H, W, C)
    if border:
        out.fill(fill)
    x6 = out.reshape(B, gy, bh, gx, bw, C)[:, :, border:bh - border, :, border:bw - border]
    x6.transpose(0, 1, 3, 2, 4, 5)[...] = blocks.reshape(B, gy, gx, kh, kw, C)
    return out


def take_rows(rows: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``rows[index]`` for (M, L) uint8 rows, gathered as words of up to 8 bytes."""
    M, L = rows.shape
    word = next(w for w in (8, 4, 2, 1) if L % w == 0)
    words = np.ascontiguousarray(rows).view(f"u{word}")  # (M, L/word)
    return np.take(words, np.asarray(index).reshape(-1), axis=0).view(np.uint8)


def take_blocks(blocks: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Reorder the blocks of every image: out[b, k] = blocks[b, index[b, k]].

    blocks: (B, n, bh, bw, C); index: (B, n) int, a block position per output block.
    """
    B, n = blocks.shape[:2]
    index = np.asarray(index)
    if index.shape != (B, n):
        raise ValueError(f"block index of shape {index.shape} does not fit {B} images of {n} "
                         f"blocks")
    flat = (np.arange(B, dtype=np.int64)[:, None] * n + index).reshape(-1)  # (B*n,)
    return take_rows(blocks.reshape(B * n, -1), flat).reshape(blocks.shape)
