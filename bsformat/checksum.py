"""Checksums: the one SHA-256 of a whole file (``file_sha256``), and per-shard checksums: a
SHA-256 of each shard's image bytes, stored as the shard attribute ``sha256`` when the file is
committed and checked on a shard's first read, so that silently changed image data is found.

The digest covers the images dataset's uint8 values in C order, (n, N, H, W, C), as h5py reads
them: for a compressed file, the decompressed bytes. For JPEG copies (a variable-length
dataset of shape (n, N)) it covers every stored JPEG in C order, each as its length (8 bytes,
little-endian) and its bytes.
"""

from __future__ import annotations

import hashlib
import os
import threading

import h5py
import numpy as np

__all__ = ["CHECKSUM_ATTR", "checked", "file_sha256", "forget_checked", "mark_checked",
           "shard_digest"]

CHECKSUM_ATTR = "sha256"
_CHUNK_BYTES = 64 << 20


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a whole file, read in 8 MiB pieces."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while piece := f.read(8 << 20):
            h.update(piece)
    return h.hexdigest()


def shard_digest(images: h5py.Dataset) -> str:
    """SHA-256 (hex) of a shard's images, read in chunks of about 64 MiB."""
    h = hashlib.sha256()
    n = images.shape[0]
    if h5py.check_vlen_dtype(images.dtype) is not None:
        step = 256
        for a in range(0, n, step):
            for blob in images[a:min(n, a + step)].reshape(-1):
                h.update(len(blob).to_bytes(8, "little"))
                h.update(np.ascontiguousarray(blob, np.uint8))
        return h.hexdigest()
    row = max(1, int(np.prod(images.shape[1:], dtype=np.int64)))
    step = max(1, _CHUNK_BYTES // row)
    for a in range(0, n, step):
        h.update(np.ascontiguousarray(images[a:min(n, a + step)]))
    return h.hexdigest()


# Shards whose checksum matched in this process, by file identity (device, inode, size, mtime)
# and shard: a file opened again (the streaming reader opens it every epoch) is not hashed again.
_CHECKED: set[tuple] = set()
_LOCK = threading.Lock()


def _identity(path: str | os.PathLike, part: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, part)


def checked(path: str | os.PathLike, part: str) -> bool:
    """Whether shard ``part`` of the file at ``path``, unchanged since, matched its checksum
    earlier in this process."""
    ident = _identity(path, part)
    with _LOCK:
        return ident is not None and ident in _CHECKED


def mark_checked(path: str | os.PathLike, part: str) -> None:
    """Remember that shard ``part`` of the file at ``path`` matched its checksum."""
    ident = _identity(path, part)
    if ident is not None:
        with _LOCK:
            _CHECKED.add(ident)


def forget_checked() -> None:
    """Forget every remembered match (benchmarks, tests)."""
    with _LOCK:
        _CHECKED.clear()
