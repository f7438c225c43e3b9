"""Trainer throughput: the data path (in memory and streaming) and training steps, in images/s.

Writes a bs-encrypt file of random images (CIFAR-10 sized, N = 4 copies) to a temporary folder,
then measures on the machine at hand (CUDA when present, else CPU):
- data path: uint8 batches of 128 with the epoch's copy choices, moved to the device and
  normalised to float (``to_input``), from memory (``MemoryLoader``) and streaming from the
  file (``StreamLoader``: contiguous chunk reads, shuffle buffer, prefetch thread);
- training: forward + backward + optimiser step at batch 128 for resnet18, resnet18-narrow and
  the block-set models (bf16
  autocast and channels_last on CUDA, as the trainer does), and the ratio of data-path time to
  step time.

    .venv/bin/python bench/bench_train.py [--images 10000] [--steps 20] [--compile]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import nn

from experiments.machine import describe_machine as machine
from trainer.data import MemoryLoader, to_input
from trainer.model import build_model
from trainer.recipe import build_optimizer, get_recipe, resolve_recipe
from trainer.registry import MODELS
from trainer.source import describe
from trainer.stream import StreamLoader

BATCH = 128


def write_random(path: Path, n: int, copies: int = 4, shard: int = 10_000) -> Path:
    """A valid bs-encrypt file (docs/FORMAT.md) of random 32x32 images, 10 classes."""
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        f.attrs.update(format="bs-encrypt", format_version=1, tool_version="bench",
                       created="", dataset_id="0" * 32, key_fingerprint="", scrambled=True,
                       block_size=[8, 8], image_shape=[32, 32, 3], source="bench", augment="{}")
        f["class_names"] = np.array([f"c{k}" for k in range(10)], dtype=h5py.string_dtype())
        for name, m, c in (("train", n, copies), ("test", 1000, 1)):
            g = f.create_group(name)
            g.attrs.update(split=name, n_images=m, n_copies=c, shard_size=shard,
                           n_shards=-(-m // shard), augment="{}")
            for i, a in enumerate(range(0, m, shard)):
                b = min(m, a + shard)
                s = g.create_group(f"shard_{i:05d}")
                s.attrs.update(start=a, n_images=b - a)
                s["images"] = rng.integers(0, 256, (b - a, c, 32, 32, 3), dtype=np.uint8)
                s["labels"] = rng.integers(0, 10, b - a).astype(np.int64)
                s["ids"] = np.arange(a, b, dtype=np.int64)
        f.attrs["complete"] = True
    return path


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def data_rate(loader, device: torch.device, n: int) -> float:
    """Images/s of one epoch of ``loader``, up to normalised float batches on ``device``."""
    mean = torch.full((3,), 0.5, device=device)
    std = torch.full((3,), 0.25, device=device)
    cl = device.type == "cuda"
    for x, _ in loader.batches(99):  # warm-up: page cache, allocator, kernels
        to_input(x, mean, std, cl)
        break
    sync(device)
    t = time.perf_counter()
    seen = 0
    for x, _ in loader.batches(0):
        to_input(x, mean, std, cl)
        seen += len(x)
    sync(device)
    assert seen == n, (seen, n)
    return n / (time.perf_counter() - t)


MODEL_RUNS = [("resnet18", (8, 8)), ("resnet18-narrow", (8, 8)), ("blockset", (8, 8)),
              ("blockset-narrow", (8, 8)), ("blockset-narrow", (4, 4))]


def step_rate(name: str, device: torch.device, steps: int, compile_: bool,
              block: tuple[int, int] = (8, 8)) -> float:
    """Training images/s at batch 128: forward, backward and optimiser step on random input,
    with the model's default recipe (SGD for ResNets, AdamW for block-set models)."""
    cuda = device.type == "cuda"
    fmt = torch.channels_last if cuda else torch.preserve_format
    model = build_model(name, 10, (32, 32, 3), block_size=block).to(device, memory_format=fmt)
    opt = build_optimizer(model, get_recipe(resolve_recipe("auto", name)), device)
    net = torch.compile(model) if compile_ else model
    x = torch.randn(BATCH, 3, 32, 32, device=device).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (BATCH,), device=device)

    def step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            loss = nn.functional.cross_entropy(net(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(max(3, steps // 4)):  # warm-up (and compilation)
        step()
    sync(device)
    t = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return steps * BATCH / (time.perf_counter() - t)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=None,
                   help="training images in the file (default 50,000 on CUDA, 10,000 on CPU)")
    p.add_argument("--steps", type=int, default=None, help="timed training steps per model")
    p.add_argument("--compile", action="store_true", help="torch.compile the models")
    p.add_argument("--device", default="auto")
    a = p.parse_args()
    dev = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available()
                       else ("cpu" if a.device == "auto" else a.device))
    cuda = dev.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True
    n = a.images or (50_000 if cuda else 10_000)
    steps = a.steps or (200 if cuda else 6)
    name = torch.cuda.get_device_name(dev) if cuda else machine()
    print(f"device: {dev} ({name}); torch {torch.__version__}, {torch.get_num_threads()} threads")
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = write_random(Path(tmp) / "bench.h5", n)
        split = describe(path, "train")
        mem = MemoryLoader(split, dev, BATCH, seed=0)
        out["data_memory"] = data_rate(mem, dev, n)
        del mem
        out["data_stream"] = data_rate(StreamLoader(split, dev, BATCH, seed=0), dev, n)
    print(f"data path, in memory ({'GPU' if cuda else 'RAM'}): {out['data_memory']:>12,.0f} img/s")
    print(f"data path, streaming from HDF5:   {out['data_stream']:>12,.0f} img/s  "
          f"({n:,} images x 4 copies, page-cached file)")
    block_sets = []  # keys of the block-set models' rates
    for model, block in MODEL_RUNS:
        r = step_rate(model, dev, steps, a.compile, block)
        label = f"{model} {block[0]}x{block[1]}" if MODELS[model].block_set else model
        out[f"train_{label.replace(' ', '_')}"] = r
        block_sets += [f"train_{label.replace(' ', '_')}"] if MODELS[model].block_set else []
        ratio_m, ratio_s = r / out["data_memory"], r / out["data_stream"]
        print(f"training {label:<20} batch {BATCH}: {r:>10,.0f} img/s;  data time / step time: "
              f"{100 * ratio_m:.2f}% in memory, {100 * ratio_s:.2f}% streaming")
    base = out["train_resnet18-narrow"]
    for k in block_sets:
        print(f"{k[6:]:<22} / resnet18-narrow: {out[k] / base:.2f}x the training speed")
    print(json.dumps({k: round(v, 1) for k, v in out.items()}))


if __name__ == "__main__":
    main()
