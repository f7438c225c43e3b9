"""The public-solver comparison: a jigsaw solver from outside the project against the audit's
attacks, on the same copies of public-domain photos at 224 px (docs/AUDIT.md).

    python -m experiments.public_solver --images 9 --setting "16x16 drop 2" \
        --save-copies c.npz --no-audit          # copies for the public solver
    (the public solver on copy 0 of c.npz, its piece orders saved as orders.npy)
    python -m experiments.public_solver --copies c.npz --gaps-orders orders.npy --jobs 2

The photos come from scikit-image at run time (``experiments.photos``; nothing is written into
the repository). Without ``--setting`` they are encrypted in memory with the paper preset at
that size (crop padding 28 px, flip, GridMask d 98-224, N = 4, seed 0); with it, with
``bs-encrypt dataset``'s pipeline as a setting of ``experiments.settings.PHOTO`` says (a fresh
key in memory), and the attacks that know its defences run. ``--save-copies F`` writes the
copies, the plain images cut to the kept blocks and the permutations to F (an .npz outside the
repository) so that a public solver can attack copy 0; ``--copies F`` audits those copies
again; ``--gaps-orders`` reads such a solver's piece orders (M, n) and prints, per image, its
neighbours and exact reassemblies beside the union's (``experiments.public_solver.score`` says
how they are scored). ``--no-audit`` skips the audit's attacks.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from encrypt_tool.audit import AuditConfig, audit_arrays
from encrypt_tool.audit.attack import SideInfo
from encrypt_tool.audit.progress import AuditProgress
from encrypt_tool.setting import pick
from experiments.photos import print_audit
from experiments.public_solver.copies import (
    load_copies,
    paper_copies,
    save_copies,
    setting_copies,
)
from experiments.public_solver.score import relation_union, score_orders
from experiments.settings import PHOTO

__all__ = ["main"]


def copies(a: argparse.Namespace) -> tuple[dict, list[str]]:
    """The copies to attack, as ``save_copies`` writes them, and the photos' names."""
    if a.copies:
        c = load_copies(a.copies)
        return c, list(c["names"])
    try:
        from experiments.photos import photos

        x, names = photos(a.images)
    except ImportError:
        raise SystemExit("scikit-image is needed for the photos (pip install scikit-image)") \
            from None
    if a.setting:
        from keys.master import generate_key

        c = setting_copies(x, names, pick(PHOTO, [a.setting])[0], generate_key())
        return {**c, "names": names}, names
    return paper_copies(x, names), names


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m experiments.public_solver",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=9)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--setting", help="a setting of experiments.settings.PHOTO")
    ap.add_argument("--save-copies", help="write the copies and their truth to this .npz")
    ap.add_argument("--copies", help="attack the copies of this .npz (from --save-copies)")
    ap.add_argument("--gaps-orders", help="a public solver's piece orders (M, n) .npy")
    ap.add_argument("--no-audit", action="store_true", help="leave out the audit's attacks")
    a = ap.parse_args(argv)
    if a.setting and a.copies:
        ap.error("--setting and --copies exclude each other: the copies carry their setting")
    for opt in ("copies", "gaps_orders"):
        if getattr(a, opt) and not Path(getattr(a, opt)).is_file():
            ap.error(f"--{opt.replace('_', '-')} {getattr(a, opt)} is not a file")
    if a.save_copies and Path(a.save_copies).exists():
        ap.error(f"--save-copies {a.save_copies} already exists; remove it or pick another name")
    if a.images < 1 or a.jobs < 1:
        ap.error(f"--images {a.images} and --jobs {a.jobs} must be >= 1")
    if a.setting:
        try:
            pick(PHOTO, [a.setting])
        except ValueError as e:
            ap.error(str(e))
    return a


def _audit(c: dict, jobs: int, with_relation: bool) -> dict[str, np.ndarray]:
    """The audit's union per image (neighbour, perfect; relation when asked), with its figures
    printed."""
    plain, enc, block = c["plain"], c["enc"], tuple(c["block"])
    print(f"load before: {os.getloadavg()[0]:.1f}; {len(plain)} photos, copies "
          f"{enc.shape[2]}x{enc.shape[3]} px in {block[0]}x{block[1]} blocks, defences "
          f"{c['defences']}, N = {enc.shape[1]}, jobs {jobs}", flush=True)
    t = time.perf_counter()
    s, _ = audit_arrays(plain, enc, block, SideInfo(pad=c["pad"], pad_mode=c["pad_mode"]),
                        json.loads(c["defences"]), AuditConfig(jobs=jobs),
                        progress=AuditProgress(len(plain)))
    dt = time.perf_counter() - t
    print_audit(s, dt)
    union = {k: np.array([r["union"][k] for r in s["per_image"]], dtype=float)
             for k in ("neighbour", "perfect")}
    if with_relation:  # the attacks' own orders scored as the public solver's are;
        # the attacks that try the states count as the audit scores them (a lower bound)
        union["relation"] = np.maximum(relation_union(c, jobs), union["neighbour"])
    return union


def _compare(other: dict, union: dict | None) -> None:
    print(f"public solver: neighbours {other['neighbour'].mean():.1%} (in the right "
          f"relation, transforms undone: {other['relation'].mean():.1%}), perfect "
          f"{other['perfect'].mean():.1%} ({other['relation_perfect'].mean():.1%})")
    if union is not None:
        # the audit's per-image figures are rounded to 4 decimals: a tie is not "more"
        more = (other["neighbour"] > union["neighbour"] + 1e-4).sum()
        more_rel = (other["relation"] > union["relation"] + 1e-4).sum()
        print(f"union by relation: {union['relation'].mean():.1%}; images where the "
              f"public solver finds more neighbours than the union: {more} (by relation: "
              f"{more_rel})")


def _per_image(names: list[str], union: dict | None, other: dict | None) -> None:
    for i, name in enumerate(names):
        line = f"  {name[:40]:40s}"
        if union is not None:
            line += (f" union neighbours {union['neighbour'][i]:6.1%} exact "
                     f"{int(union['perfect'][i])}")
            if "relation" in union:
                line += f" by relation {union['relation'][i]:6.1%}"
        if other is not None:
            line += (f"  public solver {other['neighbour'][i]:6.1%} exact "
                     f"{int(other['perfect'][i])}, by relation {other['relation'][i]:6.1%} "
                     f"exact {int(other['relation_perfect'][i])}")
        print(line)


def main(argv: list[str] | None = None) -> int:
    a = _args(argv)
    c, names = copies(a)
    if a.save_copies:
        save_copies(a.save_copies, c)
    other = score_orders(np.load(a.gaps_orders), c) if a.gaps_orders else None
    union = None if a.no_audit else _audit(c, a.jobs, other is not None)
    if other is not None:
        _compare(other, union)
    _per_image(names, union, other)
    return 0
