"""Edge compatibilities: prediction and masked prediction on pixels as files store them
(integers: the fractional power through a table of its values) against the same pieces as
floats (the power per element, the path before the table), alternating, best of three.

    python bench/bench_compat.py

Both give identical costs (asserted here); the figure is the ratio, measured in one run.
Pieces are random, shaped as the audit meets them: CIFAR-10 in 4x4 blocks with a 1-px border
dropped (64 pieces of 2x2, 256 images at a time) and a 224-px photo in 16x16 blocks with a
4-px border dropped (196 pieces of 8x8), GridMask-like holes of zeros in both.
"""

from __future__ import annotations

import os
import time

import numpy as np

from encrypt_tool.audit import compat

CASES = {"32 px, 64 pieces of 2x2, 256 images": (256, 64, 2, 2),
         "224 px, 196 pieces of 8x8, 1 image": (1, 196, 8, 8)}


def pieces(M: int, n: int, k: int, gap: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (M, n, k, k, 3), dtype=np.uint8)
    x[:, : n // 8] = 0  # a hole
    return x


def best(x: np.ndarray, y: np.ndarray, method: str, gap: int, rounds: int = 3) -> float:
    """The fastest of ``rounds`` calls of edge_pairs(x, y, method, gap), in seconds."""
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        compat.edge_pairs(x, y, method, gap)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    print(f"load {os.getloadavg()[0]:.1f}; best of 3, alternating")
    for name, (M, n, k, gap) in CASES.items():
        x, y = pieces(M, n, k, gap, 0), pieces(M, n, k, gap, 1)
        xf, yf = x.astype(np.float64), y.astype(np.float64)
        for method in ("prediction", "masked"):
            a = compat.edge_pairs(x, y, method, gap)
            b = compat.edge_pairs(xf, yf, method, gap)
            pairs = zip(a, b, strict=True) if isinstance(a, tuple) else [(a, b)]
            assert all(np.array_equal(u, v) for u, v in pairs), "the table changed a cost"
            new, old = [], []
            for _ in range(2):
                old.append(best(xf, yf, method, gap))
                new.append(best(x, y, method, gap))
            print(f"{name}, {method}: float power {min(old) * 1e3:.0f} ms, table "
                  f"{min(new) * 1e3:.0f} ms, {min(old) / min(new):.2f}x")


if __name__ == "__main__":
    main()
