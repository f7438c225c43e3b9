"""Public-domain photos at 224 px for audits at photo size, loaded from scikit-image at run time.

scikit-image ships these photos with the package, so nothing is downloaded and nothing derived
from them is written into the repository. ``photos(n)`` gives the nine base photos first
(resized so the shorter side is 224 px, centre-cropped), then further views of them (other
crops and zooms) until ``n`` images.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import numpy as np

__all__ = ["NAMES", "photos", "photos_or_error", "print_audit", "write_folder"]

NAMES = ("astronaut", "chelsea", "coffee", "rocket", "retina", "immunohistochemistry",
         "hubble_deep_field", "colorwheel", "stereo_motorcycle")


def _load(name: str) -> np.ndarray:
    import skimage.data

    x = getattr(skimage.data, name)()
    if isinstance(x, tuple):  # stereo_motorcycle: (left, right, disparity)
        x = x[0]
    if x.ndim == 2:
        x = np.repeat(x[..., None], 3, axis=-1)
    return x[..., :3]


def _view(x: np.ndarray, size: int, zoom: float, cy: float, cx: float) -> np.ndarray:
    """A square crop of side min(H, W) / zoom centred at (cy, cx) (fractions), scaled to size."""
    from skimage.transform import resize

    H, W = x.shape[:2]
    s = int(min(H, W) / zoom)
    y0 = int(np.clip(cy * H - s / 2, 0, H - s))
    x0 = int(np.clip(cx * W - s / 2, 0, W - s))
    crop = x[y0 : y0 + s, x0 : x0 + s]
    out = resize(crop, (size, size), order=1, anti_aliasing=True, preserve_range=True)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def photos(n: int = 9, size: int = 224, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """(n, size, size, 3) uint8 photos and their names; the first nine are centre crops."""
    base = [_load(name) for name in NAMES]
    rng = np.random.default_rng(seed)
    out, names = [], []
    for k in range(n):
        i = k % len(base)
        if k < len(base):
            out.append(_view(base[i], size, 1.0, 0.5, 0.5))
            names.append(NAMES[i])
        else:
            zoom = rng.uniform(1.0, 2.0)
            cy, cx = rng.uniform(0.25, 0.75, 2)
            out.append(_view(base[i], size, zoom, cy, cx))
            names.append(f"{NAMES[i]}@{zoom:.2f},{cy:.2f},{cx:.2f}")
    return np.stack(out), names


def write_folder(x: np.ndarray, names: list[str], root: Path) -> str:
    """(M, H, W, 3) uint8 photos as PNG files under root/train/photo/; the folder source."""
    from PIL import Image

    d = root / "train" / "photo"
    d.mkdir(parents=True, exist_ok=True)
    for i, (img, name) in enumerate(zip(x, names, strict=True)):
        Image.fromarray(img).save(d / f"{i:03d}-{name.split('@')[0]}.png")
    return f"folder:{root}"


def photos_or_error(n: int, error: Callable[[str], NoReturn]) -> tuple[np.ndarray, list[str]]:
    """:func:`photos` ``(n)``; ``error(message)`` (a parser's one-line exit) when scikit-image
    is missing."""
    try:
        return photos(n)
    except ImportError:
        error("scikit-image is needed for the photos (pip install scikit-image)")


def print_audit(summary: dict, seconds: float) -> None:
    """The photo scripts' printout of an audit: time per photo, each attack's and the union's
    figures, the verdict and what did not run."""
    n = len(summary["per_image"])
    print(f"all attacks on {n} photos: {seconds:.1f} s ({seconds / n:.2f} s per photo); load "
          f"after: {os.getloadavg()[0]:.1f}")
    for name, r in list(summary["attacks"].items()) + [("union", summary["union"])]:
        print(f"  {name:55s} neighbours {r['neighbour']:6.1%} perfect {r['perfect']:6.1%} "
              f"recognisable {r['recognisable']:6.1%}")
    print("verdict:", summary["verdict"])
    print("not run:", "; ".join(summary["not_run"]) or "none")
