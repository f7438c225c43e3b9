"""Which K of a split's N images a command looks at: a seeded subset, stratified by label.

Files store images in source order, and a folder source stores them class by class, so "the
first K images" can hold a few classes only. ``choose_subset`` takes K images spread over the
classes in proportion to their sizes (every class present gets at least one when K allows),
drawn with ``numpy.random.default_rng(seed)``; without labels it takes a seeded random K. The
positions come back sorted, so reads stay in file order. ``bs-train --limit-train/--limit-test``,
``bs-encrypt audit --samples`` and ``bs-encrypt inspect --grid`` all use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SUBSET_WAYS", "Subset", "choose_subset", "stratified_counts"]


@dataclass(frozen=True)
class Subset:
    """Sorted positions (K,) int64 in a split of ``n`` images, and how they were chosen."""

    indices: np.ndarray
    n: int
    how: str  # "all", "stratified" (by label), "random" (no labels) or "first"
    seed: int

    def describe(self) -> str:
        """``all 5,000 images``, ``200 of 5,000 images, stratified by label (seed 0)``, ..."""
        if self.how == "all":
            return f"all {self.n:,} images"
        if self.how == "first":
            return f"the first {len(self.indices):,} of {self.n:,} images"
        way = "stratified by label" if self.how == "stratified" else "seeded random, no labels"
        return f"{len(self.indices):,} of {self.n:,} images, {way} (seed {self.seed})"


def stratified_counts(class_sizes: np.ndarray, k: int) -> np.ndarray:
    """How many of each class (C,) to take for ``k`` in all: proportional to the class sizes
    (largest remainders), at least one of every non-empty class when ``k`` allows."""
    sizes = np.asarray(class_sizes, dtype=np.int64)  # (C,)
    total = int(sizes.sum())
    if not 0 <= k <= total:
        raise ValueError(f"cannot take {k} of {total} images")
    quota = k * sizes / max(total, 1)  # (C,) float
    take = np.floor(quota).astype(np.int64)
    present = sizes > 0
    if k >= int(present.sum()):
        take = np.where(present, np.maximum(take, 1), 0)
    while take.sum() > k:  # the forced ones overshot: trim where most over the quota
        over = np.where(take > 1, take - quota, -np.inf)
        take[int(np.argmax(over))] -= 1
    while take.sum() < k:  # largest remainders first, where a class has images left
        under = np.where(take < sizes, quota - take, -np.inf)
        take[int(np.argmax(under))] += 1
    return take


SUBSET_WAYS = ("stratified", "first")


def choose_subset(n: int, k: int | None, seed: int = 0,
                  labels: np.ndarray | None = None, way: str = "stratified") -> Subset:
    """``k`` of ``n`` positions: stratified by ``labels`` (n,) when given and all >= 0, else
    seeded random; ``way="first"`` takes the first ``k`` (for data whose head means something,
    such as CIFAR-10's exact test images). ``k`` None or ``n`` gives all. ValueError for ``k``
    outside 1..n or an unknown ``way``."""
    if way not in SUBSET_WAYS:
        raise ValueError(f"subset {way!r} is not known; use {' or '.join(SUBSET_WAYS)}")
    if k is None or k == n:
        return Subset(np.arange(n, dtype=np.int64), n, "all", seed)
    if not 1 <= k <= n:
        raise ValueError(f"cannot take {k} of {n} images; give 1..{n}")
    if way == "first":
        return Subset(np.arange(k, dtype=np.int64), n, "first", seed)
    rng = np.random.default_rng(seed)
    if labels is None or len(labels) != n or (n and int(np.min(labels)) < 0):
        picked = rng.choice(n, size=k, replace=False)
        return Subset(np.sort(picked).astype(np.int64), n, "random", seed)
    labels = np.asarray(labels, dtype=np.int64)  # (n,)
    classes, inverse = np.unique(labels, return_inverse=True)
    take = stratified_counts(np.bincount(inverse, minlength=len(classes)), k)  # (C,)
    parts = [rng.permutation(np.flatnonzero(inverse == c))[:t] for c, t in enumerate(take) if t]
    return Subset(np.sort(np.concatenate(parts)).astype(np.int64), n, "stratified", seed)
