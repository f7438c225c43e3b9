"""The ciphertext-only attacks: each edge compatibility alone, then with the file's side info.

Every attack is one (compatibility, side information) pair run through the same solver. The
pieces, the padding prior and the cross-copy votes are computed once and shared by all attacks.
The attacker's own pick among its candidates (``self_chosen``) needs no key either.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from encrypt_tool.audit import compat
from encrypt_tool.audit.borders import border_prior
from encrypt_tool.audit.crosscopy import adjacency_votes
from encrypt_tool.audit.pieces import assemble, to_pieces
from encrypt_tool.audit.solver import arrangement_cost, best_shift, solve
from encrypt_tool.scramble import block_grid

__all__ = [
    "COSTS",
    "Puzzle",
    "SideInfo",
    "attack",
    "base_costs",
    "prepare",
    "run_attacks",
    "self_chosen",
    "solver_costs",
    "with_side",
]

COSTS = ("mgc", "masked", "prediction", "ssd")
COST_NAMES = {
    "mgc": "MGC",
    "masked": "masked prediction",
    "prediction": "prediction",
    "ssd": "RGB SSD",
}


@dataclass(frozen=True)
class SideInfo:
    """What the attacker reads from the shared file besides the pieces: padding of the crops."""

    pad: int = 4
    pad_mode: str = "zero"


@dataclass(frozen=True)
class Puzzle:
    """Copy 0 of each image cut into pieces, with the side information found in the file."""

    pieces: np.ndarray  # (M, n, bh, bw, C) uint8
    grid: tuple[int, int]
    prior: np.ndarray | None  # (M, n, P) padding prior, None without side information
    votes: np.ndarray | None  # (M, n, n, 2) cross-copy votes, None when N = 1
    side_label: str  # e.g. "edges + padding + 3 other copies"


def prepare(enc: np.ndarray, block: tuple[int, int], side: SideInfo | None) -> Puzzle:
    """Pieces and side information of enc (M, N, H, W, C) uint8, shared by all attacks."""
    M, N, H, W, C = enc.shape
    grid = block_grid((H, W), block)
    n = grid[0] * grid[1]
    pieces = to_pieces(enc.reshape(M * N, H, W, C), block).reshape(M, N, n, *block, C)
    target = np.ascontiguousarray(pieces[:, 0])  # (M, n, bh, bw, C)
    if side is None:
        return Puzzle(target, grid, None, None, "edges only")
    prior = border_prior(target, grid, side.pad, side.pad_mode)
    votes = None
    label = "edges + padding"
    if N > 1 and block[0] == block[1]:
        votes = adjacency_votes(pieces)
        label += f" + {N - 1} other copies"
    return Puzzle(target, grid, prior, votes, label)


def _costs(pieces: np.ndarray, method: str, bb_factor: float = 0.5, gap: int = 0) -> np.ndarray:
    """Normalized dissimilarities, best buddies made cheaper: (M, n, n, 2)."""
    return solver_costs(compat.dissimilarity(pieces, method, gap), bb_factor)


def solver_costs(D: np.ndarray, bb_factor: float = 0.5) -> np.ndarray:
    """Raw costs (M, n, n, 2) as the solvers take them: each divided by the second-best
    alternatives, pairs that prefer each other made cheaper."""
    D = compat.normalize(D)
    return np.where(compat.best_buddies(D), D * bb_factor, D)


def _apply_votes(D: np.ndarray, votes: np.ndarray, penalty: float = 10.0) -> np.ndarray:
    """Voted pairs become nearly free; rival partners of a voted side become expensive."""
    voted = votes > 0  # (M, n, n, 2)
    busy = voted.any(axis=2)[:, :, None, :] | voted.any(axis=1)[:, None, :, :]
    return np.where(voted, D * 0.01, D + penalty * busy)


def _problem(pz: Puzzle, base: np.ndarray, use_side: bool):
    """Cost matrix and prior of one attack from a normalized base matrix."""
    if not use_side:
        return base, None
    D = base if pz.votes is None else _apply_votes(base, pz.votes)
    return D, pz.prior


def with_side(pz: Puzzle, base: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """A normalized cost matrix with pz's side information: the cross-copy votes applied and
    the padding prior (or the matrix alone and None without side information)."""
    return _problem(pz, base, pz.prior is not None)


def base_costs(pz: Puzzle, costs: tuple[str, ...] = COSTS, gap: int = 0
               ) -> dict[str, np.ndarray]:
    """Normalized cost matrices (M, n, n, 2) of the compatibilities ``costs``; ``gap``: px
    dropped between neighbours (twice the public border drop)."""
    return {method: _costs(pz.pieces, method, gap=gap) for method in costs}


def run_attacks(
    pz: Puzzle, bases: dict[str, np.ndarray], beam: int = 64
) -> dict[str, np.ndarray]:
    """One attack per compatibility of ``bases``, with pz's side information (if any).

    Each compatibility solves alone, then judges every cyclic shift of every compatibility's
    answer and keeps the cheapest (:func:`~encrypt_tool.audit.solver.best_shift`).
    Returns attack name -> arrangement (M, P) int64 (``order[m, p]``: piece at position p).
    """
    use_side = pz.prior is not None
    problems = {m: _problem(pz, base, use_side) for m, base in bases.items()}
    found = {m: solve(D, pz.grid, prior=prior, beam=beam) for m, (D, prior) in problems.items()}
    out = {}
    for method, (D, prior) in problems.items():
        others = [found[method]] + [o for m, o in found.items() if m != method]
        out[f"{pz.side_label}, {COST_NAMES[method]}"] = best_shift(
            D, pz.grid, np.stack(others, axis=1), prior)
    return out


def self_chosen(
    pz: Puzzle, bases: dict[str, np.ndarray], candidates: dict[str, np.ndarray]
) -> np.ndarray:
    """The attacker's own pick per image, without the key: index (M,) into ``candidates``.

    Every candidate is costed under the judge compatibility (masked prediction, with the side
    information when there is some) and the cheapest wins. On 500 paper-preset training copies
    this judge picked better than MGC, SSD, plain prediction or a sum of cost ratios.
    """
    orders = np.stack(list(candidates.values()), axis=1)  # (M, A, P)
    judge = bases.get("masked", next(iter(bases.values())))
    D, prior = _problem(pz, judge, pz.prior is not None)
    cost = arrangement_cost(np.where(np.isfinite(D), D, 1e12), orders, pz.grid, prior)  # (M, A)
    return cost.argmin(axis=1)


def attack(
    enc: np.ndarray,
    block: tuple[int, int],
    side: SideInfo | None = None,
    method: str = "masked",
    beam: int = 64,
) -> np.ndarray:
    """Reassemble copy 0 of each image of enc (M, N, H, W, C) uint8 with one compatibility.

    ``side=None``: edge compatibilities only. Otherwise padding strips and, when N > 1, exact
    overlaps with the other copies steer the solver too. Returns (M, H, W, C) uint8.
    """
    pz = prepare(enc, block, side)
    D, prior = _problem(pz, _costs(pz.pieces, method), side is not None)
    order = solve(D, pz.grid, prior=prior, beam=beam)
    return assemble(pz.pieces, order, pz.grid)
