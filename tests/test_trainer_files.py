"""Write small, valid bs-encrypt files directly with h5py (docs/FORMAT.md), for trainer tests
(imported by the other test_trainer* files; its own test checks that the files validate).

Images are learnable through block scrambling: each 8 x 8 block carries its class's colour and
stripe direction, plus noise; every copy has its blocks shuffled at random.
"""

from __future__ import annotations

import json

import h5py
import numpy as np

__all__ = ["write_file"]


def _images(rng: np.random.Generator, labels: np.ndarray, n_copies: int, size: int,
            block: int, n_classes: int) -> np.ndarray:
    n = len(labels)
    colours = np.random.default_rng(123).integers(40, 216, (n_classes, 3))  # (K, 3)
    yy, xx = np.mgrid[:size, :size]
    stripes = np.stack([(xx // 2) % 2, (yy // 2) % 2])  # (2, H, W): vertical, horizontal
    base = colours[labels][:, None, None, :] + 40 * stripes[labels % 2][..., None] - 20
    x = base[:, None] + rng.normal(0, 60, (n, n_copies, size, size, 3))  # (n, N, H, W, 3)
    x = np.clip(x, 0, 255).astype(np.uint8)
    g = size // block
    blocks = x.reshape(n, n_copies, g, block, g, block, 3).transpose(0, 1, 2, 4, 3, 5, 6)
    blocks = blocks.reshape(n, n_copies, g * g, block, block, 3)
    perm = np.argsort(rng.random((n, n_copies, g * g)), axis=-1)  # a key per image and copy
    blocks = np.take_along_axis(blocks, perm[..., None, None, None], axis=2)
    x = blocks.reshape(n, n_copies, g, g, block, block, 3).transpose(0, 1, 2, 4, 3, 5, 6)
    return np.ascontiguousarray(x.reshape(n, n_copies, size, size, 3))


def _split(f: h5py.File, name: str, x: np.ndarray, y: np.ndarray, shard_size: int) -> None:
    g = f.create_group(name)
    n = len(y)
    n_shards = -(-n // shard_size)
    g.attrs.update(split=name, n_images=n, n_copies=x.shape[1], shard_size=shard_size,
                   n_shards=n_shards, augment=json.dumps({}))
    for i in range(n_shards):
        a, b = i * shard_size, min(n, (i + 1) * shard_size)
        s = g.create_group(f"shard_{i:05d}")
        s.attrs.update(start=a, n_images=b - a)
        s.create_dataset("images", data=x[a:b])
        s.create_dataset("labels", data=y[a:b].astype(np.int64))
        s.create_dataset("ids", data=np.arange(a, b, dtype=np.int64))


def write_file(path, n_train: int = 256, n_test: int = 128, n_copies: int = 4,
               n_classes: int = 4, size: int = 32, block: int = 8, shard_size: int = 100,
               seed: int = 0, splits: tuple[str, ...] = ("train", "test"),
               complete: bool = True):
    """A bs-encrypt file at ``path`` with the given sizes; returns ``path``."""
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        f.attrs.update(
            format="bs-encrypt", format_version=1, tool_version="test", created="2021-01-01",
            dataset_id=f"{seed:032x}", key_fingerprint="0" * 16, scrambled=True,
            block_size=np.array([block, block]), image_shape=np.array([size, size, 3]),
            source="test", augment=json.dumps({}),
        )
        f.create_dataset("class_names", data=np.array([f"c{k}" for k in range(n_classes)],
                                                       dtype=h5py.string_dtype()))
        for name, n, copies in (("train", n_train, n_copies), ("test", n_test, 1)):
            if name in splits:
                y = np.arange(n) % n_classes
                y = y[rng.permutation(n)]
                _split(f, name, _images(rng, y, copies, size, block, n_classes), y, shard_size)
        f.attrs["complete"] = complete
    return path


def test_written_file_is_valid(tmp_path):
    from bsformat.format import open_encrypted, read_info

    with open_encrypted(write_file(tmp_path / "x.h5", n_train=30, shard_size=8)) as f:
        info = read_info(f)
    assert info.splits["train"].n_images == 30 and len(info.splits["train"].shards) == 4
    assert info.splits["test"].n_copies == 1 and info.n_classes == 4
