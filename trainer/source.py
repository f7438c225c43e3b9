"""Open bs-encrypt files on the cloud side: describe a split, check a train/test pair, read ranges.

Reads are large and contiguous: a range of consecutive images with all their copies, split at
shard boundaries, never one HDF5 read per image, through ``bsformat.reader``; nothing
here (or anywhere in ``trainer``) imports ``keys``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bsformat.reader import Dataset, open_dataset
from bsformat.subset import choose_subset
from trainer.config import TrainConfig
from trainer.errors import TrainError

__all__ = ["Split", "check_pair", "check_same_key", "channel_stats", "describe", "load_split",
           "open_splits", "read_range"]


@dataclass(frozen=True)
class Split:
    """One split of one file, as the trainer sees it (``n_images`` after any limit)."""

    path: str
    name: str
    n_images: int
    n_copies: int
    image_shape: tuple[int, int, int]  # (H, W, C)
    block_size: tuple[int, int]
    class_names: tuple[str, ...]
    dataset_id: str
    scrambled: bool
    shard_starts: tuple[int, ...]
    shard_sizes: tuple[int, ...]
    defences: dict = field(default_factory=dict)  # the file's ``defences`` attribute, as JSON
    rows: tuple[int, ...] | None = None  # with a limit: the file positions taken, increasing
    subset: str = ""  # how they were taken, e.g. "200 of 5,000 images, stratified by label"
    key_fingerprint: str = ""  # the public fingerprint of the master key ("" when plain)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def nbytes(self) -> int:
        """Bytes of all copies of all images, as uint8."""
        h, w, c = self.image_shape
        return self.n_images * self.n_copies * h * w * c


def describe(path: str, split: str, limit: int | None = None, seed: int = 0,
             way: str = "stratified") -> Split:
    """The split ``split`` of the bs-encrypt file at ``path``; FormatError or TrainError if bad.

    ``limit`` K takes K images stratified by label, seeded by ``seed`` (``bsformat.subset``):
    a file may store its images class by class, so the first K could miss whole classes.
    ``way="first"`` takes the first K instead, where the head of a split means something.
    """
    with open_dataset(path) as ds:
        info = ds.info
        if split not in info.splits:
            hint = ("; encrypt the data again with `bs-encrypt dataset --test-fraction 0.2` "
                    "(a folder without test/ needs it), or give a test file with --test"
                    if split == "test" else "")
            raise TrainError(f"{path} has no {split!r} split (it has {sorted(info.splits)})"
                             f"{hint}")
        s = info.splits[split]
        h, w, c = info.image_shape
        spans = ds.shards(split)
        n = sum(sp.n for sp in spans)  # the reader checked the shards hold what is declared
        rows, subset = None, ""
        if limit is not None:
            if not 1 <= limit <= n:
                raise TrainError(f"--limit-{split} {limit} is not valid for {path}: its "
                                 f"{split!r} split holds {n:,} images; give 1..{n} or leave "
                                 f"it out")
            chosen = choose_subset(n, limit, seed, ds.labels(split), way)
            rows, subset, n = tuple(chosen.indices.tolist()), chosen.describe(), limit
    starts = [sp.start for sp in spans]
    sizes = [sp.n for sp in spans]
    if n == 0:
        raise TrainError(f"{path}: the {split!r} split is empty (0 images)")
    if info.n_classes < 2:
        raise TrainError(f"{path} declares {info.n_classes} class(es); a classifier needs >= 2 "
                         f"(a folder source needs a subfolder per class)")
    return Split(
        path=str(path), name=split, n_images=n, n_copies=s.n_copies,
        image_shape=(h, w, c), block_size=tuple(info.block_size),
        class_names=info.class_names, dataset_id=info.dataset_id, scrambled=info.scrambled,
        shard_starts=tuple(starts), shard_sizes=tuple(sizes), defences=dict(info.defences),
        rows=rows, subset=subset, key_fingerprint=info.key_fingerprint,
    )


def check_pair(train: Split, test: Split) -> None:
    """TrainError unless the test split matches the training split in every way that matters."""
    for what in ("image_shape", "block_size", "n_classes", "scrambled", "defences"):
        a, b = getattr(train, what), getattr(test, what)
        if a != b:
            raise TrainError(
                f"train and test data differ in {what.replace('_', ' ')}: {a} ({train.path})"
                f" vs {b} ({test.path})"
            )
    if train.scrambled:
        check_same_key("train and test data", (train.key_fingerprint, train.path),
                       (test.key_fingerprint, test.path),
                       "encrypt the test images with the training file's key")
    if train.class_names != test.class_names:
        raise TrainError(
            f"train and test data have different class names ({train.path}, {test.path})"
        )


def check_same_key(what: str, a: tuple[str, str], b: tuple[str, str], fix: str) -> None:
    """TrainError naming both fingerprints unless ``a`` and ``b`` (each a public key
    fingerprint and where it was read) are of one master key."""
    if a[0] != b[0]:
        raise TrainError(f"{what} were encrypted with different master keys: fingerprint "
                         f"{a[0]} ({a[1]}) vs {b[0]} ({b[1]}); {fix}")


def open_splits(config: TrainConfig, world: int = 1) -> tuple[Split, Split]:
    """The train and test splits of a run, checked against
    each other and the batch size; only file metadata is read, so the command line checks
    them before it prints its configuration or imports torch."""
    train_split = describe(config.data, "train", config.limit_train, config.seed, config.subset)
    test_split = describe(config.test or config.data, "test", config.limit_test, config.seed,
                          config.subset)
    check_pair(train_split, test_split)
    if config.batch_size > train_split.n_images:
        raise TrainError(
            f"batch size {config.batch_size} is larger than the training set "
            f"({train_split.n_images} images); use --batch-size <= {train_split.n_images}"
        )
    if config.batch_size % world:
        raise TrainError(f"batch size {config.batch_size} must be a multiple of the "
                         f"{world} processes")
    return train_split, test_split


def read_range(ds: Dataset, split: Split, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Images [start, stop) with all their copies, in as few contiguous reads as there are
    shards in the range (of a limited split: its chosen rows [start, stop), only those rows).
    Returns (stop-start, N, H, W, C) uint8 and (stop-start,) int64."""
    if split.rows is not None:
        b = ds.read(split.name, np.asarray(split.rows[start:stop], np.int64), copy=None)
        return b.images, b.labels
    b = ds.read_range(split.name, start, stop, copy=None)
    return b.images, b.labels


def load_split(split: Split) -> tuple[np.ndarray, np.ndarray]:
    """The whole split in memory: (n, N, H, W, C) uint8 and (n,) int64, read shard by shard."""
    with open_dataset(split.path) as ds:
        return read_range(ds, split, 0, split.n_images)


def channel_stats(split: Split, max_images: int = 10_000) -> tuple[list[float], list[float]]:
    """Per-channel mean and std in [0, 1] from a sample of the split (the head of every shard).

    Block scrambling only permutes pixel positions, so these equal the plain images' statistics.
    """
    per_shard = max(1, max_images // len(split.shard_starts))
    sums = np.zeros(split.image_shape[2])
    sq = np.zeros(split.image_shape[2])
    count = 0
    with open_dataset(split.path) as ds:
        for s0 in split.shard_starts:
            if s0 >= split.n_images:
                break
            x, _ = read_range(ds, split, s0, min(s0 + per_shard, split.n_images))
            for k in range(0, len(x), 1024):
                v = x[k:k + 1024].reshape(-1, x.shape[-1]).astype(np.int64)  # (pixels, C)
                sums += v.sum(0)
                sq += (v * v).sum(0)
                count += v.shape[0]
    mean = sums / count / 255.0
    std = np.sqrt(np.maximum(sq / count / 255.0**2 - mean * mean, 1e-12))
    return [float(v) for v in mean], [float(max(v, 1e-3)) for v in std]
