"""Small file helpers shared by every command on both sides: output checks and the one atomic
write.

A file that is not complete never looks complete: everything is written under a temporary name
beside the target (``.NAME.XXXXXXXX.partial``), flushed to the disk (fsync) and renamed into
place at the end; on any failure, Ctrl-C included, the partial file is removed. A full disk
becomes one ``NoSpaceError`` naming the path, the space the write needs and what is free.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["H5_SUFFIXES", "NoSpaceError", "atomic_write", "check_output", "human", "is_no_space",
           "no_space", "is_partial", "partial_name", "partials", "write_atomic", "write_private"]

H5_SUFFIXES = (".h5", ".hdf5")  # the names a one-file dataset or query may take

_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


class NoSpaceError(OSError):
    """A write that ran out of disk space: the message names the path and the space needed."""


def human(n: float) -> str:
    """Bytes as a short string: 1.2 GiB, 340.0 MiB, 12.0 KiB, 512 B."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def is_no_space(e: BaseException) -> bool:
    """Whether ``e`` says the disk (or the quota) is full, also when HDF5 wraps it in text."""
    if isinstance(e, NoSpaceError) or (isinstance(e, OSError) and e.errno in _NO_SPACE):
        return True
    text = str(e)
    return isinstance(e, OSError | RuntimeError) and ("No space left" in text
                                                      or "errno = 28" in text)


def no_space(path: str | os.PathLike, needed: int | None, written: int = 0,
             upper: bool = False) -> NoSpaceError:
    """The error for a full disk while writing ``path``: ``needed`` bytes in all (None: more
    than the ``written`` bytes that fitted; ``upper``: at most that, uncompressed)."""
    path = Path(path)
    try:
        free = shutil.disk_usage(path.parent if path.parent.exists() else ".").free
    except OSError:
        free = None
    need = human(needed) if needed else f"more than {human(written)}"
    notes = (["uncompressed"] if needed and upper else []) + (
        [f"{human(free)} free"] if free is not None else [])
    need = f"up to {need}" if needed and upper else need
    have = f" ({'; '.join(notes)})" if notes else ""
    err = NoSpaceError(f"no space left on the disk of {path}: writing it needs {need}{have}; "
                       f"free some space and run it again")
    err.errno = errno.ENOSPC
    return err


def partial_name(path: str | os.PathLike, suffix: str = "") -> Path:
    """A fresh temporary name beside ``path``: ``.NAME.XXXXXXXX.partial[suffix]``."""
    path = Path(path)
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial{suffix}")


def partials(folder: str | os.PathLike, name: str = "*") -> list[Path]:
    """The partial files (and folders) of ``name`` in ``folder``; of every name by default."""
    return sorted(Path(folder).glob(f".{name}.*.partial"))


def is_partial(path: str | os.PathLike) -> bool:
    """Whether ``path`` is named as a partial file: ``.NAME.XXXXXXXX.partial``."""
    name = Path(path).name
    return name.startswith(".") and name.endswith(".partial") and name.count(".") >= 3


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", *, private: bool = False,
                 overwrite: bool = True, size: int | None = None,
                 newline: str | None = None) -> Iterator[IO]:
    """Open a fresh partial file beside ``path`` for writing (``mode`` "wb" or "w"); when the
    block ends, flush it to the disk and rename it to ``path``. On any failure (Ctrl-C too) the
    partial file is removed; a full disk raises ``NoSpaceError`` naming ``path`` and ``size``
    (the bytes the whole write needs, when the caller knows them).

    ``private``: mode 0600 (keys, decrypted images, the client's file names). ``overwrite``:
    False refuses to replace a ``path`` that appeared meanwhile."""
    path = Path(path)
    tmp = partial_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
    try:
        with os.fdopen(fd, mode, newline=newline) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if path.exists() and not overwrite:
            raise FileExistsError(f"output {path} appeared while writing; not replacing it")
        os.replace(tmp, path)
    except BaseException as e:
        try:
            written = tmp.stat().st_size
        except OSError:
            written = 0
        tmp.unlink(missing_ok=True)
        if is_no_space(e):
            raise no_space(path, size, written) from None
        raise


def write_atomic(path: str | os.PathLike, data: bytes | str, *, private: bool = False,
                 overwrite: bool = True) -> Path:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` through :func:`atomic_write`."""
    raw = data.encode() if isinstance(data, str) else data
    with atomic_write(path, "wb", private=private, overwrite=overwrite, size=len(raw)) as f:
        f.write(raw)
    return Path(path)


def write_private(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` with mode 0600 (owner only), atomically."""
    return write_atomic(path, text, private=True)


def check_output(out: Path, overwrite: bool) -> None:
    """Fail early, before any work, when ``out`` cannot or must not be written."""
    out = Path(out)
    if out.exists() and out.is_dir():
        raise FileExistsError(f"output {out} is a directory; give a file name such as {out}/enc.h5")
    if out.exists() and not overwrite:
        raise FileExistsError(f"output {out} already exists; pass --overwrite to replace it")
    parent = out.parent
    if not parent.exists():
        raise FileNotFoundError(f"output directory {parent} does not exist; create it first")
    if not parent.is_dir():
        raise NotADirectoryError(f"output directory {parent} is not a directory")
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"output directory {parent} is not writable")
