"""Scores of an attack and of visual security, against the true plain images.

Piece identity is decided by content, so two pixel-identical pieces (two all-black corners,
say) are interchangeable: swapping them changes nothing in the picture and costs nothing.
"""

from __future__ import annotations

import math

import numpy as np

from encrypt_tool.audit.pieces import to_pieces
from encrypt_tool.audit.segments import label_segments, segment_sizes

__all__ = [
    "direct_comparison",
    "key_space_bits",
    "neighbour_comparison",
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


def neighbour_comparison(
    recon: np.ndarray, plain: np.ndarray, block: tuple[int, int]
) -> np.ndarray:
    """Share of the true adjacent pairs (right and below) that the reconstruction also has."""
    M, H, W, _ = plain.shape
    gy, gx = H // block[0], W // block[1]
    both = np.concatenate([to_pieces(plain, block), to_pieces(recon, block)], axis=1)
    n = gy * gx
    cls = _classes(both)  # (M, 2n): ids shared between the two images
    out = np.empty(M)
    for m in range(M):
        codes = []
        for c in (cls[m, :n], cls[m, n:]):
            g = c.reshape(gy, gx)
            h = (g[:, :-1] * 2 * n + g[:, 1:]).ravel() * 2
            v = (g[:-1] * 2 * n + g[1:]).ravel() * 2 + 1
            codes.append(np.concatenate([h, v]))
        t_vals, t_cnt = np.unique(codes[0], return_counts=True)
        r_vals, r_cnt = np.unique(codes[1], return_counts=True)
        _, ti, ri = np.intersect1d(t_vals, r_vals, return_indices=True)
        out[m] = np.minimum(t_cnt[ti], r_cnt[ri]).sum() / len(codes[0])
    return out


def _correct_joins(
    recon: np.ndarray, plain: np.ndarray, block: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Which adjacent positions of recon hold a true neighbour pair (by content), both ways:
    right (M, gy, gx-1) bool and down (M, gy-1, gx) bool."""
    M, H, W, _ = plain.shape
    gy, gx = H // block[0], W // block[1]
    n = gy * gx
    both = np.concatenate([to_pieces(plain, block), to_pieces(recon, block)], axis=1)
    cls = _classes(both)  # (M, 2n): content ids shared between the two images
    t, r = cls[:, :n].reshape(M, gy, gx), cls[:, n:].reshape(M, gy, gx)
    base = (np.arange(M) * 8 * n * n)[:, None, None]  # one code range per image

    def code(g: np.ndarray, axis: int, kind: int) -> np.ndarray:
        a = g[:, :, :-1] if axis == 2 else g[:, :-1]
        b = g[:, :, 1:] if axis == 2 else g[:, 1:]
        return base + (a * 2 * n + b) * 2 + kind

    right = np.isin(code(r, 2, 0), code(t, 2, 0))
    down = np.isin(code(r, 1, 1), code(t, 1, 1))
    return right, down


def segment_scores(
    recon: np.ndarray, plain: np.ndarray, block: tuple[int, int], min_blocks: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Recognisability of reconstructions, per image: two (M,) float64 in 0..1.

    A correct segment is a set of positions joined by true neighbour pairs: a piece of the
    picture assembled right, wherever it sits. Returns the share of the image covered by the
    largest correct segment, and the share of blocks in correct segments of at least
    ``min_blocks`` blocks (single blocks and loose pairs say little to a viewer).
    """
    right, down = _correct_joins(recon, plain, block)
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
