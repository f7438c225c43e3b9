"""Encrypt one batch: for each copy, augment then scramble with per-image keys.

This is the hot path; it runs inside the worker processes of ``bs-encrypt dataset``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from bsformat.format import FORMAT_VERSION
from encrypt_tool.augment import AugmentConfig, apply_augment, sample_augment
from encrypt_tool.defences import DefenceConfig
from encrypt_tool.keyed import encrypt_copy
from keys.derive import derive_seed_words
from keys.subkeys import ImageDraws, ShardKeys, derive_aug_words, image_keys

__all__ = ["BatchSpec", "encrypt_batch", "encrypt_unit"]


@dataclass(frozen=True)
class BatchSpec:
    """Everything that fixes the bytes of an encrypted batch, besides the images."""

    split: str
    n_copies: int
    block: tuple[int, int]
    augment: AugmentConfig | None
    scramble: bool
    dataset_id: bytes
    defences: DefenceConfig | None = None  # resolved for the source size; None: none
    version: int = FORMAT_VERSION  # the keying of the file (1: read only; 2: keys.subkeys)

    def stored_shape(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        """The stored (H', W', C) of source images of ``shape``."""
        if self.defences is None or not self.defences.active:
            return tuple(shape)
        return self.defences.kept_image_shape()


def encrypt_batch(x: np.ndarray, ids: np.ndarray, spec: BatchSpec,
                  key: bytes | ShardKeys) -> np.ndarray:
    """Encrypt x (B, H, W, C) uint8 of images ``ids`` (B,) into (B, N, H', W', C) uint8.

    Version 2: copy ``s`` of image ``j`` is augmented with draws from the image's own key, then
    its defences (if any) and its block permutation are keyed by that key and ``s``, so an image
    is encrypted the same in any batch and any layout; ``key`` is the master key or the
    ``ShardKeys`` of the images (for an unscrambled dataset: derived from no key).
    (H', W') is (H, W), or the grid of kept block interiors with a border drop.
    """
    if spec.version == 1:
        return _encrypt_batch_v1(x, ids, spec, key)
    B, H, W, C = x.shape
    k = image_keys(key if spec.scramble or isinstance(key, ShardKeys) else b"",
                   spec.dataset_id, spec.split, ids)  # (B, 32)
    out = np.empty((B, spec.n_copies, *spec.stored_shape((H, W, C))), dtype=np.uint8)
    for s in range(spec.n_copies):
        y = x
        if spec.augment is not None:
            draws = ImageDraws(derive_aug_words(k, s))
            y = apply_augment(x, sample_augment(draws, B, spec.augment), spec.augment)
        if spec.scramble:
            y = encrypt_copy(y, key, spec.dataset_id, spec.split, ids, s, spec.block,
                             spec.defences, version=2)
        out[:, s] = y
    return out


def _encrypt_batch_v1(x: np.ndarray, ids: np.ndarray, spec: BatchSpec,
                      key: bytes) -> np.ndarray:
    """Version 1 (kept to reproduce its files in tests): copy ``s`` is augmented with draws
    seeded from (key, dataset id, split, first id of the batch, s)."""
    B, H, W, C = x.shape
    secret = key if spec.scramble else b""
    out = np.empty((B, spec.n_copies, *spec.stored_shape((H, W, C))), dtype=np.uint8)
    for s in range(spec.n_copies):
        y = x
        if spec.augment is not None:
            words = derive_seed_words(secret, spec.dataset_id, spec.split, int(ids[0]), s)
            rng = np.random.default_rng(np.random.SeedSequence(words))
            y = apply_augment(x, sample_augment(rng, B, spec.augment), spec.augment)
        if spec.scramble:
            y = encrypt_copy(y, key, spec.dataset_id, spec.split, ids, s, spec.block,
                             spec.defences, version=1)
        out[:, s] = y
    return out


def encrypt_unit(
    source, start: int, stop: int, spec: BatchSpec, key: bytes, target
) -> np.ndarray | None:
    """Read images [start, stop) of ``source``, encrypt them and deliver the result.

    ``target`` is ``(path, byte_offset)``: the batch is written there with one ``pwrite`` and
    None is returned. With ``target=None`` the encrypted batch is returned instead.
    """
    x = source.read(start, stop)  # (B, H, W, C) uint8
    out = encrypt_batch(x, np.arange(start, stop, dtype=np.int64), spec, key)
    if target is None:
        return out
    path, offset = target
    try:
        fd = os.open(path, os.O_WRONLY)
        try:
            view = memoryview(out).cast("B")
            while view:
                n = os.pwrite(fd, view, offset)
                view, offset = view[n:], offset + n
        finally:
            os.close(fd)
    except OSError as e:
        raise OSError(f"cannot write to {path} (the unfinished output): "
                      f"{e.strerror or e}") from None
    return None
