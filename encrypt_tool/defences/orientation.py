"""Keyed orientation of every block: 8 states, a mirror and quarter turns (square blocks only).

State ``o = r + 4*f``: with f = 1 the block is first mirrored left-right, then it is turned
``r`` quarter turns as ``np.rot90(block, r, axes=(0, 1))`` (counter-clockwise). State 0 is the
identity. A mirrored state is its own inverse; a pure turn r is undone by 4 - r.
"""

from __future__ import annotations

import numpy as np

from encrypt_tool.defences.maps import apply_maps, block_maps

__all__ = ["INVERSE_ORIENTATION", "N_ORIENTATIONS", "apply_orientation", "invert_orientation",
           "orient"]

N_ORIENTATIONS = 8
INVERSE_ORIENTATION = np.array([0, 3, 2, 1, 4, 5, 6, 7], dtype=np.int64)  # o -> its inverse


def orient(blocks: np.ndarray, o: int, axes: tuple[int, int] = (1, 2)) -> np.ndarray:
    """One orientation ``o`` applied to every block of ``blocks`` (a view where possible);
    ``axes`` are the block's (height, width) axes."""
    if not 0 <= o < N_ORIENTATIONS:
        raise ValueError(f"orientation {o} is not valid; use 0..7")
    if o >= 4:
        blocks = np.flip(blocks, axis=axes[1])
    return np.rot90(blocks, o % 4, axes=axes)


def _check(blocks: np.ndarray, o: np.ndarray) -> np.ndarray:
    B, n, bh, bw, C = blocks.shape
    o = np.asarray(o)
    if o.shape != (B, n):
        raise ValueError(f"orientations of shape {o.shape} do not fit blocks {blocks.shape}")
    if o.size and (o.min() < 0 or o.max() >= N_ORIENTATIONS):
        raise ValueError("orientations must lie in 0..7")
    if bh != bw and (o % 2).any():
        raise ValueError(f"rotation needs square blocks; these are {bh}x{bw}")
    return o


def apply_orientation(blocks: np.ndarray, o: np.ndarray) -> np.ndarray:
    """Orient block k of image b by ``o[b, k]``: blocks (B, n, bh, bw, C) uint8, o (B, n) int
    in 0..7; returns a new array of the same shape."""
    B, n, bh, bw, C = blocks.shape
    o = _check(blocks, o)
    states = range(N_ORIENTATIONS) if bh == bw else (0, 2, 4, 6)
    maps = np.zeros((N_ORIENTATIONS, bh * bw * C), dtype=np.int64)
    maps[list(states)] = block_maps((bh, bw, C), [lambda a, s=s: orient(a, s) for s in states])
    out = apply_maps(blocks.reshape(B * n, -1), o.reshape(-1), maps)
    return out.reshape(blocks.shape)


def invert_orientation(blocks: np.ndarray, o: np.ndarray) -> np.ndarray:
    """The inverse of :func:`apply_orientation` with the same ``o``."""
    return apply_orientation(blocks, INVERSE_ORIENTATION[_check(blocks, o)])
