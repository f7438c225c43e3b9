"""A built-in synthetic dataset whose class lives in local texture, so it survives block scrambling.

Each class is a (palette, stripe texture) pair: 2 two-colour palettes x 5 stripe patterns
(vertical or horizontal stripes of period 5 or 10 pixels, diagonal of period 7). Both palettes
have nearly the same mean colour, so the mean colour of an image says little about its class; the
class shows in which two colours alternate and in the direction and frequency of the
alternation, visible inside every 8 x 8 block. Per image, the colours, stripe angle, frequency,
phase and contrast and a linear illumination gradient are jittered, grey distractor stripes of
random direction and period are overlaid, and smooth noise is added. A small CNN reaches ~90 % on
block-scrambled images after one epoch; the class-mean colour alone is at chance.

Image i of a split is a pure function of (split, i): a counter-based hash replaces a stateful
generator, so any batching of the reads gives the same bytes.
"""

from __future__ import annotations

import numpy as np

from encrypt_tool.sources.base import Source, SourceError, SplitSource

__all__ = ["CLASS_NAMES", "SyntheticSplit", "open_synthetic"]

SIZE = 32
PALETTES = {  # name: (colour a, colour b), RGB; both average to about (135, 128, 125)
    "redcyan": ((215, 60, 60), (55, 195, 190)),
    "blueyellow": ((60, 70, 215), (210, 190, 40)),
}
TEXTURES = {  # name: (angle of the wave direction in degrees, period in pixels)
    "vert5": (0.0, 5.0),
    "horz5": (90.0, 5.0),
    "diag7": (45.0, 7.0),
    "vert10": (0.0, 10.0),
    "horz10": (90.0, 10.0),
}
CLASS_NAMES = tuple(f"{p}-{t}" for p in PALETTES for t in TEXTURES)
_PAL = np.array([PALETTES[n.split("-")[0]] for n in CLASS_NAMES], np.float32)  # (K, 2, 3)
_TEX = np.array([TEXTURES[n.split("-")[1]] for n in CLASS_NAMES], np.float32)  # (K, 2)
_SPLIT_IDS = {"train": 1, "test": 2}
_CHUNK = 1024  # images generated at a time, bounds the float temporaries to ~40 MB


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """Counter-based 64-bit hash (SplitMix64 finaliser), elementwise on uint64."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _uniform(keys: np.ndarray, stream: int) -> np.ndarray:
    """Uniform [0, 1) float64 per key for a numbered stream of randomness."""
    h = _splitmix64(keys ^ _splitmix64(np.uint64(stream) + np.zeros_like(keys)))
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _image_keys(split_id: int, idx: np.ndarray) -> np.ndarray:
    return _splitmix64((np.uint64(split_id) << np.uint64(40)) + idx.astype(np.uint64))


def synthetic_labels(split_id: int, idx: np.ndarray) -> np.ndarray:
    """Labels of images ``idx``: each aligned group of 10 has every class once, in hashed order."""
    k = len(CLASS_NAMES)
    groups = np.unique(idx // k)  # (G,)
    slots = groups[:, None] * k + np.arange(k)  # (G, K)
    perm = np.argsort(_uniform(_image_keys(split_id, slots), 99), axis=1)  # (G, K)
    return perm[np.searchsorted(groups, idx // k), idx % k].astype(np.int64)


def _smooth_noise(keys: np.ndarray) -> np.ndarray:
    """Noise (B, H, W, 3) float32 in about [-1, 1], 3x3 box-blurred so neighbours correlate."""
    b = len(keys)
    n16 = (SIZE + 2) * (SIZE + 2) * 3
    cells = np.arange((n16 + 3) // 4, dtype=np.uint64)  # 4 x 16-bit values per hash
    h = _splitmix64(keys[:, None] ^ _splitmix64(cells + np.uint64(1 << 32))[None, :])  # (B, M)
    raw = h.view(np.uint16).reshape(b, -1)[:, :n16].astype(np.float32)  # (B, n16)
    raw = raw.reshape(b, SIZE + 2, SIZE + 2, 3) * (2.0 / 65535.0) - 1.0
    rows = raw[:, :-2] + raw[:, 1:-1] + raw[:, 2:]  # (B, H, W+2, 3)
    return (rows[:, :, :-2] + rows[:, :, 1:-1] + rows[:, :, 2:]) * (3.0 / 9.0)  # (B, H, W, 3)


def render(split_id: int, idx: np.ndarray) -> np.ndarray:
    """Images ``idx`` of split ``split_id``: (B, 32, 32, 3) uint8."""
    keys = _image_keys(split_id, idx)  # (B,) uint64
    y = synthetic_labels(split_id, idx)  # (B,)
    u = np.stack([_uniform(keys, s) for s in range(15)], axis=1).astype(np.float32)  # (B, 15)
    angle = np.deg2rad(_TEX[y, 0] + (u[:, 0] - 0.5) * 24.0)  # +-12 degrees
    freq = (1.0 + (u[:, 1] - 0.5) * 0.4) / _TEX[y, 1]  # +-20 %, cycles per pixel
    phase = u[:, 2] * 2.0 * np.pi
    contrast = 0.3 + 0.5 * u[:, 3]
    d_angle = u[:, 12] * np.pi  # distractor: grey stripes of any direction and period 4..12
    d_freq = 1.0 / (4.0 + 8.0 * u[:, 13])
    d_phase = u[:, 14] * 2.0 * np.pi
    pal = _PAL[y] + (u[:, 4:10].reshape(-1, 2, 3) - 0.5) * 60.0  # (B, 2, 3), +-30 per channel
    grad = (u[:, 10:12] - 0.5) * 3.0  # (B, 2) brightness change per pixel along x and y

    c = (np.arange(SIZE, dtype=np.float32) - (SIZE - 1) / 2)  # (W,) centred coordinate
    xx, yy = c[None, None, :], c[None, :, None]  # (1, 1, W), (1, H, 1)
    wave_u = xx * np.cos(angle)[:, None, None] + yy * np.sin(angle)[:, None, None]  # (B, H, W)
    wave = np.sin(2 * np.pi * freq[:, None, None] * wave_u + phase[:, None, None])
    w = (0.5 + 0.5 * contrast[:, None, None] * wave)[..., None]  # (B, H, W, 1)
    img = (1 - w) * pal[:, None, None, 0] + w * pal[:, None, None, 1]  # (B, H, W, 3)
    img += (grad[:, 0, None, None] * xx + grad[:, 1, None, None] * yy)[..., None]
    d_u = xx * np.cos(d_angle)[:, None, None] + yy * np.sin(d_angle)[:, None, None]  # (B, H, W)
    img += (25.0 * np.sin(2 * np.pi * d_freq[:, None, None] * d_u + d_phase[:, None, None]))[
        ..., None
    ]
    img += _smooth_noise(keys) * 45.0
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


class SyntheticSplit(SplitSource):
    """``n`` generated images of one split ("train" or "test"), rendered on demand in ``read``."""

    def __init__(self, split: str, n: int) -> None:
        super().__init__()
        if split not in _SPLIT_IDS:
            raise SourceError(f"unknown synthetic split {split!r}; allowed: {sorted(_SPLIT_IDS)}")
        self.split = split
        self.n = int(n)
        self.image_shape = (SIZE, SIZE, 3)
        self.exact = None

    def _read(self, start: int, stop: int) -> np.ndarray:
        out = np.empty((stop - start, *self.image_shape), np.uint8)  # (B, H, W, C) uint8
        for s in range(start, stop, _CHUNK):
            e = min(stop, s + _CHUNK)
            out[s - start : e - start] = render(_SPLIT_IDS[self.split], np.arange(s, e))
        return out

    def _load_labels(self) -> np.ndarray:
        return synthetic_labels(_SPLIT_IDS[self.split], np.arange(self.n))


def open_synthetic(n_train: int = 5000, n_test: int = 1000) -> Source:
    """The synthetic dataset with ``n_train`` training and ``n_test`` test images."""
    for what, n in (("training", n_train), ("test", n_test)):
        if n < 1:
            raise SourceError(f"synthetic needs at least 1 {what} image, got {n}")
    splits = {"train": SyntheticSplit("train", n_train), "test": SyntheticSplit("test", n_test)}
    return Source("synthetic", CLASS_NAMES, splits)
