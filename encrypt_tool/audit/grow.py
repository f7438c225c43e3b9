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
    """
    gy, gx = grid
    M, n = len(seed), cost.shape[1]
    src = np.arange(M) if src is None else src
    P = gy * gx
    cy, cx = 2 * gy - 1, 2 * gx - 1
    C = cy * cx
    rows = np.arange(M)
    acc = np.zeros((M, C, n))  # (M, C, n): summed cost of piece j in cell c
    cnt = np.zeros((M, C), dtype=np.int64)
    free = np.ones((M, n), dtype=bool)
    cells = np.full((M, C), -1, dtype=np.int64)
    lo_y, hi_y = np.full(M, cy), np.full(M, -1)
    lo_x, hi_x = np.full(M, cx), np.full(M, -1)
    cell_y, cell_x = np.divmod(np.arange(C), cx)  # (C,)
    # (B, n, n) each: j right of / below i, and its transpose (i left of / above j) for
    # contiguous rows
    sides = [cost[..., 0], cost[..., 1]]
    back = [np.ascontiguousarray(d.transpose(0, 2, 1)) for d in sides]
    steps = ((0, 1, 0, False), (0, -1, 0, True), (1, 0, 1, False), (-1, 0, 1, True))

    def place(r: np.ndarray, c: np.ndarray, j: np.ndarray, once: bool = False) -> None:
        """Put piece j[k] into cell c[k] of puzzle r[k] (``once``: each puzzle at most once,
        so no cell is summed into twice and plain indexing adds)."""
        y, x = np.divmod(c, cx)
        cells[r, c] = j
        free.reshape(M, -1, group)[r, j // group] = False
        for dy, dx, side, before in steps:
            ny, nx = y + dy, x + dx
            ok = (ny >= 0) & (ny < cy) & (nx >= 0) & (nx < cx)
            # candidate x right of / below j, or left of / above j
            contrib = (back if before else sides)[side][src[r[ok]], j[ok]]  # (k, n)
            at = (r[ok], ny[ok] * cx + nx[ok])
            if once:
                acc[at] += contrib
                cnt[at] += 1
            else:
                np.add.at(acc, at, contrib)
                np.add.at(cnt, at, 1)
        for lim, v, f in ((lo_y, y, np.minimum), (hi_y, y, np.maximum), (lo_x, x, np.minimum),
                          (hi_x, x, np.maximum)):
            if once:
                lim[r] = f(lim[r], v)
            else:
                f.at(lim, r, v)

    sm, sc = np.nonzero(seed >= 0)
    place(sm, sc, seed[sm, sc])
    best_val = np.full((M, C), np.inf)  # (M, C): cheapest free piece's summed cost per cell
    best_j = np.zeros((M, C), dtype=np.int64)

    def rescore(touched: np.ndarray) -> None:
        tm, tc = np.nonzero(touched & (cells < 0) & (cnt > 0))
        a = np.where(free[tm], acc[tm, tc], np.inf)  # (K, n)
        j = a.argmin(axis=1)
        best_j[tm, tc] = j
        best_val[tm, tc] = a[np.arange(len(tm)), j]

    rescore(np.ones((M, C), dtype=bool))
    for _ in range(P - int((seed >= 0).sum(1).min())):
        left = free.any(axis=1)
        if not left.any():
            break
        fits_y = (np.maximum(hi_y[:, None], cell_y) - np.minimum(lo_y[:, None], cell_y)) < gy
        fits_x = (np.maximum(hi_x[:, None], cell_x) - np.minimum(lo_x[:, None], cell_x)) < gx
        open_ = (cells < 0) & (cnt > 0) & fits_y & fits_x  # (M, C)
        k = np.maximum(cnt, 1)
        score = np.where(open_, best_val / k - multi * (k - 1), np.inf)  # (M, C)
        r = rows[left]
        c = score[r].argmin(axis=1)
        j = best_j[r, c]
        place(r, c, j, once=True)
        y, x = np.divmod(c, cx)
        touched = np.zeros((M, C), dtype=bool)
        for dy, dx, _, _ in steps:
            ny, nx = np.clip(y + dy, 0, cy - 1), np.clip(x + dx, 0, cx - 1)
            touched[r, ny * cx + nx] = True
        touched[r] |= best_j[r] // group == (j // group)[:, None]  # their best piece was used
        rescore(touched)
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
