"""The learned attacks' training images: plain images of the same kind as the audited ones,
cut down to the kept blocks as the file stores them (NumPy only).

The default is the owner's own images that are not audited (decrypted with the key the audit
holds anyway: the standard worst case, an attacker with images of the same kind); or a public
image folder the user names, resized as the file's images were and given the file's
augmentation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from encrypt_tool.audit.pieces import assemble, to_pieces

__all__ = ["MIN_PAIRS", "folder_images", "kept", "owner_images"]

MIN_PAIRS = 1000  # true left-right neighbour pairs the smallest training set holds
MAX_PAIRS = 120_000  # more adds training time, not much skill


def _pairs_per_image(grid: tuple[int, int]) -> int:
    return grid[0] * (grid[1] - 1)


def kept(plain: np.ndarray, defences: dict, source_block: tuple[int, int]) -> np.ndarray:
    """Plain images (M, H, W, C) at the source size cut down to their kept blocks, in plain
    order: (M, gy*kh, gx*kw, C) (the images themselves without a border drop)."""
    d = int(defences.get("drop_border", 0))
    if d == 0:
        return plain
    bh, bw = source_block
    M, H, W, C = plain.shape
    gy, gx = H // bh, W // bw
    p = to_pieces(plain, (bh, bw))[:, :, d : bh - d, d : bw - d]  # (M, n, kh, kw, C)
    return assemble(np.ascontiguousarray(p), np.tile(np.arange(gy * gx), (M, 1)), (gy, gx))


def owner_images(ds, key: bytes, split: str, exclude: np.ndarray, grid: tuple[int, int],
                 seed: int = 0) -> np.ndarray:
    """Decrypted copies of the owner's images that are not audited: every split of ``ds``,
    ``split``'s images in ``exclude`` left out, at most enough for ``MAX_PAIRS`` pairs.
    Returns (M, H', W', C) uint8 kept pixels in plain order (possibly M = 0)."""
    from encrypt_tool.decrypt import decrypt_images

    rng = np.random.default_rng(seed)
    cap = max(1, MAX_PAIRS // max(1, _pairs_per_image(grid)))
    info = ds.info
    defences = dict(info.defences or {})
    source = tuple(defences.get("source_block_size") or info.block_size)
    out, have = [], 0
    for name in [split] + [s for s in info.splits if s != split]:
        n = info.splits[name].n_images
        idx = np.setdiff1d(np.arange(n), exclude) if name == split else np.arange(n)
        for copy in range(info.splits[name].n_copies):
            if have >= cap or len(idx) == 0:
                break
            take = np.sort(rng.permutation(idx)[: cap - have])
            plain, _ = decrypt_images(ds, key, name, copy, take)  # (m, H, W, C)
            out.append(kept(plain, defences, source))
            have += len(take)
    if not out:
        return np.zeros((0, *info.image_shape), np.uint8)
    return np.concatenate(out)


def folder_images(folder: str | Path, info, augment: dict | None, seed: int = 0) -> np.ndarray:
    """The images of a folder (any depth) resized and centre-cropped to the file's source size,
    with the split's augmentation, cut down to the kept blocks: (M, H', W', C) uint8.
    ValueError when the folder does not exist or holds no readable image."""
    from encrypt_tool.augment import AugmentConfig, apply_augment, sample_augment
    from encrypt_tool.sources.imagefile import find_images, read_image

    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"--attack-train {folder} is not a folder of images")
    defences = dict(info.defences or {})
    shape = tuple(defences.get("source_image_shape") or info.image_shape)
    source = tuple(defences.get("source_block_size") or info.block_size)
    channels = "l" if shape[2] == 1 else "rgb"
    images = []
    for p in find_images(root):
        try:
            images.append(read_image(p, (shape[0], shape[1]), channels))
        except ValueError:
            continue
    if not images:
        raise ValueError(f"--attack-train {folder} holds no readable image")
    x = np.stack(images)
    if augment:
        cfg = AugmentConfig(**{**augment, "gridmask_d": tuple(augment["gridmask_d"])})
        x = apply_augment(x, sample_augment(np.random.default_rng(seed), len(x), cfg), cfg)
    return kept(x, defences, source)
