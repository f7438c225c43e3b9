"""Photo-folder throughput: `bs-encrypt dataset` on 2,000 JPEGs vs a torchvision ImageFolder loop.

Generates a folder of 2,000 JPEGs of 500x375 (CIFAR-10 training images upscaled, 200 per
class; the synthetic set where the offline copy is absent) in a temporary folder, then encrypts
it to 224x224 with 16x16 blocks and N = 4 copies (crop, flip, GridMask scaled to 224 px) as a
whole `bs-encrypt dataset --image-size 224` process. Baseline, in the same run: torchvision
`ImageFolder` + `Resize(224)` + `CenterCrop(224)`, then per image and copy `RandomCrop(224,
padding=28)` + `RandomHorizontalFlip` + a NumPy GridMask + a per-image block scramble + one
HDF5 write, one image at a time in one process (one torch thread). Prints images/s for both,
their ratio, the CPU time per image and the peak memory of each.

    .venv/bin/python bench/bench_folder.py [--images 2000] [--baseline-images 2000]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from experiments.cifar import unpack_cifar
from experiments.machine import describe_machine as machine

BS_ENCRYPT = str(Path(sys.executable).parent / "bs-encrypt")  # beside this Python

N_KEYS, SIZE, BLOCK, PAD = 4, 224, 16, 28


def make_folder(root: Path, n: int, tmp: Path) -> str:
    """``n`` JPEGs of 500x375 in ten class folders; returns what they were made from."""
    from PIL import Image

    cifar = unpack_cifar(tmp / "cifar")
    if cifar is not None:
        d = np.load(cifar / "cifar10_train.npz")
        images, labels, what = d["images"][:n], d["labels"][:n], "CIFAR-10 train, upscaled"
    else:
        from encrypt_tool.sources import open_source

        sp = open_source(f"synthetic:{n}").splits["train"]
        images, labels, what = sp.read(0, n), sp.labels, "synthetic set, upscaled"
    for j, (x, y) in enumerate(zip(images, labels, strict=True)):
        (root / f"c{y}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(x).resize((500, 375), Image.BICUBIC).save(root / f"c{y}" / f"{j}.jpg",
                                                                  quality=90)
    return what


def run_cli(folder: Path, out: Path, key: Path) -> tuple[float, float, float]:
    """Wall time (s), CPU time (s, user + system) and peak RSS (MiB) of one `bs-encrypt
    dataset` process."""
    cmd = [BS_ENCRYPT, "dataset", "--source", f"folder:{folder}",
           "--image-size", str(SIZE), "--block-size", str(BLOCK), "--n-keys", str(N_KEYS),
           "--out", str(out), "--key", str(key), "--seed", "0", "--overwrite", "--quiet"]
    probe = (
        "import resource,subprocess,sys,time;t=time.perf_counter();"
        "subprocess.run(sys.argv[1:],check=True,stdout=subprocess.DEVNULL);"
        "r=resource.getrusage(resource.RUSAGE_CHILDREN);"
        "print(time.perf_counter()-t, r.ru_utime+r.ru_stime, r.ru_maxrss)"
    )
    res = subprocess.run([sys.executable, "-c", probe, *cmd], check=True, capture_output=True,
                         text=True)
    wall, cpu, rss_kib = res.stdout.split()
    return float(wall), float(cpu), int(rss_kib) / 1024


def baseline(folder: Path, n: int, out: Path, key: bytes) -> float:
    """Seconds to encrypt the first ``n`` images of ``folder`` the straightforward way."""
    import h5py
    import torch
    import torchvision.transforms as T
    from torchvision.datasets import ImageFolder

    torch.set_num_threads(1)  # the loop is sequential; idle OpenMP threads only spin

    ds = ImageFolder(str(folder), transform=T.Compose([T.Resize(SIZE), T.CenterCrop(SIZE)]))
    aug = T.Compose([T.RandomCrop(SIZE, padding=PAD), T.RandomHorizontalFlip()])
    rng = np.random.default_rng(0)
    g = SIZE // BLOCK
    t0 = time.perf_counter()
    with h5py.File(out, "w") as f:
        images = f.create_dataset("images", (n, N_KEYS, SIZE, SIZE, 3), dtype=np.uint8)
        for j in range(n):
            img, _ = ds[j]
            for s in range(N_KEYS):
                a = np.asarray(aug(img))  # (224, 224, 3)
                if rng.random() < 0.8:  # GridMask, d in [98, 224], r = 0.6
                    d = int(rng.integers(98, 225))
                    hole = d - round(0.6 * d)
                    oy, ox = rng.integers(0, d, 2)
                    rows = (np.arange(SIZE) + oy) % d < hole
                    cols = (np.arange(SIZE) + ox) % d < hole
                    a = a * ~(rows[:, None] & cols[None, :])[..., None]
                digest = hashlib.blake2b(f"{j}|{s}".encode(), key=key).digest()
                perm = np.random.default_rng(int.from_bytes(digest[:16], "little")).permutation(
                    g * g)
                blocks = a.reshape(g, BLOCK, g, BLOCK, 3).transpose(0, 2, 1, 3, 4).reshape(
                    g * g, BLOCK, BLOCK, 3)
                images[j, s] = blocks[perm].reshape(g, g, BLOCK, BLOCK, 3).transpose(
                    0, 2, 1, 3, 4).reshape(SIZE, SIZE, 3)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=2000)
    p.add_argument("--baseline-images", type=int, default=2000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bs-bench-folder-") as tmp:
        tmp = Path(tmp)
        folder = tmp / "photos"
        what = make_folder(folder, args.images, tmp)
        keyfile = tmp / "bench.key"
        subprocess.run([BS_ENCRYPT, "keygen", "--out", str(keyfile)],
                       check=True, stdout=subprocess.DEVNULL)
        print(f"machine: {machine()}")
        print(f"data: {args.images:,} JPEGs of 500x375 ({what}), to {SIZE}x{SIZE}, "
              f"{BLOCK}x{BLOCK} blocks, N = {N_KEYS}, crop (pad {PAD}) + flip + GridMask")
        wall, cpu, rss = run_cli(folder, tmp / "enc.h5", keyfile)
        ours = args.images / wall
        n_base = min(args.baseline_images, args.images)
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        base = n_base / baseline(folder, n_base, tmp / "base.h5", b"k" * 32)
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        base_cpu = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) / n_base
        base_rss = r1.ru_maxrss / 1024
        print(f"bs-encrypt dataset (whole process, {os.cpu_count()} jobs): {args.images:,} "
              f"images ({args.images * N_KEYS:,} encrypted copies) in {wall:.2f} s = "
              f"{ours:,.0f} images/s, peak RSS {rss:.0f} MiB, CPU "
              f"{cpu / args.images * 1e3:.1f} ms per image (start-up included)")
        print(f"torchvision ImageFolder loop ({n_base:,} images, one process): {base:,.1f} "
              f"images/s, peak RSS {base_rss:.0f} MiB (this script), CPU "
              f"{base_cpu * 1e3:.1f} ms per image")
        print(f"speed-up: {ours / base:.1f}x (wall clock); CPU per image: baseline / ours = "
              f"{base_cpu * args.images / cpu:.1f}x")


if __name__ == "__main__":
    main()
