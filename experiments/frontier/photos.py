"""Leakage of each frontier setting on public-domain photos at 224 px with 16x16 blocks.

    python -m experiments.frontier.photos --out runs/frontier-photos [--setting NAME ...]
        [--images 9] [--jobs 2] [--lock /tmp/bench.lock] [--update] [--picture P.png]

The photos come from scikit-image at run time (``experiments.photos``). They are written as a folder
source into a temporary folder, encrypted with ``bs-encrypt dataset``'s pipeline as each
setting of ``experiments.settings.PHOTO`` says (the paper preset at that size: crop with
28 px of zero padding, flip, GridMask, N = 4, seed 0; plus the setting's border drop and
within-block transforms), and every training copy is attacked by the audit (all N copies in the
attacker's hands). Writes photos.md and photos.json into --out; nothing derived from the photos
is written there. ``--picture`` writes, for the first two photos, the plain photo and what the
best attack recovers under each of the first two settings measured, side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from encrypt_tool.setting import pick
from experiments.encrypt import encrypt
from experiments.locked import locked
from experiments.photos import photos_or_error, write_folder
from experiments.settings import PHOTO as PHOTO_SETTINGS

__all__ = ["audit", "main", "picture"]

KEEP = ("perfect", "neighbour", "recognisable", "in_segments", "largest_segment")


def audit(path: Path, key: bytes, jobs: int) -> tuple[dict, list[np.ndarray]]:
    """The audit of every training copy 0 of ``path`` (all N copies known): figures, images."""
    from encrypt_tool.audit import AuditConfig, audit_file

    s, images = audit_file(path, key, AuditConfig(split="train", samples=None, jobs=jobs))
    per = [{"index": r["index"], **{k: r["union"][k] for k in KEEP if k in r["union"]}}
           for r in s["per_image"]]
    return ({**{k: s["union"].get(k) for k in KEEP}, "best_attack": s["best_attack"],
             "verdict": s["verdict"], "not_run": s.get("not_run", []), "per_image": per},
            images)


def picture(plain: np.ndarray, outs: list[np.ndarray], path: Path, size: int = 150) -> None:
    """Rows of [plain, out_1, out_2, ...] scaled to ``size`` px, 4 px white between."""
    rows = []
    for i in range(len(plain)):
        tiles = [plain[i]] + [o[i] for o in outs]
        tiles = [np.asarray(Image.fromarray(t).resize((size, size), Image.BILINEAR))
                 for t in tiles]
        gap = np.full((size, 4, 3), 255, np.uint8)
        row = tiles[0]
        for t in tiles[1:]:
            row = np.concatenate([row, gap, t], axis=1)
        rows.append(row)
    gap = np.full((4, rows[0].shape[1], 3), 255, np.uint8)
    grid = rows[0]
    for r in rows[1:]:
        grid = np.concatenate([grid, gap, r], axis=0)
    Image.fromarray(grid).save(path, optimize=True)


def _markdown(results: dict) -> str:
    def pct(v):
        return "n/a" if v is None else f"{v:.1%}"

    lines = ["| setting | options | exact reassembly | neighbours found | recognisable | "
             "blocks in segments of 4+ | best attack | audit s | load |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |"]
    known = {s.name: s for s in PHOTO_SETTINGS}
    for name, r in results.items():
        lines.append(f"| {name} | `{known[name].options()}` | {pct(r['perfect'])} | "
                     f"{pct(r['neighbour'])} | {pct(r['recognisable'])} | "
                     f"{pct(r['in_segments'])} | {r['best_attack']} | {r['wall_s']:.0f} | "
                     f"{r['load'][0]:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m experiments.frontier.photos",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/frontier-photos"))
    ap.add_argument("--setting", action="append", default=None,
                    help=f"repeat; default all: {', '.join(s.name for s in PHOTO_SETTINGS)}")
    ap.add_argument("--images", type=int, default=9)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--lock", default=None, help="a file to lock (as flock) around each audit")
    ap.add_argument("--update", action="store_true", help="add to photos.json in --out")
    ap.add_argument("--picture", type=Path, default=None)
    ap.add_argument("--overwrite", action="store_true")
    a = ap.parse_args(argv)
    if (a.out / "photos.json").exists() and not (a.overwrite or a.update):
        ap.error(f"{a.out} already holds photos.json; pass --overwrite to replace it or "
                 f"--update to add to it")
    try:
        settings = pick(PHOTO_SETTINGS, a.setting)
    except ValueError as e:
        ap.error(str(e))
    if a.images < 1 or a.jobs < 1:
        ap.error(f"--images {a.images} and --jobs {a.jobs} must be >= 1")
    x, names = photos_or_error(a.images, ap.error)
    from keys.master import generate_key

    key = generate_key()  # memory only
    a.out.mkdir(parents=True, exist_ok=True)
    jpath = a.out / "photos.json"
    results = json.loads(jpath.read_text())["results"] if a.update and jpath.exists() else {}
    shown: list[np.ndarray] = []
    plain0 = None
    with tempfile.TemporaryDirectory() as tmp:
        source = write_folder(x, names, Path(tmp) / "photos")
        for s in settings:
            path = encrypt(source, key, s, Path(tmp) / "enc.h5")
            with locked(a.lock) as load:
                t0 = time.perf_counter()
                r, images = audit(path, key, a.jobs)
                r.update(wall_s=time.perf_counter() - t0, load=[load, os.getloadavg()[0]])
            path.unlink()
            results[s.name] = r
            shown.append(images[2][:2])
            plain0 = images[0][:2] if plain0 is None else plain0
            rec = "n/a" if r["recognisable"] is None else f"{r['recognisable']:.1%}"
            print(f"== {s.name}: perfect {r['perfect']:.1%}, neighbours {r['neighbour']:.1%}, "
                  f"recognisable {rec}; {r['wall_s']:.0f} s, load {load:.1f}", flush=True)
            jpath.write_text(json.dumps({"images": names, "results": results}, indent=2))
            (a.out / "photos.md").write_text(_markdown(results))
    if a.picture and len(shown) >= 2:
        picture(plain0, shown[:2], a.picture)
    print(_markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
