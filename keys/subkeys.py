"""Format version 2: one key per image, derived from the master key, and everything of that
image (its augmentation draws, block permutation and defence states) derived from its key.

    k_j = BLAKE2b-256(key=master, person="bs-enc-img-v2",
                      msg = dataset_id | len(split) | split | j)        (j: the global image id)

    permutation, copy s:  W_t = BLAKE2b-512(key=k_j, person="bs-enc-perm-v2", msg = s | t)
    defence states:       V_t = BLAKE2b-512(key=k_j, person="bs-enc-block-v2", msg = n | s | t)
    augmentation draws:   A_t = BLAKE2b-512(key=k_j, person="bs-enc-aug-v2", msg = s | t)

(integers big-endian: j 8 bytes, s and t 4, n 4). The words are read and used as in version 1
(``keys.derive``): W as uint32 words of a rejection-sampled Fisher-Yates shuffle, V as uint64
words, one per plain block. A holds uint64 words, one per draw and image (``ImageDraws``).

Nothing depends on where an image is stored, nor on the batch it is encrypted in: one file or a
folder, any shard size, one process or Dask give the same images. The keys of a shard's images
(``ShardKeys``) are all a worker needs to encrypt that shard; they reveal neither the master key
(a keyed hash cannot be inverted) nor the key of any image outside the shard.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import numpy as np

from keys.derive import BlockStates, shuffle_from_words

__all__ = ["IMAGE_KEY_BYTES", "ImageDraws", "ShardKeys", "derive_aug_words",
           "derive_block_states_v2", "derive_image_keys", "derive_permutations_v2",
           "image_keys"]

IMAGE_KEY_BYTES = 32
_IMG_PERSON = b"bs-enc-img-v2"
_PERM_PERSON = b"bs-enc-perm-v2"
_BLOCK_PERSON = b"bs-enc-block-v2"
_AUG_PERSON = b"bs-enc-aug-v2"


def derive_image_keys(master: bytes, dataset_id: bytes, split: str,
                      ids: np.ndarray) -> np.ndarray:
    """The keys of images ``ids`` (B,) of ``split``: (B, 32) uint8."""
    name = split.encode()
    base = hashlib.blake2b(key=master, digest_size=IMAGE_KEY_BYTES, person=_IMG_PERSON)
    base.update(dataset_id + struct.pack(">B", len(name)) + name)
    out = bytearray()
    for j in np.asarray(ids, np.int64).tolist():
        h = base.copy()
        h.update(struct.pack(">Q", j))
        out += h.digest()
    return np.frombuffer(bytes(out), np.uint8).reshape(-1, IMAGE_KEY_BYTES)


@dataclass(frozen=True, repr=False)
class ShardKeys:
    """The keys of images [start, stop) of one split of one dataset: what a worker gets to
    encrypt its shard, instead of the master key."""

    dataset_id: bytes
    split: str
    start: int
    keys: bytes  # (stop - start) x 32 bytes

    @classmethod
    def derive(cls, master: bytes, dataset_id: bytes, split: str, start: int,
               stop: int) -> ShardKeys:
        k = derive_image_keys(master, dataset_id, split, np.arange(start, stop))
        return cls(dataset_id, split, start, k.tobytes())

    @property
    def stop(self) -> int:
        return self.start + len(self.keys) // IMAGE_KEY_BYTES

    def lookup(self, dataset_id: bytes, split: str, ids: np.ndarray) -> np.ndarray:
        """The keys of images ``ids``: (B, 32) uint8; ValueError for an image not held."""
        ids = np.asarray(ids, np.int64)
        if dataset_id != self.dataset_id or split != self.split:
            raise ValueError(f"these keys are of split {self.split!r} of another dataset or "
                             f"split, not {split!r}")
        if ids.size and (ids.min() < self.start or ids.max() >= self.stop):
            raise ValueError(f"images {int(ids.min())}..{int(ids.max())} are outside the keys "
                             f"held, of images {self.start}..{self.stop - 1}")
        k = np.frombuffer(self.keys, np.uint8).reshape(-1, IMAGE_KEY_BYTES)
        return k[ids - self.start]

    def __repr__(self) -> str:
        return f"ShardKeys({self.split!r}, images {self.start}..{self.stop - 1}, <hidden>)"


def image_keys(key: bytes | ShardKeys, dataset_id: bytes, split: str,
               ids: np.ndarray) -> np.ndarray:
    """The keys of images ``ids`` from the master key, or from a shard's keys."""
    if isinstance(key, ShardKeys):
        return key.lookup(dataset_id, split, ids)
    return derive_image_keys(key, dataset_id, split, ids)


def _stream(keys: np.ndarray, person: bytes, prefix: bytes, t: int, dtype: str) -> np.ndarray:
    """Digest ``t`` of every image's stream: (B, 64 / itemsize) words."""
    out = bytearray()
    tail = prefix + struct.pack(">I", t)
    for k in keys:
        out += hashlib.blake2b(tail, key=k.tobytes(), digest_size=64, person=person).digest()
    return np.frombuffer(bytes(out), dtype=dtype).reshape(len(keys), -1)


def derive_permutations_v2(keys: np.ndarray, copy: int, grid: tuple[int, int]) -> np.ndarray:
    """Block permutations of copy ``copy`` of the images with keys ``keys`` (B, 32):
    (B, gy*gx) int64, as ``keys.derive.derive_permutations`` reads them."""
    prefix = struct.pack(">I", copy)
    return shuffle_from_words(lambda t: _stream(keys, _PERM_PERSON, prefix, t, "<u4"),
                              len(keys), int(grid[0]) * int(grid[1]))


def derive_block_states_v2(keys: np.ndarray, copy: int, n_blocks: int) -> BlockStates:
    """Transform states of the ``n_blocks`` plain blocks of copy ``copy`` of the images with
    keys ``keys`` (B, 32), each (B, n) uint8."""
    if n_blocks < 1:
        raise ValueError(f"n_blocks {n_blocks} is not valid; it must be at least 1")
    prefix = struct.pack(">II", n_blocks, copy)
    words = np.concatenate([_stream(keys, _BLOCK_PERSON, prefix, t, "<u8")
                            for t in range(-(-n_blocks // 8))], axis=1)[:, :n_blocks]
    return BlockStates(orientation=(words & 7).astype(np.uint8),
                       negpos=((words >> 3) & 1).astype(np.uint8),
                       channel_perm=((words >> 8) % 6).astype(np.uint8))


def derive_aug_words(keys: np.ndarray, copy: int, n_words: int = 8) -> np.ndarray:
    """``n_words`` uint64 words per image for the augmentation draws of copy ``copy``:
    (B, n_words)."""
    prefix = struct.pack(">I", copy)
    parts = [_stream(keys, _AUG_PERSON, prefix, t, "<u8") for t in range(-(-n_words // 8))]
    return np.concatenate(parts, axis=1)[:, :n_words] if parts else np.zeros((len(keys), 0),
                                                                              np.uint64)


class ImageDraws:
    """The random draws of ``encrypt_tool.augment``'s ``sample_*`` functions, each image from
    its own words: a call for ``size=(B, ...)`` takes the next ``prod(...)`` words of every
    image. ``random``: (w >> 11) / 2**53, uniform in [0, 1); ``integers(lo, hi)``: lo +
    w mod (hi - lo) (bias below (hi - lo) / 2**64)."""

    def __init__(self, words: np.ndarray) -> None:
        self.words, self.used = words, 0  # (B, n) uint64

    def _take(self, size) -> np.ndarray:
        shape = (size,) if isinstance(size, int | np.integer) else tuple(size)
        if shape[0] != len(self.words):
            raise ValueError(f"draws for {shape[0]} images from words of {len(self.words)}")
        k = int(np.prod(shape[1:], dtype=np.int64))
        if self.used + k > self.words.shape[1]:
            raise ValueError("the augmentation asks for more draws than its words hold")
        w = self.words[:, self.used:self.used + k]
        self.used += k
        return w.reshape(shape)

    def random(self, size) -> np.ndarray:
        return (self._take(size) >> np.uint64(11)).astype(np.float64) * 2.0**-53

    def integers(self, low, high=None, size=None) -> np.ndarray:
        if high is None:
            low, high = 0, low
        w = self._take(size)
        span = (np.asarray(high, np.int64) - np.asarray(low, np.int64)).astype(np.uint64)
        return np.asarray(low, np.int64) + (w % span).astype(np.int64)
