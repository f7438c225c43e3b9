"""Crop and GridMask: batched path against per-image slices, by image size.

For each side S (square RGB images, batches of 500, crop padding and GridMask d scaled with S as
`bs-encrypt dataset` does) prints microseconds per image of both implementations (best of 9),
the one the rule in `encrypt_tool/augment/paths.py` picks, and checks that their bytes agree.

    .venv/bin/python bench/bench_augment_paths.py [--sides 16 32 48 64 80 96 128 224]
"""

from __future__ import annotations

import argparse
import time
from functools import partial

import numpy as np

from encrypt_tool.augment import scaled_defaults
from encrypt_tool.augment.crop import apply_crop, sample_crop
from encrypt_tool.augment.gridmask import sample_gridmask, zero_holes
from encrypt_tool.augment.paths import pick_path
from experiments.machine import describe_machine as machine

BATCH = 500


def best_us(f, repeats: int = 9) -> float:
    """Best wall time of ``f()`` in microseconds per image."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best * 1e6 / BATCH


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sides", type=int, nargs="+", default=[16, 32, 48, 64, 80, 96, 128, 224])
    args = p.parse_args()
    print(f"machine: {machine()}")
    print(f"{'side':>5} {'step':<14} {'batch us':>9} {'slices us':>10}  rule picks")
    rng = np.random.default_rng(0)
    for s in args.sides:
        x = rng.integers(0, 256, (BATCH, s, s, 3), dtype=np.uint8)  # (B, S, S, 3)
        pad, d = scaled_defaults(s)
        off = sample_crop(rng, BATCH, pad)
        g = sample_gridmask(rng, BATCH, d, 0.6, 0.8)
        pick = pick_path("auto", s, s)
        for mode in ("zero", "reflect"):
            a, b = (apply_crop(x, off, pad, mode, path=q) for q in ("batch", "slices"))
            if not np.array_equal(a, b):
                raise SystemExit(f"crop paths differ at {s} px, {mode}")
            t = [best_us(partial(apply_crop, x, off, pad, mode, path=q))
                 for q in ("batch", "slices")]
            print(f"{s:>5} {'crop ' + mode:<14} {t[0]:>9.2f} {t[1]:>10.2f}  {pick}")
        ys = {q: x.copy() for q in ("batch", "slices")}
        for q, y in ys.items():
            zero_holes(y, g, path=q)
        if not np.array_equal(ys["batch"], ys["slices"]):
            raise SystemExit(f"GridMask paths differ at {s} px")
        # zeroing is idempotent, so timing on the already masked copies measures the same work
        t = [best_us(partial(zero_holes, ys[q], g, path=q)) for q in ("batch", "slices")]
        print(f"{s:>5} {'GridMask':<14} {t[0]:>9.2f} {t[1]:>10.2f}  {pick}")


if __name__ == "__main__":
    main()
