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


def _side_lines(p: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(outer, second) lines of each side of pieces p (M, n, b, b, C), each (M, n, b, C):
    top and bottom left to right, left and right top to bottom. Sides 0..3: top, right,
    bottom, left."""
    return [(p[:, :, 0], p[:, :, 1]), (p[:, :, :, -1], p[:, :, :, -2]),
            (p[:, :, -1], p[:, :, -2]), (p[:, :, :, 0], p[:, :, :, 1])]


def _edge_map(b: int, n_o: int) -> np.ndarray:
    """For each orientation o and each side of the oriented piece (top, right, bottom, left):
    which side of the stored piece it is and whether it runs reversed: (n_o, 4, 2) int."""
    ids = np.arange(b * b).reshape(1, 1, b, b, 1)
    sides = [line[0, 0, :, 0] for line, _ in _side_lines(ids)]  # (b,) outer ids per side
    out = np.zeros((n_o, 4, 2), dtype=np.int64)
    for o in range(n_o):
        q = _transform(ids, o, 0, 0, (2, 3))
        for k, (line, _) in enumerate(_side_lines(q)):
            line = line[0, 0, :, 0]
            for side, ref in enumerate(sides):
                if (line == ref).all() or (line == ref[::-1]).all():
                    out[o, k] = (side, int(not (line == ref).all()))
    return out


def _oriented_costs(pieces, space: StateSpace, method: str, gap: int) -> list[np.ndarray]:
    """Per colour state of j relative to i: costs (M, n*n_o, n*n_o, 2) of piece i in
    orientation o beside piece j in orientation o'. Each is one of 4 x 4 sides x 2 directions
    along the edge of the stored pieces, so only those pairs of lines are compared."""
    M, n, b = pieces.shape[:3]
    n_o = space.n_o
    emap = _edge_map(b, n_o)  # (n_o, 4, 2)
    # (relation, o_i, o_j) -> (side of i, side of j, reversed): right: i's right vs j's left
    combos, index = [], {}
    ci = np.zeros((2, n_o, n_o), dtype=np.int64)
    for d, (si, sj) in enumerate(((1, 3), (2, 0))):
        for oi in range(n_o):
            for oj in range(n_o):
                a, ra = emap[oi, si]
                c, rc = emap[oj, sj]
                key = (int(a), int(c), int(ra ^ rc))
                if key not in index:
                    index[key] = len(combos)
                    combos.append(key)
                ci[d, oi, oj] = index[key]
    lines = _side_lines(pieces)
    left = [np.stack([sec, out], axis=3) for out, sec in lines]  # i's side as a right edge
    right = [np.stack([out, sec], axis=3) for out, sec in lines]  # j's side as a left edge
    white = space.n_g > 1
    i_idx = np.repeat(np.arange(n), n_o)  # candidate (i, o) = i * n_o + o
    o_idx = np.tile(np.arange(n_o), n)
    out = []
    for p in range(space.n_p):
        for g in range(space.n_g):
            parts = []
            for a, c, r in combos:
                y = right[c][:, :, ::-1] if r else right[c]  # (M, n, b, 2, C)
                parts.append(compat.edge_pairs(left[a], _colour(y, g, p), method, gap, white))
            dirs = []
            for d in range(2):
                sel = ci[d][o_idx[:, None], o_idx[None, :]]  # (nno, nno) combo per pair
                if method == "masked":
                    tot = np.stack([q[0] for q in parts])[sel, :, i_idx[:, None], i_idx[None, :]]
                    cnt = np.stack([q[1] for q in parts])[sel, :, i_idx[:, None], i_idx[None, :]]
                    got = (tot.transpose(2, 0, 1), cnt.transpose(2, 0, 1))
                else:
                    got = np.stack(parts)[sel, :, i_idx[:, None], i_idx[None, :]].transpose(2, 0, 1)
                dirs.append(compat.finish(got, method, b))
            D = np.stack(dirs, axis=-1)  # (M, nno, nno, 2)
            D[:, np.arange(n * n_o), np.arange(n * n_o)] = np.inf
            out.append(D)
    return out


def extended_costs(pieces: np.ndarray, space: StateSpace, method: str, gap: int = 0
                   ) -> np.ndarray:
    """Normalized costs (M, nS, nS, 2) between pieces (M, n, b, b, C) in every state.

    Only touching lines are compared: every side of i against every side of j, both ways along
    the edge, for every colour state of j relative to i (32 * n_c pairs of lines per pair of
    pieces with rotation, not 2 * S^2); masked prediction then counts white pixels as blanked
    too when negative-positive is on. A piece never neighbours itself in another state;
    best-buddy pairs cost half.
    """
    M, n = pieces.shape[:2]
    S, n_o = space.size, space.n_o
    rel = _oriented_costs(pieces, space, method, gap)  # nc x (M, n*n_o, n*n_o, 2)
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
    grown = grow(c, grid, first.reshape(-1), group=group,
                 src=np.repeat(np.arange(len(c)), k))
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
