"""CIFAR-10 from any of three layouts in a data directory, or downloaded with torchvision.

Layouts looked for in the data directory, in this order:
  (a) torchvision's ``cifar-10-batches-py/`` (pickled batches, read here without torch);
  (b) ``cifar10_train.npz`` and ``cifar10_test.npz`` (``images`` (N, 32, 32, 3) uint8, ``labels``,
      ``class_names``, optionally ``exact``), memory mapped;
  (c) the offline sheet copy: lossless webp sheets of 32 x 32 tiles and ``labels.npz``. Test
      images 1000-9999 there are JPEG approximations; the test split's ``exact`` flags them.
"""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from encrypt_tool.sources.base import Source, SourceError, SplitSource
from encrypt_tool.sources.npz import open_npz

__all__ = [
    "CLASS_NAMES", "PickleBatchSplit", "SheetSplit", "default_data_dirs", "download_cifar10",
    "open_cifar10",
]

CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
BATCHES_DIR = "cifar-10-batches-py"
_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
_SHEETS = {  # split: [(file, tiles per row, pixels are original)]
    "train": [("train_half1.webp", 250, True), ("train_half2.webp", 250, True)],
    "test": [("test_first1000.webp", 50, True), ("test_rest9000_jpegq75.webp", 100, False)],
}
_TILE = 32


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="bytes")
    except (OSError, pickle.UnpicklingError, EOFError) as e:
        raise SourceError(f"cannot read CIFAR-10 batch {path}: {e}") from e


class PickleBatchSplit(SplitSource):
    """CIFAR-10 pickled batches (torchvision layout); one batch file is cached per process."""

    _labels_reloadable = False  # reloading would unpickle every batch

    def __init__(self, files: list[str], counts: list[int], labels: np.ndarray) -> None:
        super().__init__()
        self.files = files
        self.bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)  # (F + 1,)
        self._labels = labels.astype(np.int64)
        self.n = int(self.bounds[-1])
        self.image_shape = (_TILE, _TILE, 3)
        self.exact = None

    def _batch(self, i: int) -> np.ndarray:
        with self._lock:
            if self._cache.get("index") != i:
                data = _unpickle(Path(self.files[i]))[b"data"]  # (N, 3072) uint8, CHW per row
                self._cache.clear()
                self._cache.update(index=i, data=np.asarray(data, np.uint8))
            return self._cache["data"]

    def _read(self, start: int, stop: int) -> np.ndarray:
        out = np.empty((stop - start, *self.image_shape), np.uint8)  # (B, 32, 32, 3) uint8
        for i in range(len(self.files)):
            lo, hi = max(start, self.bounds[i]), min(stop, self.bounds[i + 1])
            if lo >= hi:
                continue
            rows = self._batch(i)[lo - self.bounds[i] : hi - self.bounds[i]]  # (b, 3072)
            out[lo - start : hi - start] = rows.reshape(-1, 3, _TILE, _TILE).transpose(0, 2, 3, 1)
        return out

    def _load_labels(self) -> np.ndarray:
        return self._labels


class SheetSplit(SplitSource):
    """Tiles of lossless webp sheets; a decoded sheet (~77 MB for 25,000 images) is cached."""

    def __init__(self, files: list[str], ncols: list[int], counts: list[int], labels_file: str,
                 labels_key: str, exact: np.ndarray) -> None:
        super().__init__()
        self.files, self.ncols = files, ncols
        self.bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)  # (F + 1,)
        self.labels_file, self.labels_key = labels_file, labels_key
        self.n = int(self.bounds[-1])
        self.image_shape = (_TILE, _TILE, 3)
        self.exact = exact

    def _sheet(self, i: int) -> np.ndarray:
        with self._lock:
            return self._sheet_locked(i)

    def _sheet_locked(self, i: int) -> np.ndarray:
        tiles = self._cache.get(i)
        if tiles is None:
            try:
                with Image.open(self.files[i]) as im:
                    grid = np.asarray(im.convert("RGB"))  # (rows * 32, ncol * 32, 3) uint8
            except OSError as e:
                raise SourceError(f"cannot decode CIFAR-10 sheet {self.files[i]}: {e}") from e
            nrow, ncol = grid.shape[0] // _TILE, self.ncols[i]
            tiles = grid.reshape(nrow, _TILE, ncol, _TILE, 3).transpose(0, 2, 1, 3, 4)
            tiles = tiles.reshape(-1, _TILE, _TILE, 3)  # (rows * ncol, 32, 32, 3), a copy
            if len(self._cache) >= 2:  # keep at most two decoded sheets
                self._cache.pop(next(iter(self._cache)))
            self._cache[i] = tiles
        return tiles

    def _read(self, start: int, stop: int) -> np.ndarray:
        out = np.empty((stop - start, *self.image_shape), np.uint8)  # (B, 32, 32, 3) uint8
        for i in range(len(self.files)):
            lo, hi = max(start, self.bounds[i]), min(stop, self.bounds[i + 1])
            if lo < hi:
                first = self.bounds[i]
                out[lo - start : hi - start] = self._sheet(i)[lo - first : hi - first]
        return out

    def _load_labels(self) -> np.ndarray:
        with np.load(self.labels_file, allow_pickle=False) as data:
            return data[self.labels_key]


def _open_batches(d: Path) -> Source:
    names = CLASS_NAMES
    meta = d / "batches.meta"
    if meta.is_file():
        names = tuple(n.decode() for n in _unpickle(meta)[b"label_names"])
    splits: dict[str, SplitSource] = {}
    for split, files in (("train", _TRAIN_BATCHES), ("test", ("test_batch",))):
        paths = [d / f for f in files]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise SourceError(f"incomplete CIFAR-10 folder {d}: missing {missing}")
        labels = [np.asarray(_unpickle(p)[b"labels"], np.int64) for p in paths]
        splits[split] = PickleBatchSplit(
            [str(p) for p in paths], [len(lab) for lab in labels], np.concatenate(labels)
        )
    splits["test"].exact = np.ones(splits["test"].n, bool)  # torchvision's files are the originals
    return Source("cifar10", names, splits)


def _open_sheets(d: Path) -> Source:
    labels_file = str(d / "labels.npz")
    with np.load(labels_file, allow_pickle=False) as data:
        names = tuple(str(s) for s in data["class_names"]) if "class_names" in data else CLASS_NAMES
        n_labels = {s: len(data[f"{s}_labels"]) for s in _SHEETS}
    splits: dict[str, SplitSource] = {}
    for split, sheets in _SHEETS.items():
        files, ncols, counts, exact = [], [], [], []
        for fname, ncol, is_exact in sheets:
            with Image.open(d / fname) as im:  # reads the header only
                w, h = im.size
            if w != ncol * _TILE or h % _TILE:
                raise SourceError(f"{d / fname} is {w}x{h}; expected {ncol * _TILE} wide tiles")
            count = (h // _TILE) * ncol
            files.append(str(d / fname))
            ncols.append(ncol)
            counts.append(count)
            exact.append(np.full(count, is_exact))
        if sum(counts) != n_labels[split]:
            raise SourceError(
                f"{d}: the {split} sheets hold {sum(counts)} tiles but labels.npz has "
                f"{n_labels[split]} {split} labels"
            )
        exact_flags = np.concatenate(exact) if split == "test" else None
        splits[split] = SheetSplit(
            files, ncols, counts, labels_file, f"{split}_labels", exact_flags
        )
    return Source("cifar10", names, splits)


def _find_layout(d: Path) -> Source | None:
    if (d / BATCHES_DIR / "data_batch_1").is_file():
        return _open_batches(d / BATCHES_DIR)
    if (d / "cifar10_train.npz").is_file() and (d / "cifar10_test.npz").is_file():
        src = open_npz([str(d / "cifar10_train.npz"), str(d / "cifar10_test.npz")])
        names = src.class_names if len(src.class_names) == 10 else CLASS_NAMES
        return Source("cifar10", names, src.splits)
    sheets = [d / f for sheets in _SHEETS.values() for f, _, _ in sheets]
    if (d / "labels.npz").is_file() and any(p.is_file() for p in sheets):
        missing = [p.name for p in sheets if not p.is_file()]
        if missing:
            raise SourceError(f"incomplete CIFAR-10 sheet copy in {d}: missing {missing}")
        return _open_sheets(d)
    return None


def default_data_dirs() -> list[Path]:
    """Where CIFAR-10 is looked for without ``data_dir``: $BS_ENCRYPT_DATA, then the cache."""
    dirs = []
    env = os.environ.get("BS_ENCRYPT_DATA")
    if env:
        dirs += [Path(env).expanduser(), Path(env).expanduser() / "cifar10"]
    return dirs + [Path("~/.cache/bs-encrypt/cifar10").expanduser()]


def download_cifar10(root: Path) -> None:
    """Download CIFAR-10 with torchvision into ``root/cifar-10-batches-py``."""
    try:
        import torchvision  # noqa: PLC0415  (heavy, and only in the cloud extra; needed here)
    except ImportError:
        raise SourceError(
            f"downloading CIFAR-10 needs torchvision, which is not installed; install it "
            f"(pip install 'bs-encrypt[cloud]') or point --data-dir at a local copy "
            f"({BATCHES_DIR}/ or cifar10_train.npz + cifar10_test.npz)"
        ) from None

    created = [p for p in (root, *root.parents) if not p.exists()]  # deepest first
    root.mkdir(parents=True, exist_ok=True)
    try:
        for train in (True, False):
            torchvision.datasets.CIFAR10(root=str(root), train=train, download=True)
    except (OSError, RuntimeError) as e:  # urllib's URLError is an OSError
        if created:  # no empty cache folder (or half a download) is left behind
            shutil.rmtree(created[-1], ignore_errors=True)
        reason = getattr(e, "reason", None) or e
        raise SourceError(
            f"could not download CIFAR-10 into {root} ({reason}). Without internet, point "
            f"--data-dir at a local copy ({BATCHES_DIR}/, cifar10_train.npz + cifar10_test.npz, "
            f"or the offline sheets); the make targets take CIFAR_DIR=PATH, e.g. "
            f"make encrypt CIFAR_DIR=/data/cifar10"
        ) from None


def open_cifar10(data_dir: str | None = None, download: bool = False) -> Source:
    """CIFAR-10 from ``data_dir`` (or the default places), downloading it when asked."""
    if data_dir is not None:
        d = Path(data_dir).expanduser()
        if d.exists() and not d.is_dir():
            raise SourceError(f"--data-dir must be a directory, got a file: {data_dir}")
        dirs = [d]
    else:
        dirs = default_data_dirs()
    for d in dirs:
        if d.is_dir():
            src = _find_layout(d)
            if src is not None:
                return src
    if download:
        download_cifar10(dirs[0])
        src = _find_layout(dirs[0])
        if src is not None:
            return src
    looked = ", ".join(str(d) for d in dirs)
    raise SourceError(
        f"CIFAR-10 not found in {looked} (looked for {BATCHES_DIR}/, cifar10_train.npz + "
        "cifar10_test.npz, or the webp sheets + labels.npz). Get it with --download "
        "(downloads with torchvision into the first of those folders), or point --data-dir "
        "at a folder that holds one of these layouts (make targets: CIFAR_DIR=PATH)"
    )
