"""One copy of a batch, keyed: derive its block permutation (and, with defences, its per-block
transform states) from the master key, and apply or invert them.

Both ``encrypt`` and ``decrypt`` go through here, so the two directions cannot drift apart.
"""

from __future__ import annotations

import numpy as np

from encrypt_tool.defences import DefenceConfig, defend, undefend
from encrypt_tool.scramble import block_grid, scramble, unscramble
from keys.derive import derive_block_states, derive_permutations

__all__ = ["decrypt_copy", "encrypt_copy"]


def _states(key, dataset_id, split, ids, copy, n, defences: DefenceConfig):
    if not defences.transforms:
        return None
    return derive_block_states(key, dataset_id, split, ids, copy, n)  # each (B, n)


def encrypt_copy(
    x: np.ndarray,
    key: bytes,
    dataset_id: bytes,
    split: str,
    ids: np.ndarray,
    copy: int,
    block: tuple[int, int],
    defences: DefenceConfig | None = None,
) -> np.ndarray:
    """Scramble copy ``copy`` of images ``ids``: x (B, H, W, C) uint8 in (bh, bw) blocks ->
    (B, H', W', C), the stored size (H, W without defences)."""
    grid = block_grid(x.shape[1:3], block)
    perm = derive_permutations(key, dataset_id, split, ids, copy, grid)  # (B, n)
    if defences is None or not defences.active:
        return scramble(x, perm, block)
    states = _states(key, dataset_id, split, ids, copy, grid[0] * grid[1], defences)
    return defend(x, perm, states, defences)


def decrypt_copy(
    y: np.ndarray,
    key: bytes,
    dataset_id: bytes,
    split: str,
    ids: np.ndarray,
    copy: int,
    block: tuple[int, int],
    defences: DefenceConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of :func:`encrypt_copy`: y (B, H', W', C) stored in (bh', bw') blocks ->
    plain images (B, H, W, C) (dropped borders at 0) and the permutations (B, n)."""
    grid = block_grid(y.shape[1:3], block)
    perm = derive_permutations(key, dataset_id, split, ids, copy, grid)  # (B, n)
    if defences is None or not defences.active:
        return unscramble(y, perm, block), perm
    states = _states(key, dataset_id, split, ids, copy, grid[0] * grid[1], defences)
    return undefend(y, perm, states, defences), perm
