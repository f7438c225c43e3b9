"""One copy of a batch, keyed: derive its block permutation (and, with defences, its per-block
transform states) from the master key (format version 1) or from each image's key (version 2,
``keys.subkeys``), and apply or invert them.

Both ``encrypt`` and ``decrypt`` go through here, so the two directions cannot drift apart.
"""

from __future__ import annotations

import numpy as np

from bsformat.format import FORMAT_VERSION
from encrypt_tool.defences import DefenceConfig, defend, undefend
from encrypt_tool.scramble import block_grid, scramble, unscramble
from keys.derive import derive_block_states, derive_permutations
from keys.subkeys import (
    ShardKeys,
    derive_block_states_v2,
    derive_permutations_v2,
    image_keys,
)

__all__ = ["decrypt_copy", "encrypt_copy"]


def _keyed(key, dataset_id, split, ids, copy, grid, defences, version):
    """The permutations (B, n) and, when a defence transforms blocks, their states, of images
    ``ids``: from the master key (version 1), or from each image's key (version 2, where
    ``key`` may also be a shard's ``ShardKeys``)."""
    n = grid[0] * grid[1]
    transforms = defences is not None and defences.active and defences.transforms
    if version == 1:
        if isinstance(key, ShardKeys):
            raise ValueError("a format version 1 file is keyed by the master key only")
        perm = derive_permutations(key, dataset_id, split, ids, copy, grid)
        states = derive_block_states(key, dataset_id, split, ids, copy, n) if transforms else None
        return perm, states
    if version != 2:
        raise ValueError(f"format version {version} is not one this tool encrypts (1, 2)")
    k = image_keys(key, dataset_id, split, ids)  # (B, 32)
    return (derive_permutations_v2(k, copy, grid),
            derive_block_states_v2(k, copy, n) if transforms else None)


def encrypt_copy(
    x: np.ndarray,
    key: bytes | ShardKeys,
    dataset_id: bytes,
    split: str,
    ids: np.ndarray,
    copy: int,
    block: tuple[int, int],
    defences: DefenceConfig | None = None,
    version: int = FORMAT_VERSION,
) -> np.ndarray:
    """Scramble copy ``copy`` of images ``ids``: x (B, H, W, C) uint8 in (bh, bw) blocks ->
    (B, H', W', C), the stored size (H, W without defences)."""
    grid = block_grid(x.shape[1:3], block)
    perm, states = _keyed(key, dataset_id, split, ids, copy, grid, defences, version)  # (B, n)
    if defences is None or not defences.active:
        return scramble(x, perm, block)
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
    version: int = FORMAT_VERSION,
) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of :func:`encrypt_copy` (``version``: the file's format version): y
    (B, H', W', C) stored in (bh', bw') blocks -> plain images (B, H, W, C) (dropped borders
    at 0) and the permutations (B, n)."""
    grid = block_grid(y.shape[1:3], block)
    perm, states = _keyed(key, dataset_id, split, ids, copy, grid, defences, version)  # (B, n)
    if defences is None or not defences.active:
        return unscramble(y, perm, block), perm
    return undefend(y, perm, states, defences), perm
