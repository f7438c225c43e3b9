"""Which copy of each image an epoch uses, and in which order: pure functions of (seed, epoch).

Every epoch each training image j contributes exactly one of its N copies, s_j, drawn uniformly;
the images come in a random order. Both are drawn from one numpy Generator seeded with
(seed, epoch), so a run is reproducible, a resumed run sees the same epochs, and every DDP rank
computes the same global plan and takes a disjoint part of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["EpochPlan", "epoch_plan", "rank_batches", "window_order"]


@dataclass(frozen=True)
class EpochPlan:
    """The copy of every image, and the order of images, for one epoch."""

    copies: np.ndarray  # (n,) int64, copy s_j of image j
    order: np.ndarray  # (n,) int64, a permutation of range(n)


def _rng(seed: int, epoch: int, stream: int = 0) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(epoch), int(stream)])


def epoch_plan(seed: int, epoch: int, n_images: int, n_copies: int) -> EpochPlan:
    """Draw s_j for all j in [0, n_images) and a permutation of the images."""
    rng = _rng(seed, epoch)
    copies = rng.integers(0, n_copies, size=n_images, dtype=np.int64)
    order = rng.permutation(n_images).astype(np.int64)
    return EpochPlan(copies=copies, order=order)


def window_order(
    seed: int, epoch: int, n_images: int, chunk: int, window: int
) -> list[np.ndarray]:
    """A streaming order: chunks of ``chunk`` consecutive images in random order, grouped
    ``window`` chunks at a time, shuffled within each group (the shuffle buffer).

    Returns one index array per group; it needs no data, so every rank and worker agrees on it.
    """
    rng = _rng(seed, epoch, 1)
    starts = np.arange(0, n_images, chunk)[rng.permutation(-(-n_images // chunk))]
    groups = []
    for g in range(0, len(starts), window):
        idx = np.concatenate([np.arange(s, min(s + chunk, n_images)) for s in starts[g:g + window]])
        groups.append(idx[rng.permutation(len(idx))].astype(np.int64))
    return groups


def rank_batches(
    order: np.ndarray, batch_size: int, rank: int = 0, world: int = 1, pad: bool = True
) -> list[np.ndarray]:
    """Split a global order into batches of ``batch_size``; rank r takes ``batch[r::world]``.

    The order is first padded to a multiple of ``world`` by repeating its head (as
    DistributedSampler does), so that every rank gets the same number of non-empty batches;
    ``batch_size`` must be a multiple of ``world``. The union over ranks is the whole order.
    With ``pad=False`` (evaluation) nothing repeats and a rank's last batch may be empty.
    """
    extra = (-len(order)) % world if pad else 0
    if extra:
        order = np.concatenate([order, np.resize(order, extra)])
    batches = [order[i:i + batch_size][rank::world] for i in range(0, len(order), batch_size)]
    return [b for b in batches if len(b)] if not pad else batches
