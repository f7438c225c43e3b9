"""Write a bs-encrypt file: preallocated shards, filled in place, renamed when complete.

The file is laid out under a temporary name (``.NAME.XXXX.partial`` beside the output) with
``complete=False``, and holds an exclusive ``flock`` on it while it lives, so ``stale_partials``
can tell a partial file left by a killed run (no lock) from one a running process is writing.
Uncompressed image datasets are contiguous and allocated up front, so worker
processes write their batches straight to known byte offsets; compressed ones are chunked and
written by the parent, and so are JPEG copies (``store``): a variable-length uint8 dataset
``images`` of shape (n, N), one JPEG per image and copy. ``commit`` sets ``complete=True``
and renames the file into place.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from bsformat.checksum import CHECKSUM_ATTR, shard_digest
from bsformat.codec import StoreSpec, encode_batch
from bsformat.files import no_space, partial_name, partials
from bsformat.format import FORMAT_NAME, FORMAT_VERSION, shard_name

__all__ = ["SplitLayout", "ShardWriter", "stale_partials"]

# HDF5 buffers chunks and metadata and writes them when a dataset or the file is closed. A write
# that fails on a full disk leaves the library unable to close the file (h5py then crashes when
# the process exits), so the writer refuses, before HDF5 sees it, a write that might not fit
# with this much room to spare for the buffers (a 1 MiB chunk cache, the metadata); a file the
# workers write straight to its byte offsets only needs room for the metadata.
HEADROOM = 2 << 20
HEADROOM_CONTIGUOUS = 256 << 10


@dataclass(frozen=True)
class SplitLayout:
    """The shape of one split in the file."""

    name: str
    labels: np.ndarray  # (n,) int64
    n_copies: int
    image_shape: tuple[int, int, int]
    shard_size: int
    augment_json: str
    first_id: int = 0  # id of the first image (a shard file of a folder holds a later range)

    @property
    def n_images(self) -> int:
        return len(self.labels)

    @property
    def n_shards(self) -> int:
        return max(1, -(-self.n_images // self.shard_size))


def stale_partials(out: Path) -> list[tuple[Path, int]]:
    """Partial files of ``out`` (``.NAME.XXXX.partial`` beside it) that no running process
    holds: left by a killed run. Returns (path, size in bytes) pairs."""
    out = Path(out).expanduser()
    if not out.parent.is_dir():
        return []
    found = []
    for p in partials(out.parent, out.name):
        try:
            fd = os.open(p, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a live writer holds it
        finally:
            os.close(fd)  # closing drops the lock taken just now
        found.append((p, p.stat().st_size))
    return found


class ShardWriter:
    """Lays out a partial file; gives byte targets for batches; commits or removes it."""

    def __init__(
        self,
        out: Path,
        attrs: dict,
        class_names: list[str],
        splits: list[SplitLayout],
        compression: str | None = None,
        store: StoreSpec | None = None,
        threads: int = 1,
    ) -> None:
        self.out = Path(out)
        self.tmp = partial_name(self.out)
        self.compression = compression
        self.store = store if store is not None and store.kind == "jpeg" else None
        self.threads = threads
        self.splits = {s.name: s for s in splits}
        self._offsets: dict[tuple[str, int], int] = {}
        self._h5: h5py.File | None = None
        self._lock_fd: int | None = None
        try:
            self._lock_fd = os.open(self.tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            self._room(0)  # the layout: metadata only
            with h5py.File(self.tmp, "w", libver="latest", locking=False) as f:
                for k, v in attrs.items():
                    f.attrs[k] = v
                f.attrs["format"] = FORMAT_NAME
                f.attrs["format_version"] = FORMAT_VERSION
                f.attrs["complete"] = False
                if self.store is not None:
                    f.attrs["store"] = json.dumps(self.store.to_json(), sort_keys=True)
                f.create_dataset("class_names", data=np.array(class_names, dtype=object),
                                 dtype=h5py.string_dtype())
                for s in splits:
                    self._layout_split(f, s)
        except OSError as e:
            self.abort()
            raise OSError(f"cannot lay out the output in {self.tmp}: {e}") from None
        except BaseException:
            self.abort()
            raise

    def _layout_split(self, f: h5py.File, s: SplitLayout) -> None:
        g = f.create_group(s.name)
        g.attrs.update(split=s.name, n_images=s.n_images, n_copies=s.n_copies,
                       shard_size=s.shard_size, n_shards=s.n_shards, augment=s.augment_json)
        for i in range(s.n_shards):
            start = i * s.shard_size
            stop = min(start + s.shard_size, s.n_images)
            sg = g.create_group(shard_name(i))
            sg.attrs.update(start=start, n_images=stop - start)
            sg.create_dataset("labels", data=s.labels[start:stop].astype(np.int64))
            sg.create_dataset("ids", data=np.arange(start, stop, dtype=np.int64) + s.first_id)
            shape = (stop - start, s.n_copies, *s.image_shape)
            if self.store is not None:
                sg.create_dataset("images", shape=shape[:2], dtype=h5py.vlen_dtype(np.uint8),
                                  chunks=(min(64, shape[0]) or 1, shape[1]),
                                  compression=self.compression)
            elif self.compression:
                sg.create_dataset("images", shape=shape, dtype=np.uint8,
                                  chunks=(min(64, shape[0]) or 1, *shape[1:]),
                                  compression=self.compression)
            else:
                self._offsets[(s.name, i)] = _contiguous(sg, "images", shape)

    def target(self, split: str, start: int) -> tuple[str, int] | None:
        """Where the batch starting at image id ``start`` goes: (path, byte offset), or None when
        the parent must write it (compressed files, JPEG copies)."""
        if self.compression or self.store is not None:
            return None
        s = self.splits[split]
        shard, row = divmod(start - s.first_id, s.shard_size)
        row_bytes = s.n_copies * int(np.prod(s.image_shape))
        return str(self.tmp), self._offsets[(split, shard)] + row * row_bytes

    def write(self, split: str, start: int, batch: np.ndarray) -> None:
        """Write a returned batch (B, N, H, W, C) at image id ``start`` (compressed files, JPEG
        copies: encoded here, in ``threads`` threads)."""
        if self._h5 is None:
            self._h5 = h5py.File(self.tmp, "r+", locking=False)
        s = self.splits[split]
        shard, row = divmod(start - s.first_id, s.shard_size)
        data = batch
        if self.store is not None:
            B, N = batch.shape[:2]
            blobs = encode_batch(batch.reshape(B * N, *batch.shape[2:]), self.store, self.threads)
            data = np.empty((B, N), dtype=object)  # (B, N) of uint8 JPEG bytes
            for k, b in enumerate(blobs):
                data[k // N, k % N] = np.frombuffer(b, np.uint8)
        self._room(sum(len(b) for b in data.reshape(-1)) if self.store is not None
                   else data.nbytes)
        self._h5[split][shard_name(shard)]["images"][row : row + len(batch)] = data

    def _room(self, nbytes: int) -> None:
        """NoSpaceError naming the output unless ``nbytes`` more fit on its disk (with
        room to spare for HDF5's buffers)."""
        chunked = self.compression or self.store is not None
        free = shutil.disk_usage(self.tmp.parent).free
        if free < nbytes + (HEADROOM if chunked else HEADROOM_CONTIGUOUS):
            raise no_space(self.out, None, self.tmp.stat().st_size + nbytes)

    def commit(self, overwrite: bool) -> Path:
        """Store each shard's checksum, mark the file complete, flush it to disk and move it
        to its final name."""
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None
        self._room(0)  # the checksums and flags: a few KiB
        with h5py.File(self.tmp, "r+", locking=False) as f:
            for s in self.splits.values():
                for i in range(s.n_shards):
                    g = f[s.name][shard_name(i)]
                    g.attrs[CHECKSUM_ATTR] = shard_digest(g["images"])
            f.attrs["complete"] = True
        with open(self.tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if self.out.exists() and not overwrite:
            raise FileExistsError(f"output {self.out} appeared while writing; not replacing it")
        os.replace(self.tmp, self.out)
        self._unlock()
        return self.out

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def abort(self) -> None:
        """Remove the partial file (also when closing it fails: a damaged or full disk)."""
        if self._h5 is not None:
            try:
                self._h5.close()
            except Exception:  # noqa: BLE001 - the file is removed anyway; keep the cause
                pass
            self._h5 = None
        if self._lock_fd is not None:  # only a file this writer created and still holds
            self.tmp.unlink(missing_ok=True)
        self._unlock()


def _contiguous(group: h5py.Group, name: str, shape: tuple[int, ...]) -> int:
    """Create a contiguous uint8 dataset allocated now (no fill); return its byte offset."""
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
    dcpl.set_obj_track_times(False)  # no timestamps: a seeded run's bytes do not change
    space = h5py.h5s.create_simple(shape)
    dsid = h5py.h5d.create(group.id, name.encode(), h5py.h5t.NATIVE_UINT8, space, dcpl=dcpl)
    offset = dsid.get_offset()
    dsid.close()
    if offset is None:
        raise OSError(f"HDF5 did not allocate {group.name}/{name}")
    return int(offset)
