"""Which implementation crop and GridMask use: one batched NumPy operation, or slices per image.

Both give the same bytes. The batched path costs time per pixel and almost nothing per image,
and NumPy releases the GIL while it runs, so ``--jobs 2`` threads overlap. The sliced path
costs a few Python steps per image (holding the GIL) but copies only contiguous memory and
touches only the pixels that change.

The rule: batched when an image has at most ``BATCH_MAX_PIXELS`` = 64 x 64 pixels, sliced
above. Measured with ``bench/bench_augment_paths.py`` (2 cores, microseconds per image,
batches of 500): the batched crop wins up to 56 px (32 px: 1.8 against 4.0) and loses from
64 px (6 against 14); the batched GridMask wins up to about 80 px (32 px: 1.6 against 25.6;
64 px: 6.5 against 18.8) and loses from about 96 px (224 px: 134 against 37). At 64 px the
two effects cancel, hence one threshold for both.
"""

from __future__ import annotations

__all__ = ["BATCH_MAX_PIXELS", "PATHS", "pick_path"]

BATCH_MAX_PIXELS = 64 * 64
PATHS = ("auto", "batch", "slices")


def pick_path(path: str, h: int, w: int) -> str:
    """``"batch"`` or ``"slices"`` for images of h x w pixels; ``path`` other than auto wins."""
    if path not in PATHS:
        raise ValueError(f"path {path!r} is not valid; choose one of {', '.join(PATHS)}")
    if path != "auto":
        return path
    return "batch" if h * w <= BATCH_MAX_PIXELS else "slices"
