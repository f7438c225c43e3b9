"""Edge costs of every piece against every other piece in every state, in matrix products.

The dense extended solver compares every piece in every state with every other piece in every
state: (n * S)^2 pairs, too many at photo size (196 pieces x 96 states). Only j's state *as
seen from i* matters (a transform of the whole pair changes no cost), so here piece i stays as
stored and piece j takes each state t: ``T[i, d, j, t]`` is the cost of j, in state t, lying in
direction d of i (0 right, 1 below, 2 left, 3 above); n * 4 * n * S entries.

The cost is the squared prediction error across the edge (each side extrapolates its last two
lines, across the gap of a dropped border too, and is compared with the other side's outer
line), summed over the rows of the edge. A squared error expands into dot products, so every
direction is a few matrix products of (n, 2LC) by (2LC, nS) instead of n^2 S loops. With
masking, rows where either outer pixel is blanked (0, 0, 0, or white under negative-positive)
are left out and cost what a typical true row costs, as in :mod:`encrypt_tool.audit.compat`.
"""

from __future__ import annotations

import numpy as np

from encrypt_tool.audit.compat import blanked, gradient_model
from encrypt_tool.audit.states import StateSpace, expand

__all__ = ["METHODS", "relative_costs", "side_lines"]

METHODS = ("masked", "prediction", "mgc")


def side_lines(p: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Outer and second pixel lines of side d of pieces p (m, bh, bw, C): 2 x (m, L, C) float64,
    right and left sides top to bottom, lower and upper sides left to right."""
    outer, second = [(p[:, :, -1], p[:, :, -2]), (p[:, -1], p[:, -2]),
                     (p[:, :, 0], p[:, :, 1]), (p[:, 0], p[:, 1])][d]
    return outer.astype(np.float64), second.astype(np.float64)


def _predict(outer, second, blank2, k: int) -> np.ndarray:
    """Each outer line extrapolated k px across the edge; flat where the second line is blank."""
    return np.where(blank2[..., None], outer, outer + k * (outer - second))


def _terms(P, d: int, gap: int, masked: bool, white: bool, facing: bool):
    """Side d of pieces P (m, bh, bw, C) as one factor of the summed squared prediction error:
    features (m, 2L + 2LC) and row weights (m, L) float32 (0 where the outer pixel is blanked).

    ``sum_l wa wb (|pa - B|^2 + |A - pb|^2)``, i's side A (predicted across the edge as pa)
    against j's facing side B (pb), is ``F_i . F_j`` with F_i the features of i's side
    (``facing=False``) and F_j those of j's (``facing=True``)."""
    A, A2 = side_lines(P, d)  # (m, L, C)
    k = 1 + gap
    if masked:
        w = (~blanked(A, white)).astype(np.float64)
        pa = _predict(A, A2, blanked(A2, white), k)
    else:
        w, pa = np.ones(A.shape[:2]), A + k * (A - A2)
    A, pa = A - 127.5, pa - 127.5  # centred: the same differences, smaller sums in float32
    sq = (pa**2).sum(-1) + (A**2).sum(-1)  # (m, L)
    m = len(A)
    if facing:
        parts = [w, w * sq, (w[..., None] * A).reshape(m, -1), (w[..., None] * pa).reshape(m, -1)]
    else:
        parts = [w * sq, w, (-2 * w[..., None] * pa).reshape(m, -1),
                 (-2 * w[..., None] * A).reshape(m, -1)]
    return np.concatenate(parts, axis=1).astype(np.float32), w.astype(np.float32)


def _mgc_terms(A, A2, k: int, eps: float = 1.0):
    """Gallagher's gradient model of one side (m, L, C): inverse covariances V (m, C, C) and
    the predicted lines u = A + k * mean gradient (m, L, C)."""
    inv, mu = gradient_model(A, A2, eps)
    return inv, A + k * mu[:, None]


def _mgc_features(P, d: int, gap: int, facing: bool) -> np.ndarray:
    """Side d of pieces P (m, bh, bw, C) as one factor of MGC both ways: (m, 2C^2 + 2LC + 2).

    One way, ``sum_l (B_l - u_il)^T V_i (B_l - u_il)`` expands to
    ``<V_i, sum_l B_l B_l^T> - 2 sum_l (V_i u_il) . B_l + sum_l u_il^T V_i u_il``; with the
    other way (j's model against i's line) the sum is ``F_i . F_j``, F_i the features of i's
    side (``facing=False``) and F_j those of j's (``facing=True``)."""
    A, A2 = side_lines(P, d)  # (m, L, C)
    m = len(A)
    V, u = _mgc_terms(A, A2, 1 + gap)  # (m, C, C), (m, L, C)
    Q = np.einsum("mlc,mld->mcd", A, A).reshape(m, -1)  # (m, C*C)
    Vu = np.einsum("mcd,mld->mlc", V, u)  # (m, L, C)
    const = (Vu * u).sum((1, 2))[:, None]  # (m, 1)
    one = np.ones((m, 1))
    own = [V.reshape(m, -1), -2 * Vu.reshape(m, -1), const]  # this side's model
    seen = [Q, A.reshape(m, -1), one]  # this side's line, as the other's model sees it
    return np.concatenate(seen + own if facing else own + seen, axis=1)


ROWS = 2**22  # float64 elements of the largest (rows, n * S) temporary: 32 MB


def _blocks(n: int, width: int, rows: int | None = None):
    """Slices of at most ``rows`` pieces (default: ROWS // width) covering 0..n."""
    step = max(1, rows if rows is not None else ROWS // max(1, width))
    return [slice(lo, min(n, lo + step)) for lo in range(0, n, step)]


def relative_costs(pieces: np.ndarray, space: StateSpace, method: str = "masked",
                   gap: int = 0, fill: float = 2.0, rows: int | None = None) -> np.ndarray:
    """Costs T (n, 4, n, S) float32 of piece j in state t in direction d of piece i, pieces
    (n, bh, bw, C) uint8 of one image. ``method``: ``masked`` or ``prediction`` (squared
    prediction error) or ``mgc`` (Mahalanobis gradient compatibility, both ways, as in
    :mod:`encrypt_tool.audit.compat`). A piece never neighbours itself (inf).

    Computed ``rows`` pieces i at a time (prediction costs in float32 products of centred
    pixels, MGC in float64), so that the largest temporary is ~32 MB whatever the size; the
    answer does not depend on ``rows``."""
    if method not in METHODS:
        raise ValueError(f"cost {method!r} is not valid; choose one of {METHODS}")
    n, bh, bw, C = pieces.shape
    S = space.size
    E = expand(pieces[None], space)[0]  # (n*S, bh, bw, C), piece-major
    T = np.empty((n, 4, n * S), dtype=np.float32)
    parts = _blocks(n, n * S, rows)
    if method == "mgc":
        for d in range(4):
            right = _mgc_features(E, (d + 2) % 4, gap, True)  # (nS, K)
            for r in parts:
                T[r, d] = np.maximum(_mgc_features(pieces[r], d, gap, False) @ right.T, 0)
        return _no_self(T.reshape(n, 4, n, S))
    masked = method == "masked"
    white = space.n_g > 1
    if not masked:
        for d in range(4):
            right, _ = _terms(E, (d + 2) % 4, gap, False, white, True)  # (nS, K)
            for r in parts:
                T[r, d] = np.maximum(_terms(pieces[r], d, gap, False, white, False)[0] @ right.T, 0)
        return _no_self(T.reshape(n, 4, n, S))
    best = np.full((n, 4), np.inf)  # each side's best mean row cost
    for d in range(4):
        right, wb = _terms(E, (d + 2) % 4, gap, True, white, True)  # (nS, K), (nS, L)
        for r in parts:
            left, wa = _terms(pieces[r], d, gap, True, white, False)
            total = np.maximum(left @ right.T, 0)  # (rows, nS) float32
            count = wa @ wb.T
            mean = np.divide(total, count, out=np.full_like(total, np.inf), where=count > 0)
            mean = mean.reshape(len(total), n, S)
            i = np.arange(r.start, r.stop)
            mean[i - r.start, i] = np.inf  # not itself
            best[r, d] = mean.reshape(len(total), -1).min(axis=1)
    # blanked rows cost what a typical true row costs: total + (L - count) * fill * typical,
    # one product with the weights appended to the features
    typical = np.median(best[np.isfinite(best)]) if np.isfinite(best).any() else 1.0
    c = np.float32(fill * typical)
    for d in range(4):
        L = (bh, bw, bh, bw)[d]  # rows per edge
        right, wb = _terms(E, (d + 2) % 4, gap, True, white, True)
        right = np.concatenate([right, wb, np.ones((len(wb), 1), np.float32)], axis=1)
        for r in parts:
            left, wa = _terms(pieces[r], d, gap, True, white, False)
            left = np.concatenate([left, -c * wa, np.full((len(wa), 1), L * c, np.float32)], 1)
            T[r, d] = left @ right.T
    return _no_self(T.reshape(n, 4, n, S))


def _no_self(T: np.ndarray) -> np.ndarray:
    """T (n, 4, n, S) with every piece's cost against itself inf."""
    n = len(T)
    T[np.arange(n), :, np.arange(n)] = np.inf
    return T
