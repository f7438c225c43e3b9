"""Time and peak memory of ``bs-encrypt audit`` at photo size, the private preset against the
paper preset with 16x16 blocks, one process each, every attack (the learned ones included).

    python bench/bench_audit_presets.py                    # 40 photos encrypted, 4 audited
    python bench/bench_audit_presets.py --audit 9 --photos 60

The public-domain photos (``experiments.photos``, scikit-image; written to a temporary
folder, nothing into the repository) at 224 px go through
``bs-encrypt dataset --preset private`` and ``--preset paper --block-size 16`` (a throwaway
key). For each preset, a first ``bs-encrypt audit --split train --indices 0-(K-1) --attacks
learned-pairs,learned-states`` trains the learned attacks on the photos that are not audited
and caches them in its report folder; its training time is printed apart.
A second audit of the same photos reuses the cached models: its wall time per photo, CPU time
and peak resident memory (the process's own, from wait4) are the figures, with the ratio of
the two presets and each attack's seconds from audit.json.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PRESETS = {"paper --block-size 16": ["--preset", "paper", "--block-size", "16"],
           "private": ["--preset", "private"]}


def run(cmd: list[str]) -> tuple[float, float, float]:
    """Run cmd; (wall s, CPU s, peak RSS MiB) of that process alone. Fails loudly."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    err = p.stderr.read()
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def write_photos(n: int, root: Path) -> None:
    from PIL import Image

    from experiments.photos import photos

    x, _ = photos(n)
    for i, img in enumerate(x):
        d = root / f"c{i % 2}"
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(d / f"{i:03d}.png")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=40, help="photos encrypted (the learned "
                    "attacks train on those not audited)")
    ap.add_argument("--audit", type=int, default=4, help="photos audited")
    a = ap.parse_args(argv)
    if not 1 <= a.audit < a.photos:
        raise SystemExit(f"Error: --audit {a.audit} must be >= 1 and below --photos {a.photos}")
    cli = [sys.executable, "-m", "encrypt_tool.cli"]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        try:
            write_photos(a.photos, tmp / "photos")
        except ImportError:
            raise SystemExit("scikit-image is needed for the photos (pip install scikit-image)") \
                from None
        key = tmp / "key"
        key.write_text(secrets.token_hex(32))
        key.chmod(0o600)
        print(f"{a.photos} photos at 224 px, {a.audit} audited (copy 0, every attack), one "
              f"process each; load {os.getloadavg()[0]:.1f}", flush=True)
        for name, opts in PRESETS.items():
            h5, out = tmp / f"{opts[1]}.h5", tmp / f"{opts[1]}-audit"
            run(cli + ["dataset", "--source", f"folder:{tmp / 'photos'}", *opts, "--out",
                       str(h5), "--key", str(key), "--quiet", "--jobs", "1"])
            audit = cli + ["audit", str(h5), "--key", str(key), "--split", "train", "--indices",
                           f"0-{a.audit - 1}", "--out", str(out), "--quiet", "--overwrite"]
            # the learned attacks alone: trains their models and caches them in out/models
            run(audit + ["--attacks", "learned-pairs,learned-states"])
            training = json.loads((out / "audit.json").read_text())["learned"]
            wall, cpu, rss = run(audit)  # the cached models: the attacks alone
            s = json.loads((out / "audit.json").read_text())
            rows[name] = (wall / a.audit, cpu / a.audit, rss)
            print(f"{name}: {wall / a.audit:.1f} s per photo (CPU {cpu / a.audit:.1f} s), peak "
                  f"RSS {rss:.0f} MiB; learned attacks trained in "
                  f"{training.get('training_seconds', 0):.0f} s (apart); union neighbours "
                  f"{s['union']['neighbour']:.1%}, perfect {s['union']['perfect']:.0%}; load "
                  f"{os.getloadavg()[0]:.1f}", flush=True)
            for attack, r in s["ran"].items():
                print(f"    {attack:16s} {r['seconds'] / a.audit:7.2f} s per photo")
            print(f"    {'scoring':16s} {s['scoring_seconds'] / a.audit:7.2f} s per photo")
    (p, pc, pr), (q, qc, qr) = rows.values()
    print(f"private / paper 16x16: {q / p:.2f}x wall, {qc / pc:.2f}x CPU; peak RSS {pr:.0f} and "
          f"{qr:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
