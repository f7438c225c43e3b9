"""Edge compatibilities between puzzle pieces, for a batch of puzzles.

``D[m, i, j, 0]``: cost of piece ``j`` right of piece ``i``; ``D[m, i, j, 1]``: ``j`` below
``i``. Lower is better; ``D[m, i, i, :]`` is ``inf``.

- SSD: sum of squared differences of the two touching pixel lines.
- Prediction (Pomeranz et al. 2011): each side extrapolates its last two lines linearly across
  the edge, compared with the other side's line in an (L_p)^q norm, p = 0.3, q = 1/16.
- MGC (Gallagher 2012): Mahalanobis distance of the gradient across the edge from the
  distribution of gradients next to it, both ways.
- Masked prediction: the prediction cost per pixel row, summed over rows where neither touching
  pixel is exactly 0 (GridMask holes and zero padding blank pixels to (0, 0, 0); a blanked pixel
  says nothing about its neighbour across the edge). A blanked row costs what a typical true
  row costs (twice the image's median best-match row cost), so a black-against-black edge is
  neither free nor forbidden, and an image-against-hole edge is no longer enormous.
  Sums are raw (no outer power), which weights the edges of an arrangement linearly.
- SSD is returned as its square root (the RGB edge dissimilarity of public GA solvers).
"""

from __future__ import annotations

import numpy as np

__all__ = ["best_buddies", "blanked", "dissimilarity", "edge_pairs", "finish", "gradient_model",
           "normalize"]

METHODS = ("ssd", "prediction", "mgc", "masked")
CHUNK = 2**22  # float64 elements of the largest (m, n, n, L, C) temporary


def _lines(pieces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Right-side lines (outer, second) and left-side lines (outer, second): 4 x (M, n, L, C)."""
    p = pieces.astype(np.float64)
    return p[:, :, :, -1], p[:, :, :, -2], p[:, :, :, 0], p[:, :, :, 1]


def _ssd(a: np.ndarray, b: np.ndarray, gap: int) -> np.ndarray:
    a1, _, _, _ = _lines(a)
    _, _, b1, _ = _lines(b)
    d = a1[:, :, None] - b1[:, None, :]  # (M, na, nb, L, C)
    return np.sqrt(np.einsum("mijlc,mijlc->mij", d, d))


def _integral(*arrays: np.ndarray) -> bool:
    """Whether every array holds integers (pixels as a file stores them)."""
    return all(np.issubdtype(a.dtype, np.integer) for a in arrays)


def _power_of(d: np.ndarray, p: float) -> np.ndarray:
    """``|d| ** p`` (float64) of an integer array ``d``, through a table of the powers of
    0..max|d|: the same values as the float power, computed once per distinct value instead
    of once per element (the fractional power is most of a prediction cost's time)."""
    a = np.abs(d)
    table = np.arange(int(a.max(initial=0)) + 1, dtype=np.float64) ** p
    return table[a]


def _int_lines(pieces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_lines` of integer pieces, kept as int32 (exact for any gap)."""
    p = pieces.astype(np.int32)
    return p[:, :, :, -1], p[:, :, :, -2], p[:, :, :, 0], p[:, :, :, 1]


def _prediction(a: np.ndarray, b: np.ndarray, gap: int, p: float = 0.3, q: float = 1 / 16
                ) -> np.ndarray:
    exact = _integral(a, b)
    a1, a2, _, _ = (_int_lines if exact else _lines)(a)
    _, _, b1, b2 = (_int_lines if exact else _lines)(b)
    k = 1 + gap  # extrapolate across the gap: the neighbour's line lies k px away
    fwd = (a1 + k * (a1 - a2))[:, :, None] - b1[:, None, :]  # (M, na, nb, L, C): i predicts j
    bwd = (b1 + k * (b1 - b2))[:, None, :] - a1[:, :, None]  # j predicts i
    if exact:
        s = _power_of(fwd, p).sum((3, 4)) + _power_of(bwd, p).sum((3, 4))
    else:
        s = (np.abs(fwd) ** p).sum((3, 4)) + (np.abs(bwd) ** p).sum((3, 4))
    return s ** (q / p)


def blanked(line: np.ndarray, white: bool) -> np.ndarray:
    """Pixels (M, n, L, C) blanked to (0, 0, 0), or to (255, 255, 255) too when ``white``
    (negative-positive turns a blanked pixel white): (M, n, L) bool."""
    z = (line == 0).all(-1)
    return z | (line == 255).all(-1) if white else z


def _masked_rows(a: np.ndarray, b: np.ndarray, gap: int, p: float = 0.3, white: bool = False
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Summed prediction cost over valid rows and the count of valid rows: 2 x (M, na, nb)."""
    exact = _integral(a, b)
    a1, a2, _, _ = (_int_lines if exact else _lines)(a)
    _, _, b1, b2 = (_int_lines if exact else _lines)(b)
    za1, za2 = blanked(a[:, :, :, -1], white), blanked(a[:, :, :, -2], white)  # (M, na, L)
    zb1, zb2 = blanked(b[:, :, :, 0], white), blanked(b[:, :, :, 1], white)
    k = 1 + gap
    pa = np.where(za2[..., None], a1, a1 + k * (a1 - a2))  # blanked second line: flat edge
    pb = np.where(zb2[..., None], b1, b1 + k * (b1 - b2))
    fwd = pa[:, :, None] - b1[:, None, :]  # (M, na, nb, L, C)
    bwd = pb[:, None, :] - a1[:, :, None]
    if exact:
        rows = _power_of(fwd, p).sum(-1) + _power_of(bwd, p).sum(-1)  # (M, na, nb, L)
    else:
        rows = (np.abs(fwd) ** p).sum(-1) + (np.abs(bwd) ** p).sum(-1)
    valid = ~za1[:, :, None] & ~zb1[:, None, :]  # (M, na, nb, L)
    return np.where(valid, rows, 0).sum(-1), valid.sum(-1)


def _masked_finish(total: np.ndarray, nv: np.ndarray, L: int, fill: float = 2.0) -> np.ndarray:
    """Blanked rows cost ``fill`` times the image's median best-match row cost."""
    mean = np.where(nv > 0, total / np.maximum(nv, 1), np.inf)
    n = mean.shape[1]
    mean[:, np.arange(n), np.arange(n)] = np.inf
    best = mean.min(axis=2)  # (M, n): each piece's best-match row cost
    typical = np.nanmedian(np.where(np.isfinite(best), best, np.nan), axis=1)  # (M,)
    typical = np.nan_to_num(typical, nan=1.0)[:, None, None]
    return total + (L - nv) * fill * typical


def gradient_model(a1: np.ndarray, a2: np.ndarray, eps: float = 1.0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Gallagher's model of the gradients a1 - a2 (..., L, C) along one side: the inverse
    covariance (..., C, C) (regularised by ``eps``) and the mean gradient (..., C)."""
    g = a1 - a2  # (..., L, C)
    mu = g.mean(axis=-2)  # (..., C)
    gc = g - mu[..., None, :]
    C = g.shape[-1]
    cov = np.einsum("...lc,...ld->...cd", gc, gc) / max(g.shape[-2] - 1, 1) + eps * np.eye(C)
    return np.linalg.inv(cov), mu


def _mgc_one_way(a1, a2, b1, k: float = 1.0, eps: float = 1.0) -> np.ndarray:
    """Gallagher's D_LR: gradients a1 - a2 (M, na, L, C) model the jump b1 - a1 across
    (k pixels: the mean gradient is scaled to the distance)."""
    inv, mu = gradient_model(a1, a2, eps)  # (M, na, C, C), (M, na, C)
    jump = b1[:, None, :] - a1[:, :, None] - k * mu[:, :, None, None]  # (M, na, nb, L, C)
    return np.einsum("mijlc,micd,mijld->mij", jump, inv, jump)


def _mgc(a: np.ndarray, b: np.ndarray, gap: int) -> np.ndarray:
    a1, a2, _, _ = _lines(a)
    _, _, b1, b2 = _lines(b)
    d_lr = _mgc_one_way(a1, a2, b1, 1 + gap)  # (M, na, nb)
    d_rl = _mgc_one_way(b1, b2, a1, 1 + gap)  # (M, nb, na): seen from j's left side
    return d_lr + d_rl.transpose(0, 2, 1)


def _pairs(fn, x: np.ndarray, y: np.ndarray, gap: int, step: int):
    """fn over all (i, j), i of pieces x and j of pieces y (m, n, ...), rows i a block at a
    time."""
    n = x.shape[1]
    parts = [fn(x[:, lo : lo + step], y, gap) for lo in range(0, n, step)]
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(p, axis=1) for p in zip(*parts, strict=True))
    return np.concatenate(parts, axis=1)


def edge_pairs(x: np.ndarray, y: np.ndarray, method: str, gap: int = 0, white: bool = False):
    """Costs of j (pieces y) right of i (pieces x) from their touching lines only: x's last
    two columns, y's first two; x, y (M, n, L, w, C) with w >= 2. Returns (M, n, n), or for
    masked prediction the summed valid-row cost and the valid-row count, to be passed to
    :func:`finish` once the whole matrix is known."""
    fn = {"ssd": _ssd, "prediction": _prediction, "mgc": _mgc,
          "masked": lambda a, b, g: _masked_rows(a, b, g, white=white)}[method]
    M, n, L, w, C = x.shape
    rows = max(1, min(n, CHUNK // max(1, M * n * L * C)))
    return _pairs(fn, x, y, gap, rows)


def finish(parts, method: str, L: int) -> np.ndarray:
    """The final cost matrix from :func:`edge_pairs`' output (M, n, n)."""
    return _masked_finish(*parts, L=L) if method == "masked" else parts


def dissimilarity(pieces: np.ndarray, method: str = "mgc", gap: int = 0,
                  other: np.ndarray | None = None, white: bool = False) -> np.ndarray:
    """Edge dissimilarities of pieces (M, n, bh, bw, C): (M, n, n, 2) float64.

    ``gap``: pixels missing between neighbouring pieces (a dropped border of d px on each
    block leaves 2d); the predictions extrapolate across it. ``other``: pieces j (same shape)
    to compare pieces i with, instead of the pieces themselves. ``white``: masked prediction
    also treats (255, 255, 255) as blanked.
    """
    if method not in METHODS:
        raise ValueError(f"compatibility {method!r} is not valid; choose one of {METHODS}")
    if gap < 0:
        raise ValueError(f"gap {gap} is not valid; it must be >= 0 px")
    fn = {"ssd": _ssd, "prediction": _prediction, "mgc": _mgc,
          "masked": lambda a, b, g: _masked_rows(a, b, g, white=white)}[method]
    M, n, bh, bw, C = pieces.shape
    per_image = n * n * max(bh, bw) * C
    step = max(1, CHUNK // per_image)
    rows = n if per_image <= CHUNK else max(1, CHUNK // (n * max(bh, bw) * C))
    parts = []
    other = pieces if other is None else other
    for lo in range(0, M, step):
        x, y = pieces[lo : lo + step], other[lo : lo + step]
        out = []
        for a, b in ((x, y), (x.transpose(0, 1, 3, 2, 4), y.transpose(0, 1, 3, 2, 4))):
            r = _pairs(fn, a, b, gap, rows)  # (m, n, n) or (total, count); transposed: below
            out.append(_masked_finish(*r, L=a.shape[2]) if method == "masked" else r)
        parts.append(np.stack(out, axis=-1))  # (m, n, n, 2)
    D = np.concatenate(parts) if parts else np.zeros((0, n, n, 2))
    D[:, np.arange(n), np.arange(n)] = np.inf
    return D


def normalize(D: np.ndarray, eps: float = 1e-6, floor: float = 0.1) -> np.ndarray:
    """Divide each dissimilarity by the second-best alternative of both pieces (Paikin & Tal).

    A pair counts as good when it beats the other candidates clearly, not when the edge is flat.
    The divisor is at least ``floor`` times the image's median second-best cost: blank pieces
    (GridMask holes, padding) have several partners at cost 0, and dividing by 0 made every
    real edge of such a piece look impossible (on 224-px photos the true arrangement then cost
    thousands of times the solver's answer).
    """
    s_row = np.sort(D, axis=2)[:, :, 1:2]  # (M, n, 1, 2): i's second-best partner
    s_col = np.sort(D, axis=1)[:, 1:2, :]  # (M, 1, n, 2): j's second-best partner
    finite = np.where(np.isfinite(s_row), s_row, np.nan)
    low = floor * np.nan_to_num(np.nanmedian(finite, axis=(1, 2), keepdims=True), nan=1.0)
    return D / (np.maximum(np.minimum(s_row, s_col), low) + eps)  # low: (M, 1, 1, 2)


def best_buddies(D: np.ndarray) -> np.ndarray:
    """Pairs that prefer each other (Pomeranz et al. 2011): (M, n, n, 2) bool."""
    M, n = D.shape[:2]
    best_j = D.argmin(axis=2)  # (M, n, 2): i's favourite partner j
    best_i = D.argmin(axis=1)  # (M, n, 2): j's favourite partner i
    bb = np.zeros(D.shape, dtype=bool)
    m = np.arange(M)[:, None, None]
    i = np.arange(n)[None, :, None]
    r = np.arange(2)[None, None, :]
    mutual = np.take_along_axis(best_i, best_j, axis=1) == i  # (M, n, 2)
    bb[m, i, best_j, r] = mutual
    return bb
