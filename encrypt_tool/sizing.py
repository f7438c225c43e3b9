"""Size a ``dataset`` run before it starts: batch size, output bytes, peak memory, and checks.

The batch shrinks as images grow and copies multiply, so the memory of one batch stays under
``BATCH_BUDGET`` whatever N is (down to one image per batch). The batch depends only on the
settings and the image shape, never on the machine, so the same seed gives the same bytes
everywhere.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = [
    "BATCH_BUDGET", "LARGE_OUTPUT", "available_memory", "batch_bytes", "check_resources",
    "effective_batch",
    "free_disk", "human", "output_bytes",
]

BATCH_BUDGET = 256 * 2**20  # bytes of working memory per batch in flight
BASE_MEMORY = 200 * 2**20  # interpreter, numpy, h5py, Pillow
WORK_FACTOR = 6  # image-sized temporaries of one batch besides its N outputs (read, pad, mask..)
SHARD_OVERHEAD = 64 * 1024  # labels, ids and HDF5 headers of one shard, rounded up
LARGE_OUTPUT = 20 * 2**30  # a larger output is written only with --yes (a typo can ask for TBs)


def human(n: float) -> str:
    """Bytes as a short string: 1.2 GiB, 340 MiB, 12 KiB."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def batch_bytes(batch: int, image_bytes: int, n_copies: int) -> int:
    """Working memory of one batch of ``batch`` images of ``image_bytes`` with N copies."""
    return batch * image_bytes * (n_copies + WORK_FACTOR)


def effective_batch(requested: int, image_bytes: int, n_copies: int) -> int:
    """``requested``, shrunk so one batch fits ``BATCH_BUDGET`` (at least 1 image)."""
    fits = BATCH_BUDGET // max(1, batch_bytes(1, image_bytes, n_copies))
    return max(1, min(requested, fits))


def output_bytes(splits: list[tuple[int, int, int, int]]) -> int:
    """Bytes of the uncompressed file for splits given as (images, copies, image bytes, shard
    size)."""
    total = 0
    for n, copies, image_bytes, shard_size in splits:
        shards = max(1, -(-n // shard_size))
        total += n * (copies * image_bytes + 16) + shards * SHARD_OVERHEAD
    return total + SHARD_OVERHEAD


def available_memory() -> int | None:
    """Bytes of memory this process may still use (MemAvailable, capped by a cgroup limit)."""
    avail = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
    except OSError:
        pass
    if avail is None and hasattr(os, "sysconf"):
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError):
            avail = None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
        if limit != "max":
            room = int(limit) - used
            avail = room if avail is None else min(avail, room)
    except (OSError, ValueError):
        pass
    return avail


def free_disk(folder: Path) -> int:
    """Free bytes on the file system that holds ``folder``."""
    return shutil.disk_usage(folder).free


def check_resources(
    out: Path, file_bytes: int, peak_memory: int, compressed: bool, how: str = "",
    yes: bool = False,
) -> list[str]:
    """Raise OSError when the disk at ``out``'s folder or the memory cannot hold the run,
    ValueError for an output above ``LARGE_OUTPUT`` unless ``yes`` (after the disk check:
    --yes cannot lift that one); return warnings (an estimate that cannot be checked
    exactly)."""
    warnings = []
    folder = out.parent
    free = free_disk(folder)
    if file_bytes > free:
        msg = (f"the output needs about {human(file_bytes)} but {folder} has {human(free)} "
               f"free; free some space, write elsewhere (--out), or use fewer images/copies "
               f"(--limit, --n-keys)")
        if not compressed:
            raise OSError(msg)
        warnings.append(msg.replace("needs about", "may need up to (uncompressed)"))
    if file_bytes > LARGE_OUTPUT and not yes:
        size = f"up to {human(file_bytes)} (uncompressed)" if compressed else human(file_bytes)
        raise ValueError(f"the output would be about {size}, more than the "
                         f"{human(LARGE_OUTPUT)} written without asking; pass --yes to write "
                         f"it, or use fewer images or copies (--limit, --n-keys)")
    avail = available_memory()
    if avail is not None and peak_memory > avail:
        raise OSError(
            f"the run needs about {human(peak_memory)} of memory ({how}) but {human(avail)} is "
            f"available; use fewer "
            f"copies (--n-keys), a smaller --image-size or fewer --jobs"
        )
    return warnings
