"""Per-image keys of format version 1: block permutations derived from the master key (version
2 derives them from per-image keys: ``keys.subkeys``).

For image ``j`` of ``split`` in dataset ``dataset_id`` and copy ``s``, the key stream is

    W_t = BLAKE2b-512(key=master, person="bs-enc-perm-v1",
                      msg = dataset_id | len(split) | split | gy | gx | j | s | t),  t = 0, 1, ...

read as little-endian uint32 words. A Fisher-Yates shuffle of the ``n = gy * gx`` block indices
draws each index ``r`` uniform in ``[0, i]`` by rejection (a word ``w`` is used only when
``w < 2**32 - 2**32 mod (i+1)``, then ``r = w mod (i+1)``), so the permutation is uniform over
all ``n!`` with no modulo bias. The shuffle runs for a whole batch of images at once.

The per-block transform states of the defences (``derive_block_states``) come from a second,
independent stream with its own personalisation:

    V_t = BLAKE2b-512(key=master, person="bs-enc-block-v1",
                      msg = dataset_id | len(split) | split | n | j | s | t),  t = 0, 1, ...

read as little-endian uint64 words ``v_0, v_1, ...`` (eight per digest); plain block ``i`` (row
major, before the permutation) of image ``j``, copy ``s`` takes word ``v_i``:

    orientation  = v_i & 7                 (uniform over 0..7: r + 4 f, see encrypt_tool.defences)
    negpos       = (v_i >> 3) & 1          (uniform bit)
    channel_perm = (v_i >> 8) mod 6        (index into itertools.permutations(range(3)); bias
                                            below 2**-53)

Every state is derived whether or not its defence is on, so turning one defence on or off never
changes the states of another, nor the permutation.
"""

from __future__ import annotations

import hashlib
import struct
from typing import NamedTuple

import numpy as np

__all__ = ["BlockStates", "derive_block_states", "derive_dataset_id", "derive_permutations",
           "derive_seed_words", "shuffle_from_words"]

_PERM_PERSON = b"bs-enc-perm-v1"
_BLOCK_PERSON = b"bs-enc-block-v1"
_AUG_PERSON = b"bs-enc-aug-v1"
_ID_PERSON = b"bs-enc-dsid-v1"
_WORDS_PER_BLOCK = 16  # 64-byte digest / 4


def derive_dataset_id(secret: bytes, description: bytes) -> bytes:
    """A public 16-byte dataset identifier, fixed by ``secret`` and the dataset's description."""
    return hashlib.blake2b(description, key=secret, digest_size=16, person=_ID_PERSON).digest()


def derive_seed_words(secret: bytes, dataset_id: bytes, *fields: int | str) -> list[int]:
    """Four 64-bit words to seed a ``numpy.random.SeedSequence`` for one unit of work.

    ``secret`` is the master key (or ``b""`` for an unscrambled dataset); the words cannot be
    recomputed from the public dataset id alone.
    """
    msg = dataset_id + "|".join(str(f) for f in fields).encode()
    digest = hashlib.blake2b(msg, key=secret, digest_size=32, person=_AUG_PERSON).digest()
    return list(struct.unpack("<4Q", digest))


def _prefix_hasher(key: bytes, dataset_id: bytes, split: str, grid: tuple[int, int]):
    name = split.encode()
    h = hashlib.blake2b(key=key, digest_size=64, person=_PERM_PERSON)
    h.update(dataset_id + struct.pack(">B", len(name)) + name + struct.pack(">HH", *grid))
    return h


def _key_stream(base, ids: np.ndarray, copy: int, block: int) -> np.ndarray:
    """Block ``block`` of every image's key stream: (B, 16) uint32."""
    out = bytearray()
    for j in ids.tolist():
        h = base.copy()
        h.update(struct.pack(">QII", j, copy, block))
        out += h.digest()
    return np.frombuffer(bytes(out), dtype="<u4").reshape(len(ids), _WORDS_PER_BLOCK)


def derive_permutations(
    key: bytes,
    dataset_id: bytes,
    split: str,
    ids: np.ndarray,
    copy: int,
    grid: tuple[int, int],
) -> np.ndarray:
    """Block permutations for images ``ids`` (B,) of ``split``, copy ``copy``: (B, gy*gx) int64.

    Row ``b`` is a permutation of ``range(gy*gx)``; scrambled block ``k`` is plain block
    ``perm[b, k]`` (row-major block order).
    """
    ids = np.asarray(ids, dtype=np.int64)
    base = _prefix_hasher(key, dataset_id, split, grid)
    return shuffle_from_words(lambda t: _key_stream(base, ids, copy, t), len(ids),
                              int(grid[0]) * int(grid[1]))


def shuffle_from_words(stream, B: int, n: int) -> np.ndarray:
    """B uniform permutations of range(n) by a Fisher-Yates shuffle whose draws are rejection-
    sampled from uint32 words; ``stream(t)`` gives digest ``t`` of every row's key stream,
    (B, 16) uint32. Returns (B, n) int64."""
    n_blocks = max(1, -(-(n - 1) // _WORDS_PER_BLOCK))
    words = np.concatenate([stream(t) for t in range(n_blocks)], axis=1)
    perm = np.tile(np.arange(n, dtype=np.int64), (B, 1))  # (B, n)
    ptr = np.zeros(B, dtype=np.int64)
    rows = np.arange(B)
    for i in range(n - 1, 0, -1):
        m = i + 1
        limit = (1 << 32) - ((1 << 32) % m)
        w = words[rows, ptr].astype(np.int64)  # (B,)
        bad = w >= limit
        while bad.any():  # probability < n / 2**32 per draw: practically never
            ptr[bad] += 1
            if ptr.max() >= words.shape[1]:
                words = np.concatenate([words, stream(words.shape[1] // _WORDS_PER_BLOCK)],
                                       axis=1)
            w[bad] = words[rows[bad], ptr[bad]]
            bad = w >= limit
        r = w % m
        ptr += 1
        tmp = perm[rows, r]
        perm[rows, r] = perm[:, i]
        perm[:, i] = tmp
    return perm


class BlockStates(NamedTuple):
    """Per-block transform states of a batch, each (B, n) uint8, indexed by plain block."""

    orientation: np.ndarray  # 0..7
    negpos: np.ndarray  # 0 or 1
    channel_perm: np.ndarray  # 0..5


def derive_block_states(
    key: bytes,
    dataset_id: bytes,
    split: str,
    ids: np.ndarray,
    copy: int,
    n_blocks: int,
) -> BlockStates:
    """Transform states of the ``n_blocks`` plain blocks of images ``ids`` (B,), copy ``copy``.

    Independent of the permutation stream (own personalisation); see the module docstring.
    """
    ids = np.asarray(ids, dtype=np.int64)
    if n_blocks < 1:
        raise ValueError(f"n_blocks {n_blocks} is not valid; it must be at least 1")
    name = split.encode()
    base = hashlib.blake2b(key=key, digest_size=64, person=_BLOCK_PERSON)
    base.update(dataset_id + struct.pack(">B", len(name)) + name + struct.pack(">I", n_blocks))
    per_digest = 64 // 8
    out = bytearray()
    for j in ids.tolist():
        for t in range(-(-n_blocks // per_digest)):
            h = base.copy()
            h.update(struct.pack(">QII", j, copy, t))
            out += h.digest()
    words = np.frombuffer(bytes(out), dtype="<u8").reshape(len(ids), -1)[:, :n_blocks]  # (B, n)
    return BlockStates(
        orientation=(words & 7).astype(np.uint8),
        negpos=((words >> 3) & 1).astype(np.uint8),
        channel_perm=((words >> 8) % 6).astype(np.uint8),
    )
