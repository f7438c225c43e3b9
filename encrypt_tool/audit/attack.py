"""The ciphertext-only attacks: edge compatibilities alone, then with the file's side info."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from encrypt_tool.audit import compat
from encrypt_tool.audit.borders import border_prior
from encrypt_tool.audit.crosscopy import adjacency_votes
from encrypt_tool.audit.pieces import assemble, to_pieces
from encrypt_tool.audit.solver import solve
from encrypt_tool.scramble import block_grid

__all__ = ["SideInfo", "attack"]


@dataclass(frozen=True)
class SideInfo:
    """What the attacker reads from the shared file besides the pieces: padding of the crops."""

    pad: int = 4
    pad_mode: str = "zero"


def _costs(pieces: np.ndarray, method: str, bb_factor: float = 0.5) -> np.ndarray:
    """Normalized dissimilarities, best buddies made cheaper: (M, n, n, 2)."""
    D = compat.normalize(compat.dissimilarity(pieces, method))
    return np.where(compat.best_buddies(D), D * bb_factor, D)


def _apply_votes(D: np.ndarray, votes: np.ndarray, penalty: float = 10.0) -> np.ndarray:
    """Voted pairs become nearly free; rival partners of a voted side become expensive."""
    voted = votes > 0  # (M, n, n, 2)
    busy = voted.any(axis=2)[:, :, None, :] | voted.any(axis=1)[:, None, :, :]
    return np.where(voted, D * 0.01, D + penalty * busy)


def attack(
    enc: np.ndarray,
    block: tuple[int, int],
    side: SideInfo | None = None,
    method: str = "mgc",
    beam: int = 64,
) -> np.ndarray:
    """Reassemble copy 0 of each image of enc (M, N, H, W, C) uint8: (M, H, W, C) uint8.

    ``side=None``: edge compatibilities only. Otherwise padding strips and, when N > 1, exact
    overlaps with the other copies steer the solver too.
    """
    M, N, H, W, C = enc.shape
    grid = block_grid((H, W), block)
    n = grid[0] * grid[1]
    pieces = to_pieces(enc.reshape(M * N, H, W, C), block).reshape(M, N, n, *block, C)
    target = pieces[:, 0]  # (M, n, bh, bw, C)
    D = _costs(target, method)
    prior = None
    if side is not None:
        prior = border_prior(target, grid, side.pad, side.pad_mode)
        if N > 1 and block[0] == block[1]:
            D = _apply_votes(D, adjacency_votes(pieces))
    order = solve(D, grid, prior=prior, beam=beam)
    return assemble(target, order, grid)
