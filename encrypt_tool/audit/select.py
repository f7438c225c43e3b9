"""Which images of a split an audit attacks: a seeded sample stratified by label (the
default), a range from a start, or a list of indices."""

from __future__ import annotations

import numpy as np

from bsformat.subset import choose_subset

__all__ = ["parse_indices", "select", "select_indices"]

SEED = 0  # the audit's sample is fixed: the same file gives the same report


def parse_indices(text: str) -> list[int]:
    """'0-99,200,300-309' -> [0, ..., 99, 200, 300, ..., 309]; ValueError on anything else."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        lo, sep, hi = part.partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            raise ValueError(
                f"indices {text!r} are not valid: give numbers and ranges like 0-99,200"
            )
        a, b = int(lo), int(hi) if sep else int(lo)
        if b < a:
            raise ValueError(f"index range {part!r} is not valid: its end is before its start")
        out.extend(range(a, b + 1))
    return out


def select_indices(
    n_images: int,
    samples: int | None,
    start: int = 0,
    indices: np.ndarray | list[int] | None = None,
) -> np.ndarray:
    """Positions (M,) int64 of the images to audit in a split of ``n_images``.

    ``indices`` wins; otherwise ``samples`` images from ``start`` (fewer at the split's end;
    None: all from ``start``).
    """
    if indices is not None:
        idx = np.asarray(indices, dtype=np.int64).ravel()
        if idx.size == 0:
            raise ValueError("indices are empty: give at least one image index")
        if idx.min() < 0 or idx.max() >= n_images:
            bad = idx[(idx < 0) | (idx >= n_images)][0]
            raise ValueError(f"index {bad} is not valid: the split has images 0..{n_images - 1}")
        if len(np.unique(idx)) != len(idx):
            raise ValueError("indices are not valid: an image index is repeated")
        return idx
    if samples is not None and samples < 1:
        raise ValueError(f"samples {samples} is not valid; it must be >= 1")
    if not 0 <= start < n_images:
        raise ValueError(f"start {start} is not valid: the split has images 0..{n_images - 1}")
    stop = n_images if samples is None else min(n_images, start + samples)
    return np.arange(start, stop, dtype=np.int64)


def select(
    n_images: int,
    samples: int | None,
    start: int | None = None,
    indices: np.ndarray | list[int] | None = None,
    labels: np.ndarray | None = None,
) -> tuple[np.ndarray, str]:
    """Positions (M,) int64 to audit and how they were chosen, in words.

    ``indices`` wins, then ``start`` (a range, as ``select_indices``); with neither,
    ``samples`` images stratified by ``labels`` (seed ``SEED``; seeded random without labels),
    so a file stored class by class is not audited on its first classes only.
    """
    if indices is not None or start is not None:
        idx = select_indices(n_images, samples, start or 0, indices)
        how = (f"the {len(idx):,} given by --indices" if indices is not None else
               f"{len(idx):,} from position {start} on")
        return idx, how
    if samples is not None and samples < 1:
        raise ValueError(f"samples {samples} is not valid; it must be >= 1")
    chosen = choose_subset(n_images, None if samples is None else min(samples, n_images), SEED,
                           labels)
    return chosen.indices, chosen.describe()
