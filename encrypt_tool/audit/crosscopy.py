"""Side information from the other copies of the same image.

The N copies of an image are crops of one picture at shifts of up to ``2 * pad`` pixels, some
mirrored. A piece of another copy, shifted against the target's grid, covers parts of two
neighbouring target pieces; its pixels match theirs exactly. Every exact 2x2 patch match
between a helper piece ``q`` and a target piece ``a`` says where ``q`` lies relative to ``a``;
two target pieces matched by the same ``q`` at offsets one block apart are neighbours. The
result is a vote count per candidate pair, (M, n, n, 2) like the dissimilarities.
"""

from __future__ import annotations

import numpy as np

__all__ = ["adjacency_votes"]

_MIX = np.random.default_rng(20240).integers(1, 2**62, size=12, dtype=np.int64) | 1


def _patch_codes(pieces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hash of every 2x2 patch of pieces (..., b, b, C) and whether it is informative.

    Returns codes (..., b-1, b-1) int64 and ok (..., b-1, b-1) bool (not flat, no black pixel).
    """
    p = pieces.astype(np.int64)
    quad = np.stack(
        [p[..., :-1, :-1, :], p[..., :-1, 1:, :], p[..., 1:, :-1, :], p[..., 1:, 1:, :]], axis=-2
    )  # (..., b-1, b-1, 4, C)
    flat = quad.reshape(quad.shape[:-2] + (-1,))  # (..., b-1, b-1, 4C)
    codes = (flat * _MIX[: flat.shape[-1]]).sum(-1)  # wraps modulo 2**64: a hash
    black = (quad == 0).all(-1).any(-1)
    same = (quad == quad[..., :1, :]).all(axis=(-1, -2))
    return codes, ~black & ~same


def adjacency_votes(pieces: np.ndarray, min_support: int = 2) -> np.ndarray:
    """Neighbour votes for the pieces of copy 0 from copies 1..N-1.

    pieces: (M, N, n, b, b, C) uint8 (square blocks). Returns (M, n, n, 2) int: [m, a1, a2, 0]
    counts helper pieces that place a2 right of a1, [.., 1] below.
    """
    M, N, n, bh, bw, C = pieces.shape
    votes = np.zeros((M, n, n, 2), dtype=np.int64)
    if N < 2:
        return votes
    tcode, tok = _patch_codes(pieces[:, 0])  # (M, n, w, w)
    m, a, y, x = np.nonzero(tok)
    key = np.stack([m, tcode[m, a, y, x]], 1)
    _, first, cnt = np.unique(key, axis=0, return_index=True, return_counts=True)
    keep = first[cnt == 1]  # patches that occur once in their target image
    t_m, t_a, t_y, t_x = m[keep], a[keep], y[keep], x[keep]
    t_code = tcode[t_m, t_a, t_y, t_x]
    order = np.lexsort((t_code, t_m))
    t_m, t_a, t_y, t_x, t_code = t_m[order], t_a[order], t_y[order], t_x[order], t_code[order]
    helpers = pieces[:, 1:]  # (M, N-1, n, b, b, C)
    both = np.stack([helpers, helpers[..., :, ::-1, :]], axis=2)  # (M, N-1, 2, n, b, b, C)
    hcode, hok = _patch_codes(both)  # (M, N-1, 2, n, w, w)
    hm, ht, hf, hq, hy, hx = np.nonzero(hok)
    hc = hcode[hm, ht, hf, hq, hy, hx]
    # join helper patches to target patches on (image, code)
    lo = np.searchsorted(t_m, hm, side="left")
    hi = np.searchsorted(t_m, hm, side="right")
    pos = np.empty_like(lo)
    for i in np.unique(hm):  # per image: a sorted run of target codes
        sel = hm == i
        run = t_code[lo[sel][0] : hi[sel][0]]
        pos[sel] = lo[sel] + np.minimum(np.searchsorted(run, hc[sel]), max(len(run) - 1, 0))
    hit = (t_m[np.minimum(pos, len(t_m) - 1)] == hm) & (t_code[np.minimum(pos, len(t_m) - 1)] == hc)
    pos = pos[hit]
    g = np.stack(
        [hm[hit], ht[hit], hf[hit], hq[hit], t_a[pos], t_y[pos] - hy[hit], t_x[pos] - hx[hit]], 1
    )  # (K, 7): image, copy, flip, helper piece, target piece, offset dy, dx of q against a
    if len(g) == 0:
        return votes
    g, support = np.unique(g, axis=0, return_counts=True)
    g = g[support >= min_support]  # sorted by (image, copy, flip, helper piece)
    grp = g[:, :4]
    for k in range(1, 64):
        if k >= len(g):
            break
        same = (grp[k:] == grp[:-k]).all(1)
        if not same.any():
            break
        e1, e2 = g[:-k][same], g[k:][same]
        for u, v in ((e1, e2), (e2, e1)):
            rel = u[:, 5:7] - v[:, 5:7]  # v's target piece relative to u's
            right = (rel[:, 0] == 0) & (rel[:, 1] == bw)
            down = (rel[:, 0] == bh) & (rel[:, 1] == 0)
            np.add.at(votes, (u[right, 0], u[right, 4], v[right, 4], 0), 1)
            np.add.at(votes, (u[down, 0], u[down, 4], v[down, 4], 1), 1)
    return votes
