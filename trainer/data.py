"""The in-memory data path: every copy of every image resident as uint8 (on the GPU when
there is one), an epoch's copies picked by indexing; and the choice between it and the streaming
path for a run (a dataset for your own loop: ``trainer.images``).

Converting to float and normalising happens on the device, batch by batch (``to_input``).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from trainer.config import TrainConfig
from trainer.estimate import available_memory
from trainer.plan import epoch_plan, rank_batches
from trainer.source import Split, load_split, open_splits
from trainer.stream import StreamLoader

__all__ = ["MemoryLoader", "choose_mode", "fits_in_memory", "make_loader",
           "open_splits", "to_input"]

Batch = tuple[torch.Tensor, torch.Tensor]  # (B, H, W, C) uint8, (B,) int64


def fits_in_memory(nbytes: int, device: torch.device, fraction: float = 0.5) -> bool:
    """Whether ``nbytes`` fits in ``fraction`` of the free memory of ``device``."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
    else:
        free = available_memory() or 4 << 30
    return nbytes <= fraction * free


def to_input(
    x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, channels_last: bool = False
) -> torch.Tensor:
    """(B, H, W, C) uint8 -> normalised (B, C, H, W) float32, on x's device.

    The arithmetic runs on the contiguous (B, H, W, C) tensor; the final permute makes it a
    channels_last (B, C, H, W) tensor without a copy, or a copy when ``channels_last`` is False.
    """
    scale = 1.0 / (255.0 * std)  # (C,)
    x = x.float().sub_(255.0 * mean).mul_(scale)  # (B, H, W, C) float32
    x = x.permute(0, 3, 1, 2)  # (B, C, H, W), channels_last strides
    return x if channels_last else x.contiguous()


class MemoryLoader:
    """A split held in memory; ``batches(epoch)`` yields the epoch's batches for this rank."""

    def __init__(
        self, split: Split, device: torch.device, batch_size: int, seed: int = 0,
        shuffle: bool = True, rank: int = 0, world: int = 1,
    ) -> None:
        images, labels = load_split(split)
        self.images = torch.from_numpy(images).to(device)  # (n, N, H, W, C) uint8
        self.labels = torch.from_numpy(labels).to(device)  # (n,) int64
        self.split, self.device, self.batch_size = split, device, batch_size
        self.seed, self.shuffle, self.rank, self.world = seed, shuffle, rank, world

    def plan(self, epoch: int) -> list[np.ndarray]:
        """This rank's batches of image indices for ``epoch`` (see ``plan.rank_batches``)."""
        n = self.split.n_images
        if not self.shuffle:
            return rank_batches(np.arange(n), self.batch_size, self.rank, self.world, pad=False)
        p = epoch_plan(self.seed, epoch, n, self.split.n_copies)
        return rank_batches(p.order, self.batch_size, self.rank, self.world)

    def __len__(self) -> int:
        return len(self.plan(0))

    def batches(self, epoch: int) -> Iterator[Batch]:
        n, n_copies = self.split.n_images, self.split.n_copies
        copies = (epoch_plan(self.seed, epoch, n, n_copies).copies if self.shuffle
                  else np.zeros(n, np.int64))
        plan = self.plan(epoch)
        if not plan:
            return
        flat = torch.from_numpy(np.concatenate(plan)).to(self.device)  # one copy per epoch
        chosen = torch.from_numpy(copies).to(self.device)[flat]
        i0 = 0
        for idx in plan:
            i, s = flat[i0:i0 + len(idx)], chosen[i0:i0 + len(idx)]
            i0 += len(idx)
            yield self.images[i, s], self.labels[i]  # (B, H, W, C) uint8, (B,)


def choose_mode(mode: str, split: Split, device: torch.device, budget: float) -> str:
    """``memory`` or ``stream``: ``auto`` holds the split in memory when it fits ``budget``."""
    if mode != "auto":
        return mode
    return "memory" if fits_in_memory(split.nbytes, device, budget) else "stream"


def make_loader(split: Split, mode: str, config: TrainConfig, d, shuffle: bool):
    """The loader of ``split`` for this rank (``d``: a ``ddp.Dist``) in ``mode``."""
    kw = dict(batch_size=config.batch_size, seed=config.seed, shuffle=shuffle, rank=d.rank,
              world=d.world)
    if mode == "memory":
        return MemoryLoader(split, d.device, **kw)
    return StreamLoader(split, d.device, workers=config.workers, **kw)
