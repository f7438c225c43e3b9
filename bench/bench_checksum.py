"""What the first-read checksum of a single .h5 costs on the reader's hot path.

Writes a synthetic file (``--images`` train images x 4 copies of 32x32x3, one shard per 10,000
images), then reads the whole train split once through the one reader, the way bs-train loads it
into memory: with the shard checksums checked on first read, and without them (the baseline,
``Dataset.check_checksums = False``), alternately, ``--repeats`` times each, the file in the page
cache. Prints the median seconds of each, their ratio, and a second read of the same file in the
same process (no new hashing: a matched shard is remembered).

    PYTHONPATH=. .venv/bin/python bench/bench_checksum.py [--images 20000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bsformat.checksum import forget_checked
from bsformat.reader import Dataset, open_dataset


def make(d: Path, n: int, store: str) -> Path:
    bin_ = Path(sys.executable).parent
    subprocess.run([str(bin_ / "bs-encrypt"), "keygen", "--out", str(d / "k.key")], check=True,
                   stdout=subprocess.DEVNULL)
    out = d / f"enc-{store}.h5"
    subprocess.run([str(bin_ / "bs-encrypt"), "dataset", "--source", f"synthetic:{n}",
                    "--limit", str(n), "--seed", "0", "--quiet", "--key", str(d / "k.key"),
                    "--store", store, "--out", str(out)], check=True, stdout=subprocess.DEVNULL)
    return out


def read_all(path: Path, check: bool) -> float:
    """Seconds to read every train image (all copies), checksums checked or not."""
    Dataset.check_checksums = check
    try:
        t0 = time.perf_counter()
        with open_dataset(path) as ds:
            n = ds.split("train").n_images
            ds.read_range("train", 0, n)
        return time.perf_counter() - t0
    finally:
        Dataset.check_checksums = True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=20000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--store", default="raw", help="raw or jpeg")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        f = make(Path(tmp), a.images, a.store)
        mib = f.stat().st_size / 2**20
        read_all(f, False)  # into the page cache
        base, checked = [], []
        for _ in range(a.repeats):
            base.append(read_all(f, False))
            forget_checked()
            checked.append(read_all(f, True))
        again = read_all(f, True)  # matched shards are remembered: no hashing
        b, c = statistics.median(base), statistics.median(checked)
        print(f"file: {a.images} train images x 4 copies, {a.store}, {mib:.0f} MiB")
        print(f"read train, no checksum (baseline): {b:.3f} s")
        print(f"read train, checksums on first read: {c:.3f} s  ratio {c / b:.2f}x "
              f"(+{c - b:.3f} s, {mib / max(c - b, 1e-9):.0f} MiB/s hashed)")
        print(f"read again in the same process:     {again:.3f} s  ratio {again / b:.2f}x")


if __name__ == "__main__":
    main()
