"""Encryption throughput: the batched `bs-encrypt dataset` process vs a per-image pipeline.

Encrypts CIFAR-10 train (50,000 images, from ../shared/data/cifar10; a synthetic set of the
same size where that is absent) with N = 4 copies and augmentation, as a whole `bs-encrypt`
process from npz to finished file, and times the same work done one image at a time
(PIL + torchvision transforms + per-image NumPy GridMask and scramble + per-image HDF5 write)
on a subset. Prints images/s for both, their ratio and peak memory.

With ``--side S`` (other than 32) the first ``--images`` training images (default 1,000) are
upscaled to S x S (bilinear) and cut into 16x16 blocks; crop padding and GridMask scale with S
as in `bs-encrypt dataset`, in both pipelines.

    .venv/bin/python bench/bench_encrypt.py [--baseline-images 1000] [--side 224 --images 1000]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from experiments.cifar import unpack_cifar
from experiments.machine import describe_machine as machine

BS_ENCRYPT = str(Path(sys.executable).parent / "bs-encrypt")  # beside this Python

N_KEYS = 4


def run_cli(
    npz: Path, out: Path, limit: int | None, key: Path, block: int = 8
) -> tuple[float, float]:
    """Wall time (s) and peak RSS (MiB) of one `bs-encrypt dataset` process and its workers."""
    cmd = [BS_ENCRYPT, "dataset", "--source", f"npz:{npz}",
           "--n-keys", str(N_KEYS), "--out", str(out), "--key", str(key), "--seed", "0",
           "--block-size", str(block), "--overwrite", "--quiet"]
    if limit:
        cmd += ["--limit", str(limit)]
    # a fresh interpreter per measurement, so RUSAGE_CHILDREN holds only this run
    probe = (
        "import resource,subprocess,sys,time;t=time.perf_counter();"
        "subprocess.run(sys.argv[1:],check=True,stdout=subprocess.DEVNULL);"
        "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    res = subprocess.run([sys.executable, "-c", probe, *cmd], check=True, capture_output=True,
                         text=True)
    wall, rss_kib = res.stdout.split()
    return float(wall), int(rss_kib) / 1024


def per_image_pipeline(images: np.ndarray, out: Path, key: bytes, block: int = 8) -> float:
    """Seconds to encrypt ``images`` (n, S, S, 3) one at a time, N copies each, the
    straightforward way."""
    import h5py
    import torchvision.transforms as T
    from PIL import Image

    from encrypt_tool.augment import scaled_defaults

    n, S = images.shape[:2]
    pad, (d0, d1) = scaled_defaults(S)
    g = S // block
    transform = T.Compose([T.RandomCrop(S, padding=pad), T.RandomHorizontalFlip()])
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    with h5py.File(out, "w") as f:
        ds = f.create_dataset("images", (n, N_KEYS, S, S, 3), dtype=np.uint8)
        for j in range(n):
            for s in range(N_KEYS):
                a = np.asarray(transform(Image.fromarray(images[j])))  # (S, S, 3)
                if rng.random() < 0.8:  # GridMask, one image
                    d = int(rng.integers(d0, d1 + 1))
                    hole = d - round(0.6 * d)
                    oy, ox = rng.integers(0, d, 2)
                    rows = (np.arange(S) + oy) % d < hole
                    cols = (np.arange(S) + ox) % d < hole
                    a = a * ~(rows[:, None] & cols[None, :])[..., None]
                digest = hashlib.blake2b(f"{j}|{s}".encode(), key=key).digest()
                perm = np.random.default_rng(int.from_bytes(digest[:16], "little")).permutation(
                    g * g)
                blocks = a.reshape(g, block, g, block, 3).transpose(0, 2, 1, 3, 4).reshape(
                    g * g, block, block, 3)  # (g*g, block, block, 3)
                ds[j, s] = blocks[perm].reshape(g, g, block, block, 3).transpose(
                    0, 2, 1, 3, 4).reshape(S, S, 3)
    return time.perf_counter() - t0


def upscale(npz: Path, out: Path, side: int, n: int) -> Path:
    """The first ``n`` images of ``npz`` resized to side x side (bilinear), saved as ``out``."""
    from PIL import Image

    with np.load(npz) as data:
        small, labels = data["images"][:n], data["labels"][:n]
    big = np.stack([np.asarray(Image.fromarray(a).resize((side, side), Image.BILINEAR))
                    for a in small])  # (n, side, side, 3)
    np.savez(out, images=big, labels=labels)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline-images", type=int, default=1000)
    p.add_argument("--side", type=int, default=32, help="image side in pixels (default 32)")
    p.add_argument("--images", type=int, default=1000,
                   help="images encrypted when --side is not 32 (default 1000)")
    args = p.parse_args()
    if args.side < 32 or args.side % 16 or args.images < 1:
        raise SystemExit(f"--side {args.side} / --images {args.images} are not valid: the side "
                         "must be 32 or a multiple of 16 above it, images at least 1")
    block = 8 if args.side == 32 else 16
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cifar = unpack_cifar(tmp / "cifar")
        if cifar is not None:
            npz, what = cifar / "cifar10_train.npz", "CIFAR-10 train (offline copy)"
        else:
            from encrypt_tool.sources import open_source

            sp = open_source("synthetic:50000").splits["train"]
            npz, what = tmp / "synthetic.npz", "synthetic, 50,000 images (CIFAR-10 absent)"
            np.savez(npz, images=sp.read(0, sp.n), labels=sp.labels)
        if args.side != 32:
            npz = upscale(npz, tmp / f"side{args.side}.npz", args.side, args.images)
            what += f", first {args.images:,} upscaled to {args.side} px"
        images = np.load(npz)["images"]
        keyfile = tmp / "bench.key"
        subprocess.run([BS_ENCRYPT, "keygen", "--out", str(keyfile)],
                       check=True, stdout=subprocess.DEVNULL)
        print(f"machine: {machine()}")
        print(f"data: {what}; N = {N_KEYS} copies, crop + flip + GridMask, "
              f"{block}x{block} blocks")
        small_n = min(10000, len(images) // 5)
        small_wall, small_rss = run_cli(npz, tmp / "small.h5", small_n, keyfile, block)
        wall, rss = run_cli(npz, tmp / "enc.h5", None, keyfile, block)
        n_enc = len(images) * N_KEYS
        ours = n_enc / wall
        base_n = args.baseline_images
        base = base_n * N_KEYS / per_image_pipeline(images[:base_n], tmp / "base.h5", b"k" * 32,
                                                    block)
        size = os.path.getsize(tmp / "enc.h5") / 2**20
        print(f"bs-encrypt dataset (whole process, {os.cpu_count()} jobs): {n_enc:,} encrypted "
              f"images in {wall:.2f} s = {ours:,.0f} images/s, file {size:.0f} MiB")
        print(f"per-image pipeline ({base_n:,} images x {N_KEYS}): {base:,.0f} images/s")
        print(f"speed-up: {ours / base:.1f}x")
        print(f"peak RSS (largest process): {rss:.0f} MiB for {len(images):,} images, "
              f"{small_rss:.0f} MiB for {small_n:,} images (output "
              f"{n_enc * images[0].nbytes / 2**20:.0f} MiB)")


if __name__ == "__main__":
    main()
