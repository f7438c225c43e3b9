"""Benchmark the cluster solver on defended photos: what it finds beside the other attacks.

    python bench/bench_tree_photos.py                          # 9 photos, 3 transform settings
    python bench/bench_tree_photos.py --setting "16x16 drop 2" --images 4

The nine public-domain photos (``experiments.photos``, scikit-image; nothing written into the
repository), 224 px, 16x16 blocks, encrypted in memory through the same keyed code as
``bs-encrypt dataset`` (``encrypt_copy``, a throwaway key) with each setting's defences, no
augmentation, N = 1. Every attack of ``bs-encrypt audit`` runs on them. Per setting it prints
the union of every attack but the cluster solver (the baseline: what the audit found before),
the cluster solver's own figures, and the union with it, with the time of each and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from encrypt_tool.audit import AuditConfig, audit_arrays
from encrypt_tool.audit.attack import SideInfo
from encrypt_tool.audit.pieces import kept_pixels
from encrypt_tool.keyed import encrypt_copy
from encrypt_tool.setting import pick
from experiments.settings import PHOTO as PHOTO_SETTINGS

DEFAULT = ("16x16 all transforms", "16x16 drop 2 + all", "16x16 drop 4 + all")


def encrypt(x: np.ndarray, setting, seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict]:
    """x (M, H, W, C) -> (kept plain (M, H', W', C), stored (M, 1, H', W', C), defences)."""
    cfg = setting.defences().resolve(setting.block, x.shape[1:])
    key = np.random.default_rng(seed).bytes(32)  # a throwaway key: only the figures are kept
    stored = encrypt_copy(x, key, b"bench-tree", "train", np.arange(len(x)), 0,
                          setting.block, cfg)
    attrs = json.loads(cfg.to_json())
    return kept_pixels(x, attrs), stored[:, None], attrs


def figures(summary: dict, keep) -> tuple[float, float, float]:
    """Mean over images of the best of the attacks ``keep(name)`` selects: neighbours,
    perfect, recognisable."""
    rows = summary["per_image"]
    best = [max(((a["neighbour"], a["perfect"], a["recognisable"])
                 for n, a in r["attacks"].items() if keep(n)), default=(0.0, False, False))
            for r in rows]
    return tuple(float(np.mean([b[k] for b in best])) for k in range(3))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=9)
    ap.add_argument("--setting", action="append", default=None,
                    help=f"a photo setting (repeat); default {', '.join(DEFAULT)}")
    ap.add_argument("--jobs", type=int, default=1)
    a = ap.parse_args(argv)
    try:
        settings = pick(PHOTO_SETTINGS, a.setting or list(DEFAULT))
    except ValueError as e:
        raise SystemExit(f"Error: {e}") from None
    if a.images < 1 or a.jobs < 1:
        raise SystemExit(f"Error: --images {a.images} and --jobs {a.jobs} must both be >= 1")
    try:
        from experiments.photos import photos

        x, names = photos(a.images)
    except ImportError:
        raise SystemExit("scikit-image is needed for the photos (pip install scikit-image)") \
            from None
    print(f"load {os.getloadavg()[0]:.1f}; {len(x)} photos, 224 px, no augmentation, N = 1")
    print("| setting | without clusters: neighbours / exact / recognisable | clusters only | "
          "union | s per photo |")
    print("| --- | --- | --- | --- | ---: |")
    for s in settings:
        plain, stored, attrs = encrypt(x, s)
        t = time.perf_counter()
        summary, _ = audit_arrays(plain, stored, s.kept, SideInfo(pad=0), attrs,
                                  AuditConfig(jobs=a.jobs))
        dt = (time.perf_counter() - t) / len(x)
        cells = [figures(summary, lambda n: not n.startswith("clusters")),
                 figures(summary, lambda n: n.startswith("clusters")),
                 figures(summary, lambda n: True)]
        text = [f"{nb:.1%} / {pf:.0%} / {rc:.0%}" for nb, pf, rc in cells]
        print(f"| {s.name} | {' | '.join(text)} | {dt:.1f} |", flush=True)
        per = [f"{nm} {r['union']['neighbour']:.0%}" for nm, r in
               zip(names, summary["per_image"], strict=True)]
        print("    union per photo: " + ", ".join(per), flush=True)
    print(f"load after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
