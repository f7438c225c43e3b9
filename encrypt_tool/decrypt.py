"""Decrypt with the master key: recompute each image's permutation and invert it."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import h5py
import numpy as np

from encrypt_tool.format import FileInfo, FormatError, open_encrypted, read_info
from encrypt_tool.scramble import block_grid, unscramble
from keys.derive import derive_permutations
from keys.master import fingerprint

__all__ = ["WrongKeyError", "check_key", "decrypt_file", "decrypt_images", "read_split"]


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


def read_split(
    f: h5py.File, split: str, copy: int, index: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Encrypted copy ``copy`` of a split: images (n, H, W, C), labels (n,), ids (n,).

    ``index`` selects image positions within the split (sorted or not); None takes all.
    """
    info = read_info(f)
    if split not in info.splits:
        raise FormatError(f"split {split!r} is not in {f.filename}; it has {sorted(info.splits)}")
    sp = info.splits[split]
    if not 0 <= copy < sp.n_copies:
        raise ValueError(
            f"copy {copy} is not valid; split {split!r} has copies 0..{sp.n_copies - 1}"
        )
    images, labels, ids = [], [], []
    for name in sp.shards:
        g = f[split][name]
        images.append(g["images"][:, copy])  # (n_s, H, W, C)
        labels.append(g["labels"][()])
        ids.append(g["ids"][()])
    x, y, j = np.concatenate(images), np.concatenate(labels), np.concatenate(ids)
    if index is not None:
        index = np.asarray(index)
        if index.size and (index.min() < 0 or index.max() >= len(x)):
            raise ValueError(f"image index out of range 0..{len(x) - 1}")
        x, y, j = x[index], y[index], j[index]
    return x, y, j


def decrypt_images(
    f: h5py.File, key: bytes, split: str, copy: int = 0, index: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Plain images (n, H, W, C) and their permutations (n, gy*gx) for copy ``copy``."""
    plain, perm, _ = _decrypt(f, key, split, copy, index)
    return plain, perm


def _decrypt(
    f: h5py.File, key: bytes, split: str, copy: int, index: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plain images, permutations and labels of copy ``copy``, from one read of the split."""
    info = read_info(f)
    check_key(info, key)
    x, labels, ids = read_split(f, split, copy, index)
    grid = block_grid(info.image_shape[:2], info.block_size)
    if not info.scrambled:
        return x, np.tile(np.arange(grid[0] * grid[1]), (len(x), 1)), labels
    dataset_id = bytes.fromhex(info.dataset_id)
    perm = derive_permutations(key, dataset_id, split, ids, copy, grid)  # (n, gy*gx)
    return unscramble(x, perm, info.block_size), perm, labels


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
    with open_encrypted(path) as f:
        info = read_info(f)
        split = split or ("train" if "train" in info.splits else sorted(info.splits)[0])
        plain, _, labels = _decrypt(f, key, split, copy)
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.partial.npz")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # as private as the key
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, images=plain, labels=labels, class_names=np.array(info.class_names))
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out, len(plain)
