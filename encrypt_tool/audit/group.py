"""The within-block transform states as a group: composition, inverses and the turn of directions.

A state ``s`` (:mod:`encrypt_tool.audit.states`) draws a stored block as ``_apply(block, s)``.
Applying state ``b`` and then state ``a`` is one state, ``compose[a, b]``; every state has an
inverse. Turning or mirroring a whole picture also moves its blocks: a block that lies in
direction ``d`` of another (0 right, 1 below, 2 left, 3 above) lies in direction
``turn[a, d]`` once state ``a``'s orientation is applied to the picture. The solver that keeps
pieces in clusters (:mod:`encrypt_tool.audit.tree`) needs all three to move a cluster whole.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from encrypt_tool.audit.states import StateSpace, _apply

__all__ = ["DIRS", "StateGroup", "group_of"]

DIRS = np.array([(0, 1), (1, 0), (0, -1), (-1, 0)])  # (4, 2) (dy, dx): right, below, left, above


class StateGroup:
    """Tables of one state space: ``compose`` (S, S), ``inverse`` (S,), ``turn`` (S, 4) and
    ``offset`` (S, 2, 2): the integer matrix that maps an offset (dy, dx) under each state."""

    def __init__(self, space: StateSpace):
        self.space = space
        states = space.states()
        S = len(states)
        probe = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)  # distinct under every state
        key = {_apply(probe, *s, (0, 1)).tobytes(): k for k, s in enumerate(states)}
        self.compose = np.empty((S, S), dtype=np.int64)
        for b, sb in enumerate(states):
            xb = _apply(probe, *sb, (0, 1))
            for a, sa in enumerate(states):
                self.compose[a, b] = key[_apply(xb, *sa, (0, 1)).tobytes()]
        self.inverse = np.argmax(self.compose == 0, axis=1)  # state 0 is the identity
        grid = np.arange(9).reshape(3, 3, 1)
        self.turn = np.empty((S, 4), dtype=np.int64)
        for a, (o, _, _) in enumerate(states):
            q = _apply(grid, o, 0, 0, (0, 1))[..., 0]
            for d, (dy, dx) in enumerate(DIRS):
                y, x = np.argwhere(q == (1 + dy) * 3 + 1 + dx)[0]
                self.turn[a, d] = _dir(y - 1, x - 1)
        # offset (dy, dx) -> dy * below' + dx * right'
        self.offset = np.stack([DIRS[self.turn[:, 1]], DIRS[self.turn[:, 0]]], axis=2)

    @property
    def size(self) -> int:
        return len(self.inverse)

    def move(self, a: int, dy: np.ndarray, dx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Offsets (dy, dx) (k,) after state ``a``'s orientation is applied to the picture."""
        m = self.offset[a]  # (2, 2): columns are the images of (1, 0) and (0, 1)
        return m[0, 0] * dy + m[0, 1] * dx, m[1, 0] * dy + m[1, 1] * dx


def _dir(dy: int, dx: int) -> int:
    """Index into DIRS of a unit offset."""
    return int(np.nonzero((DIRS[:, 0] == dy) & (DIRS[:, 1] == dx))[0][0])


@lru_cache(maxsize=8)
def _cached(rotate: bool, negpos: bool, channel_perm: bool) -> StateGroup:
    return StateGroup(StateSpace(rotate, negpos, channel_perm))


def group_of(space: StateSpace) -> StateGroup:
    """The (cached) group tables of ``space``."""
    return _cached(space.n_o > 1, space.n_g > 1, space.n_p > 1)
