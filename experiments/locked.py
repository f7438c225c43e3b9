"""An optional exclusive lock around a measured step, as ``flock PATH`` takes it."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

__all__ = ["locked"]


@contextlib.contextmanager
def locked(path: str | None) -> Iterator[float]:
    """Hold an exclusive lock on ``path`` (as ``flock PATH``) while the block runs; yields the
    1-minute load average once the lock is held. No lock when ``path`` is None."""
    if not path:
        yield os.getloadavg()[0]
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield os.getloadavg()[0]
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
