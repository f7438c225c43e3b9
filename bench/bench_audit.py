"""Benchmark the security audit on the 1,000 exact CIFAR-10 test images; compare settings.

    python bench/bench_audit.py                 # time bs-encrypt's audit on a real file
    python bench/bench_audit.py --compare       # the settings table of docs/AUDIT.md
    python bench/bench_audit.py --compare --start 500 --samples 500 --only "hardened*;block 16"

Needs ../shared/data/cifar10 (or --cifar DIR with cifar10_test.npz). Nothing is written into
the repository: files go to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from encrypt_tool.audit import AuditConfig, audit_arrays, audit_file, run_audit
from encrypt_tool.audit.attack import SideInfo
from encrypt_tool.audit.metrics import key_space_bits
from encrypt_tool.audit.simulate import Settings, simulate

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10"

SETTINGS = {
    "paper (8px, zero, GridMask, N=4)": Settings(),
    "block 4": Settings(block=4),
    "block 16": Settings(block=16),
    "reflect padding": Settings(pad_mode="reflect"),
    "no GridMask": Settings(gridmask=False),
    "N = 1": Settings(n_copies=1),
    "paper test split (8px, zero, no GridMask, N=1)": Settings(gridmask=False, n_copies=1),
    "block 4, N = 1 (zero padding)": Settings(block=4, n_copies=1),
    "block 4, reflect padding (N = 4)": Settings(block=4, pad_mode="reflect"),
    "hardened before (4px, reflect, GridMask, N=1)": Settings(
        block=4, pad_mode="reflect", n_copies=1),
    "hardened (4px, reflect, no GridMask, N=1)": Settings(
        block=4, pad_mode="reflect", gridmask=False, n_copies=1),
    "hardened, GridMask on every image (p = 1)": Settings(
        block=4, pad_mode="reflect", n_copies=1, gm_p=1.0),
}


def exact_test_images(cifar: str | None, tmp: Path) -> np.ndarray:
    """The 1,000 pixel-exact CIFAR-10 test images (M, 32, 32, 3) uint8."""
    path = Path(cifar) / "cifar10_test.npz" if cifar else tmp / "cifar10_test.npz"
    if not path.exists():
        subprocess.run([sys.executable, str(SHARED / "unpack.py"), str(tmp)], check=True)
    d = np.load(path)
    return d["images"][d["exact"]][:1000]


def _pct(a: dict) -> str:
    return f"{100 * a['direct']:.1f}% / {100 * a['neighbour']:.1f}% / {100 * a['perfect']:.1f}%"


def bench_file(x: np.ndarray, tmp: Path, samples: int, splits: tuple[str, ...]) -> None:
    """Encrypt with the paper's settings through bs-encrypt, then time run_audit per split,
    beside a baseline run of the same images with MGC alone (the earlier audit's 2 attacks)."""
    from click.testing import CliRunner

    from encrypt_tool.cli import main
    from keys.master import load_key

    np.savez(tmp / "exact.npz", images=x, labels=np.zeros(len(x), np.int64))
    src = f"npz:{tmp / 'exact.npz'},{tmp / 'exact.npz'}"
    key = tmp / "bench.key"
    for args in (["keygen", "--out", str(key)],
                 ["dataset", "--source", src, "--key", str(key), "--out", str(tmp / "enc.h5"),
                  "--n-keys", "4", "--seed", "0", "--quiet"]):
        r = CliRunner().invoke(main, args)
        if r.exit_code:
            raise SystemExit(r.output)
    for split in splits:
        t = time.perf_counter()
        base, _ = audit_file(tmp / "enc.h5", load_key(key),
                             AuditConfig(split=split, samples=samples, costs=("mgc",)))
        dt0 = time.perf_counter() - t
        t = time.perf_counter()
        s = run_audit(tmp / "enc.h5", load_key(key), tmp / f"audit-{split}",
                      AuditConfig(split=split, samples=samples))
        dt = time.perf_counter() - t
        trained = (s.get("learned") or {}).get("training_seconds", 0.0)
        aug = json.dumps(s["settings"]["augment"])
        print(f"split {split}: N={s['settings']['n_copies']} augment {aug}")
        print(f"  all {len(s['attacks'])} attacks: {s['samples']} images in {dt:.1f} s, of "
              f"which training the learned attacks {trained:.1f} s (apart: the attacks "
              f"{dt - trained:.1f} s = {s['samples'] / max(dt - trained, 1e-9):.1f} images/s)")
        print(f"  baseline, MGC only ({len(base['attacks'])} attacks): {dt0:.1f} s; "
              f"ratio of the attacks alone {(dt - trained) / dt0:.2f}")
        rows = {**s["attacks"], "UNION of all attacks": s["union"],
                "self-chosen answer": s["self_chosen"]}
        for name, a in rows.items():
            print(f"  {name:54s} direct {a['direct']:.3f} neighbour {a['neighbour']:.3f} "
                  f"perfect {a['perfect']:.3f} SSIM {a['ssim']:.3f} PSNR {a['psnr']}")
        e = s["encrypted"]
        print(f"  {'encrypted image':36s} SSIM {e['ssim']:.3f} PSNR {e['psnr']:.2f}")


def compare(x: np.ndarray, only: str | None = None) -> None:
    """Markdown table: union of all attacks, self-chosen answer and best single attack."""
    from fnmatch import fnmatch

    print("| setting | key bits/copy | union: direct / neighbour / perfect | self-chosen "
          "| best attack | SSIM union | SSIM enc | s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, s in SETTINGS.items():
        if only and not any(fnmatch(name, pat) for pat in only.split(";")):
            continue
        t = time.perf_counter()
        plain, enc, _ = simulate(x, s, seed=0)
        summ, _ = audit_arrays(plain[:, 0], enc, (s.block, s.block), SideInfo(s.pad, s.pad_mode))
        u, c = summ["union"], summ["self_chosen"]
        b = summ["attacks"][summ["best_attack"]]
        bits = key_space_bits((32 // s.block, 32 // s.block))
        print(f"| {name} | {bits:.0f} | {_pct(u)} | {_pct(c)} | {_pct(b)} "
              f"({summ['best_attack']}) | {u['ssim']:.3f} | {summ['encrypted']['ssim']:.3f} "
              f"| {time.perf_counter() - t:.0f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cifar", help="folder with cifar10_test.npz [default: unpack shared copy]")
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--start", type=int, default=0, help="first exact test image used")
    ap.add_argument("--compare", action="store_true", help="print the settings table")
    ap.add_argument("--splits", default="test,train", help="splits timed [default: test,train]")
    ap.add_argument("--only", help="with --compare: settings matching one of these ;-separated "
                    "patterns")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        x = exact_test_images(a.cifar, Path(d))[a.start : a.start + a.samples]
        if a.compare:
            compare(x, a.only)
        else:
            bench_file(x, Path(d), len(x), tuple(a.splits.split(",")))


if __name__ == "__main__":
    main()
