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


def _direction(P, E, d: int, gap: int, masked: bool, white: bool):
    """Summed row costs and valid-row counts of E's pieces (nS) in direction d of P's (n):
    2 x (n, nS) float64."""
    A, A2 = side_lines(P, d)  # (n, L, C): i's side facing j
    B, B2 = side_lines(E, (d + 2) % 4)  # (nS, L, C): j's side facing i
    k = 1 + gap
    if masked:
        wa, wb = ~blanked(A, white), ~blanked(B, white)  # (n, L), (nS, L)
        pa, pb = _predict(A, A2, blanked(A2, white), k), _predict(B, B2, blanked(B2, white), k)
    else:
        wa, wb = np.ones(A.shape[:2]), np.ones(B.shape[:2])
        pa, pb = A + k * (A - A2), B + k * (B - B2)
    wa, wb = wa.astype(np.float64), wb.astype(np.float64)
    alpha = (pa**2).sum(-1) + (A**2).sum(-1)  # (n, L)
    beta = (B**2).sum(-1) + (pb**2).sum(-1)  # (nS, L)
    n, m = len(A), len(B)
    left = np.concatenate([(wa[..., None] * pa).reshape(n, -1),
                           (wa[..., None] * A).reshape(n, -1)], axis=1)  # (n, 2LC)
    right = np.concatenate([(wb[..., None] * B).reshape(m, -1),
                            (wb[..., None] * pb).reshape(m, -1)], axis=1)  # (nS, 2LC)
    total = (wa * alpha) @ wb.T + wa @ (wb * beta).T - 2 * left @ right.T
    return np.maximum(total, 0), wa @ wb.T


def _mgc_terms(A, A2, k: int, eps: float = 1.0):
    """Gallagher's gradient model of one side (m, L, C): inverse covariances V (m, C, C) and
    the predicted lines u = A + k * mean gradient (m, L, C)."""
    inv, mu = gradient_model(A, A2, eps)
    return inv, A + k * mu[:, None]


def _one_way(V, u, B) -> np.ndarray:
    """sum over rows of (B - u)^T V (B - u), for every V, u of i (n) and B of j (m): (n, m).
    Expanded: <V_i, sum_l B_l B_l^T> - 2 sum_l (V_i u_il) . B_l + sum_l u_il^T V_i u_il."""
    n, m = len(V), len(B)
    Q = np.einsum("mlc,mld->mcd", B, B).reshape(m, -1)  # (m, C*C)
    Vu = np.einsum("ncd,nld->nlc", V, u)  # (n, L, C)
    const = (Vu * u).sum((1, 2))  # (n,)
    return V.reshape(n, -1) @ Q.T - 2 * Vu.reshape(n, -1) @ B.reshape(m, -1).T + const[:, None]


def _mgc_direction(P, E, d: int, gap: int) -> np.ndarray:
    """MGC (both ways) of E's pieces (nS) in direction d of P's (n): (n, nS) float64."""
    A, A2 = side_lines(P, d)
    B, B2 = side_lines(E, (d + 2) % 4)
    Va, ua = _mgc_terms(A, A2, 1 + gap)
    Vb, ub = _mgc_terms(B, B2, 1 + gap)
    return np.maximum(_one_way(Va, ua, B) + _one_way(Vb, ub, A).T, 0)


def relative_costs(pieces: np.ndarray, space: StateSpace, method: str = "masked",
                   gap: int = 0, fill: float = 2.0) -> np.ndarray:
    """Costs T (n, 4, n, S) of piece j in state t in direction d of piece i, pieces
    (n, bh, bw, C) uint8 of one image. ``method``: ``masked`` or ``prediction`` (squared
    prediction error) or ``mgc`` (Mahalanobis gradient compatibility, both ways, as in
    :mod:`encrypt_tool.audit.compat`). A piece never neighbours itself (inf)."""
    if method not in METHODS:
        raise ValueError(f"cost {method!r} is not valid; choose one of {METHODS}")
    n, bh, bw, C = pieces.shape
    S = space.size
    E = expand(pieces[None], space)[0]  # (n*S, bh, bw, C), piece-major
    if method == "mgc":
        T = np.stack([_mgc_direction(pieces, E, d, gap) for d in range(4)], axis=1)
        T = T.reshape(n, 4, n, S)
        T[np.arange(n), :, np.arange(n)] = np.inf
        return T
    masked = method == "masked"
    parts = [_direction(pieces, E, d, gap, masked, space.n_g > 1) for d in range(4)]
    total = np.stack([t for t, _ in parts], axis=1)  # (n, 4, nS)
    count = np.stack([c for _, c in parts], axis=1)
    L = np.array([bh, bw, bh, bw], dtype=np.float64)[None, :, None]  # rows per edge
    if masked:
        mean = np.where(count > 0, total / np.maximum(count, 1), np.inf)
        mean = mean.reshape(n, 4, n, S)
        mean[np.arange(n), :, np.arange(n)] = np.inf
        best = mean.reshape(n, 4, -1).min(axis=2)  # (n, 4): each side's best row cost
        typical = np.median(best[np.isfinite(best)]) if np.isfinite(best).any() else 1.0
        total = total + (L - count) * fill * typical
    T = total.reshape(n, 4, n, S)
    T[np.arange(n), :, np.arange(n)] = np.inf
    return T
