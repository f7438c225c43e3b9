"""Images in class folders: ``PATH/CLASS/*.png`` or ``PATH/{train,test}/CLASS/*.png``.

At open time every file is opened lazily with Pillow (header only, plus ``verify``), so a file
that is not an image or whose size differs is reported before any work starts; ``read`` decodes
only the requested slice, converted to RGB.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from encrypt_tool.sources.base import Source, SourceError, SplitSource

__all__ = ["IMAGE_SUFFIXES", "FolderSplit", "open_folder"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif")
_BAD_IMAGE = (
    OSError, SyntaxError, ValueError, UnidentifiedImageError, Image.DecompressionBombError,
)


class FolderSplit(SplitSource):
    """Image files under ``root`` (paths relative to it) with their class indices."""

    _labels_reloadable = False

    def __init__(self, root: str, files: list[str], labels: np.ndarray, size: tuple[int, int]):
        super().__init__()
        self.root = root
        self.files = files
        self._labels = labels.astype(np.int64)
        self.n = len(files)
        self.image_shape = (size[1], size[0], 3)  # Pillow sizes are (W, H)
        self.exact = None

    def _read(self, start: int, stop: int) -> np.ndarray:
        out = np.empty((stop - start, *self.image_shape), np.uint8)  # (B, H, W, 3) uint8
        for j, rel in enumerate(self.files[start:stop]):
            path = Path(self.root) / rel
            try:
                with Image.open(path) as im:
                    arr = np.asarray(im.convert("RGB"))  # (H, W, 3) uint8
            except _BAD_IMAGE as e:
                raise SourceError(f"cannot decode image {path}: {e}") from e
            if arr.shape != self.image_shape:
                raise SourceError(
                    f"image {path} is {arr.shape[1]}x{arr.shape[0]}, expected "
                    f"{self.image_shape[1]}x{self.image_shape[0]} like the others"
                )
            out[j] = arr
        return out

    def _load_labels(self) -> np.ndarray:
        return self._labels


def _images_in(d: Path) -> list[Path]:
    return sorted(
        p for p in d.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
    )


def _class_dirs(d: Path) -> list[Path]:
    return sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith("."))


def _image_size(path: Path) -> tuple[int, int]:
    """(W, H) of an image file without decoding its pixels; SourceError if it is not one."""
    try:
        with Image.open(path) as im:
            size = im.size
            im.verify()
    except _BAD_IMAGE as e:
        raise SourceError(f"corrupt or unreadable image file {path}: {e}") from e
    return size


def _scan(root: Path, split_dir: Path, class_names: tuple[str, ...]) -> tuple[list, list]:
    files, labels = [], []
    for ci, name in enumerate(class_names):
        d = split_dir / name
        if not d.is_dir():
            continue
        imgs = _images_in(d)
        if not imgs:
            raise SourceError(
                f"class folder {d} has no images (allowed suffixes: {', '.join(IMAGE_SUFFIXES)})"
            )
        files += [str(p.relative_to(root)) for p in imgs]
        labels += [ci] * len(imgs)
    return files, labels


def open_folder(path: str) -> Source:
    """Open an image folder: one subfolder per class, optionally under ``train/`` and ``test/``."""
    root = Path(path).expanduser()
    if not root.exists():
        raise SourceError(f"image folder not found: {path}")
    if not root.is_dir():
        raise SourceError(f"folder source needs a directory, got a file: {path}")
    root = root.resolve()
    split_dirs = {"train": root}
    if (root / "train").is_dir() and (root / "test").is_dir():
        split_dirs = {"train": root / "train", "test": root / "test"}
    names = sorted({p.name for d in split_dirs.values() for p in _class_dirs(d)})
    if not names:
        raise SourceError(
            f"image folder {path} has no class subfolders; expected PATH/CLASS/IMAGE "
            "or PATH/train/CLASS/IMAGE and PATH/test/CLASS/IMAGE"
        )
    class_names = tuple(names)

    scanned = {s: _scan(root, d, class_names) for s, d in split_dirs.items()}
    size, first = None, None
    for files, _ in scanned.values():
        for rel in files:
            s = _image_size(root / rel)
            if size is None:
                size, first = s, rel
            elif s != size:
                raise SourceError(
                    f"image {root / rel} is {s[0]}x{s[1]} but {root / first} is "
                    f"{size[0]}x{size[1]}; all images of a folder source must have one size"
                )
    if size is None:
        raise SourceError(f"image folder {path} has no images in its class folders {names}")
    splits: dict[str, SplitSource] = {
        s: FolderSplit(str(root), files, np.array(labels, np.int64), size)
        for s, (files, labels) in scanned.items()
        if files
    }
    return Source(f"folder:{root.name}", class_names, splits)
