"""Per-block byte maps: the engine behind the within-block transforms.

A transform of one (bh, bw, C) block that only moves values (a rotation, a flip, a channel
order) is a byte map: ``out = block.ravel()[map]``. For a batch where every block has its own
state, blocks are sorted by state, each run of equal states is mapped with one ``np.take``, and
one gather puts the blocks where they belong; about three passes over the data whatever the
number of states.
"""

from __future__ import annotations

import numpy as np

from encrypt_tool.defences.blocks import take_rows

__all__ = ["apply_maps", "block_maps", "invert_maps"]


def block_maps(shape: tuple[int, int, int], transforms) -> np.ndarray:
    """(S, bh*bw*C) int64 byte maps of ``transforms``, functions of a (1, bh, bw, C) array."""
    base = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(1, *shape)  # (1, bh, bw, C)
    return np.stack([np.asarray(t(base)).reshape(-1) for t in transforms])


def invert_maps(maps: np.ndarray) -> np.ndarray:
    """The maps that undo ``maps`` (S, L): ``row[m][inv] == row``."""
    return np.argsort(maps, axis=1).astype(np.int64)


def apply_maps(
    rows: np.ndarray,
    state: np.ndarray,
    maps: np.ndarray,
    negate: np.ndarray | None = None,
    place: np.ndarray | None = None,
) -> np.ndarray:
    """Map every row by its own state, optionally negate it, then reorder the rows.

    rows: (M, L) uint8; state: (M,) int in 0..S-1; maps: (S, L); negate: (M,) bool or None
    (x -> 255 - x); place: (M,) int, output row r is transformed row ``place[r]`` (None: the
    input order). Returns a new (M, L) uint8 array.
    """
    M, L = rows.shape
    state = np.asarray(state).reshape(-1)
    if state.shape != (M,) or maps.shape[1] != L:
        raise ValueError(f"states {state.shape} or maps {maps.shape} do not fit rows {rows.shape}")
    if M and (state.min() < 0 or state.max() >= len(maps)):
        raise ValueError(f"block states must lie in 0..{len(maps) - 1}")
    key = state.astype(np.int64)
    n_keys = len(maps)
    if negate is not None:
        key = key + n_keys * np.asarray(negate, dtype=bool).reshape(-1)
    order = np.argsort(key, kind="stable")  # (M,) rows grouped by state
    bounds = np.searchsorted(key[order], np.arange(2 * n_keys + 1))
    src = take_rows(rows, order)  # (M, L) sorted by state
    done = np.empty_like(src)
    identity = np.arange(L)
    for k in range(2 * n_keys):
        a, b = bounds[k], bounds[k + 1]
        if a == b:
            continue
        m = maps[k % n_keys]
        if np.array_equal(m, identity):
            done[a:b] = src[a:b]
        else:
            np.take(src[a:b], m, axis=1, out=done[a:b])
        if k >= n_keys:
            np.bitwise_xor(done[a:b], 255, out=done[a:b])
    pos = np.empty(M, dtype=np.int64)
    pos[order] = np.arange(M)  # where each input row went
    back = pos if place is None else pos[np.asarray(place).reshape(-1)]
    return take_rows(done, back)
