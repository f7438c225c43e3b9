"""Reduced-scale JPEG decode (Pillow ``draft``) before the exact resize: pixel difference and speed.

Four photographs from scikit-image (astronaut, coffee, chelsea, rocket), scaled to 1000x750,
2000x1500 and 4000x3000 with a little sensor-like grain (Gaussian, sigma 6) and saved as JPEG
q90, are read to 224x224 by ``read_image`` with and without the reduced-scale decode. Prints
the scale Pillow chose, the largest and the mean absolute pixel difference (levels of 255) and
the time per image of both, for a margin of 1x and 2x the covering size (the tool uses 2x).

    .venv/bin/python bench/bench_draft.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np

from experiments.machine import describe_machine as machine

SIZE = (224, 224)


def photos(w: int, h: int) -> list[bytes]:
    from PIL import Image
    from skimage import data

    rng = np.random.default_rng(0)
    out = []
    for a in (data.astronaut(), data.coffee(), data.chelsea(), data.rocket()):
        x = np.asarray(Image.fromarray(a).resize((w, h), Image.BICUBIC)).astype(np.float64)
        x = np.clip(x + rng.normal(0, 6, x.shape), 0, 255).astype(np.uint8)  # (h, w, 3)
        b = io.BytesIO()
        Image.fromarray(x).save(b, "JPEG", quality=90)
        out.append(b.getvalue())
    return out


def decode(blob: bytes, margin: int) -> tuple[np.ndarray, tuple[int, int]]:
    from PIL import Image

    from encrypt_tool.sources.imagefile import draft_for, resize_center_crop, to_mode

    with Image.open(io.BytesIO(blob)) as im:
        if margin:
            draft_for(im, SIZE, margin)
        size = im.size
        return np.asarray(resize_center_crop(to_mode(im), SIZE)), size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    print("source      margin  decoded at   max diff  mean diff  full ms  reduced ms  speed-up")
    for w, h in [(1000, 750), (2000, 1500), (4000, 3000)]:
        blobs = photos(w, h)
        for margin in (1, 2):
            t_full = t_red = 0.0
            worst, means = 0, []
            for blob in blobs:
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    full, _ = decode(blob, 0)
                    t_full += time.perf_counter() - t
                    t = time.perf_counter()
                    red, got = decode(blob, margin)
                    t_red += time.perf_counter() - t
                d = np.abs(full.astype(int) - red.astype(int))
                worst, means = max(worst, int(d.max())), means + [d.mean()]
            n = len(blobs) * args.repeat
            mean = float(np.mean(means))
            print(f"{w}x{h:<6} {margin}x      {got[0]}x{got[1]:<7} {worst:8d}  {mean:9.3f}"
                  f"  {1e3 * t_full / n:7.1f}  {1e3 * t_red / n:10.1f}  {t_full / t_red:7.2f}x")


if __name__ == "__main__":
    main()
