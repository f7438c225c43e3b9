"""The one reader of bs-encrypt files: every command reads images through it.

    with open_dataset("enc.h5") as ds:
        ds.info                                   # FileInfo: public metadata
        b = ds.read("test", [3, 1, 7], copy=0)    # Batch: images (3, H, W, C) uint8
        b = ds.read_range("train", 0, 512)        # images (512, N, H, W, C): all copies
        for b in ds.iter_batches("test", 256): ...

A dataset is opened and checked once (format, completeness, every shard's shapes); a read then
touches only the rows it asks for, in as few HDF5 reads as the shards it spans. Anything a
damaged file makes h5py raise (KeyError, OSError, bad attributes) comes out as one
``FormatError`` line that names the path.

A dataset is one ``.h5`` file or a folder of shard files with a ``manifest.json``
(bsformat.folder); both read the same. Copies stored as JPEG are decoded here, so every caller
gets uint8 pixels.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import h5py
import numpy as np

from bsformat.checksum import CHECKSUM_ATTR, checked, mark_checked, shard_digest
from bsformat.codec import decode_batch
from bsformat.folder import ShardFiles
from bsformat.format import (
    DAMAGE,
    FileInfo,
    FormatError,
    SplitInfo,
    open_encrypted,
    read_info,
    reason,
)

__all__ = ["Batch", "Dataset", "ShardSpan", "open_dataset"]


@dataclass(frozen=True)
class Batch:
    """Images with their labels and ids, in the order asked for."""

    images: np.ndarray  # (n, H, W, C) uint8 for one copy, (n, N, H, W, C) for all
    labels: np.ndarray  # (n,) int64; -1 in a query file without labels
    ids: np.ndarray  # (n,) int64

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class ShardSpan:
    """One shard of a split: its group name and the images [start, start + n) it holds."""

    name: str
    start: int
    n: int


class Dataset:
    """An open bs-encrypt file; use :func:`open_dataset`."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = str(path)
        self._f: h5py.File | None = None
        self._folder: ShardFiles | None = None
        if os.path.isdir(path):
            self._folder = ShardFiles(path)
        else:
            self._f = open_encrypted(path)
        try:
            self.info: FileInfo = self._folder.info if self._folder else read_info(self._f)
            self._jpeg = "store" in self.info.attrs
            self._spans = {name: self._check_split(sp) for name, sp in self.info.splits.items()}
            self._checksummed = self._folder is None and self._any_checksum()
        except BaseException:
            self.close()
            raise

    # -- opening -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _reading(self, what: str) -> Iterator[None]:
        """Turn what h5py raises on a damaged file into one FormatError line."""
        try:
            yield
        except FormatError:
            raise
        except DAMAGE as e:
            raise FormatError(f"{self.path}: cannot read {what} ({reason(e)})") from None

    def _check_split(self, sp: SplitInfo) -> tuple[ShardSpan, ...]:
        h, w, c = self.info.image_shape
        spans, start = [], 0
        for name in sp.shards:
            with self._reading(f"{sp.name}/{name}"):
                g = self._group(sp.name, name)
                shape = g["images"].shape
                n_labels, n_ids = len(g["labels"]), len(g["ids"])
                declared = int(g.attrs.get("start", start))
                if self._folder is not None:  # a shard file's group starts at 0 in its file
                    entry = self._folder.entry(name)
                    declared = entry.start if declared == 0 and entry.count == shape[0] else -1
            stored = (sp.n_copies,) if self._jpeg else (sp.n_copies, h, w, c)
            if shape[1:] != stored or not shape[0] == n_labels == n_ids:
                raise FormatError(
                    f"{self.path}: {sp.name}/{name}/images has shape {shape} with {n_labels} "
                    f"labels and {n_ids} ids; expected (n, {sp.n_copies}, {h}, {w}, {c}) and n "
                    f"of each"
                )
            if declared != start:
                raise FormatError(f"{self.path}: {sp.name}/{name} starts at image {declared}; "
                                  f"its place in the split is {start}")
            spans.append(ShardSpan(name, start, int(shape[0])))
            start += int(shape[0])
        if start != sp.n_images:
            raise FormatError(f"{self.path}: split {sp.name!r} declares {sp.n_images} images "
                              f"but its shards hold {start}")
        return tuple(spans)

    def _group(self, split: str, name: str) -> h5py.Group:
        """The group of one shard, for its metadata."""
        if self._folder is not None:
            return self._folder.group(split, name)
        return self._f[split][name]

    def _data(self, split: str, name: str) -> h5py.Group:
        """The group of one shard, for its images, checksummed on first use (a folder's shard
        file against the manifest, a shard of one file against its stored SHA-256)."""
        if self._folder is not None:
            return self._folder.data_group(split, name)
        g = self._f[split][name]
        if self._checksummed and self.check_checksums and not checked(self.path,
                                                                       f"{split}/{name}"):
            self._check_shard(split, name, g)
        return g

    def _any_checksum(self) -> bool:
        """Whether the file stores shard checksums (not: written before they existed)."""
        with self._reading("the shard checksums"):
            return any(CHECKSUM_ATTR in self._f[split][s.name].attrs
                       for split in self.info.splits for s in self._spans[split])

    check_checksums = True  # False only to measure what the check costs (bench/)

    def _check_shard(self, split: str, name: str, g: h5py.Group) -> None:
        """FormatError naming the shard unless its images match the stored SHA-256."""
        with self._reading(f"{split}/{name}"):
            want = g.attrs.get(CHECKSUM_ATTR)
            if want is None:
                raise FormatError(f"{self.path}: {split}/{name} has no checksum while "
                                  f"other shards have one")
            want = want.decode() if isinstance(want, bytes) else str(want)
            got = shard_digest(g["images"])
        if got != want:
            raise FormatError(f"{self.path}: {split}/{name} is damaged: its images' "
                              f"SHA-256 {got[:16]}... differs from the stored {want[:16]}...")
        mark_checked(self.path, f"{split}/{name}")

    def _images(self, g: h5py.Group, rows, copy: int | None) -> np.ndarray:
        """Images of ``rows``: (n, N, H, W, C) or, for one copy, (n, H, W, C) uint8; JPEG
        copies decoded."""
        if isinstance(copy, np.ndarray):  # one copy per image
            x = g["images"][rows]
            x = x[np.arange(len(x)), copy]  # (n, H, W, C), or (n,) JPEG bytes
        else:
            x = g["images"][rows] if copy is None else g["images"][rows, copy]
        if not self._jpeg:
            return x
        flat = x.reshape(-1)  # object array of uint8 JPEG bytes
        out = decode_batch(flat, self.info.image_shape, threads=self.decode_threads)
        return out.reshape(*x.shape, *self.info.image_shape)

    decode_threads = 4

    # -- metadata ------------------------------------------------------------------------------

    @property
    def attrs(self) -> dict:
        """The public root attributes (plain Python values)."""
        return self.info.attrs

    def split(self, split: str) -> SplitInfo:
        """What split ``split`` declares; FormatError naming the splits there are."""
        if split not in self.info.splits:
            raise FormatError(f"split {split!r} is not in {self.path}; it has "
                              f"{sorted(self.info.splits)}")
        return self.info.splits[split]

    def shards(self, split: str) -> tuple[ShardSpan, ...]:
        """The shards of ``split`` in order."""
        self.split(split)
        return self._spans[split]

    # -- reading -------------------------------------------------------------------------------

    def _copy(self, split: str, copy) -> None:
        n = self.split(split).n_copies
        if isinstance(copy, np.ndarray):
            if copy.size and (copy.min() < 0 or copy.max() >= n):
                raise ValueError(f"copies {int(copy.min())}..{int(copy.max())} are not valid; "
                                 f"split {split!r} has copies 0..{n - 1}")
        elif copy is not None and not 0 <= copy < n:
            raise ValueError(f"copy {copy} is not valid; split {split!r} has copies 0..{n - 1}")

    def _check_labels(self, split: str, y: np.ndarray) -> None:
        low = 0 if self.attrs.get("has_labels", True) else -1
        k = self.info.n_classes
        if y.size and (y.min() < low or y.max() >= k):
            raise FormatError(f"{self.path}: split {split!r} has labels outside "
                              f"[{low}, {k}): {int(y.min())}..{int(y.max())}")

    def read_range(self, split: str, start: int, stop: int,
                   copy: int | np.ndarray | None = None) -> Batch:
        """Images [start, stop) of ``split``: one contiguous read per shard spanned.
        ``copy=None`` gives all copies, (n, N, H, W, C); an int gives (n, H, W, C), and so
        does an (n,) int array, one copy per image (JPEG copies: only those are decoded)."""
        if copy is not None and not isinstance(copy, int | np.integer):
            copy = np.asarray(copy, dtype=np.int64)
            if copy.shape != (stop - start,):
                raise ValueError(f"copies of shape {copy.shape} do not fit {stop - start} images")
        self._copy(split, copy)
        n = self.split(split).n_images
        if not 0 <= start <= stop <= n:
            raise ValueError(f"range {start}..{stop} is not valid; split {split!r} holds "
                             f"images 0..{n}")
        xs, ys, js = [], [], []
        for s in self._spans[split]:
            a, b = max(start, s.start), min(stop, s.start + s.n)
            if a >= b:
                continue
            with self._reading(f"{split}/{s.name}"):
                g = self._data(split, s.name)
                rows = slice(a - s.start, b - s.start)
                mine = copy[a - start:b - start] if isinstance(copy, np.ndarray) else copy
                xs.append(self._images(g, rows, mine))
                ys.append(g["labels"][rows].astype(np.int64))
                js.append(g["ids"][rows].astype(np.int64))
        if not xs:
            return self._empty(split, copy)
        batch = Batch(_cat(xs), _cat(ys), _cat(js))
        self._check_labels(split, batch.labels)
        return batch

    def labels(self, split: str) -> np.ndarray:
        """The labels of every image of ``split``, (n,) int64 (-1 in a query file without
        labels); reads no image."""
        ys = []
        for s in self.shards(split):
            with self._reading(f"{split}/{s.name}"):
                ys.append(self._group(split, s.name)["labels"][:].astype(np.int64))
        y = _cat(ys) if ys else np.empty(0, np.int64)
        self._check_labels(split, y)
        return y

    def read(self, split: str, indices: Sequence[int] | np.ndarray | None = None,
             copy: int | None = 0) -> Batch:
        """Images ``indices`` (positions in the split, any order, repeats allowed; None: all)
        of copy ``copy`` (None: all copies). Reads only those rows."""
        if indices is None:
            return self.read_range(split, 0, self.split(split).n_images, copy)
        self._copy(split, copy)
        n = self.split(split).n_images
        idx = np.asarray(indices)
        if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
            raise ValueError("indices must be a flat list of whole numbers")
        idx = idx.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValueError(f"image index {int(idx.min() if idx.min() < 0 else idx.max())} is "
                             f"out of range; split {split!r} holds images 0..{n - 1}")
        if idx.size == 0:
            return self._empty(split, copy)
        x = y = j = None
        for s in self._spans[split]:
            sel = np.flatnonzero((idx >= s.start) & (idx < s.start + s.n))
            if sel.size == 0:
                continue
            local, inv = np.unique(idx[sel] - s.start, return_inverse=True)  # increasing
            with self._reading(f"{split}/{s.name}"):
                xs, ys, js = self._rows(self._data(split, s.name), local, copy)
            if x is None:
                x = np.empty((len(idx), *xs.shape[1:]), np.uint8)
                y, j = np.empty(len(idx), np.int64), np.empty(len(idx), np.int64)
            x[sel], y[sel], j[sel] = xs[inv], ys[inv], js[inv]
        self._check_labels(split, y)
        return Batch(x, y, j)

    def _rows(self, g: h5py.Group, local: np.ndarray, copy: int | None):
        """Rows ``local`` (increasing) of one shard: a slice when they are dense, else a
        selection of just those rows."""
        lo, hi = int(local[0]), int(local[-1]) + 1
        if hi - lo <= 2 * len(local):  # dense: one contiguous read, picked in memory
            rows, pick = slice(lo, hi), local - lo
        else:
            rows, pick = local, slice(None)
        x = self._images(g, rows, copy)
        y = g["labels"][rows].astype(np.int64)
        j = g["ids"][rows].astype(np.int64)
        return x[pick], y[pick], j[pick]

    def _empty(self, split: str, copy: int | None) -> Batch:
        shape = self.info.image_shape
        lead = (0,) if copy is not None else (0, self.split(split).n_copies)
        return Batch(np.empty((*lead, *shape), np.uint8), np.empty(0, np.int64),
                     np.empty(0, np.int64))

    def iter_batches(self, split: str, batch_size: int, copy: int | None = 0,
                     indices: Sequence[int] | np.ndarray | None = None) -> Iterator[Batch]:
        """Batches of at most ``batch_size`` images, in file order (or in ``indices`` order)."""
        if batch_size < 1:
            raise ValueError(f"batch size {batch_size} is not valid; it must be at least 1")
        if indices is None:
            n = self.split(split).n_images
            for a in range(0, n, batch_size):
                yield self.read_range(split, a, min(a + batch_size, n), copy)
        else:
            idx = np.asarray(indices)
            for a in range(0, len(idx), batch_size):
                yield self.read(split, idx[a:a + batch_size], copy)

    # -- checksums -----------------------------------------------------------------------------

    def verify(self) -> int:
        """Check every shard's images against the SHA-256 stored when the file was written.

        Returns the number of shards checked (0: the file stores no checksums, written before
        they existed). FormatError naming the first shard that differs or lacks its checksum.
        """
        if self._folder is not None:
            return self._folder.verify()
        if not self._checksummed:
            return 0
        spans = [(split, s) for split in self.info.splits for s in self._spans[split]]
        for split, s in spans:
            self._check_shard(split, s.name, self._f[split][s.name])
        return len(spans)

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        if self._f is not None:
            with contextlib.suppress(Exception):
                self._f.close()
            self._f = None
        if self._folder is not None:
            self._folder.close()
            self._folder = None

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def open_dataset(path: str | os.PathLike) -> Dataset:
    """Open and check the bs-encrypt file or shard folder at ``path``; FormatError when it is
    not one, is unfinished or damaged (a folder's missing or truncated shard is named). Use as
    a context manager, or call ``close()``."""
    return Dataset(path)
