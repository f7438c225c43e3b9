"""A fixed-frame jigsaw solver for a batch of puzzles of any grid gy x gx.

Two kinds of candidate arrangements compete:
- raster-order beam search: greedy placement that keeps the ``beam`` best partial arrangements
  (``beam=1`` is plain greedy placement); each candidate piece is scored by its compatibility
  with the pieces already to its left and above plus an optional position prior; run from each
  of the four corners;
- confidence-first growth (:mod:`encrypt_tool.audit.grow`) from the ``starts`` most confident
  pieces, which places the surest pair anywhere on the border first. At photo size (196
  pieces) raster order commits to its first rows too early: on nine 224-px photos its best
  arrangement cost 13-26% more than the true one on six of them (docs/AUDIT.md).
The arrangement with the lowest total boundary cost wins, then pairwise swaps lower that cost
further while they can. Everything is vectorized across the batch.
"""

from __future__ import annotations

import numpy as np

from encrypt_tool.audit.grow import grow, start_pieces

__all__ = ["arrangement_cost", "best_shift", "solve"]

WIDE_BEAM = 8  # beam width for puzzles of more than 64 pieces


def arrangement_cost(
    cost: np.ndarray, order: np.ndarray, grid: tuple[int, int], prior: np.ndarray | None = None
) -> np.ndarray:
    """Total boundary cost of arrangements ``order`` (M, ..., P): (M, ...) float64.

    cost: (M, n, n, 2) with [.., 0] = j right of i and [.., 1] = j below i; prior: (M, n, P).
    """
    gy, gx = grid
    M = cost.shape[0]
    shape = order.shape
    o = order.reshape(M, -1, gy, gx)  # (M, S, gy, gx)
    m = np.arange(M)[:, None, None, None]
    total = cost[m, o[:, :, :, :-1], o[:, :, :, 1:], 0].sum((2, 3))
    total = total + cost[m, o[:, :, :-1, :], o[:, :, 1:, :], 1].sum((2, 3))
    if prior is not None:
        pos = np.arange(gy * gx).reshape(1, 1, gy, gx)
        total = total + prior[m, o, pos].sum((2, 3))
    return total.reshape(shape[:-1])


def _beam(cost: np.ndarray, prior: np.ndarray, grid: tuple[int, int], beam: int) -> np.ndarray:
    """Raster-order beam search: best arrangement (M, P) found.

    Each partial arrangement keeps only its last ``gx`` pieces (for the left and upper
    neighbours) and a set of used pieces (a 64-bit mask when n <= 64); the full arrangements
    are recovered at the end from the parent pointers.
    """
    gy, gx = grid
    M, n = cost.shape[:2]
    K = min(beam, n)
    right = np.ascontiguousarray(cost[..., 0])  # (M, n, n)
    below = np.ascontiguousarray(cost[..., 1])
    bits = n <= 64
    first = prior[:, :, 0]  # (M, n)
    top = np.argsort(first, axis=1)[:, :K]  # (M, K)
    score = np.take_along_axis(first, top, axis=1)  # (M, K)
    hist = np.zeros((M, K, gx), dtype=np.int64)  # pieces at positions p-gx .. p-1
    hist[:, :, -1] = top
    one = np.uint64(1)
    if bits:
        used = one << top.astype(np.uint64)  # (M, K) uint64
        shifts = np.arange(n, dtype=np.uint64)
    else:
        used = np.zeros((M, K, n), dtype=bool)
        used[np.arange(M)[:, None], np.arange(K)[None], top] = True
    parents, placed = [np.zeros((M, K), np.int64)], [top]
    rows = np.arange(M)[:, None]
    for p in range(1, n):
        r, c = divmod(p, gx)
        add = prior[:, None, :, p]  # (M, 1, n)
        if c > 0:
            add = add + right[rows, hist[:, :, -1]]  # (M, K, n): rows of the left pieces
        if r > 0:
            add = add + below[rows, hist[:, :, 0]]  # rows of the upper pieces
        taken = ((used[:, :, None] >> shifts) & one).astype(bool) if bits else used
        total = np.where(taken, np.inf, score[:, :, None] + add).reshape(M, -1)  # (M, K*n)
        k_new = min(beam, total.shape[1])
        if k_new < total.shape[1]:
            best = np.argpartition(total, k_new - 1, axis=1)[:, :k_new]  # (M, K')
        else:
            best = np.broadcast_to(np.arange(total.shape[1]), (M, k_new))
        parent, piece = np.divmod(best, n)
        score = total[rows, best]
        hist = np.concatenate([hist[rows, parent, 1:], piece[:, :, None]], axis=2)
        if bits:
            used = used[rows, parent] | (one << piece.astype(np.uint64))
        else:
            used = used[rows, parent]
            used[rows, np.arange(k_new)[None], piece] = True
        parents.append(parent)
        placed.append(piece)
    k = np.argmin(score, axis=1)  # (M,) best final arrangement
    out = np.empty((M, n), dtype=np.int64)
    rows = np.arange(M)
    for p in range(n - 1, -1, -1):
        out[:, p] = placed[p][rows, k]
        k = parents[p][rows, k]
    return out


def _flip_problem(cost, prior, grid, fy: bool, fx: bool):
    """The same puzzle with the frame mirrored: positions mirror, 'right'/'below' swap sides."""
    gy, gx = grid
    c = cost.copy()
    if fx:
        c[..., 0] = cost[..., 0].transpose(0, 2, 1)
    if fy:
        c[..., 1] = cost[..., 1].transpose(0, 2, 1)
    pos = np.arange(gy * gx).reshape(gy, gx)
    pos = pos[::-1] if fy else pos
    pos = pos[:, ::-1] if fx else pos
    return c, prior[:, :, pos.reshape(-1)], pos.reshape(-1)


def _local(cost: np.ndarray, prior: np.ndarray, grid, order: np.ndarray) -> np.ndarray:
    """Cost of each piece at each position next to ``order``'s pieces: (M, P, n)."""
    M, P = order.shape
    return _local_at(cost, prior, grid, order, np.arange(M)[:, None],
                     np.broadcast_to(np.arange(P), (M, P)))


def _local_at(cost: np.ndarray, prior: np.ndarray, grid, order: np.ndarray, m: np.ndarray,
              p: np.ndarray) -> np.ndarray:
    """Rows of :func:`_local` for positions p (k, K) of puzzles m (k, 1): (k, K, n), the
    same sums in the same order (a missing neighbour adds 0)."""
    gy, gx = grid
    r, c = np.divmod(p, gx)
    x = np.arange(cost.shape[1])
    mm = m[..., None]  # (k, 1, 1)
    loc = prior[m, :, p]  # (k, K, n)
    for ok, q, side, before in ((c > 0, p - 1, 0, True), (c < gx - 1, p + 1, 0, False),
                                (r > 0, p - gx, 1, True), (r < gy - 1, p + gx, 1, False)):
        nb = order[m, np.where(ok, q, p)][..., None]  # (k, K, 1): the neighbour's piece
        term = cost[mm, nb, x, side] if before else cost[mm, x, nb, side]
        loc = loc + np.where(ok[..., None], term, 0.0)
    return loc


def _delta_at(g: np.ndarray, cur: np.ndarray, cost: np.ndarray, order: np.ndarray,
              m: np.ndarray, a: np.ndarray, b: np.ndarray, gx: int) -> np.ndarray:
    """Change of the total cost when positions a and b swap pieces (broadcast index arrays
    m, a, b; inf unless a < b): from the local costs ``g`` (M, P, P), g[m, a, b] = local cost
    at a of b's piece, and ``cur`` (M, P), with a correction for an edge a and b share."""
    oa, ob = order[m, a], order[m, b]
    d = g[m, a, b] + g[m, b, a] - cur[m, a] - cur[m, b]
    right = (a + 1 == b) & (a % gx < gx - 1)
    below = a + gx == b
    d = d + np.where(right, cost[m, ob, oa, 0] + cost[m, oa, ob, 0], 0)
    d = d + np.where(below, cost[m, ob, oa, 1] + cost[m, oa, ob, 1], 0)
    return d + np.where(a < b, 0, np.inf)


def _around(a: np.ndarray, b: np.ndarray, grid) -> np.ndarray:
    """Positions a, b (k,) and their neighbours, a neighbour off the grid given as the
    position itself: (k, 10)."""
    gy, gx = grid
    out = []
    for p in (a, b):
        r, c = np.divmod(p, gx)
        out += [p, np.where(c > 0, p - 1, p), np.where(c < gx - 1, p + 1, p),
                np.where(r > 0, p - gx, p), np.where(r < gy - 1, p + gx, p)]
    return np.stack(out, axis=1)


def _refine(cost, prior, grid, order: np.ndarray, rounds: int) -> np.ndarray:
    """Apply the best improving swap of two positions, per puzzle, while one exists.

    A swap's gain comes from each position's local cost (M, P, n), with a correction for the
    edge that two adjacent positions share. After a swap only the rows and columns of the
    ten positions it touches (the two and their neighbours) change, so each round updates
    those instead of the whole (M, P, P) table: O(P n) a round instead of O(P^2)."""
    gy, gx = grid
    M, P = order.shape
    c0 = cost.copy()
    c0[:, np.arange(P), np.arange(P)] = 0  # a piece next to itself: only in the naive sum
    pos = np.arange(P)
    order = order.copy()
    loc = _local(c0, prior, grid, order)  # (M, P, n)
    g = np.take_along_axis(loc, order[:, None, :], axis=2)  # (M, P, P): a gets b's piece
    cur = g[:, pos, pos]  # (M, P): each position's current local cost
    delta = _delta_at(g, cur, c0, order, np.arange(M)[:, None, None], pos[:, None],
                      pos[None, :], gx)  # (M, P, P)
    for _ in range(rounds):
        flat = delta.reshape(M, -1)
        best = flat.argmin(axis=1)
        better = flat[np.arange(M), best] < -1e-9
        if not better.any():
            break
        mm = np.nonzero(better)[0]
        a, b = np.divmod(best[mm], P)
        order[mm, a], order[mm, b] = order[mm, b], order[mm, a].copy()
        X = _around(a, b, grid)  # (k, 10)
        m1, m2 = mm[:, None], mm[:, None, None]
        loc[m1, X] = _local_at(c0, prior, grid, order, m1, X)  # (k, 10, n)
        g[m1, X] = np.take_along_axis(loc[m1, X], order[mm][:, None, :], axis=2)
        g[m2, pos[:, None], X[:, None, :]] = loc[m2, pos[:, None], order[m1, X][:, None, :]]
        cur[m1, X] = g[m1, X, X]
        delta[m2, X[:, :, None], pos] = _delta_at(g, cur, c0, order, m2, X[:, :, None],
                                                  pos[None, None, :], gx)
        delta[m2, pos[:, None], X[:, None, :]] = _delta_at(g, cur, c0, order, m2,
                                                           pos[None, :, None],
                                                           X[:, None, :], gx)
    return order


def solve(
    cost: np.ndarray,
    grid: tuple[int, int],
    prior: np.ndarray | None = None,
    beam: int = 64,
    refine_rounds: int = 32,
    chunk: int = 256,
    starts: int = 8,
) -> np.ndarray:
    """Arrange pieces: ``order[m, p]`` is the piece put at grid position ``p``; (M, P) int64.

    cost: (M, n, n, 2) pairwise costs (see :mod:`encrypt_tool.audit.compat`); prior: (M, n, P)
    cost of piece i at position p, or None. ``starts``: growth candidates (0: beam search only).
    Above 64 pieces the beam is at most ``WIDE_BEAM`` wide: on nine 224-px photos (196 pieces)
    widths 64, 8 and 1 gave the same neighbours once growth competes (96.3, 96.1, 96.1% with
    side information), and width 64 took three times as long.
    """
    gy, gx = grid
    M, n = cost.shape[:2]
    if n != gy * gx or cost.shape != (M, n, n, 2):
        raise ValueError(f"cost of shape {cost.shape} does not fit a {gy}x{gx} grid")
    if beam < 1:
        raise ValueError(f"beam width {beam} is not valid; it must be >= 1")
    if starts < 0:
        raise ValueError(f"starts {starts} is not valid; it must be >= 0")
    if prior is None:
        prior = np.zeros((M, n, n))
    cost = np.where(np.isfinite(cost), cost, 1e12)
    out = np.empty((M, n), dtype=np.int64)
    cells = (2 * gy - 1) * (2 * gx - 1)
    # (m, P, n) local costs, (4m, K, n) beam, (m * starts, cells, n) growth: at most ~64 MB each
    chunk = max(1, min(chunk, 2**20 // (n * n), 2**23 // (max(starts, 1) * cells * n)))
    for lo in range(0, M, chunk):
        c, pr = cost[lo : lo + chunk], prior[lo : lo + chunk]
        # the four corners' beams as one batch of 4m puzzles
        flips = [_flip_problem(c, pr, grid, fy, fx) for fy in (False, True) for fx in (False, True)]
        o = _beam(np.concatenate([f[0] for f in flips]), np.concatenate([f[1] for f in flips]),
                  grid, beam if n <= 64 else min(beam, WIDE_BEAM))  # (4m, P)
        cands = []
        for i, (_, _, pos) in enumerate(flips):
            true = np.empty((len(c), n), dtype=np.int64)
            true[:, pos] = o[i * len(c) : (i + 1) * len(c)]
            cands.append(true)
        k = min(starts, n)
        if k > 0:
            first = start_pieces(c, k)  # (m, k)
            grown = grow(c, grid, first.reshape(-1), src=np.repeat(np.arange(len(c)), k))
            cands.extend(grown.reshape(len(c), k, n).transpose(1, 0, 2))
        cands = np.stack(cands, axis=1)  # (m, 4 + k, P)
        totals = arrangement_cost(c, cands, grid, pr)  # (m, 4 + k)
        best = cands[np.arange(len(cands)), totals.argmin(axis=1)]
        out[lo : lo + chunk] = _refine(c, pr, grid, best, refine_rounds)
    return out


def best_shift(cost: np.ndarray, grid: tuple[int, int], orders: np.ndarray,
               prior: np.ndarray | None = None, rounds: int = 32) -> np.ndarray:
    """The cheapest cyclic shift of any arrangement ``orders`` (M, A, P) under ``cost``
    (M, n, n, 2) (and ``prior``), refined by swaps when it beats the first: (M, P).

    Where a photo's margin is blank (zero padding, a dark background), its edges say nothing
    of how far the content sits from the frame's border: a compatibility that masks blank
    pixels finds the content right but shifted, and one that does not can be misled by the
    blank pieces it chains together. Every shift of every answer, judged by each
    compatibility, brings them together (the colour wheel at 224 px: exact from the shifted
    masked-prediction answer under MGC, prediction and RGB SSD, none exact before)."""
    gy, gx = grid
    M, A, P = orders.shape
    cost = np.where(np.isfinite(cost), cost, 1e12)
    o = orders.reshape(M, A, 1, 1, gy, gx)
    dy = np.arange(gy)[:, None, None, None]
    dx = np.arange(gx)[None, :, None, None]
    r = (np.arange(gy)[:, None] - dy) % gy  # (gy, 1, gy, 1): row of the source
    c = (np.arange(gx)[None, :] - dx) % gx  # (1, gx, 1, gx)
    shifts = o[:, :, 0, 0][:, :, r, c].reshape(M, A * gy * gx, P)  # every roll of every answer
    totals = arrangement_cost(cost, shifts, grid, prior)  # (M, A * gy * gx)
    best = totals.argmin(axis=1)
    out = orders[:, 0].copy()
    moved = totals[np.arange(M), best] < totals[:, 0] - 1e-9  # roll 0 of answer 0 is the first
    if moved.any():
        pr = np.zeros((M, P, P)) if prior is None else prior
        mm = np.nonzero(moved)[0]
        out[mm] = _refine(cost[mm], pr[mm], grid, shifts[mm, best[mm]], rounds)
    return out
