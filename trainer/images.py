"""A bs-encrypt file (or shard folder) as a PyTorch ``IterableDataset`` for your own loop.

    import trainer
    train = trainer.open_images("data/demo.h5")           # (C, H, W) float32, label
    for epoch in range(E):
        train.set_epoch(epoch)                            # a new random copy of every image
        for x, y in DataLoader(train, batch_size=128, num_workers=2): ...

Built on the streaming reader (``trainer.stream.ShardStream``): large contiguous reads of
whole chunks, a shuffle buffer, never the whole split in memory. Each epoch uses one copy s_j
of every image, drawn from (seed, epoch) as in ``bs-train`` (``trainer.plan.epoch_plan``).
DataLoader workers each read their own part of the epoch (every image once in all). Pixels are
normalised per channel, ``(x / 255 - mean) / std``, with the training data's statistics.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import IterableDataset

from trainer.data import to_input
from trainer.errors import TrainError
from trainer.source import Split, channel_stats, describe
from trainer.stream import ShardStream

__all__ = ["EncryptedImages", "open_images"]

Stats = tuple[tuple[float, ...], tuple[float, ...]]  # per-channel (mean, std) in [0, 1]


class EncryptedImages(IterableDataset):
    """One split, streamed: items ((C, H, W) float32 normalised, int64 label); call
    ``set_epoch(e)`` before each epoch for that epoch's copies and order."""

    def __init__(self, split: Split, stats: Stats, seed: int = 0, shuffle: bool = True,
                 read_batch: int = 256) -> None:
        mean, std = stats
        c = split.image_shape[2]
        if len(mean) != c or len(std) != c or min(std) <= 0:
            raise TrainError(f"stats need {c} means and {c} positive stds (one per channel); "
                             f"got {list(mean)} and {list(std)}")
        self.split, self.stats = split, (tuple(map(float, mean)), tuple(map(float, std)))
        self.stream = ShardStream(split, read_batch, seed, shuffle)

    @property
    def n_classes(self) -> int:
        return self.split.n_classes

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.split.class_names

    def set_epoch(self, epoch: int) -> None:
        self.stream.set_epoch(epoch)

    def __len__(self) -> int:
        return self.split.n_images

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        mean, std = (torch.tensor(v) for v in self.stats)
        for x, y in self.stream:  # this worker's part: (B, H, W, C) uint8, (B,) int64
            yield from zip(to_input(x, mean, std), y, strict=True)  # (C, H, W) float32, ()


def open_images(path: str | os.PathLike, split: str = "train", *, seed: int = 0,
                shuffle: bool | None = None,
                stats: tuple[Sequence[float], Sequence[float]] | None = None
                ) -> EncryptedImages:
    """Split ``split`` of a bs-encrypt file or shard folder as an ``EncryptedImages``.

    ``shuffle`` (default: for ``train`` only) draws each epoch's copies and order from
    (``seed``, epoch); without it every image comes once, copy 0, in file order. ``stats``:
    per-channel (mean, std) in [0, 1], default the split's own (pass the training split's
    ``.stats`` to a test split, as bs-train does)."""
    sp = describe(str(path), split)
    shuffle = split == "train" if shuffle is None else shuffle
    if stats is None:
        stats = channel_stats(sp)
    return EncryptedImages(sp, (tuple(stats[0]), tuple(stats[1])), seed, shuffle)
