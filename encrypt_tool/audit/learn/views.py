"""Geometry of the learned attacks, in NumPy: the strips a network reads at a piece's edge.

Directions as in :mod:`encrypt_tool.audit.relcost`: 0 right, 1 below, 2 left, 3 above. Turning
a whole picture by ``np.rot90(., d)`` (counter-clockwise, d quarter turns) brings a neighbour in
direction d to the right, so every relation is read as "B right of A": A's right strip, B's
left strip, after the same turn. A piece in every orientation and colour state is
:func:`encrypt_tool.audit.states.expand` over the full group of the file's colour transforms
and all 8 orientations (``full_space``).
"""

from __future__ import annotations

import numpy as np

from encrypt_tool.audit.group import group_of
from encrypt_tool.audit.states import StateSpace, _apply, expand

__all__ = ["full_space", "left_strips", "relation_index", "right_strips", "strip_width"]


def strip_width(block: int) -> int:
    """Columns of a piece next to its edge that the pair network reads: up to 3."""
    return min(3, block)


def full_space(space: StateSpace) -> StateSpace:
    """The file's colour transforms with all 8 orientations: every view a turn can give."""
    return StateSpace(True, space.n_g > 1, space.n_p > 1)


def right_strips(pieces: np.ndarray, w: int) -> np.ndarray:
    """Pieces (n, k, k, C) uint8 -> (n, 4, k, w, C): side d of each piece turned to the right
    (its last w columns after ``np.rot90(., d)``)."""
    return np.stack([np.rot90(pieces, d, axes=(1, 2))[:, :, -w:] for d in range(4)], axis=1)


def left_strips(pieces: np.ndarray, space: StateSpace, w: int,
                states: np.ndarray | None = None) -> np.ndarray:
    """Pieces (n, k, k, C) uint8 in every state of ``full_space(space)`` (or in the states of
    that space's indices ``states``): their first w columns, (n, S8 or len(states), k, w, C)."""
    full = full_space(space)
    if states is None:
        e = expand(pieces[None], full)[0]  # (n*S8, k, k, C), piece-major
        return e.reshape(len(pieces), full.size, *e.shape[1:])[:, :, :, :w]
    every = full.states()
    return np.stack([_apply(pieces, *every[s], (1, 2))[:, :, :w] for s in states], axis=1)


def relation_index(space: StateSpace) -> np.ndarray:
    """(4, S) index into ``full_space(space)``'s states: for piece j in state t (of ``space``)
    in direction d of a piece, the state whose left strip faces that piece once the pair is
    turned by d (``rot90(T_t(j), d)``)."""
    full = full_space(space)
    G = group_of(full)
    index = {s: k for k, s in enumerate(full.states())}
    out = np.zeros((4, space.size), dtype=np.int64)
    for t, (o, g, p) in enumerate(space.states()):
        for d in range(4):
            turn = index[(d, 0, 0)]  # rot90 by d: orientation d, no mirror, no colour change
            out[d, t] = G.compose[turn, index[(o, g, p)]]
    return out
