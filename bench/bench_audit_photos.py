"""Benchmark the audit at photo size: public-domain photos at 224 px, 16x16 blocks, all attacks.

    python bench/bench_audit_photos.py                      # 100 photos, 2 worker processes
    python bench/bench_audit_photos.py --images 9 --jobs 1  # the nine base photos
    python bench/bench_audit_photos.py --gaps-orders g.npy  # compare with a public solver's answer

The photos come from scikit-image at run time (bench/photos.py; nothing is written into the
repository): the nine base photos, then other crops and zooms of them. Each is encrypted in
memory with the paper preset at that size (crop padding 28 px, flip, GridMask d 98-224, N = 4,
seed 0), and copy 0 is attacked by every attack of ``bs-encrypt audit``. Prints the time, the
load, the union's figures and per image the union's neighbours. With ``--save-copies F`` the
encrypted copy 0 and its plain image go to F (an .npz outside the repository) so that a public
solver can attack the same copies; ``--gaps-orders`` reads such a solver's piece orders
(M, 196) and prints, per image, its neighbours beside the union's.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from encrypt_tool.audit import audit_arrays  # noqa: E402
from encrypt_tool.audit.attack import SideInfo  # noqa: E402
from encrypt_tool.audit.metrics import neighbour_comparison, perfect  # noqa: E402
from encrypt_tool.audit.pieces import assemble, to_pieces  # noqa: E402
from encrypt_tool.audit.progress import AuditProgress  # noqa: E402
from encrypt_tool.audit.simulate import Settings, simulate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--save-copies", help="write copy 0 and the plain images to this .npz")
    ap.add_argument("--gaps-orders", help="a public solver's piece orders (M, 196) .npy")
    a = ap.parse_args()
    try:
        from photos import photos
        x, names = photos(a.images)
    except ImportError:
        raise SystemExit("scikit-image is needed for the photos (pip install scikit-image)") \
            from None
    st = Settings(block=16, pad=28, gm_d_range=(98, 224))
    plain, enc, _ = simulate(x, st, seed=0)
    if a.save_copies:
        np.savez(a.save_copies, plain=plain[:, 0], enc=enc)
    print(f"load before: {os.getloadavg()[0]:.1f}; {a.images} photos, 224 px, 16x16 blocks, "
          f"paper preset, N = 4, jobs {a.jobs}", flush=True)
    bar = AuditProgress(len(x))
    t = time.perf_counter()
    s, _ = audit_arrays(plain[:, 0], enc, (16, 16), SideInfo(pad=28), progress=bar, jobs=a.jobs)
    dt = time.perf_counter() - t
    print(f"all attacks on {len(x)} photos: {dt:.1f} s ({dt / len(x):.2f} s per photo); "
          f"load after: {os.getloadavg()[0]:.1f}")
    for name, r in list(s["attacks"].items()) + [("union", s["union"])]:
        print(f"  {name:55s} neighbours {r['neighbour']:6.1%} perfect {r['perfect']:6.1%} "
              f"recognisable {r['recognisable']:6.1%}")
    print("verdict:", s["verdict"])
    union = np.array([r["union"]["neighbour"] for r in s["per_image"]])
    other = None
    if a.gaps_orders:
        o = np.load(a.gaps_orders)
        out = assemble(to_pieces(enc[:, 0], (16, 16)), o, (14, 14))
        other = neighbour_comparison(out, plain[:, 0], (16, 16))
        print(f"public solver: neighbours {other.mean():.1%}, perfect "
              f"{perfect(out, plain[:, 0]).mean():.1%}; images where it finds more than the "
              f"union: {int((other > union + 1e-9).sum())}")
    for i, name in enumerate(names):
        extra = "" if other is None else f"  public solver {other[i]:6.1%}"
        print(f"  {name[:40]:40s} union neighbours {union[i]:6.1%}{extra}")


if __name__ == "__main__":
    main()
