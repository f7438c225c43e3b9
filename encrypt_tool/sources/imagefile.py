"""One image file to a uint8 array: mode rules, resize + centre crop, and a recursive finder.

Modes (``channels``):
- ``"rgb"``: (H, W, 3). Grayscale is replicated into three equal channels; palette images are
  expanded; 16-bit and float images are scaled to 8 bits; an image with transparency (RGBA,
  LA, a palette with a transparent colour) is composited on **white**, so pixels hidden by the
  alpha channel stay hidden and transparent areas look as a viewer shows them.
- ``"l"``: (H, W, 1) luma, ITU-R 601-2 (Pillow's ``convert("L")``), after the same compositing.

Size (``size=(h, w)``): the image is scaled so that it covers h x w, keeping its aspect, then
the centre h x w is cut out. For a square size S this is exactly torchvision's
``Resize(S) + CenterCrop(S)`` on a PIL image: bilinear interpolation with Pillow's antialiasing
(a filter as wide as the downscale), the long side truncated to ``int(S * long / short)``, the
crop offset ``round((side - S) / 2)``.

Reduced-scale decoding: a JPEG at least four times the covering size on both sides is decoded
at 1/2, 1/4 or 1/8 scale (Pillow's ``draft``, a DCT-domain downscale) while keeping at least
twice the covering size, then resized exactly as above. Measured against the full decode
(bench/bench_draft.py): at most 3 levels and a mean of 0.19 levels (of 255) apart, 2x faster
at 2000x1500 -> 224 and 2.6x at 4000x3000; below the 4x threshold the decode is the full
one, pixel for pixel.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = [
    "BAD_IMAGE_ERRORS", "CHANNELS", "DRAFT_MARGIN", "IMAGE_SUFFIXES", "draft_for",
    "enlarged_note", "find_images", "parse_image_size", "read_image", "resize_center_crop",
    "to_mode",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff")
CHANNELS = ("rgb", "l")
BAD_IMAGE_ERRORS = (
    OSError, SyntaxError, ValueError, UnidentifiedImageError, Image.DecompressionBombError,
)
ALPHA_BACKGROUND = (255, 255, 255)
DRAFT_MARGIN = 2  # a reduced-scale decode keeps at least this many times the covering size


def find_images(root: str | Path) -> list[Path]:
    """Image files under ``root`` at any depth, sorted; hidden files and folders are skipped."""
    root = Path(root)
    found = []
    for p in root.rglob("*"):
        rel = p.relative_to(root).parts
        if any(part.startswith(".") for part in rel):
            continue
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file():
            found.append(p)
    return sorted(found)


def parse_image_size(text: str) -> tuple[int, int]:
    """``"224"`` -> (224, 224); ``"224x160"`` -> (224, 160) as (H, W); ValueError otherwise."""
    parts = str(text).lower().split("x")
    try:
        h, w = (int(parts[0]), int(parts[0])) if len(parts) == 1 else (int(parts[0]), int(parts[1]))
    except (ValueError, IndexError):
        h = w = 0
    if len(parts) > 2 or h < 1 or w < 1 or max(h, w) > 16384:
        raise ValueError(f"--image-size {text!r} is not valid; use S or HxW with whole numbers "
                         f"from 1 to 16384, such as 224 or 224x160")
    return h, w


def to_mode(im: Image.Image, channels: str = "rgb") -> Image.Image:
    """``im`` as an 8-bit RGB or L image, by the rules in the module docstring."""
    if channels not in CHANNELS:
        raise ValueError(f"channels {channels!r} is not valid; use rgb or l")
    target = "RGB" if channels == "rgb" else "L"
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        a = np.asarray(im, dtype=np.float64)  # (H, W)
        top = 65535.0 if im.mode != "F" and a.max(initial=0) > 255 else 255.0
        top = 1.0 if im.mode == "F" and a.max(initial=0) <= 1.0 else top
        im = Image.fromarray(np.clip(a * (255.0 / top) + 0.5, 0, 255).astype(np.uint8), "L")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = im.convert("RGBA")
        back = Image.new("RGBA", rgba.size, (*ALPHA_BACKGROUND, 255))
        im = Image.alpha_composite(back, rgba)
    return im if im.mode == target else im.convert(target)


def _cover(w: int, h: int, size: tuple[int, int]) -> tuple[int, int]:
    """(W, H) of a w x h image scaled to cover ``size`` (H, W), as :func:`resize_center_crop`."""
    th, tw = size
    if th * w >= tw * h:  # the height decides the scale (torchvision: shorter side for squares)
        return max(tw, int(th * w / h)), th
    return tw, max(th, int(tw * h / w))


def draft_for(im: Image.Image, size: tuple[int, int], margin: int = DRAFT_MARGIN) -> bool:
    """Ask a JPEG ``im`` (not yet loaded) to decode at 1/2, 1/4 or 1/8 scale where it stays at
    least ``margin`` times the size that covers ``size`` (H, W); True when it will."""
    if im.format != "JPEG" or margin < 1:
        return False
    nw, nh = _cover(*im.size, size)
    before = im.size
    im.draft(im.mode, (nw * margin, nh * margin))
    return im.size != before


def enlarged_note(sizes: list[tuple[str, int, int]], size: tuple[int, int]) -> str | None:
    """The warning for the images that :func:`resize_center_crop` enlarges to cover ``size``
    (H, W), given (name, W, H) of every image: how many, and the one enlarged most; None when
    none is (``dataset --image-size`` and ``query --resize`` say it the same way)."""
    th, tw = size
    small = [(max(tw / w, th / h), name, w, h) for name, w, h in sizes
             if w > 0 and h > 0 and (w < tw or h < th)]
    if not small:
        return None
    factor, name, w, h = max(small, key=lambda t: t[0])  # the first enlarged most
    return (f"{len(small)} image(s) smaller than {tw}x{th} (WxH) enlarged to cover it, up to "
            f"{factor:.1f}x ({name}, {w}x{h}): enlarged images are blurred")


def resize_center_crop(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale ``im`` to cover ``size`` (H, W), bilinear with antialiasing, then cut the centre."""
    th, tw = size
    w, h = im.size
    nw, nh = _cover(w, h, size)
    if (nw, nh) != (w, h):
        im = im.resize((nw, nh), Image.BILINEAR)
    top, left = int(round((nh - th) / 2.0)), int(round((nw - tw) / 2.0))
    return im.crop((left, top, left + tw, top + th))


def read_image(
    path: str | Path, size: tuple[int, int] | None = None, channels: str = "rgb",
    draft: bool = True,
) -> np.ndarray:
    """Decode one file: (H, W, 3) or (H, W, 1) uint8, resized and centre-cropped to ``size``.

    ``draft``: decode large JPEGs at reduced scale first (module docstring). Raises ValueError
    naming the file when it cannot be decoded.
    """
    try:
        with Image.open(path) as im:
            if size is not None and draft:
                draft_for(im, size)
            im = to_mode(im, channels)
            if size is not None:
                im = resize_center_crop(im, size)
            arr = np.asarray(im)  # (H, W, 3) or (H, W) uint8
    except BAD_IMAGE_ERRORS as e:
        raise ValueError(f"cannot decode image {path}: {e}") from e
    return arr[..., None] if arr.ndim == 2 else arr
