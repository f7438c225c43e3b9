"""GridMask (Chen et al., "GridMask Data Augmentation", 2020, arXiv:2001.04086).

A grid of square holes: unit size ``d``, kept share of a unit's edge ``r`` (the paper's ratio),
so each unit loses a square of side ``l = d - round(r * d)`` at a random offset. Applied to each
image with probability ``p``. The grid is axis-aligned (the paper's optional rotation is left out:
on 32 x 32 images a rotated grid is mostly resampling noise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from encrypt_tool.augment.paths import pick_path

__all__ = [
    "GridMaskParams", "apply_gridmask", "gridmask_masks", "sample_gridmask", "zero_holes",
]


@dataclass(frozen=True)
class GridMaskParams:
    """Per-image GridMask draws: unit ``d`` (B,), hole side ``l`` (B,), offsets (B, 2), on (B,)."""

    d: np.ndarray
    l: np.ndarray
    offsets: np.ndarray
    on: np.ndarray


def sample_gridmask(
    rng: np.random.Generator,
    batch: int,
    d_range: tuple[int, int],
    ratio: float,
    p: float,
) -> GridMaskParams:
    """Draw ``d`` uniform in [d_min, d_max], offsets uniform in [0, d), each image on with ``p``."""
    d = rng.integers(d_range[0], d_range[1] + 1, size=batch)
    l = d - np.round(ratio * d).astype(np.int64)
    offsets = (rng.random((batch, 2)) * d[:, None]).astype(np.int64)
    on = rng.random(batch) < p
    return GridMaskParams(d=d, l=l, offsets=offsets, on=on)


def gridmask_masks(params: GridMaskParams, h: int, w: int) -> np.ndarray:
    """Which pixels are dropped: (B, H, W) bool."""
    rows, cols = _holes(params, h, w)
    return rows[:, :, None] & cols[:, None, :]


def _holes(params: GridMaskParams, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows (B, H) and columns (B, W) that cross a hole; rows are all False where off."""
    d, l = params.d[:, None], params.l[:, None]
    rows = ((np.arange(h)[None, :] + params.offsets[:, 0:1]) % d < l) & params.on[:, None]
    cols = (np.arange(w)[None, :] + params.offsets[:, 1:2]) % d < l
    return rows, cols


def apply_gridmask(x: np.ndarray, params: GridMaskParams) -> np.ndarray:
    """Zero the holes of every image in x (B, H, W, C); returns a new array."""
    out = x.copy()
    zero_holes(out, params)
    return out


def zero_holes(x: np.ndarray, params: GridMaskParams, path: str = "auto") -> None:
    """Zero the holes of x (B, H, W, C) in place.

    ``path``: "batch" (one masked multiply over the batch), "slices" (one slice per hole) or
    "auto" (by image size, see :mod:`encrypt_tool.augment.paths`); all give the same bytes.
    """
    B, H, W, C = x.shape
    if not x.flags.c_contiguous or not x.flags.writeable:
        raise ValueError("zero_holes changes its array in place: give a C-contiguous, "
                         "writeable (B, H, W, C) array")
    if pick_path(path, H, W) == "batch":
        rows, cols = _holes(params, H, W)  # (B, H), (B, W) bool
        keep = ~rows[:, :, None] | ~np.repeat(cols, C, axis=1)[:, None, :]  # (B, H, W*C) bool
        flat = x.reshape(B, H, W * C)  # a view: x is C-contiguous
        np.multiply(flat, keep.view(np.uint8), out=flat)
        return
    d, l, offsets = params.d.tolist(), params.l.tolist(), params.offsets.tolist()
    for i in np.flatnonzero(params.on).tolist():
        (oy, ox), di, li = offsets[i], d[i], l[i]
        # hole rows: (r + oy) % d < l, i.e. r in [k d - oy, k d - oy + l) for k = 0, 1, ...
        rows = [(max(0, k * di - oy), min(H, k * di - oy + li)) for k in range((H + oy) // di + 1)]
        cols = [(max(0, k * di - ox), min(W, k * di - ox + li)) for k in range((W + ox) // di + 1)]
        for r0, r1 in rows:
            if r0 < r1:
                for c0, c1 in cols:
                    if c0 < c1:
                        x[i, r0:r1, c0:c1] = 0
