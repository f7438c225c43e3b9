"""Scores of an attack and of visual security, against the true plain images.

Piece identity is decided by content, so two pixel-identical pieces (two all-black corners,
say) are interchangeable: swapping them changes nothing in the picture and costs nothing.
"""

from __future__ import annotations

import math

import numpy as np

from encrypt_tool.audit.pieces import to_pieces
from encrypt_tool.audit.segments import label_segments, segment_sizes
from encrypt_tool.audit.states import global_variants

__all__ = [
    "direct_comparison",
    "key_space_bits",
    "neighbour_comparison",
    "pair_codes",
    "recognisable",
    "segment_scores",
    "perfect",
    "psnr",
    "ssim",
]


LARGEST_SEGMENT = 0.25  # share of the image in one correct segment: recognisable
IN_SEGMENTS = 0.5  # share of blocks in correct segments of >= 4 blocks: recognisable


def key_space_bits(grid: tuple[int, int]) -> float:
    """log2((gy*gx)!): bits of one block permutation, the key of one image copy."""
    return math.lgamma(grid[0] * grid[1] + 1) / math.log(2)


def direct_comparison(recon: np.ndarray, plain: np.ndarray, block: tuple[int, int]) -> np.ndarray:
    """Share of grid positions holding the right block, per image: (M,) float64."""
    a, b = to_pieces(recon, block), to_pieces(plain, block)  # (M, n, bh, bw, C)
    return (a == b).all(axis=(2, 3, 4)).mean(axis=1)


def _classes(pieces: np.ndarray) -> np.ndarray:
    """Content class of each piece (equal ids for pixel-identical pieces): (M, n) int64."""
    M, n = pieces.shape[:2]
    flat = np.ascontiguousarray(pieces.reshape(M, n, -1))
    rows = flat.view(np.dtype((np.void, flat.shape[2]))).reshape(M, n)  # one bytes value each
    out = np.empty((M, n), dtype=np.int64)
    for m in range(M):
        out[m] = np.unique(rows[m], return_inverse=True)[1].ravel()
    return out


def pair_codes(plain: np.ndarray, recon: np.ndarray, block: tuple[int, int], space=None):
    """Content codes of adjacent pairs: right (M, gy, gx-1) and down (M, gy-1, gx) int64 of
    recon, and the true pairs' codes (M, V, T) of each whole-picture variant of plain; computed
    once, they serve :func:`neighbour_comparison` and :func:`segment_scores` alike.

    A pair of two one-colour blocks (GridMask holes, padding) gets code -1: it shows nothing
    joined, and any two blank blocks side by side would otherwise count as a true pair.
    With ``space`` (a :class:`~encrypt_tool.audit.states.StateSpace`), the true pairs are
    those of plain under each transform of the whole picture: a pair of blocks joined right
    but turned (or inverted, or recoloured) as one still shows that part of the picture, so it
    counts wherever it sits and whatever the rest of the answer's state.
    """
    M, H, W, _ = plain.shape
    gy, gx = H // block[0], W // block[1]
    views = list(global_variants(plain, space)) if space is not None else [plain]
    both = np.concatenate([to_pieces(v, block) for v in views] + [to_pieces(recon, block)],
                          axis=1)  # (M, (V + 1) n, bh, bw, C)
    cls = _classes(both)  # (M, (V + 1) n): ids shared between every view and recon
    flat = (both == both[:, :, :1, :1]).all(axis=(2, 3, 4))  # (M, (V + 1) n): one colour
    k = cls.shape[1]
    base = (np.arange(M, dtype=np.int64) * 2 * k * k)[:, None, None]  # one range per image

    def code(g: np.ndarray, f: np.ndarray, axis: int, kind: int) -> np.ndarray:
        a, b = (g[:, :, :-1], g[:, :, 1:]) if axis == 2 else (g[:, :-1], g[:, 1:])
        fa, fb = (f[:, :, :-1], f[:, :, 1:]) if axis == 2 else (f[:, :-1], f[:, 1:])
        return np.where(fa & fb, -1, base + (a * k + b) * 2 + kind)

    grids = cls.reshape(M, len(views) + 1, gy, gx)
    flats = flat.reshape(M, len(views) + 1, gy, gx)
    truth = np.stack([np.concatenate([code(grids[:, v], flats[:, v], 2, 0).reshape(M, -1),
                                      code(grids[:, v], flats[:, v], 1, 1).reshape(M, -1)],
                                     axis=1)
                      for v in range(len(views))], axis=1)  # (M, V, T)
    r, f = grids[:, -1], flats[:, -1]
    return code(r, f, 2, 0), code(r, f, 1, 1), truth


def neighbour_comparison(
    recon: np.ndarray, plain: np.ndarray, block: tuple[int, int], space=None, codes=None
) -> np.ndarray:
    """Share of the true adjacent pairs (right and below) that the reconstruction also has,
    pairs of two one-colour blocks left out of both counts (0 when every pair is such);
    with ``space``, a pair counts under any one transform of the whole picture (see
    :func:`pair_codes`), as often as it occurs in the one view that has it most. ``codes``: from
    :func:`pair_codes`, when already computed."""
    right, down, truth = codes if codes is not None else pair_codes(plain, recon, block, space)
    M = len(plain)
    out = np.zeros(M)
    for m in range(M):
        pairs = int((truth[m, 0] >= 0).sum())  # informative true pairs of one view
        if pairs == 0:
            continue
        t_vals, t_cnt = _most_in_one_view(truth[m])
        r_vals, r_cnt = np.unique(np.concatenate([right[m].ravel(), down[m].ravel()]),
                                  return_counts=True)
        _, ti, ri = np.intersect1d(t_vals[t_vals >= 0], r_vals, return_indices=True)
        out[m] = min(1.0, np.minimum(t_cnt[t_vals >= 0][ti], r_cnt[ri]).sum() / pairs)
    return out


def _most_in_one_view(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct codes of (V, T) views and each one's largest count in any one view."""
    per = [np.unique(v, return_counts=True) for v in codes]
    vals = np.concatenate([p[0] for p in per])
    cnt = np.concatenate([p[1] for p in per])
    order = np.lexsort((-cnt, vals))  # by code, largest count first
    vals, cnt = vals[order], cnt[order]
    first = np.r_[True, vals[1:] != vals[:-1]]
    return vals[first], cnt[first]


def _correct_joins(
    recon: np.ndarray, plain: np.ndarray, block: tuple[int, int], space=None, codes=None
) -> tuple[np.ndarray, np.ndarray]:
    """Which adjacent positions of recon hold a true neighbour pair (by content), both ways:
    right (M, gy, gx-1) bool and down (M, gy-1, gx) bool. Two blocks of one colour each (blank
    holes, padding) show nothing joined, so their join does not count."""
    right, down, truth = codes if codes is not None else pair_codes(plain, recon, block, space)
    return np.isin(right, truth) & (right >= 0), np.isin(down, truth) & (down >= 0)


def segment_scores(
    recon: np.ndarray, plain: np.ndarray, block: tuple[int, int], min_blocks: int = 4,
    space=None, codes=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Recognisability of reconstructions, per image: two (M,) float64 in 0..1.

    A correct segment is a set of positions joined by true neighbour pairs: a piece of the
    picture assembled right, wherever it sits. Returns the share of the image covered by the
    largest correct segment, and the share of blocks in correct segments of at least
    ``min_blocks`` blocks (single blocks and loose pairs say little to a viewer). ``space``:
    joins count under any transform of the whole picture, as in :func:`neighbour_comparison`.
    A join of two one-colour blocks (blank holes, padding) joins nothing.
    """
    right, down = _correct_joins(recon, plain, block, space, codes)
    sizes = segment_sizes(label_segments(right, down)).reshape(len(plain), -1)  # (M, n)
    return sizes.max(axis=1) / sizes.shape[1], (sizes >= min_blocks).mean(axis=1)


def recognisable(largest: np.ndarray, in_segments: np.ndarray) -> np.ndarray:
    """Whether a viewer would recognise each image from its reconstruction: (M,) bool.

    Thresholds (docs/AUDIT.md): the largest correct segment covers at least a quarter of the
    image, or at least half of the blocks lie in correct segments of 4 or more blocks.
    """
    return (largest >= LARGEST_SEGMENT) | (in_segments >= IN_SEGMENTS)


def perfect(recon: np.ndarray, plain: np.ndarray) -> np.ndarray:
    """Whether each reconstruction equals its plain image exactly: (M,) bool."""
    return (recon == plain).reshape(len(plain), -1).all(axis=1)


def psnr(x: np.ndarray, y: np.ndarray, peak: float = 255.0) -> np.ndarray:
    """PSNR in dB per image of (M, H, W, C) arrays; inf for identical images."""
    mse = ((x.astype(np.float64) - y.astype(np.float64)) ** 2).reshape(len(x), -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(peak**2 / mse)


def _gaussian(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    t = np.arange(size) - (size - 1) / 2
    g = np.exp(-(t**2) / (2 * sigma**2))
    return g / g.sum()


def _filter(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable 'valid' filtering over axes 1 and 2 of (M, H, W, C)."""
    k = len(g)
    win = np.lib.stride_tricks.sliding_window_view(x, k, axis=1)  # (M, H-k+1, W, C, k)
    x = win @ g
    win = np.lib.stride_tricks.sliding_window_view(x, k, axis=2)
    return win @ g


def ssim(x: np.ndarray, y: np.ndarray, peak: float = 255.0) -> np.ndarray:
    """Mean SSIM per image (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5, per channel.

    x, y: (M, H, W, C); returns (M,) float64.
    """
    if x.shape != y.shape:
        raise ValueError(f"shapes {x.shape} and {y.shape} differ")
    x, y = x.astype(np.float64), y.astype(np.float64)
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    g = _gaussian()
    mx, my = _filter(x, g), _filter(y, g)
    sxx = _filter(x * x, g) - mx**2
    syy = _filter(y * y, g) - my**2
    sxy = _filter(x * y, g) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    return s.reshape(len(s), -1).mean(axis=1)
