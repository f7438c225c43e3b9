"""Benchmark the audit at photo size: public-domain photos at 224 px, 16x16 blocks, all attacks.

    python bench/bench_audit_photos.py                      # 100 photos, 2 worker processes
    python bench/bench_audit_photos.py --images 9 --jobs 1  # the nine base photos

The photos come from scikit-image at run time (``experiments.photos``; nothing is written into
the repository): the nine base photos, then other crops and zooms of them. Each is encrypted in
memory with the paper preset at that size (crop padding 28 px, flip, GridMask d 98-224, N = 4,
seed 0), and copy 0 is attacked by every attack of ``bs-encrypt audit``. Prints the time, the
load, the union's figures and per image the union's neighbours. The comparison with a public
jigsaw solver on the same kind of copies is ``python -m experiments.public_solver``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from encrypt_tool.audit import AuditConfig, audit_arrays
from encrypt_tool.audit.attack import SideInfo
from encrypt_tool.audit.progress import AuditProgress
from experiments.machine import describe_machine
from experiments.photos import photos_or_error, print_audit
from experiments.public_solver.copies import paper_copies


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args(argv)
    if a.images < 1 or a.jobs < 1:
        ap.error(f"--images {a.images} and --jobs {a.jobs} must be >= 1")
    x, names = photos_or_error(a.images, ap.error)
    c = paper_copies(x, names)
    plain, enc = c["plain"], c["enc"]
    print(f"{describe_machine()}; load before: {os.getloadavg()[0]:.1f}; {len(plain)} photos, "
          f"N = {enc.shape[1]}, jobs {a.jobs}", flush=True)
    t = time.perf_counter()
    s, _ = audit_arrays(plain, enc, c["block"], SideInfo(pad=c["pad"]), {},
                        AuditConfig(jobs=a.jobs), progress=AuditProgress(len(plain)))
    dt = time.perf_counter() - t
    print_audit(s, dt)
    for name, r in zip(names, s["per_image"], strict=True):
        print(f"  {name[:40]:40s} union neighbours {r['union']['neighbour']:6.1%} exact "
              f"{int(r['union']['perfect'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
