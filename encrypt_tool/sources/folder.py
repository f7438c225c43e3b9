"""Images in class folders: ``PATH/CLASS/**/IMAGE`` or ``PATH/train/CLASS/...`` (+ ``test/``).

At open time every file is checked (header, Pillow's ``verify`` and a decode of its pixels), so
files that are not images or are truncated, and, without ``image_size``, images whose size
differs from the others, are all reported at once before any work starts. ``read`` decodes only
the requested slice with ``imagefile.read_image`` (mode rules, resize and centre crop there).
A folder without a test split can be split with ``test_fraction``: per class, seeded, recorded
in ``Source.meta``.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from encrypt_tool.sources.base import Source, SourceError, SplitSource
from encrypt_tool.sources.bombs import quiet_bombs
from encrypt_tool.sources.imagefile import (
    ALPHA_BACKGROUND,
    BAD_IMAGE_ERRORS,
    CHANNELS,
    IMAGE_SUFFIXES,
    enlarged_note,
    find_images,
    read_image,
)

__all__ = ["FolderSplit", "open_folder", "stratified_split"]

_SHOW = 5  # files named in a message listing many
# A reader holds about 1.5 decoded copies of a file at once (measured: 4000x3000 JPEGs to 32 px
# with /usr/bin/time -v, +56 MB a worker); 2 copies of 4 bytes a pixel keeps the plan above it.
DECODE_COPIES = 2


class FolderSplit(SplitSource):
    """Image files under ``root`` (paths relative to it) with their class indices."""

    _labels_reloadable = False

    def __init__(self, root: str, files: list[str], labels: np.ndarray,
                 shape: tuple[int, int, int], resize: bool, channels: str):
        super().__init__()
        self.root = root
        self.files = files
        self._labels = labels.astype(np.int64)
        self.n = len(files)
        self.image_shape = shape  # (H, W, C)
        self.resize = resize
        self.channels = channels
        self.exact = None
        self.decode_bytes = 0  # set by open_folder from the largest file

    def _read(self, start: int, stop: int) -> np.ndarray:
        out = np.empty((stop - start, *self.image_shape), np.uint8)  # (B, H, W, C) uint8
        size = self.image_shape[:2] if self.resize else None
        for j, rel in enumerate(self.files[start:stop]):
            path = Path(self.root) / rel
            try:
                with quiet_bombs():  # named once, in a note at open time
                    arr = read_image(path, size, self.channels)  # (H, W, C) uint8
            except ValueError as e:
                raise SourceError(str(e)) from e
            if arr.shape != self.image_shape:
                raise SourceError(
                    f"image {path} is {arr.shape[1]}x{arr.shape[0]}, expected "
                    f"{self.image_shape[1]}x{self.image_shape[0]} like the others"
                )
            out[j] = arr
        return out

    def _load_labels(self) -> np.ndarray:
        return self._labels

    def take(self, index: np.ndarray) -> FolderSplit:
        """The images ``index`` (k,) of this split, in that order, as a folder split."""
        part = FolderSplit(self.root, [self.files[i] for i in index], self._labels[index],
                           self.image_shape, self.resize, self.channels)
        part.decode_bytes = self.decode_bytes
        return part


Header = tuple[int, int, str, bool]  # (W, H, mode, has alpha)


def _header(path: Path) -> Header | str:
    """(W, H, mode, has alpha) of a file whose pixels all decode, or the error text.

    A truncated file is found here, before any work starts, not halfway through it: Pillow's
    ``verify`` checks a PNG's chunks whole; other formats are decoded (a JPEG at 1/8 scale,
    which still reads every coded block and needs 1/64 of the memory).
    """
    try:
        with Image.open(path) as im:
            info = (*im.size, im.mode, im.mode in ("RGBA", "LA", "PA") or
                    (im.mode == "P" and "transparency" in im.info))
            png = im.format == "PNG"
            im.verify()
        if not png:
            with Image.open(path) as im:
                if im.format == "JPEG":
                    im.draft(im.mode, (max(1, im.width // 8), max(1, im.height // 8)))
                im.load()
    except BAD_IMAGE_ERRORS as e:
        return str(e) or type(e).__name__
    return info


def _listing(items: list[str]) -> str:
    more = f", ... ({len(items) - _SHOW} more)" if len(items) > _SHOW else ""
    return ", ".join(items[:_SHOW]) + more


def _layout(root: Path, path: str, test_fraction: float | None) -> dict[str, Path]:
    """Split name -> folder holding the class folders."""
    train, test = root / "train", root / "test"
    if not train.is_dir():
        if test.is_dir():
            raise SourceError(f"image folder {path} has test/ but no train/; add train/CLASS/... "
                              "or put the class folders directly in the folder")
        return {"train": root}
    others = [p.name for p in _class_dirs(root) if p.name not in ("train", "test")]
    if others:
        raise SourceError(f"image folder {path} has train/ and also other folders "
                          f"({_listing(others)}); keep the class folders inside train/ and test/")
    if test.is_dir() and test_fraction is not None:
        raise SourceError(f"--test-fraction {test_fraction} is not valid for {path}: it already "
                          "has a test/ split; leave the option out")
    return {"train": train, "test": test} if test.is_dir() else {"train": train}


def _class_dirs(d: Path) -> list[Path]:
    return sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith("."))


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Which images go to test: (n,) bool, ``round(fraction * n_c)`` of every class c (at most
    n_c - 1), drawn with ``numpy.random.default_rng(seed)``, class by class."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = min(len(idx) - 1, int(round(fraction * len(idx))))
        test[rng.permutation(idx)[:k]] = True
    return test


def open_folder(
    path: str,
    image_size: tuple[int, int] | None = None,
    channels: str = "rgb",
    test_fraction: float | None = None,
    split_seed: int = 0,
    skip_corrupt: bool = False,
) -> Source:
    """Open an image folder: one subfolder per class, optionally under ``train/`` and ``test/``.

    ``image_size`` (H, W) resizes and centre-crops every image; without it all images must
    have one size. ``channels`` is ``"rgb"`` or ``"l"``. ``test_fraction`` splits a folder
    without ``test/``. ``skip_corrupt`` leaves out files that are not readable images.
    """
    _check_options(channels, test_fraction)
    root = _root(path)
    split_dirs = _layout(root, path, test_fraction)
    names = _class_names(split_dirs, path)
    scanned = _scan(split_dirs, names)
    headers = _probe([p for files in scanned.values() for p, _ in files])
    good, notes = _readable(headers, root, path, skip_corrupt)
    w0, h0 = _common_size(good, root, image_size)
    notes += _notes(good, root, path, names, channels, image_size, split_dirs, test_fraction)
    meta = _meta(channels, image_size)
    kept = {s: [(p, c) for p, c in files if p in good] for s, files in scanned.items()}
    if test_fraction is not None:
        kept = _hold_out(kept["train"], test_fraction, split_seed)
        meta["split"] = {"test_fraction": test_fraction, "seed": split_seed, "stratified": True}
    shape = (*(image_size or (h0, w0)), 3 if channels == "rgb" else 1)
    splits = {s: _split(root, files, good, shape, image_size is not None, channels)
              for s, files in kept.items() if files}
    return Source(f"folder:{root.name}", names, splits, meta=meta, notes=tuple(notes),
                  by_class=True)


def _check_options(channels: str, test_fraction: float | None) -> None:
    if channels not in CHANNELS:
        raise SourceError(f"--channels {channels!r} is not valid; use rgb or l")
    if test_fraction is not None and not 0.0 < test_fraction < 1.0:
        raise SourceError(f"--test-fraction {test_fraction} is not valid; it must be between 0 "
                          "and 1, such as 0.2")


def _root(path: str) -> Path:
    root = Path(path).expanduser()
    if not root.exists():
        raise SourceError(f"image folder not found: {path}")
    if not root.is_dir():
        raise SourceError(f"folder source needs a directory, got a file: {path}")
    return root.resolve()


def _class_names(split_dirs: dict[str, Path], path: str) -> tuple[str, ...]:
    """The class folders of every split, sorted; the class index is the position."""
    names = tuple(sorted({p.name for d in split_dirs.values() for p in _class_dirs(d)}))
    if not names:
        raise SourceError(
            f"image folder {path} has no class subfolders; expected PATH/CLASS/IMAGE "
            "or PATH/train/CLASS/IMAGE and PATH/test/CLASS/IMAGE"
        )
    return names


def _scan(split_dirs: dict[str, Path], names: tuple[str, ...]
          ) -> dict[str, list[tuple[Path, int]]]:
    """Split -> (image file, class index) of every image file; a class folder without any is
    refused."""
    scanned: dict[str, list[tuple[Path, int]]] = {}
    for split, d in split_dirs.items():
        scanned[split] = []
        for ci, name in enumerate(names):
            if not (d / name).is_dir():
                continue
            imgs = find_images(d / name)
            if not imgs:
                raise SourceError(f"class folder {d / name} has no images (allowed suffixes: "
                                  f"{', '.join(IMAGE_SUFFIXES)})")
            scanned[split] += [(p, ci) for p in imgs]
    return scanned


def _probe(files: list[Path]) -> dict[Path, Header | str]:
    """Every file's header (or its error), 8 files at a time; Pillow's decompression-bomb
    warning is held back (the large files are named in a note instead)."""
    with quiet_bombs(), ThreadPoolExecutor(8) as pool:
        return dict(zip(files, pool.map(_header, files), strict=True))


def _readable(headers: dict[Path, Header | str], root: Path, path: str, skip_corrupt: bool
              ) -> tuple[dict[Path, Header], list[str]]:
    """The readable files' headers and the notes about the others (left out with
    ``skip_corrupt``, else refused) and about files above Pillow's decompression-bomb limit."""
    bad = [f"{p.relative_to(root)} ({h})" for p, h in headers.items() if isinstance(h, str)]
    notes = []
    limit = Image.MAX_IMAGE_PIXELS
    bombs = [f"{p.relative_to(root)} ({h[0]}x{h[1]})" for p, h in headers.items()
             if not isinstance(h, str) and limit and h[0] * h[1] > limit]
    if bombs:
        notes.append(f"{len(bombs)} image(s) larger than Pillow's decompression-bomb limit of "
                     f"{limit:,} pixels, decoded anyway (each needs about 3 bytes a pixel): "
                     f"{_listing(bombs)}")
    if bad and not skip_corrupt:
        raise SourceError(f"{len(bad)} corrupt or unreadable image file(s) in {root}: "
                          f"{_listing(bad)}; remove them or pass --skip-corrupt to leave them out")
    if bad:
        notes.append(f"left out {len(bad)} corrupt or unreadable image file(s): {_listing(bad)}")
    good = {p: h for p, h in headers.items() if not isinstance(h, str)}
    if not good:
        raise SourceError(f"image folder {path} has no readable images in its class folders")
    return good, notes


def _common_size(good: dict[Path, Header], root: Path, image_size: tuple[int, int] | None
                 ) -> tuple[int, int]:
    """The most common (W, H); without ``image_size`` every image must have it."""
    sizes = Counter((w, h) for w, h, _, _ in good.values())
    (w0, h0), _ = sizes.most_common(1)[0]
    if image_size is None and len(sizes) > 1:
        odd = [f"{p.relative_to(root)} ({w}x{h})" for p, (w, h, _, _) in good.items()
               if (w, h) != (w0, h0)]
        raise SourceError(
            f"{len(odd)} of {len(good)} images differ from the most common size {w0}x{h0} "
            f"(WxH): {_listing(odd)}; pass --image-size S (or HxW) to resize and centre-crop "
            "them all to one size"
        )
    return w0, h0


def _notes(good: dict[Path, Header], root: Path, path: str, names: tuple[str, ...],
           channels: str, image_size: tuple[int, int] | None, split_dirs: dict[str, Path],
           test_fraction: float | None) -> list[str]:
    """What the run should know before it starts: channels copied, transparency composited,
    images enlarged, and a folder bs-train would refuse (one class, no test split)."""
    notes = []
    gray = sum(m in ("1", "L", "LA", "I", "I;16", "F") for _, _, m, _ in good.values())
    alpha = sum(a for *_, a in good.values())
    if channels == "rgb" and gray:
        notes.append(f"{gray} grayscale image(s) copied into 3 equal channels (--channels l "
                     "keeps one channel)")
    if alpha:
        notes.append(f"{alpha} image(s) with transparency composited on white")
    if image_size is not None:
        note = enlarged_note([(str(p.relative_to(root)), w, h)
                              for p, (w, h, _, _) in good.items()], image_size)
        notes += [note] if note else []
    if len(names) == 1:
        notes.append(f"image folder {path} has one class ({names[0]}): bs-train needs at least "
                     f"2, one subfolder per class (PATH/CLASS/IMAGE)")
    if "test" not in split_dirs and test_fraction is None:
        notes.append(f"image folder {path} has no test/ folder and --test-fraction is not "
                     f"given: the file gets a train split only, which bs-train refuses; pass "
                     f"--test-fraction 0.2 (for example) to hold out a share of every class")
    return notes


def _meta(channels: str, image_size: tuple[int, int] | None) -> dict:
    return {"channels": channels, "alpha": "composited on white " + str(ALPHA_BACKGROUND),
            "image_size": list(image_size) if image_size else None,
            "resize": "cover + centre crop, bilinear, antialiased (PIL); JPEGs of 4x the "
                      "covering size or more decoded at reduced scale first (PIL draft, keeping "
                      "2x)" if image_size else None}


def _hold_out(train: list[tuple[Path, int]], test_fraction: float, seed: int
              ) -> dict[str, list[tuple[Path, int]]]:
    """The training files split into train and test by ``stratified_split``."""
    is_test = stratified_split(np.array([c for _, c in train]), test_fraction, seed)
    if not is_test.any():
        raise SourceError(f"--test-fraction {test_fraction} gives no test image for "
                          f"{len(train)} images; use a larger fraction")
    return {"train": [t for t, x in zip(train, is_test, strict=True) if not x],
            "test": [t for t, x in zip(train, is_test, strict=True) if x]}


def _split(root: Path, files: list[tuple[Path, int]], good: dict[Path, Header],
           shape: tuple[int, int, int], resize: bool, channels: str) -> FolderSplit:
    """One split of (file, class) pairs, with the memory that decoding its largest file takes
    (the decoded file, 4 bytes a pixel at most, and its converted copy)."""
    split = FolderSplit(str(root), [str(p.relative_to(root)) for p, _ in files],
                        np.array([c for _, c in files], np.int64), shape, resize, channels)
    split.decode_bytes = DECODE_COPIES * 4 * max(good[p][0] * good[p][1] for p, _ in files)
    return split
