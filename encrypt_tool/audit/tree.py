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

Memory is n * 4 * n * S float32 costs, not (n * S)^2: 59 MB for 196 pieces in 96 states,
944 MB for 784 (8x8 blocks of a 224-px photo); the ratios are taken in place, and every other
temporary is a few rows at a time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from encrypt_tool.audit.group import DIRS, StateGroup, group_of
from encrypt_tool.audit.pieces import assemble
from encrypt_tool.audit.relcost import relative_costs
from encrypt_tool.audit.states import StateSpace, _apply

__all__ = ["place_clusters", "tree_attack"]

SMALL = 8  # clusters up to this size are moved with scalar lookups, larger ones with arrays


def _rows(n: int, width: int) -> list[slice]:
    """Slices of pieces whose (rows, width) float64 temporaries stay within ~32 MB."""
    step = max(1, 2**22 // max(1, width))
    return [slice(lo, min(n, lo + step)) for lo in range(0, n, step)]


def _ratios(T: np.ndarray, G: StateGroup) -> np.ndarray:
    """T (n, 4, n, S) scored as ratios to each side's second-best other piece, mutual best
    partners halved, in place (T is returned, float32; its self costs become 1e12)."""
    n, _, _, S = T.shape
    per_piece = T.min(axis=3)  # (n, 4, n)
    second = np.partition(per_piece, 1, axis=2)[:, :, 1]  # (n, 4): best other piece but one
    finite = second[np.isfinite(second)]
    floor = 0.1 * (np.median(finite) if finite.size else 1.0) + 1e-6
    second = np.maximum(np.where(np.isfinite(second), second, floor), floor)
    d = np.arange(4)[:, None, None]
    t = np.arange(S)[None, None, :]
    back = G.turn[G.inverse[t], (d + 2) % 4]  # (4, 1, S): j's side that faces i
    other = second[np.arange(n)[None, :, None], back]  # (4, n, S)
    best = np.empty((n, 4), dtype=np.int64)  # i's favourite (j, t) per side
    for r in _rows(n, 4 * n * S):
        T[r] /= np.minimum(second[r, :, None, None], other[None])
        best[r] = T[r].reshape(r.stop - r.start, 4, -1).argmin(axis=2)
    bj, bt = np.divmod(best, S)
    i = np.arange(n)[:, None]
    dj = G.turn[G.inverse[bt], (np.arange(4)[None] + 2) % 4]  # (n, 4)
    mutual = best[bj, dj] == i * S + G.inverse[bt]
    T[i, np.arange(4)[None], bj, bt] *= np.where(mutual, 0.5, 1.0).astype(T.dtype)
    T[np.arange(n), :, np.arange(n)] = 1e12  # never itself, but finite for the sums of _fill
    return T


def _candidates(R: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k cheapest (j, t) of every side (i, d) of R (n, 4, n, S): flat indices j * S + t
    (4n, k) and their ratios (4n, k), each row cheapest first (ties by index).

    The k cheapest entries of a row lie among its k pieces of lowest best state, so only
    those pieces' states are searched, not the whole row."""
    n, _, _, S = R.shape
    k = min(k, n * S - 1)
    rows = R.reshape(n * 4, n, S)
    best = rows.min(axis=2)  # (4n, n)
    kp = min(k, n - 1)
    near = np.argpartition(best, kp, axis=1)[:, : kp + 1]  # (4n, kp+1) pieces
    near.sort(axis=1)
    flat = (near[:, :, None] * S + np.arange(S)).reshape(n * 4, -1)  # (4n, (kp+1) S)
    vals = np.take_along_axis(rows.reshape(n * 4, -1), flat, axis=1)
    order = np.lexsort((flat, vals), axis=1)[:, :k]  # cheapest first, ties by index
    return np.take_along_axis(flat, order, axis=1), np.take_along_axis(vals, order, axis=1)


def _fits(h, w, frame: tuple[int, int], turnable: bool):
    """Whether an h x w region fits the frame (turned, too, when ``turnable``); h, w ints or
    arrays (then elementwise)."""
    gy, gx = frame
    return ((h <= gy) & (w <= gx)) | (turnable & (h <= gx) & (w <= gy))


def place_clusters(R: np.ndarray, G: StateGroup, frame: tuple[int, int], per_side: int = 32,
                   limit: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Join pieces into clusters, cheapest candidate join first: cluster id, cell (y, x) and
    state of every piece, each (n,) int64, in its cluster's own frame. A join is refused when
    two pieces would share a cell, the cluster would not fit the frame, or the mean ratio over
    every contact the join makes exceeds ``limit``.

    Each cluster keeps its first piece at (0, 0) and fits the frame, so its cells lie within
    ``F = max(frame)`` of the origin: an occupancy table (n, 2F + 3, 2F + 3) of piece + 1
    answers every cell and contact lookup of a join at once."""
    n, _, _, S = R.shape
    cand, score = _candidates(R, per_side)  # (4n, k)
    k = cand.shape[1]
    rows = np.repeat(np.arange(n * 4), k)
    order = np.argsort(score.reshape(-1), kind="stable")
    ok = score.reshape(-1)[order] <= 2 * limit  # a join's own edge above that rarely passes
    ii, dd = np.divmod(rows[order][ok], 4)
    jj, tt = np.divmod(cand.reshape(-1)[order][ok], S)
    turnable = G.space.n_o > 1
    F = max(frame) + 1
    occ = np.zeros((n, 2 * F + 1, 2 * F + 1), dtype=np.int64)  # piece + 1 at (y + F, x + F)
    occ[np.arange(n), F, F] = np.arange(1, n + 1)
    cl, y, x, st = np.arange(n), np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    box = [[0, 0, 0, 0] for _ in range(n)]  # (y0, y1, x0, x1) of each cluster
    members = {c: np.array([c]) for c in range(n)}
    cl_l, y_l, x_l, st_l = list(range(n)), [0] * n, [0] * n, [0] * n  # scalar lookups
    turn, inverse, dirs = G.turn.tolist(), G.inverse.tolist(), DIRS.tolist()
    compose, offset = G.compose.tolist(), G.offset.tolist()
    Rflat = R.reshape(n, 4, n * S)
    sy, sx = DIRS[None, :, 0] + F, DIRS[None, :, 1] + F  # (1, 4) each
    mean = R.dtype.type
    ratio = score.reshape(-1)[order][ok].tolist()
    for i, d, j, t, v in zip(ii.tolist(), dd.tolist(), jj.tolist(), tt.tolist(), ratio,
                             strict=True):
        a, b = cl_l[i], cl_l[j]
        if a == b:
            continue
        if v > limit and len(members[a]) == 1 and len(members[b]) == 1:
            continue  # two lone pieces touch only at this join, whose ratio is its mean
        dy, dx = dirs[turn[st_l[i]][d]]  # where j goes, next to i in a's frame
        if occ[a, y_l[i] + dy + F, x_l[i] + dx + F]:
            continue  # that side of i is taken
        by, bx = dirs[turn[st_l[j]][turn[inverse[t]][(d + 2) % 4]]]  # where i goes, in b's
        if occ[b, y_l[j] + by + F, x_l[j] + bx + F]:
            continue  # that side of j is taken
        want = compose[st_l[i]][t]  # j's state in a's frame
        g = compose[want][inverse[st_l[j]]]  # turns b's frame into a's
        (m00, m01), (m10, m11) = offset[g]  # a signed permutation (G.move)
        # b's box moved: a turn or mirror maps it onto the moved members' box
        by0, by1, bx0, bx1 = box[b]
        cy = [y_l[i] + dy + m00 * (u - y_l[j]) + m01 * (v - x_l[j]) for u in (by0, by1)
              for v in (bx0, bx1)]
        cx = [x_l[i] + dx + m10 * (u - y_l[j]) + m11 * (v - x_l[j]) for u in (by0, by1)
              for v in (bx0, bx1)]
        y0, y1, x0, x1 = box[a]
        y0, y1, x0, x1 = min(y0, *cy), max(y1, *cy), min(x0, *cx), max(x1, *cx)
        if not _fits(y1 - y0 + 1, x1 - x0 + 1, frame, turnable):
            continue
        mb = members[b]
        grid = occ[a]
        oy, ox = y_l[i] + dy, x_l[i] + dx
        if len(mb) <= SMALL:  # scalar lookups: cheaper than array calls for a few pieces
            ql = mb.tolist()
            cells = [(oy + m00 * (y_l[q] - y_l[j]) + m01 * (x_l[q] - x_l[j]) + F,
                      ox + m10 * (y_l[q] - y_l[j]) + m11 * (x_l[q] - x_l[j]) + F) for q in ql]
            if any(grid[u, v] for u, v in cells):
                continue
            nsl = [compose[g][st_l[q]] for q in ql]
            vals = []  # in the order of the array path: moved piece, then direction
            for q, (u, v), sq in zip(ql, cells, nsl, strict=True):
                for D, (ey, ex) in enumerate(dirs):
                    h = int(grid[u + ey, v + ex])
                    if h:
                        iv = inverse[st_l[h - 1]]
                        vals.append(Rflat[h - 1, turn[iv][(D + 2) % 4], q * S + compose[iv][sq]])
            costs = np.array(vals, dtype=R.dtype)
            ny = nx = ns = None
        else:
            ry, rx = y[mb] - y_l[j], x[mb] - x_l[j]
            ny, nx = oy + (m00 * ry + m01 * rx), ox + (m10 * ry + m11 * rx)
            if grid[ny + F, nx + F].any():
                continue
            ns = G.compose[g, st[mb]]
            # every contact of a moved piece q (in direction D + 2 of a placed piece p)
            hit = grid[ny[:, None] + sy, nx[:, None] + sx] - 1
            q, D = np.nonzero(hit >= 0)  # (contacts,)
            p = hit[q, D]
            inv = G.inverse[st[p]]
            costs = Rflat[p, G.turn[inv, (D + 2) % 4], mb[q] * S + G.compose[inv, ns[q]]]
        # their mean as ndarray.mean takes it (a sum in R's type, divided by the count)
        if mean(np.add.reduce(costs) / np.intp(costs.size)) > limit:
            continue
        if ny is None:
            ny = np.array([u - F for u, _ in cells])
            nx = np.array([v - F for _, v in cells])
            ns = np.array(nsl, dtype=np.int64)
        y[mb], x[mb], st[mb], cl[mb] = ny, nx, ns, a
        grid[ny + F, nx + F] = mb + 1
        box[a] = [y0, y1, x0, x1]
        for q_, yq, xq, sq in zip(mb.tolist(), ny.tolist(), nx.tolist(), ns.tolist(),
                                  strict=True):
            cl_l[q_], y_l[q_], x_l[q_], st_l[q_] = a, yq, xq, sq
        members[a] = np.concatenate([members[a], members.pop(b)])
        if len(members[a]) == n:
            break
    return cl, y, x, st


def _fill(R: np.ndarray, G: StateGroup, frame, cells: dict, turnable: bool) -> dict:
    """Place every piece not in ``cells`` ((y, x) -> (piece, state)) next to the placed ones,
    the cheapest (cell, piece, state) by mean ratio over its placed neighbours first (minus 0.1
    per neighbour beyond the first: cells closed on more sides go first; ties: the cell opened
    first).

    Each open cell keeps, in one slot of a table, the summed ratios (n, S) of every candidate
    with the pieces already placed set to inf, so that its best candidate is one argmin and
    the pick is one pass over the open cells. R's entries must be finite."""
    n, _, _, S = R.shape
    free = np.ones(n, bool)
    cap = 4 * len(cells) + 8
    tot = np.empty((cap, n, S), dtype=R.dtype)  # summed ratios of each open cell's candidates
    cnt = np.zeros(cap, np.int64)  # its placed neighbours
    yx = np.zeros((cap, 2), np.int64)
    born = np.zeros(cap, np.int64)  # when it was opened: ties go to the older cell
    alive = np.zeros(cap, bool)
    val = np.full(cap, np.inf, dtype=R.dtype)  # the score of its best candidate,
    bj, bs = np.zeros(cap, np.int64), np.zeros(cap, np.int64)  # and that piece and state
    slot: dict = {}  # open cell -> its slot
    opened = 0
    box = [min(c[0] for c in cells), max(c[0] for c in cells),
           min(c[1] for c in cells), max(c[1] for c in cells)]

    def rescore(k: np.ndarray) -> None:
        flat = tot[k].reshape(len(k), -1).argmin(axis=1)
        j, st = np.divmod(flat, S)
        c = cnt[k]
        val[k] = tot[k, j, st] / c.astype(R.dtype) - (0.1 * (c - 1)).astype(R.dtype)
        bj[k], bs[k] = j, st

    def put(c, p: int, a: int) -> None:
        nonlocal tot, cnt, yx, born, alive, val, bj, bs, opened
        cells[c] = (p, a)
        free[p] = False
        if c in slot:
            alive[slot.pop(c)] = False
        tot[alive, p] = np.inf
        box[:] = [min(box[0], c[0]), max(box[1], c[0]), min(box[2], c[1]), max(box[3], c[1])]
        inv = G.inverse[a]
        for D, (dy, dx) in enumerate(DIRS):  # the open cell in direction D of the new piece
            o = (c[0] + dy, c[1] + dx)
            if o in cells:
                continue
            got = R[p, G.turn[inv, D]][:, G.compose[inv]]  # (n, S): candidate's own state
            if o in slot:
                k = slot[o]
                tot[k] += got
                cnt[k] += 1
            else:
                dead = np.flatnonzero(~alive)
                if not dead.size:  # a larger table
                    tot, cnt, yx, born, val, bj, bs = (
                        np.concatenate([t, np.zeros_like(t)]) for t in
                        (tot, cnt, yx, born, val, bj, bs))
                    alive = np.concatenate([alive, np.zeros_like(alive)])
                    dead = np.flatnonzero(~alive)
                k = int(dead[0])
                tot[k] = got
                tot[k, ~free] = np.inf
                cnt[k], yx[k], born[k], alive[k] = 1, o, opened, True
                opened += 1
                slot[o] = k
            rescore(np.array([k]))

    for p, _ in cells.values():
        free[p] = False
    for c, (p, a) in list(cells.items()):
        put(c, p, a)
    while free.any():
        k = np.flatnonzero(alive)
        y, x = yx[k, 0], yx[k, 1]
        h = np.maximum(box[1], y) - np.minimum(box[0], y) + 1
        w = np.maximum(box[3], x) - np.minimum(box[2], x) + 1
        fits = _fits(h, w, frame, turnable)
        v = np.where(fits, val[k], np.inf)
        ties = k[fits & (v == v.min())]
        pick = ties[born[ties].argmin()]
        j = int(bj[pick])
        put((int(yx[pick, 0]), int(yx[pick, 1])), j, int(bs[pick]))
        again = np.flatnonzero(alive & (bj == j))  # their favourite was just used
        if again.size:
            rescore(again)
    return cells


def tree_attack(pieces: np.ndarray, grid: tuple[int, int], space: StateSpace,
                method: str = "masked", gap: int = 0,
                costs: Callable[[int], np.ndarray] | None = None) -> np.ndarray:
    """Reassemble pieces (M, n, bh, bw, C) uint8 trying every state of every piece:
    (M, gy * bh, gx * bw, C) uint8, one image at a time. ``costs``: image index m -> T
    (n, 4, n, S) of its pieces as :func:`relative_costs` gives them (default: the hand-made
    ``method`` across ``gap`` px), a fresh array each call: it is overwritten with the
    ratios."""
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
        R = _ratios(costs(m), G)  # (n, 4, n, S), in place
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
