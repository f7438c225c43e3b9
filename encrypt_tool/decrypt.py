"""Decrypt with the master key: recompute each image's permutation (and defence states) and
invert them. With a border drop, the plain image has the source size and the dropped border
pixels of every block are 0."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bsformat.files import atomic_write
from bsformat.format import FileInfo, FormatError
from bsformat.reader import Batch, Dataset, open_dataset
from encrypt_tool.defences import DefenceConfig
from encrypt_tool.keyed import decrypt_copy
from encrypt_tool.scramble import block_grid
from keys.master import fingerprint

__all__ = ["WrongKeyError", "check_key", "decrypt_file", "decrypt_images"]

_BATCH = 4096  # images decrypted at a time


class WrongKeyError(ValueError):
    """The key's fingerprint differs from the one stored in the file."""


def check_key(info: FileInfo, key: bytes) -> None:
    """Refuse a key that did not encrypt the file (fingerprints differ)."""
    if not info.scrambled:
        return
    if fingerprint(key) != info.key_fingerprint:
        raise WrongKeyError(
            f"wrong key: its fingerprint {fingerprint(key)} differs from the file's "
            f"{info.key_fingerprint}"
        )


def decrypt_images(
    ds: Dataset, key: bytes, split: str, copy: int = 0, index: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Plain images (n, H, W, C) and their permutations (n, gy*gx) of copy ``copy`` of the
    images ``index`` (positions in the split; None: all). Reads only those images."""
    check_key(ds.info, key)
    plain, perm, _ = _decrypt(ds.info, key, split, copy, ds.read(split, index, copy))
    return plain, perm


def _decrypt(
    info: FileInfo, key: bytes, split: str, copy: int, batch: Batch
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plain images, permutations and labels of one batch of copy ``copy``."""
    x = batch.images  # (n, H, W, C) uint8
    grid = block_grid(info.image_shape[:2], info.block_size)
    if not info.scrambled:
        return x, np.tile(np.arange(grid[0] * grid[1]), (len(x), 1)), batch.labels
    dataset_id = bytes.fromhex(info.dataset_id)
    defences = DefenceConfig.from_dict(info.defences)
    plain, perm = decrypt_copy(x, key, dataset_id, split, batch.ids, copy, info.block_size,
                               defences, version=info.format_version)
    # plain (n, H, W, C) at the source size, perm (n, gy*gx)
    return plain, perm, batch.labels


def decrypt_file(
    path: str | os.PathLike,
    key: bytes,
    out: str | os.PathLike,
    split: str | None = None,
    copy: int = 0,
    overwrite: bool = False,
) -> tuple[Path, int]:
    """Write the decrypted split as an npz (``images``, ``labels``, ``class_names``), mode
    0600: plain images are as private as the key."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"output {out} already exists; pass --overwrite to replace it")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"output directory {out.parent} does not exist")
    with open_dataset(path) as ds:
        info = ds.info
        if not info.splits:
            raise FormatError(f"{path} holds no splits: there is nothing to decrypt")
        split = split or ("train" if "train" in info.splits else sorted(info.splits)[0])
        n = ds.split(split).n_images
        check_key(info, key)
        defences = DefenceConfig.from_dict(info.defences)
        shape = defences.source_image_shape if defences.active else info.image_shape
        plain = np.empty((n, *shape), np.uint8)  # (n, H, W, C) at the source size
        labels = np.empty(n, np.int64)
        at = 0
        for batch in ds.iter_batches(split, _BATCH, copy):
            x, _, y = _decrypt(info, key, split, copy, batch)
            plain[at:at + len(x)], labels[at:at + len(x)] = x, y
            at += len(x)
    names = np.array(info.class_names)
    size = plain.nbytes + labels.nbytes + names.nbytes + 1024  # + the zip and .npy headers
    with atomic_write(out, private=True, size=size) as fh:  # as private as the key
        np.savez(fh, images=plain, labels=labels, class_names=names)
    return out, len(plain)
