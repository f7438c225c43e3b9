"""Keyed colour transforms of every block: negative-positive and a channel permutation.

Negative-positive with bit 1 maps every value x of the block to 255 - x (all channels); it is
its own inverse. Channel permutation ``p`` in 0..5 reorders the channels of the block as
``CHANNEL_PERMS[p]`` (``itertools.permutations(range(3))``: output channel c is input channel
``CHANNEL_PERMS[p][c]``); 3-channel images only.
"""

from __future__ import annotations

import itertools

import numpy as np

from encrypt_tool.defences.maps import apply_maps, block_maps

__all__ = ["CHANNEL_PERMS", "INVERSE_CHANNEL_PERM", "apply_channel_perm", "apply_negpos",
           "invert_channel_perm", "invert_negpos"]

CHANNEL_PERMS = np.array(list(itertools.permutations(range(3))), dtype=np.int64)  # (6, 3)
INVERSE_CHANNEL_PERM = np.array(
    [next(q for q in range(6) if (CHANNEL_PERMS[q][CHANNEL_PERMS[p]] == np.arange(3)).all())
     for p in range(6)], dtype=np.int64)  # p -> the permutation that undoes it


def _states(blocks: np.ndarray, s: np.ndarray, what: str, top: int) -> np.ndarray:
    if blocks.ndim != 5:
        raise ValueError(f"blocks must be (B, n, bh, bw, C); got shape {blocks.shape}")
    s = np.asarray(s)
    if s.shape != blocks.shape[:2]:
        raise ValueError(f"{what} of shape {s.shape} do not fit blocks {blocks.shape}")
    if s.size and (s.min() < 0 or s.max() > top):
        raise ValueError(f"{what} must lie in 0..{top}")
    return s


def apply_negpos(blocks: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """255 - x in block k of image b where ``bits[b, k]`` is 1: blocks (B, n, bh, bw, C) uint8,
    bits (B, n) in {0, 1}; returns a new array."""
    bits = _states(blocks, bits, "negative-positive bits", 1)
    mask = (bits.astype(np.uint8) * np.uint8(255))[:, :, None, None, None]  # (B, n, 1, 1, 1)
    return np.bitwise_xor(blocks, mask)  # 255 - x == x ^ 255 for uint8


def invert_negpos(blocks: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """The inverse of :func:`apply_negpos` (the same function)."""
    return apply_negpos(blocks, bits)


def apply_channel_perm(blocks: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Reorder the channels of block k of image b by ``CHANNEL_PERMS[p[b, k]]``: blocks
    (B, n, bh, bw, 3) uint8, p (B, n) in 0..5; returns a new array."""
    p = _states(blocks, p, "channel permutations", 5)
    B, n, bh, bw, C = blocks.shape
    if C != 3:
        raise ValueError(f"channel permutation needs 3 channels; these blocks have {C}")
    maps = block_maps((bh, bw, C), [lambda a, q=q: a[..., q] for q in CHANNEL_PERMS])
    return apply_maps(blocks.reshape(B * n, -1), p.reshape(-1), maps).reshape(blocks.shape)


def invert_channel_perm(blocks: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The inverse of :func:`apply_channel_perm` with the same ``p``."""
    p = _states(blocks, p, "channel permutations", 5)
    return apply_channel_perm(blocks, INVERSE_CHANNEL_PERM[p])
