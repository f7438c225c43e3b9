"""Small file helpers shared by every command: output checks and atomic writes.

A file that is not complete never looks complete: everything is written under a temporary
name beside the target (``.NAME.XXXX.partial``) and renamed into place at the end.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["check_output", "partial_name", "write_private"]


def partial_name(path: str | os.PathLike, suffix: str = "") -> Path:
    """A fresh temporary name beside ``path``: ``.NAME.XXXXXXXX.partial[suffix]``."""
    path = Path(path)
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial{suffix}")


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


def write_private(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` with mode 0600 (owner only), under a temporary name that is
    renamed into place, so a reader sees the whole file or none."""
    path = Path(path)
    tmp = partial_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
