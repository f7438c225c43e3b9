"""Block scrambling: permute the positions of (bh, bw) blocks, a whole batch in one gather."""

from __future__ import annotations

import numpy as np

__all__ = ["block_grid", "invert_permutations", "parse_block_size", "scramble", "unscramble"]


def parse_block_size(value: int | str | tuple[int, int]) -> tuple[int, int]:
    """``8`` -> (8, 8); ``"8x4"`` -> (8, 4) as (height, width). Raises ValueError when not > 0."""
    if isinstance(value, tuple):
        bh, bw = value
    elif isinstance(value, int):
        bh = bw = value
    else:
        text = str(value).lower().strip()
        try:
            parts = [int(p) for p in text.split("x")]
        except ValueError:
            raise ValueError(
                f"block size (--block-size) {value!r} is not valid; use an integer like 8 or HxW "
                f"like 8x4"
            ) from None
        if len(parts) == 1:
            parts = parts * 2
        if len(parts) != 2:
            raise ValueError(f"block size (--block-size) {value!r} is not valid; use an "
                             f"integer or HxW")
        bh, bw = parts
    if bh <= 0 or bw <= 0:
        raise ValueError(f"block size (--block-size) {bh}x{bw} is not valid; both sides must "
                         f"be >= 1")
    return int(bh), int(bw)


def block_grid(image_hw: tuple[int, int], block: tuple[int, int]) -> tuple[int, int]:
    """Blocks per column and row, (gy, gx); ValueError unless the image divides evenly."""
    (h, w), (bh, bw) = image_hw, block
    if bh > h or bw > w:
        raise ValueError(f"block size {bh}x{bw} is larger than the {h}x{w} image")
    if h % bh or w % bw:
        raise ValueError(
            f"image size {h}x{w} is not divisible by block size {bh}x{bw}; "
            f"choose a block size that divides both sides"
        )
    if (h // bh) * (w // bw) < 2:
        raise ValueError(f"block size {bh}x{bw} leaves a single block on a {h}x{w} image")
    return h // bh, w // bw


def invert_permutations(perm: np.ndarray) -> np.ndarray:
    """Row-wise inverse of (B, n) permutations."""
    inv = np.empty_like(perm)
    np.put_along_axis(inv, perm, np.arange(perm.shape[1], dtype=perm.dtype)[None], axis=1)
    return inv


def scramble(x: np.ndarray, perm: np.ndarray, block: tuple[int, int]) -> np.ndarray:
    """Scramble a batch: block ``k`` of output image ``b`` is block ``perm[b, k]`` of ``x[b]``.

    x: (B, H, W, C); perm: (B, gy*gx) int; returns a new (B, H, W, C) array of x's dtype.
    """
    B, H, W, C = x.shape
    bh, bw = block
    gy, gx = block_grid((H, W), block)
    if perm.shape != (B, gy * gx):
        raise ValueError(f"permutations of shape {perm.shape} do not fit {B} images of {gy}x{gx}")
    row = bw * C * x.dtype.itemsize  # bytes in one row of one block
    word = next(w for w in (8, 4, 2, 1) if row % w == 0)
    raw = np.ascontiguousarray(x).view(np.uint8)
    rows = raw.reshape(-1, row).view(f"u{word}")  # (B*gy*bh*gx, row/word)
    src = perm.reshape(B, gy, 1, gx)  # (B, gy, 1, gx): source block of each output block
    idx = (
        np.arange(B).reshape(B, 1, 1, 1) * (gy * bh * gx)
        + (src // gx) * (bh * gx)
        + np.arange(bh).reshape(1, 1, bh, 1) * gx
        + src % gx
    )  # (B, gy, bh, gx): flat index of the source block row
    out = np.take(rows, idx.reshape(-1), axis=0)  # (B*gy*bh*gx, row/word)
    return out.view(x.dtype).reshape(B, H, W, C)


def unscramble(y: np.ndarray, perm: np.ndarray, block: tuple[int, int]) -> np.ndarray:
    """The exact inverse of :func:`scramble` with the same ``perm``."""
    return scramble(y, invert_permutations(perm), block)
