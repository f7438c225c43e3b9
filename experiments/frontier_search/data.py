"""The images each stage measures: CIFAR-10 (32 px), 224-px photos, or the synthetic set.

A :class:`Data` is a source spec for ``bs-encrypt dataset`` and the size of its images. The
photos (scikit-image's public-domain set, the ``photos`` extra) are written as PNG files into
a folder of the run (``work/photos``); nothing derived from any of them enters the repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["KINDS", "Data", "open_data"]

KINDS = ("cifar", "photos", "synthetic")
PHOTO_VIEWS = 30  # the 9 base photos, then other crops and zooms of them


@dataclass(frozen=True)
class Data:
    """``source``: a ``bs-encrypt dataset --source`` spec; ``size``: the images' side in px;
    ``limit``: the ``--limit`` of the file stage (a) attacks (None: every image)."""

    kind: str
    source: str
    size: int
    limit: int | None = None


def open_data(kind: str, work: Path, data_dir: str | None, samples: int,
              pool: int) -> Data:
    """The images of ``kind`` for ``samples`` audited images and ``pool`` more that the
    learned attacks may train on. ValueError naming what is missing."""
    if kind == "cifar":
        root = Path(data_dir or "../shared/data/cifar10")
        files = [root / "cifar10_train.npz", root / "cifar10_test.npz"]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise ValueError(f"--data-dir {root} holds no {missing[0]}; give the folder of "
                             f"CIFAR-10's npz files")
        return Data(kind, f"npz:{files[0]},{files[1]}", 32, samples + pool)
    if kind == "photos":
        return Data(kind, _photo_folder(work / "photos", max(samples + pool, PHOTO_VIEWS)), 224)
    if kind == "synthetic":
        n = samples + pool
        return Data(kind, f"synthetic:{n},{n}", 32, n)
    raise ValueError(f"--data {kind!r} is not known; use one of: {', '.join(KINDS)}")


def _photo_folder(root: Path, n: int) -> str:
    """The photos as PNG files under root/train/photo/ (written once); the folder source."""
    d = root / "train" / "photo"
    if not d.is_dir() or len(list(d.glob("*.png"))) != n:
        try:
            from experiments.photos import photos
        except ImportError as e:
            raise ValueError("--data photos needs scikit-image: pip install "
                             "'bs-encrypt[photos]'") from e
        from PIL import Image

        x, names = photos(n)  # (n, 224, 224, 3) uint8; the 9 base photos first
        d.mkdir(parents=True, exist_ok=True)
        for i, (img, name) in enumerate(zip(x, names, strict=True)):
            Image.fromarray(img).save(d / f"{i:03d}-{name.split('@')[0]}.png")
    return f"folder:{root}"
