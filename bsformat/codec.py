"""JPEG storage of image copies: the store spec, the block-grid rule, batch encode and decode.

``--store jpeg[:Q[:SUB]]`` keeps every stored copy as a baseline JPEG of quality Q (default 90)
with chroma subsampling SUB, ``444`` (default) or ``420``. A scrambled image only compresses
like the plain image when every block edge falls on the JPEG grid: 8x8 DCT blocks for the luma
and, with 4:2:0, 16x16 pixels per chroma block. Blocks off that grid put the sharp edges between
unrelated blocks inside DCT blocks, which costs bits and rings across the edges, so they are
refused (:func:`check_grid`). Encoding and decoding run in threads: Pillow's codec releases the
GIL. Decoding is lossy against the scrambled pixels that were encoded.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image

__all__ = ["StoreSpec", "check_grid", "decode_batch", "encode_batch", "parse_store"]

_SUBSAMPLING = {"444": 0, "420": 2}  # Pillow's subsampling codes
_GRID = {"444": 8, "420": 16}


@dataclass(frozen=True)
class StoreSpec:
    """How copies are stored: ``raw`` pixels or ``jpeg`` of ``quality`` and ``subsampling``."""

    kind: str = "raw"
    quality: int = 90
    subsampling: str = "444"

    @property
    def grid(self) -> int:
        """The side in pixels that block sizes must be a multiple of (1 for raw)."""
        return _GRID[self.subsampling] if self.kind == "jpeg" else 1

    def to_json(self) -> dict:
        if self.kind == "raw":
            return {"kind": "raw"}
        return {"kind": "jpeg", "quality": self.quality, "subsampling": self.subsampling}

    def __str__(self) -> str:
        return "raw" if self.kind == "raw" else f"jpeg:{self.quality}:{self.subsampling}"


def parse_store(text: str) -> StoreSpec:
    """``raw``, ``jpeg``, ``jpeg:Q`` or ``jpeg:Q:444|420`` -> StoreSpec; ValueError otherwise."""
    parts = str(text).strip().lower().split(":")
    bad = (f"--store {text!r} is not valid; use raw, jpeg, jpeg:Q or jpeg:Q:444|420 with "
           f"Q from 1 to 100, such as jpeg:90")
    if parts == ["raw"]:
        return StoreSpec()
    if parts[0] != "jpeg" or len(parts) > 3:
        raise ValueError(bad)
    try:
        quality = int(parts[1]) if len(parts) > 1 else 90
    except ValueError:
        raise ValueError(bad) from None
    sub = parts[2] if len(parts) > 2 else "444"
    if not 1 <= quality <= 100 or sub not in _SUBSAMPLING:
        raise ValueError(bad)
    return StoreSpec("jpeg", quality, sub)


def check_grid(block: tuple[int, int], image_hw: tuple[int, int], store: StoreSpec) -> None:
    """ValueError unless the blocks and the image fall on the JPEG grid of ``store``."""
    g = store.grid
    bh, bw = block
    h, w = image_hw
    if bh % g or bw % g:
        raise ValueError(
            f"block size {bh}x{bw} is off the JPEG grid of --store {store}: blocks must be "
            f"multiples of {g} px ({'8' if g == 8 else '16 with 4:2:0 chroma; 8 with 444'}), "
            f"or JPEG compresses the edges between unrelated blocks inside its own blocks "
            f"(more bytes, artefacts across blocks); use --block-size {max(g, bh - bh % g)} "
            f"or --store raw")
    if h % g or w % g:
        raise ValueError(f"image size {h}x{w} is off the JPEG grid of --store {store}: both "
                         f"sides must be multiples of {g} px")


def _encode(x: np.ndarray, store: StoreSpec) -> bytes:
    im = Image.fromarray(x[..., 0] if x.shape[-1] == 1 else x)  # (H, W) or (H, W, 3) uint8
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=store.quality, subsampling=_SUBSAMPLING[store.subsampling],
            optimize=False)
    return buf.getvalue()


def encode_batch(x: np.ndarray, store: StoreSpec, threads: int = 1) -> list[bytes]:
    """JPEG bytes of every image of x (B, H, W, C) uint8, C in (1, 3); same encoder settings,
    same bytes."""
    if store.kind != "jpeg":
        raise ValueError(f"encode_batch needs a jpeg store, got {store}")
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise ValueError(f"expected (B, H, W, 1 or 3) uint8 images, got {x.shape} {x.dtype}")
    if threads <= 1 or len(x) < 2:
        return [_encode(img, store) for img in x]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda img: _encode(img, store), x))


def _decode(blob: bytes, shape: tuple[int, int, int]) -> np.ndarray:
    with Image.open(io.BytesIO(bytes(blob))) as im:
        arr = np.asarray(im)  # (H, W) or (H, W, 3) uint8
    arr = arr[..., None] if arr.ndim == 2 else arr
    if arr.shape != tuple(shape):
        raise ValueError(f"a stored JPEG decodes to {arr.shape}, expected {tuple(shape)}")
    return arr


def decode_batch(blobs, shape: tuple[int, int, int], threads: int = 1) -> np.ndarray:
    """Decode JPEG bytes (a sequence of B) into (B, H, W, C) uint8 of ``shape`` (H, W, C)."""
    out = np.empty((len(blobs), *shape), dtype=np.uint8)  # (B, H, W, C)
    if threads <= 1 or len(blobs) < 2:
        for i, b in enumerate(blobs):
            out[i] = _decode(b, shape)
        return out

    def one(i: int) -> None:
        out[i] = _decode(blobs[i], shape)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(len(blobs))))
    return out
