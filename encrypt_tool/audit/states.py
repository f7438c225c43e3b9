"""Every state of the keyed within-block transforms, as the attacker tries them.

A file's public ``defences`` attribute says which transforms were applied to each block:
orientation (8 states: ``o = r + 4*f``, mirror left-right first when f = 1, then r quarter
turns of ``np.rot90``), negative-positive (x -> 255 - x) and a channel permutation (6 orders).
The transforms of one kind form a group, so applying all of them to a stored block yields its
plain state among the candidates. State index ``s = o + n_o * (g + n_g * p)``; expanded piece
``j * S + s`` is piece ``j`` in state ``s``.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["StateSpace", "expand", "global_variants"]

PERMS = list(itertools.permutations(range(3)))


class StateSpace:
    """The transforms a file uses: sizes of each factor and the total ``size``."""

    def __init__(self, rotate: bool = False, negpos: bool = False, channel_perm: bool = False):
        self.n_o = 8 if rotate else 1
        self.n_g = 2 if negpos else 1
        self.n_p = 6 if channel_perm else 1
        self.size = self.n_o * self.n_g * self.n_p

    @classmethod
    def of(cls, defences: dict | None) -> StateSpace:
        d = defences or {}
        return cls(bool(d.get("rotate")), bool(d.get("negpos")), bool(d.get("channel_perm")))

    def states(self) -> list[tuple[int, int, int]]:
        """(o, g, p) of every state, in index order."""
        return [(o, g, p) for p in range(self.n_p) for g in range(self.n_g)
                for o in range(self.n_o)]


def _apply(x: np.ndarray, o: int, g: int, p: int, axes: tuple[int, int]) -> np.ndarray:
    """Orientation o on ``axes``, then negation g, then channel order p of x (..., C) uint8."""
    if o >= 4:
        x = np.flip(x, axis=axes[1])
    x = np.rot90(x, o % 4, axes=axes)
    if g:
        x = 255 - x
    return x[..., list(PERMS[p])] if p else x


def expand(pieces: np.ndarray, space: StateSpace) -> np.ndarray:
    """Pieces (M, n, b, b, C) uint8 in every state: (M, n * S, b, b, C) uint8."""
    M, n, bh, bw, C = pieces.shape
    if space.n_o > 1 and bh != bw:
        raise ValueError(f"orientation states need square pieces; these are {bh}x{bw}")
    if space.n_p > 1 and C != 3:
        raise ValueError(f"channel orders need 3 channels; these pieces have {C}")
    out = np.stack([_apply(pieces, o, g, p, (2, 3)) for o, g, p in space.states()], axis=2)
    return out.reshape(M, n * space.size, bh, bw, C)  # (M, n, S, ...) -> piece-major


def global_variants(images: np.ndarray, space: StateSpace):
    """Each whole-image transform of images (M, H, W, C): yields (M, H, W, C) arrays.

    A solver that recovers every block's state only up to one transform of the whole picture
    (turned, mirrored, negated or with channels swapped) still shows it; scores take the best.
    """
    for o, g, p in space.states():
        if o % 2 and images.shape[1] != images.shape[2]:
            continue
        yield _apply(images, o, g, p, (1, 2))
