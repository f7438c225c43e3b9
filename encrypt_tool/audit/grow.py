"""Confidence-first placement in a bounded frame (after Paikin & Tal 2015), for a batch of puzzles.

Raster-order placement must decide the top-left pieces first, where it knows least; one early
mistake shifts everything after it. Here the solver starts from one confident piece on a canvas
twice the frame's size and, at every step, places the (cell, piece) pair with the lowest mean
cost against the pieces already around that cell, anywhere on the growing border, as long as
the occupied region still fits in the gy x gx frame. Once n pieces are placed, the region is
exactly the frame. Everything is vectorized across the batch; each cell keeps its cheapest free
piece, so a step only rescores the cells next to the new piece and those that wanted it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["grow", "start_pieces"]


def start_pieces(cost: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` pieces whose four best matches are cheapest (most confident): (M, k) int64.

    cost: (M, n, n, 2), [.., 0] = j right of i, [.., 1] = j below i.
    """
    right = cost[..., 0].min(axis=2) + cost[..., 1].min(axis=2)  # (M, n): i's right and lower
    left = cost[..., 0].min(axis=1) + cost[..., 1].min(axis=1)  # (M, n): j's left and upper
    return np.argsort(right + left, axis=1)[:, :k]


def _grow(cost: np.ndarray, grid: tuple[int, int], seed: np.ndarray, multi: float,
          group: int = 1, src: np.ndarray | None = None) -> np.ndarray:
    """Fill the frame around seed (M, cy*cx) pieces (-1: empty cell): order (M, gy*gx).

    ``group`` > 1: candidates j*group .. j*group+group-1 are states of one piece j; placing
    one uses them all. ``src`` (M,): the row of cost each puzzle uses (default: its own), so
    that several starts share one cost matrix.

    The canvas carries a ring of cells that never fit around the (2gy-1) x (2gx-1) cells a
    region can reach, so neighbours need no bounds checks; row-major order, and so the ties
    to the first cell, is the same as without it. Each open cell's score is kept and
    changed only where a placement touches it, and a step looks for the best one only in a
    window one cell wider than the frame around the region.
    """
    gy, gx = grid
    M, n = len(seed), cost.shape[1]
    src = np.arange(M) if src is None else src
    P = gy * gx
    cy, cx = 2 * gy + 1, 2 * gx + 1  # with the ring
    C = cy * cx
    rows = np.arange(M)
    acc = np.zeros((M, C, n))  # (M, C, n): summed cost of piece j in cell c
    cnt = np.zeros((M, C), dtype=np.int64)
    free = np.ones((M, n), dtype=bool)
    cells = np.full((M, C), -1, dtype=np.int64)
    open_ = np.zeros((M, C), dtype=bool)  # empty with a placed neighbour
    score = np.full((M, C), np.inf)  # (M, C): an open cell's best mean cost, less the bonus
    best_j = np.zeros((M, C), dtype=np.int64)  # (M, C): its cheapest free piece
    lo_y, hi_y = np.full(M, cy), np.full(M, -1)
    lo_x, hi_x = np.full(M, cx), np.full(M, -1)
    # (B, n, n) each: j right of / below i, and its transpose (i left of / above j) for
    # contiguous rows; one per neighbour: right, left, below, above
    right, below = cost[..., 0], cost[..., 1]
    tabs = (right, np.ascontiguousarray(right.transpose(0, 2, 1)),
            below, np.ascontiguousarray(below.transpose(0, 2, 1)))
    near = np.array([1, -1, cx, -cx])  # flat offsets of the four neighbours

    def place(r: np.ndarray, c: np.ndarray, j: np.ndarray, once: bool = False) -> np.ndarray:
        """Put piece j[k] into cell c[k] of puzzle r[k] (``once``: each puzzle at most once,
        so no cell is summed into twice and plain indexing adds). Returns the neighbour
        cells (4, k)."""
        y, x = np.divmod(c, cx)
        cells[r, c] = j
        open_[r, c] = False
        score[r, c] = np.inf
        free.reshape(M, -1, group)[r, j // group] = False
        nb = c + near[:, None]  # (4, k)
        contrib = np.stack([t[src[r], j] for t in tabs])  # (4, k, n)
        rr = np.broadcast_to(r, nb.shape)
        if once:
            acc[rr, nb] += contrib
            cnt[rr, nb] += 1
        else:
            np.add.at(acc, (rr, nb), contrib)
            np.add.at(cnt, (rr, nb), 1)
        open_[rr, nb] = cells[rr, nb] < 0
        for lim, v, f in ((lo_y, y, np.minimum), (hi_y, y, np.maximum), (lo_x, x, np.minimum),
                          (hi_x, x, np.maximum)):
            if once:
                lim[r] = f(lim[r], v)
            else:
                f.at(lim, r, v)
        return nb

    def rescore(tm: np.ndarray, tc: np.ndarray) -> None:
        keep = open_[tm, tc]
        tm, tc = tm[keep], tc[keep]
        a = np.where(free[tm], acc[tm, tc], np.inf)  # (K, n)
        j = a.argmin(axis=1)
        k = cnt[tm, tc]
        best_j[tm, tc] = j
        score[tm, tc] = a[np.arange(len(tm)), j] / k - multi * (k - 1)

    pad = np.full((M, cy, cx), -1, dtype=np.int64)
    pad[:, 1:-1, 1:-1] = seed.reshape(M, cy - 2, cx - 2)
    sm, sc = np.nonzero(pad.reshape(M, C) >= 0)
    place(sm, sc, pad.reshape(M, C)[sm, sc])
    rescore(*np.nonzero(open_))
    wy, wx = np.arange(gy + 2), np.arange(gx + 2)  # a window around the frame's region
    for _ in range(P - int((seed >= 0).sum(1).min())):
        left = free.any(axis=1)
        if not left.any():
            break
        r = rows if left.all() else rows[left]
        k = len(r)
        # every open cell lies within one cell of the region: look only there, (k, W) cells
        Y, X = lo_y[r, None] - 1 + wy, lo_x[r, None] - 1 + wx  # (k, gy+2), (k, gx+2)
        fit_y = ((np.maximum(hi_y[r, None], Y) - np.minimum(lo_y[r, None], Y)) < gy) \
            & (Y > 0) & (Y < cy - 1)
        fit_x = ((np.maximum(hi_x[r, None], X) - np.minimum(lo_x[r, None], X)) < gx) \
            & (X > 0) & (X < cx - 1)
        win = (Y[:, :, None] * cx + X[:, None, :]).reshape(k, -1)  # (k, W) in row-major order
        fits = (fit_y[:, :, None] & fit_x[:, None, :]).reshape(k, -1)
        at = np.where(fits, score[r[:, None], win], np.inf).argmin(axis=1)  # first of ties
        c = win[np.arange(k), at]
        j = best_j[r, c]
        nb = place(r, c, j, once=True)
        # the cells next to the new piece, and the open cells whose best piece it was
        wanted = best_j[r[:, None], win]  # (k, W)
        if group > 1:
            wanted, j = wanted // group, j // group
        used = open_[r[:, None], win] & (wanted == j[:, None])
        um, ui = np.nonzero(used)
        rescore(np.concatenate([np.broadcast_to(r, nb.shape).ravel(), r[um]]),
                np.concatenate([nb.ravel(), win[um, ui]]))
    y = lo_y[:, None, None] + np.arange(gy)[None, :, None]  # (M, gy, 1)
    x = lo_x[:, None, None] + np.arange(gx)[None, None, :]
    return cells[rows[:, None, None], y * cx + x].reshape(M, P)


def grow(cost: np.ndarray, grid: tuple[int, int], start: np.ndarray, multi: float = 0.1,
         group: int = 1, src: np.ndarray | None = None) -> np.ndarray:
    """Place every piece, starting from piece ``start[m]`` alone: order (M, gy*gx) int64.

    cost: (M, n, n, 2) finite costs (lower is better); a cell's candidate score is the mean cost
    against its placed neighbours minus ``multi`` per neighbour beyond the first, so cells
    closed on several sides (more evidence) go first. ``group``: states per piece (cost rows
    j*group + s are piece j in state s), of which one is placed. ``src`` (M,): the cost
    row of each start (several starts on one puzzle share its costs; default: row m).
    """
    gy, gx = grid
    M = len(start)
    seed = np.full((M, (2 * gy - 1) * (2 * gx - 1)), -1, dtype=np.int64)
    seed[:, (gy - 1) * (2 * gx - 1) + gx - 1] = start
    return _grow(cost, grid, seed, multi, group, src)
