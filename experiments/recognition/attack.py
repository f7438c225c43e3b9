"""The recognition test's attack step: encrypt test images as the project does and attack them as
the audit does, every output put back at the source size.

``experiments.recognition.cli`` calls ``attack_setting`` (and ``train.train_plain``); the
scoring (plain, scrambled, self-chosen, union, union over whole-image transforms) lives in
``experiments.recognition.score``. The images are encrypted as a training split (N = 4 copies,
crop, flip, GridMask, the presets' augmentation), so the attacker holds every copy as side
information, as ``bs-encrypt audit`` does on a training file; copy 0 is attacked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from encrypt_tool.setting import Setting
from experiments.encrypt import encrypt, write_npz

__all__ = ["FILLS", "Attacked", "attack_setting", "augmented_copy", "refill"]

FILLS = ("edge", "zero")  # the gap of a dropped border: nearest kept pixel of its block, or 0


@dataclass(frozen=True)
class Attacked:
    """One setting's images, its attacks' outputs and what the attacker would pick.

    Every image array but ``extended`` is at the source size (M, H, W, C) uint8, dropped
    borders refilled (``fill``); ``extended`` holds those outputs at the stored size.
    """

    setting: Setting
    plain: np.ndarray  # augmented copy 0, before encryption
    kept_true: np.ndarray  # the stored pixels of copy 0 put back in place (what decrypt gives)
    scrambled: np.ndarray  # copy 0 as stored
    outputs: dict[str, np.ndarray]  # attack name -> output as the attack gives it
    extended: dict[str, np.ndarray]  # state solvers' outputs at the stored size, with transforms
    self_chosen: np.ndarray
    attack_s: float
    defences: dict
    fill: str = "edge"

    def full(self, y: np.ndarray) -> np.ndarray:
        """A stored-size image (M, H', W', C) refilled to the source size."""
        return refill(y, self.setting.drop, self.setting.kept, self.fill)

    def variants(self, name: str):
        """Each whole-image transform of extended attack ``name``'s output, at the source size:
        yields (M, H, W, C) arrays, the output as given first."""
        from encrypt_tool.audit.states import StateSpace, global_variants

        for v in global_variants(self.extended[name], StateSpace.of(self.defences)):
            yield self.full(v)


def refill(x: np.ndarray, drop: int, kept: tuple[int, int], fill: str = "edge") -> np.ndarray:
    """Kept image (M, gy*kh, gx*kw, C) -> (M, gy*(kh+2d), gx*(kw+2d), C): each kept block back
    in the middle of its source block, the dropped border filled with the nearest kept pixel of
    the same block (``edge``) or with 0 (``zero``, as ``decrypt`` does)."""
    if fill not in FILLS:
        raise ValueError(f"fill {fill!r} is not known; use {' or '.join(FILLS)}")
    if drop < 0:
        raise ValueError(f"drop {drop} is not valid; it must be >= 0")
    if drop == 0:
        return x
    M, H, W, C = x.shape
    kh, kw = kept
    if H % kh or W % kw:
        raise ValueError(f"images of {H}x{W} px are not a grid of {kh}x{kw} kept blocks")
    gy, gx = H // kh, W // kw
    b = x.reshape(M, gy, kh, gx, kw, C).transpose(0, 1, 3, 2, 4, 5)  # (M, gy, gx, kh, kw, C)
    pad = ((0, 0),) * 3 + ((drop, drop), (drop, drop), (0, 0))
    b = np.pad(b, pad, mode="edge" if fill == "edge" else "constant")  # (M, gy, gx, bh, bw, C)
    bh, bw = kh + 2 * drop, kw + 2 * drop
    return np.ascontiguousarray(b.transpose(0, 1, 3, 2, 4, 5).reshape(M, gy * bh, gx * bw, C))


def augmented_copy(x: np.ndarray, key: bytes, dataset_id: str, augment: dict,
                   copy: int = 0) -> np.ndarray:
    """Copy ``copy`` of the training images x (M, H, W, C) as augmented before encryption (crop,
    flip, GridMask), recomputed from the key as ``encrypt_batch`` draws it (format version 2:
    from each image's key, images 0..M-1 of split train)."""
    from encrypt_tool.augment import AugmentConfig, apply_augment, sample_augment
    from keys.subkeys import ImageDraws, derive_aug_words, derive_image_keys

    cfg = AugmentConfig(**{**augment, "gridmask_d": tuple(augment["gridmask_d"])})
    k = derive_image_keys(key, bytes.fromhex(dataset_id), "train", np.arange(len(x)))
    draws = ImageDraws(derive_aug_words(k, copy))
    return apply_augment(x, sample_augment(draws, len(x), cfg), cfg)


def attack_setting(x: np.ndarray, labels: np.ndarray, names, s: Setting, key: bytes,
                   work: Path, fill: str = "edge", jobs: int = 1) -> Attacked:
    """Encrypt x (M, H, W, C) uint8 as setting ``s`` (N = 4), run every attack of the audit on
    copy 0 with all copies as side information, and refill each output to the source size."""
    from bsformat.reader import open_dataset
    from encrypt_tool.audit.battery import run_battery
    from encrypt_tool.audit.pieces import kept_pixels
    from encrypt_tool.audit.run import side_info
    from encrypt_tool.decrypt import decrypt_images

    path = encrypt(write_npz(x, labels, names, work / "images.npz"), key, s,
                   work / "recognition.h5", batch_size=len(x))  # the CLI's augmentation
    try:
        with open_dataset(path) as ds:
            info, sp = ds.info, ds.split("train")
            enc = ds.read("train", None, copy=None).images  # (M, N, H', W', C)
            decrypted, _ = decrypt_images(ds, key, "train", 0)  # (M, H, W, C), border 0
            augment, side = dict(sp.augment), side_info(sp.augment)
    finally:
        path.unlink(missing_ok=True)  # the encrypted file is not a result
        (work / "images.npz").unlink(missing_ok=True)
    defences = dict(info.defences or {})
    block, d = tuple(info.block_size), s.drop
    plain = augmented_copy(x, key, info.dataset_id, augment)  # (M, H, W, C)
    kept = kept_pixels(plain, defences)  # (M, H', W', C)
    if not np.array_equal(refill(kept, d, block, "zero"), decrypted):
        raise RuntimeError("the recomputed augmentation does not match the decrypted images")

    t0 = time.perf_counter()
    bat = run_battery(enc, block, side, defences, jobs=jobs)
    outs = bat.images()  # name -> (M, H', W', C)
    chosen = bat.chosen(outs)
    # the state solvers' answers are right up to a whole-picture transform: classify each
    ext = {k: outs[k] for k, a in bat.answers.items() if a.images is not None}
    ext = ext if s.transforms else {}  # without transforms a state solver is one more solver
    a = Attacked(s, plain, kept, np.ascontiguousarray(enc[:, 0]), outs, ext, chosen,
                 time.perf_counter() - t0, defences, fill)
    return replace(a, kept_true=a.full(kept), scrambled=a.full(a.scrambled),
                   outputs={k: a.full(v) for k, v in a.outputs.items()},
                   self_chosen=a.full(chosen))
