"""The extended solver at photo size: pieces joined into clusters, cheapest joins first.

After Gallagher's tree-based reassembly of pieces of unknown orientation (CVPR 2012), widened
to every within-block transform state. The candidate joins are each side's few best partners
in :func:`encrypt_tool.audit.relcost.relative_costs` (piece j in state t in direction d of
piece i), scored as a ratio to that side's second-best partner (mutual best partners cost
half). Taken cheapest first, a join merges two clusters: the second is turned and recoloured
whole so that j takes state t next to i, and the join is refused when two pieces would share a
cell or the cluster would no longer fit the frame. What is left is placed around the largest
cluster cell by cell, the cheapest (cell, piece, state) first. The answer is right up to one
transform of the whole picture, as the dense solver's is.

Memory is n * 4 * n * S costs (59 MB for 196 pieces in 96 states), not (n * S)^2.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from encrypt_tool.audit.group import DIRS, StateGroup, group_of
from encrypt_tool.audit.pieces import assemble
from encrypt_tool.audit.relcost import relative_costs
from encrypt_tool.audit.states import StateSpace, _apply

__all__ = ["place_clusters", "tree_attack"]


def _ratios(T: np.ndarray, G: StateGroup) -> np.ndarray:
    """T (n, 4, n, S) scored as ratios to each side's second-best other piece (n, 4, n, S),
    mutual best partners halved."""
    n, _, _, S = T.shape
    per_piece = T.min(axis=3)  # (n, 4, n)
    second = np.sort(per_piece, axis=2)[:, :, 1]  # (n, 4): best other piece but one
    finite = second[np.isfinite(second)]
    floor = 0.1 * (np.median(finite) if finite.size else 1.0) + 1e-6
    second = np.maximum(np.where(np.isfinite(second), second, floor), floor)
    d = np.arange(4)[None, :, None, None]
    t = np.arange(S)[None, None, None, :]
    back = G.turn[G.inverse[t], (d + 2) % 4]  # (1, 4, 1, S): j's side that faces i
    other = second[np.arange(n)[None, None, :, None], back]  # (1, 4, n, S) -> broadcast
    R = T / np.minimum(second[:, :, None, None], other)
    best = R.reshape(n, 4, -1).argmin(axis=2)  # (n, 4): i's favourite (j, t) per side
    bj, bt = np.divmod(best, S)
    i = np.arange(n)[:, None]
    dj = G.turn[G.inverse[bt], (np.arange(4)[None] + 2) % 4]  # (n, 4)
    mutual = best[bj, dj] == i * S + G.inverse[bt]
    R[i, np.arange(4)[None], bj, bt] = np.where(mutual, 0.5, 1.0) * R[i, np.arange(4)[None], bj, bt]
    return R


def _fits(ys, xs, frame: tuple[int, int], turnable: bool) -> bool:
    h, w = max(ys) - min(ys) + 1, max(xs) - min(xs) + 1
    gy, gx = frame
    return (h <= gy and w <= gx) or (turnable and h <= gx and w <= gy)


def _contacts(R, G: StateGroup, grid: dict, moved) -> np.ndarray:
    """Ratios of every new contact between cluster cells ``grid`` ((y, x) -> (piece, state))
    and ``moved`` pieces [(y, x, piece, state)]: (k,) float64."""
    out = []
    for cy, cx, q, b in moved:
        for D, (dy, dx) in enumerate(DIRS):  # a placed piece p in direction D of q
            hit = grid.get((cy + dy, cx + dx))
            if hit is None:
                continue
            p, a = hit  # q lies in direction D + 2 of p
            inv = G.inverse[a]
            out.append(R[p, G.turn[inv, (D + 2) % 4], q, G.compose[inv, b]])
    return np.asarray(out)


def place_clusters(R: np.ndarray, G: StateGroup, frame: tuple[int, int], per_side: int = 32,
                   limit: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Join pieces into clusters, cheapest candidate join first: cluster id, cell (y, x) and
    state of every piece, each (n,) int64, in its cluster's own frame. A join is refused when
    two pieces would share a cell, the cluster would not fit the frame, or the mean ratio over
    every contact the join makes exceeds ``limit``."""
    n, _, _, S = R.shape
    k = min(per_side, n * S - 1)
    flat = R.reshape(n * 4, -1)
    cand = np.argpartition(flat, k, axis=1)[:, :k]  # (4n, k)
    score = np.take_along_axis(flat, cand, axis=1)
    rows = np.repeat(np.arange(n * 4), k)
    order = np.argsort(score.reshape(-1), kind="stable")
    ii, dd = np.divmod(rows[order], 4)
    jj, tt = np.divmod(cand.reshape(-1)[order], S)
    ok = score.reshape(-1)[order] <= 2 * limit  # a join's own edge above that rarely passes
    turnable = G.space.n_o > 1
    cl, y, x, st = np.arange(n), np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    members = {c: [c] for c in range(n)}
    grids = {c: {(0, 0): (c, 0)} for c in range(n)}
    for i, d, j, t in zip(ii[ok], dd[ok], jj[ok], tt[ok], strict=True):
        a, b = cl[i], cl[j]
        if a == b:
            continue
        want = G.compose[st[i], t]  # j's state in a's frame
        g = G.compose[want, G.inverse[st[j]]]  # turns b's frame into a's
        mb = np.array(members[b])
        oy, ox = G.move(g, y[mb] - y[j], x[mb] - x[j])
        ty, tx = y[i] + DIRS[G.turn[st[i], d]][0], x[i] + DIRS[G.turn[st[i], d]][1]
        ny, nx, ns = ty + oy, tx + ox, G.compose[g, st[mb]]
        ga = grids[a]
        if any((p, q) in ga for p, q in zip(ny.tolist(), nx.tolist(), strict=True)):
            continue
        ma = members[a]
        if not _fits(np.r_[y[ma], ny], np.r_[x[ma], nx], frame, turnable):
            continue
        moved = list(zip(ny.tolist(), nx.tolist(), mb.tolist(), ns.tolist(), strict=True))
        if _contacts(R, G, ga, moved).mean() > limit:
            continue
        y[mb], x[mb], st[mb], cl[mb] = ny, nx, ns, a
        members[a] = ma + members.pop(b)
        ga.update({(p, q): (r, s) for p, q, r, s in moved})
        del grids[b]
        if len(members[a]) == n:
            break
    return cl, y, x, st


def _fill(R: np.ndarray, G: StateGroup, frame, cells: dict, turnable: bool) -> dict:
    """Place every piece not in ``cells`` ((y, x) -> (piece, state)) next to the placed ones,
    the cheapest (cell, piece, state) by mean ratio over its placed neighbours first (minus 0.1
    per neighbour beyond the first: cells closed on more sides go first)."""
    n, _, _, S = R.shape
    Rc = np.where(np.isfinite(R), R, 1e12)
    free = np.ones(n, bool)
    acc: dict = {}  # open cell -> [(n, S) summed ratios of each candidate, neighbour count]
    best: dict = {}  # open cell -> (score, piece, state)
    box = [min(c[0] for c in cells), max(c[0] for c in cells),
           min(c[1] for c in cells), max(c[1] for c in cells)]

    def rescore(c) -> None:
        total, k = acc[c]
        v = np.where(free[:, None], total / k - 0.1 * (k - 1), np.inf)
        j, s = np.unravel_index(v.argmin(), v.shape)
        best[c] = (v[j, s], int(j), int(s))

    def put(c, p: int, a: int) -> None:
        cells[c] = (p, a)
        free[p] = False
        acc.pop(c, None)
        best.pop(c, None)
        box[:] = [min(box[0], c[0]), max(box[1], c[0]), min(box[2], c[1]), max(box[3], c[1])]
        inv = G.inverse[a]
        for D, (dy, dx) in enumerate(DIRS):  # the open cell in direction D of the new piece
            o = (c[0] + dy, c[1] + dx)
            if o in cells:
                continue
            got = Rc[p, G.turn[inv, D]][:, G.compose[inv]]  # (n, S): candidate's own state
            if o in acc:
                acc[o][0] += got
                acc[o][1] += 1
            else:
                acc[o] = [got.copy(), 1]
            rescore(o)

    for p, _ in cells.values():
        free[p] = False
    for c, (p, a) in list(cells.items()):
        put(c, p, a)
    while free.any():
        pick = None
        for c, (v, j, s) in best.items():
            h = max(box[1], c[0]) - min(box[0], c[0]) + 1
            w = max(box[3], c[1]) - min(box[2], c[1]) + 1
            fits = (h <= frame[0] and w <= frame[1]) or (turnable and h <= frame[1]
                                                          and w <= frame[0])
            if fits and (pick is None or v < pick[0]):
                pick = (v, c, j, s)
        _, c, j, s = pick
        put(c, j, s)
        for o, (_, jo, _) in list(best.items()):
            if jo == j:  # its favourite was just used
                rescore(o)
    return cells


def tree_attack(pieces: np.ndarray, grid: tuple[int, int], space: StateSpace,
                method: str = "masked", gap: int = 0,
                costs: Callable[[int], np.ndarray] | None = None) -> np.ndarray:
    """Reassemble pieces (M, n, bh, bw, C) uint8 trying every state of every piece:
    (M, gy * bh, gx * bw, C) uint8, one image at a time. ``costs``: image index m -> T
    (n, 4, n, S) of its pieces as :func:`relative_costs` gives them (default: the hand-made
    ``method`` across ``gap`` px)."""
    M, n, bh, bw, C = pieces.shape
    gy, gx = grid
    G = group_of(space)
    turnable = space.n_o > 1
    outs = np.zeros((M, gy * bh, gx * bw, C), dtype=np.uint8)
    if n < 2:
        return assemble(pieces, np.zeros((M, n), dtype=np.int64), grid)
    if costs is None:
        def costs(m: int) -> np.ndarray:
            return relative_costs(pieces[m], space, method, gap)
    for m in range(M):
        T = costs(m)  # (n, 4, n, S)
        R = _ratios(T, G)
        cl, y, x, st = place_clusters(R, G, grid)
        big = np.bincount(cl, minlength=n).argmax()
        cells = {(int(y[p]), int(x[p])): (p, int(st[p])) for p in np.nonzero(cl == big)[0]}
        cells = _fill(R, G, grid, cells, turnable)
        ys = np.array([c[0] for c in cells])
        xs = np.array([c[1] for c in cells])
        if np.ptp(ys) + 1 != gy:  # a non-square frame found turned: turn the whole answer
            g = int(np.nonzero((G.turn[:, 0] == 1) & (np.arange(G.size) < G.space.n_o))[0][0])
            ys, xs = G.move(g, ys, xs)
            cells = {(int(a), int(b)): (p, int(G.compose[g, s]))
                     for a, b, (p, s) in zip(ys, xs, cells.values(), strict=True)}
            ys, xs = np.array([c[0] for c in cells]), np.array([c[1] for c in cells])
        states = space.states()
        for (cy, cx), (p, s) in cells.items():
            r, c = cy - ys.min(), cx - xs.min()
            block = _apply(pieces[m, p], *states[s], (0, 1))  # piece p in state s
            outs[m, r * bh : (r + 1) * bh, c * bw : (c + 1) * bw] = block
    return outs
