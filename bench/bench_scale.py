"""Scale: one process against a 2-worker local Dask cluster, scheduler overhead per shard,
bytes per image raw against JPEG, and reader throughput from JPEG against raw shards.

Makes a folder of ImageNet-shaped JPEGs (500x375, CIFAR-10 upscaled, or the synthetic set
where the offline copy is absent) and encrypts it to 224x224, 16x16 blocks, N = 4 copies
(crop, flip, GridMask) into shard folders, all in one run:
  1. one process (``--jobs 2`` threads, the single-machine path), raw copies;
  2. a 2-worker LocalCluster (127.0.0.1, one thread each, started beforehand; its start-up
     time is printed apart), raw copies, same shards: the files must be identical;
  3. the same cluster with shards 10x smaller: (time - time of 2) / (extra shards) is the
     overhead per shard (beside the round trip of 200 trivial tasks);
  4. one process with ``--store jpeg:90:420`` and ``jpeg:90`` (4:4:4): bytes per image;
  5. reading every train image (one copy, batches of 256) through the one reader from the raw
     and the JPEG folders: images/s.
Then the time for ImageNet-1k (1,281,167 images, N = 4) on K machines of this kind, on paper.

    flock /tmp/bench.lock .venv/bin/python bench/bench_scale.py [--images 2000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench_folder import make_folder

from experiments.machine import describe_machine as machine

SIZE, BLOCK, N_KEYS = 224, 16, 4
IMAGENET = 1_281_167


def encrypt(folder: Path, out: Path, key: bytes, shard: int, **kw) -> float:
    """Seconds for one ``build_dataset`` into the shard folder ``out``."""
    from encrypt_tool.pipeline import DatasetConfig, build_dataset
    from encrypt_tool.setting import Setting
    from encrypt_tool.sources import open_source

    store = kw.pop("store", "raw")
    cfg = DatasetConfig(out=f"{out}/", source=f"folder:{folder}", image_size=(SIZE, SIZE),
                        setting=Setting(block=BLOCK, n_copies=N_KEYS, store=store), seed=0,
                        shard_size=shard, batch_size=64, **kw)
    t = time.perf_counter()
    build_dataset(cfg, key, open_source)
    return time.perf_counter() - t


def size_per_image(out: Path, n: int) -> float:
    return sum(p.stat().st_size for p in out.glob("*.h5")) / n


def read_rate(out: Path) -> float:
    """Train images per second read (one copy, batches of 256) through the one reader."""
    from bsformat.reader import open_dataset

    with open_dataset(out) as ds:
        n = ds.split("train").n_images
        t = time.perf_counter()
        for _ in ds.iter_batches("train", 256, copy=0):
            pass
        return n / (time.perf_counter() - t)


def same_files(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    return names == sorted(p.name for p in b.iterdir()) and all(
        (a / n).read_bytes() == (b / n).read_bytes() for n in names)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--shard", type=int, default=250)
    args = ap.parse_args()
    repo = str(Path(__file__).resolve().parents[1])  # the workers import this checkout
    os.environ["PYTHONPATH"] = repo + os.pathsep + os.environ.get("PYTHONPATH", "")
    from distributed import Client, LocalCluster

    from keys.master import generate_key

    key, n = generate_key(), args.images
    print(f"machine: {machine()}; load before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bs-bench-scale-") as tmp:
        tmp = Path(tmp)
        what = make_folder(tmp / "photos", n, tmp)
        print(f"data: {n:,} JPEGs of 500x375 ({what}) -> {SIZE}x{SIZE}, {BLOCK}x{BLOCK} blocks, "
              f"N = {N_KEYS}, crop + flip + GridMask, shards of {args.shard}")
        one = encrypt(tmp / "photos", tmp / "one", key, args.shard, jobs=2)
        t = time.perf_counter()
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as lc, Client(lc) as client:
            start = time.perf_counter() - t
            addr = lc.scheduler_address
            dask = encrypt(tmp / "photos", tmp / "dask", key, args.shard, scheduler=addr)
            small = max(1, args.shard // 10)
            many = encrypt(tmp / "photos", tmp / "many", key, small, scheduler=addr)
            t = time.perf_counter()
            client.gather(client.map(abs, range(-200, 0), pure=False))
            noop = (time.perf_counter() - t) / 200
            client.close()
        shards, small_shards = -(-n // args.shard), -(-n // small)
        overhead = (many - dask) / (small_shards - shards)
        print(f"one process (--jobs 2 threads): {one:.1f} s = {n / one:.1f} images/s")
        print(f"2-worker LocalCluster: {dask:.1f} s = {n / dask:.1f} images/s "
              f"({one / dask:.2f}x one process); cluster start-up {start:.1f} s apart; "
              f"files identical to one process: {same_files(tmp / 'one', tmp / 'dask')}")
        print(f"{small_shards} shards of {small}: {many:.1f} s -> scheduler overhead "
              f"{1e3 * overhead:.0f} ms per shard (scheduling, shard file set-up, checksum); "
              f"a trivial task: {1e3 * noop:.1f} ms")
        j420 = encrypt(tmp / "photos", tmp / "j420", key, args.shard, jobs=2,
                       store="jpeg:90:420")
        j444 = encrypt(tmp / "photos", tmp / "j444", key, args.shard, jobs=2, store="jpeg:90")
        raw_b = size_per_image(tmp / "one", n)
        for name, t_enc in (("j420", j420), ("j444", j444)):
            b = size_per_image(tmp / name, n)
            print(f"--store jpeg:90:{name[1:]}: {b / 1024:.1f} KiB per image ({N_KEYS} copies), "
                  f"raw {raw_b / 1024:.1f} KiB: {raw_b / b:.1f}x smaller; encrypt "
                  f"{n / t_enc:.1f} images/s")
        for name, label in (("one", "raw"), ("j420", "jpeg:90:420"), ("j444", "jpeg:90")):
            print(f"reader, {label} shards: {read_rate(tmp / name):,.0f} train images/s (one "
                  f"copy, batches of 256)")
        per = dask / n  # seconds per image on one 2-core machine, via the cluster
        for k in (1, 8, 64):
            hours = (IMAGENET * per / k + -(-IMAGENET // 10000) * overhead / k) / 3600
            print(f"ImageNet-1k, N = {N_KEYS}, on {k} machine(s) like this one: about "
                  f"{hours:.1f} h (shards of 10,000)")
        print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
