"""The streaming data path, for data that does not fit in memory: an ``IterableDataset`` that
reads shards in large contiguous chunks, shuffles through a buffer and prefetches in a thread.

An epoch's order (``plan.window_order``): chunks of consecutive images in random order, a window
of chunks at a time read into the buffer and shuffled there. Copy choices are those of
``plan.epoch_plan``, the same as in memory. Every rank computes the same global order and keeps
``batch[rank::world]`` of each global batch; DataLoader workers split the windows between them.
The HDF5 file is opened inside ``__iter__``, i.e. in the process that reads, never across a fork.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from bsformat.reader import Batch as ReadBatch
from bsformat.reader import open_dataset
from trainer.plan import epoch_plan, window_order
from trainer.source import Split

__all__ = ["ShardStream", "StreamLoader"]

Batch = tuple[torch.Tensor, torch.Tensor]  # (B, H, W, C) uint8, (B,) int64
_DONE = object()


class ShardStream(IterableDataset):
    """Batches of one epoch of a split, streamed; use with ``DataLoader(batch_size=None)``."""

    def __init__(
        self, split: Split, batch_size: int, seed: int = 0, shuffle: bool = True,
        chunk: int = 512, window: int = 16, prefetch: int = 2, rank: int = 0, world: int = 1,
    ) -> None:
        self.split, self.batch_size, self.seed, self.shuffle = split, batch_size, seed, shuffle
        self.chunk, self.window, self.prefetch = chunk, window, prefetch
        self.rank, self.world, self.epoch = rank, world, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def groups(self) -> list[np.ndarray]:
        """The epoch's buffer loads, each an array of image indices in output order."""
        n = self.split.n_images
        if not self.shuffle:
            return [np.arange(a, min(a + self.chunk * self.window, n)) for a in
                    range(0, n, self.chunk * self.window)]
        return window_order(self.seed, self.epoch, n, self.chunk, self.window)

    def _read(self, ds, idx: np.ndarray, copies: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Gather images ``idx`` (copies ``copies[idx]``) from contiguous chunk reads."""
        x = np.empty((len(idx), *self.split.image_shape), np.uint8)  # (m, H, W, C)
        y = np.empty(len(idx), np.int64)
        chunk_of = idx // self.chunk
        for c in np.unique(chunk_of):
            a = int(c) * self.chunk
            b = min(a + self.chunk, self.split.n_images)
            got = self._chunk(ds, a, b, copies[a:b])  # (b-a, H, W, C)
            sel = np.flatnonzero(chunk_of == c)
            local = idx[sel] - a
            x[sel] = got.images[local]
            y[sel] = got.labels[local]
        return x, y

    def _chunk(self, ds, a: int, b: int, copies: np.ndarray):
        """Images [a, b) of the split, copy ``copies[i]`` of the i-th: of a limited split
        (``split.rows``) its chosen rows, else one contiguous read."""
        if self.split.rows is None:
            return ds.read_range(self.split.name, a, b, copy=copies)
        got = ds.read(self.split.name, np.asarray(self.split.rows[a:b], np.int64), copy=None)
        x = got.images[np.arange(b - a), copies]  # (b-a, N, H, W, C) -> (b-a, H, W, C)
        return ReadBatch(x, got.labels, got.ids)

    def _producer(self, groups, copies, out: queue.Queue, stop: threading.Event) -> None:
        def put(item) -> bool:  # False once the consumer has gone
            while not stop.is_set():
                try:
                    out.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            with open_dataset(self.split.path) as ds:
                for idx in groups:
                    if not put(self._read(ds, idx, copies)):
                        return
            put(_DONE)
        except BaseException as e:  # hand errors to the consumer
            put(e)

    def __iter__(self) -> Iterator[Batch]:
        n = self.split.n_images
        copies = (epoch_plan(self.seed, self.epoch, n, self.split.n_copies).copies
                  if self.shuffle else np.zeros(n, np.int64))
        groups = self.groups()
        info = get_worker_info()
        if info is not None:
            groups = groups[info.id::info.num_workers]
        out: queue.Queue = queue.Queue(maxsize=self.prefetch)
        stop = threading.Event()
        t = threading.Thread(target=self._producer, args=(groups, copies, out, stop), daemon=True)
        t.start()
        try:
            yield from self._batches(out)
        finally:
            stop.set()
            t.join()

    def _batches(self, out: queue.Queue) -> Iterator[Batch]:
        bs, r, w = self.batch_size, self.rank, self.world
        cx, cy = np.empty((0, *self.split.image_shape), np.uint8), np.empty(0, np.int64)
        while True:
            item = out.get()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            cx, cy = np.concatenate([cx, item[0]]), np.concatenate([cy, item[1]])
            while len(cy) >= bs:
                yield torch.from_numpy(cx[:bs][r::w].copy()), torch.from_numpy(cy[:bs][r::w].copy())
                cx, cy = cx[bs:], cy[bs:]
        if len(cy):
            if self.shuffle and len(cy) % w:  # pad as DistributedSampler does
                k = (-len(cy)) % w
                cx, cy = np.concatenate([cx, np.resize(cx, (k, *cx.shape[1:]))]), np.concatenate(
                    [cy, np.resize(cy, k)])
            if len(cy[r::w]):
                yield torch.from_numpy(cx[r::w].copy()), torch.from_numpy(cy[r::w].copy())


class StreamLoader:
    """The streaming counterpart of ``data.MemoryLoader``: batches moved to ``device``."""

    def __init__(
        self, split: Split, device: torch.device, batch_size: int, seed: int = 0,
        shuffle: bool = True, rank: int = 0, world: int = 1, workers: int = 0,
    ) -> None:
        self.stream = ShardStream(split, batch_size, seed, shuffle, rank=rank, world=world)
        self.device, self.workers = device, workers
        self.loader = DataLoader(
            self.stream, batch_size=None, num_workers=workers,
            pin_memory=device.type == "cuda", persistent_workers=False,
        )
        n = split.n_images
        self._len = -(-n // batch_size) if workers == 0 else None

    def __len__(self) -> int:
        return self._len or 0

    def batches(self, epoch: int) -> Iterator[Batch]:
        self.stream.set_epoch(epoch)
        for x, y in self.loader:
            yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
