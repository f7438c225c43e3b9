"""Side information from the padding of random crops.

A crop of a zero-padded image starts or ends with lines of exact zeros; a crop of a
reflect-padded image (numpy's 'reflect') starts with lines that mirror the lines after them.
Either way the pieces carrying such a strip belong to the matching edge of the frame, and every
piece of that edge carries a strip of the same width. This module turns that into a position
prior (M, n, P).
"""

from __future__ import annotations

import numpy as np

__all__ = ["border_prior", "strip_evidence"]


def _strip(lines: np.ndarray, k: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Whether pieces (M, n, T, L, C) can start with a padding strip of width k along axis 2,
    and whether they show it unmistakably: two (M, n) bool."""
    if mode == "zero":
        fits = (lines[:, :, :k] == 0).all(axis=(2, 3, 4))
        return fits, fits
    T = lines.shape[2]
    j = min(k, T - 1 - k)  # mirrored pairs (k-1-i, k+1+i) that lie inside the piece
    if j < 1:
        z = np.zeros(lines.shape[:2], dtype=bool)
        return z, z
    fits = (lines[:, :, k - j : k] == lines[:, :, k + j : k : -1]).all(axis=(2, 3, 4))
    flat = (lines[:, :, k - j : k + j + 1] == lines[:, :, k : k + 1]).all(axis=(2, 3, 4))
    return fits, fits & ~flat


def strip_evidence(pieces: np.ndarray, pad: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """For every piece, side (top, bottom, left, right) and width k in 1..pad: does a strip fit,
    and is it unmistakable? Two (M, n, 4, pad) bool arrays."""
    if mode not in ("zero", "reflect"):
        raise ValueError(f"pad mode {mode!r} is not valid; choose zero or reflect")
    p = pieces  # (M, n, bh, bw, C)
    t = p.transpose(0, 1, 3, 2, 4)
    sides = [p, p[:, :, ::-1], t, t[:, :, ::-1]]
    fits = np.zeros(p.shape[:2] + (4, pad), dtype=bool)
    sure = np.zeros_like(fits)
    for s, lines in enumerate(sides):
        for k in range(1, pad + 1):
            fits[:, :, s, k - 1], sure[:, :, s, k - 1] = _strip(lines, k, mode)
    return fits, sure


def border_prior(
    pieces: np.ndarray, grid: tuple[int, int], pad: int, mode: str, weight: float = 2.0
) -> np.ndarray:
    """Cost (M, n, P) of each piece at each position from padding strips.

    For each side of each image the strip width k shown unmistakably by the most pieces is taken
    as that side's border when enough pieces show it and at least a side's length of pieces fit
    it: then an unmistakable piece costs ``weight`` away from that side and a piece that does not
    fit costs ``weight`` on it.
    """
    gy, gx = grid
    M, n = pieces.shape[:2]
    prior = np.zeros((M, n, gy * gx))
    if pad <= 0:
        return prior
    fits, sure = strip_evidence(pieces, pad, mode)  # (M, n, 4, pad)
    rows, cols = np.divmod(np.arange(gy * gx), gx)
    on_side = np.stack([rows == 0, rows == gy - 1, cols == 0, cols == gx - 1])  # (4, P)
    length = np.array([gx, gx, gy, gy])
    m = np.arange(M)
    k = sure.sum(1).argmax(axis=2)  # (M, 4) best-supported width of each side, as index
    has = np.stack([sure[m, :, s, k[:, s]] for s in range(4)], axis=2)  # (M, n, 4)
    fit = np.stack([fits[m, :, s, k[:, s]] for s in range(4)], axis=2)
    active = (has.sum(1) >= np.maximum(2, length // 2)) & (fit.sum(1) >= length)  # (M, 4)
    for s in range(4):
        o = s ^ 1  # the opposite side: a mirror strip can look like one of the other side
        both = active[:, o, None, None]  # (M, 1, 1)
        allowed = on_side[s] | (both & on_side[o])  # (M, 1, P)
        wrong = (has[:, :, s, None] & ~allowed) | (~fit[:, :, s, None] & on_side[s] & ~both)
        prior += weight * (wrong & active[:, s, None, None])
    return prior
