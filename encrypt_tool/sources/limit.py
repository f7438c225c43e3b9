"""``dataset --limit K``: which K images of each split a dataset takes.

A source that stores its images class by class (a folder: ``Source.by_class``) gives K images
stratified by label, as ``bs-train --limit-train`` does (``bsformat.subset``, seeded by
``--seed``, 0 without one): its first K would hold the first classes only. Every other source
gives its first K, in the order of its files (CIFAR-10's and the synthetic set's are mixed, and
CIFAR-10's first test images are the exact ones of the offline copy); where those first K miss
classes that the split has, a warning says so.
"""

from __future__ import annotations

import warnings

import numpy as np

from bsformat.subset import choose_subset
from encrypt_tool.sources.base import Source, SplitSource
from encrypt_tool.sources.subset import SubsetSplit

__all__ = ["limit_split"]


def limit_split(src: Source, name: str, k: int, seed: int = 0) -> SplitSource:
    """Split ``name`` of ``src`` cut to at most ``k`` images, as the module docstring says."""
    sp = src.splits[name]
    if k >= sp.n:
        return sp
    if not src.by_class:
        _warn_missing_classes(src, name, sp, k)
        return sp  # the pipeline reads images [0, k)
    index = choose_subset(sp.n, k, seed, sp.labels).indices  # (k,) int64, increasing
    take = getattr(sp, "take", None)
    return take(index) if take is not None else SubsetSplit(sp, index)


def _warn_missing_classes(src: Source, name: str, sp: SplitSource, k: int) -> None:
    labels = sp.labels  # (n,) int64
    have, first = len(np.unique(labels)), len(np.unique(labels[:k]))
    if first < have and k >= have:
        warnings.warn(f"--limit {k:,} takes the first {k:,} images of split {name!r} of "
                      f"{src.name!r}, which hold {first} of its {have} classes (the source "
                      f"is stored in that order); shuffle the source, or give a larger "
                      f"--limit", stacklevel=4)
