"""Cost of the defences in the encryption hot path: ``encrypt_batch`` at 224 px, 16x16 blocks,
N = 4 copies with crop, flip and GridMask, without defences, with each alone and with all.

A quick in-process timing (best of a few repeats on one batch), not an end-to-end run: the
file writing, which a border drop makes smaller, is left out. Prints ms per batch and the
ratio to the undefended batch.

    .venv/bin/python bench/bench_defences.py [--images 64] [--size 224] [--block 16]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

import numpy as np

from encrypt_tool.augment import AugmentConfig
from encrypt_tool.encrypt import BatchSpec, encrypt_batch
from encrypt_tool.setting import Setting
from experiments.machine import describe_machine as machine

SETTINGS = (  # the block side comes from --block
    Setting("none"),
    Setting("drop-border 2", drop=2),
    Setting("rotate", rotate=True),
    Setting("negpos", negpos=True),
    Setting("channel-perm", channel_perm=True),
    Setting("all (drop 2)", drop=2, rotate=True, negpos=True, channel_perm=True),
    Setting("all (no drop)", rotate=True, negpos=True, channel_perm=True),
)


def photo_like(n: int, size: int) -> np.ndarray:
    """Smooth random images with some texture: (n, size, size, 3) uint8."""
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, (n, size // 16, size // 16, 3)).astype(np.float32)
    x = coarse.repeat(16, axis=1).repeat(16, axis=2)
    x += rng.normal(0, 12, x.shape)
    return x.clip(0, 255).astype(np.uint8)


def best_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--block", type=int, default=16)
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    x = photo_like(a.images, a.size)
    shape = x.shape[1:]
    key = bytes(range(32))
    ids = np.arange(a.images)
    aug = AugmentConfig(pad=None, gridmask_d=None).resolve(shape)
    print(f"# {machine()}; load {os.getloadavg()[0]:.2f}")
    print(f"# {a.images} images of {a.size}x{a.size}x3, {a.block}x{a.block} blocks, "
          f"N = {a.copies}, crop + flip + GridMask; best of {a.repeats}")
    base = None
    for setting in SETTINGS:
        name, cfg = setting.name, replace(setting, block=a.block).defences()
        defences = cfg.resolve((a.block, a.block), shape) if cfg.active else None
        spec = BatchSpec(split="train", n_copies=a.copies, block=(a.block, a.block),
                         augment=aug, scramble=True, dataset_id=b"\x01" * 16, defences=defences)
        ms = best_ms(lambda spec=spec: encrypt_batch(x, ids, spec, key), a.repeats)
        base = base or ms
        print(f"{name:<16} {ms:8.1f} ms/batch  {ms / a.images:6.2f} ms/image  "
              f"x{ms / base:.2f}")
    print(f"# load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
