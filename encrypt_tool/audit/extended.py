"""The extended jigsaw solver: attacks that know the keyed within-block transforms.

After Chuman, Kurihara and Kiya's extended solvers for EtC images: every piece is tried in
every state the file's ``defences`` attribute allows (orientations, negative-positive, channel
orders). Only the two outer pixel lines of each side enter a compatibility, so the cost of
(piece i in state s) beside (piece j in state t) is computed from transformed edges; the solver
then places one state of each piece (confidence-first growth, :mod:`encrypt_tool.audit.grow`,
then pairwise swaps). The answer is right up to one transform of the whole picture, which the
scores allow for (:func:`encrypt_tool.audit.states.global_variants`).

The dense cost matrix has (n * S)^2 entries; above ``MAX_CANDIDATES`` pieces-in-states (for
example 196 photo blocks with all 96 states) the attack is not run and the report says so.
"""

from __future__ import annotations

import numpy as np

from encrypt_tool.audit import compat
from encrypt_tool.audit.grow import grow
from encrypt_tool.audit.pieces import assemble
from encrypt_tool.audit.solver import _refine, arrangement_cost
from encrypt_tool.audit.states import PERMS, StateSpace, expand
from encrypt_tool.audit.states import _apply as _transform

__all__ = ["MAX_CANDIDATES", "extended_attack", "extended_costs", "solve_states"]


def _colour(x: np.ndarray, g: int, p: int) -> np.ndarray:
    """Negation g and channel order p applied to pieces x (M, n, b, b, C)."""
    return _transform(x, 0, g, p, (2, 3))

MAX_CANDIDATES = 3200  # n * S: a (n*S)^2 * 2 float64 matrix of at most ~160 MB per image


def _relative(space: StateSpace) -> np.ndarray:
    """Colour state of j relative to i, for colour states (g, p) of i and j: (nc, nc) int.

    The compatibilities sum over channels of differences, so applying one channel order and
    one negation to both sides changes nothing: only j's state seen from i's matters.
    """
    colours = [(g, p) for p in range(space.n_p) for g in range(space.n_g)]
    index = {c: k for k, c in enumerate(colours)}
    rel = np.zeros((len(colours), len(colours)), dtype=np.int64)
    for a, (ga, pa) in enumerate(colours):
        undo = np.argsort(PERMS[pa])
        for b, (gb, pb) in enumerate(colours):
            order = tuple(int(v) for v in np.asarray(PERMS[pb])[undo])
            rel[a, b] = index[(ga ^ gb, PERMS.index(order) if space.n_p > 1 else 0)]
    return rel


def extended_costs(pieces: np.ndarray, space: StateSpace, method: str, gap: int = 0
                   ) -> np.ndarray:
    """Normalized costs (M, nS, nS, 2) between pieces (M, n, b, b, C) in every state.

    Edges are compared for every orientation of both pieces and every colour state of j
    relative to i (n_o^2 * n_c pairs of oriented edges per pair of pieces, not S^2); masked
    prediction then counts white pixels as blanked too when negative-positive is on. A piece
    never neighbours itself in another state; best-buddy pairs cost half.
    """
    M, n = pieces.shape[:2]
    S, n_o = space.size, space.n_o
    xo = expand(pieces, StateSpace(rotate=n_o > 1))  # (M, n*n_o, b, b, C)
    white = space.n_g > 1
    rel = [compat.dissimilarity(xo, method, gap, other=_colour(xo, g, p), white=white)
           for p in range(space.n_p) for g in range(space.n_g)]  # nc x (M, n*n_o, n*n_o, 2)
    idx = np.arange(n * S)
    j, s = np.divmod(idx, S)
    o, c = s % n_o, s // n_o  # orientation and colour state of each candidate
    io = j * n_o + o
    R = _relative(space)[c[:, None], c[None, :]]  # (nS, nS)
    D = np.stack(rel)[R, :, io[:, None], io[None, :]]  # (nS, nS, M, 2)
    D = np.ascontiguousarray(D.transpose(2, 0, 1, 3))
    D[:, j[:, None] == j[None, :]] = np.inf
    D = compat.normalize(D)
    return np.where(compat.best_buddies(D), D * 0.5, D)


def solve_states(cost: np.ndarray, grid: tuple[int, int], group: int, starts: int = 8,
                 refine_rounds: int = 32) -> np.ndarray:
    """One state of every piece in the frame: order (M, P) of candidate indices j*group + s."""
    M, nS = cost.shape[:2]
    n = nS // group
    c = np.where(np.isfinite(cost), cost, 1e12)
    conf = c[..., 0].min(axis=2) + c[..., 1].min(axis=2) + c[..., 0].min(axis=1) \
        + c[..., 1].min(axis=1)  # (M, nS): how sure each candidate's best matches are
    k = min(starts, n)
    first = np.argsort(conf.reshape(M, n, group)[:, :, 0], axis=1)[:, :k] * group  # state 0
    grown = grow(np.repeat(c, k, axis=0), grid, first.reshape(-1), group=group)
    cands = grown.reshape(M, k, -1)  # (M, k, P)
    best = cands[np.arange(M), arrangement_cost(c, cands, grid).argmin(axis=1)]
    prior = np.zeros((M, nS, grid[0] * grid[1]))
    return _refine(c, prior, grid, best, refine_rounds)


def extended_attack(pieces: np.ndarray, grid: tuple[int, int], space: StateSpace,
                    method: str = "masked", gap: int = 0) -> np.ndarray | None:
    """Reassemble pieces (M, n, b, b, C) trying every state: (M, H, W, C) uint8, or None when
    n * S exceeds MAX_CANDIDATES. One image at a time (the cost matrix is large)."""
    M, n = pieces.shape[:2]
    if n * space.size > MAX_CANDIDATES or M == 0:
        return None
    outs = []
    for m in range(M):
        one = pieces[m : m + 1]
        D = extended_costs(one, space, method, gap)
        order = solve_states(D, grid, space.size)
        outs.append(assemble(expand(one, space), order, grid))
    return np.concatenate(outs)
