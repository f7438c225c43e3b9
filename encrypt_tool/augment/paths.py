"""Which implementation crop and GridMask use: one batched NumPy operation, or slices per image.

Both give the same bytes. The batched path costs time per pixel and almost nothing per image,
and NumPy releases the GIL while it runs, so ``--jobs 2`` threads overlap. The sliced path
costs a few Python steps per image (holding the GIL) but copies only contiguous memory and
touches only the pixels that change.

The rule: batched when an image has at most ``BATCH_MAX_PIXELS`` = 64 x 64 pixels, sliced
above. ``bench/bench_augment_paths.py`` (2 shared cores, load about 7; microseconds per image,
batches of 500, batched against sliced): zero-padded crop 1.3 against 2.6 at 32 px, 7.1 against
5.6 at 64 px, 185 against 115 at 224 px; GridMask 1.2 against 5.3 at 32 px, 4.1 against 6.1 at
64 px, 16 against 7 at 96 px, 128 against 19 at 224 px. Reflect padding costs the same either
way (``np.pad`` dominates). At 64 px the two differences about cancel, hence one threshold.
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
