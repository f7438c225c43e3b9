"""New images for the classification demo (``make predict``): PNG files of the synthetic set.

The images come from a stream of the synthetic generator that neither its train nor its test
split uses, so the demo model has never seen them. Each file is named after its true class
(``007_redcyan-vert5.png``), which shows why names stay with the client, and lets ``--score``
count the predictions that match.

    python -m encrypt_tool.demo_images DIR [--n 40]       # write DIR/*.png
    python -m encrypt_tool.demo_images --score TABLE.csv  # share of right predictions
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from PIL import Image

from bsformat.files import atomic_write
from encrypt_tool.sources.synthetic import CLASS_NAMES, render, synthetic_labels

__all__ = ["DEMO_STREAM", "score_table", "write_demo_images"]

DEMO_STREAM = 7  # the synthetic splits use streams 1 (train) and 2 (test)


def write_demo_images(out: str | Path, n: int = 40, stream: int = DEMO_STREAM) -> list[Path]:
    """Write ``n`` new synthetic images as PNGs into the folder ``out`` (created; must be
    empty or absent)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"folder {out} is not empty; give a new folder")
    if n < 1:
        raise ValueError(f"--n {n} is not valid; it must be at least 1")
    out.mkdir(parents=True, exist_ok=True)
    idx = np.arange(n)
    x, y = render(stream, idx), synthetic_labels(stream, idx)  # (n, 32, 32, 3) uint8, (n,)
    paths = []
    for i in range(n):
        p = out / f"{i:03d}_{CLASS_NAMES[y[i]]}.png"
        with atomic_write(p) as f:
            Image.fromarray(x[i]).save(f, format="PNG")
        paths.append(p)
    return paths


def score_table(path: str | Path) -> tuple[int, int]:
    """(right, total) of a ``bs-encrypt results --out`` table whose files are named by class."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    right = sum(Path(r["path"]).stem.split("_", 1)[1] == r["class"] for r in rows)
    return right, len(rows)


def _main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", help="folder for the PNG files")
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--score", help="a results table to score instead")
    a = ap.parse_args()
    if a.score:
        right, total = score_table(a.score)
        print(f"{right} of {total} predictions name the class in the file name "
              f"({100 * right / total:.1f}%)")
    elif a.out:
        paths = write_demo_images(a.out, a.n)
        print(f"wrote {len(paths)} new images to {a.out}/")
    else:
        ap.error("give a folder, or --score TABLE")


if __name__ == "__main__":
    _main()
