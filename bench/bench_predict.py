"""Prediction throughput: ``bs-predict`` against ``bs-train``'s evaluation path, same images.

Writes a bs-encrypt file of random 32x32 images (its test split: the images to classify) and a
checkpoint of the model in bs-train's format, then alternates, ``--repeats`` times each:
- evaluation path: ``MemoryLoader`` over the test split (read from the file) and
  ``evaluate`` at bs-train's batch 128 (image and mirror, as every epoch of bs-train does);
- bs-predict: the command's whole work after start-up (load the checkpoint, read the file,
  predict with flip TTA at its default batch, write the CSV and JSON);
and prints the median images/s of each and their ratio, also per CPU second (process time,
all threads), a figure that a busy machine distorts less than wall time. Both run on the same
device (CUDA when present: bf16 autocast, as bs-train evaluates there).

    .venv/bin/python bench/bench_predict.py [--images 2000] [--repeats 5] [--model resnet18]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import torch

from experiments.machine import describe_machine as machine
from trainer import checkpoint as ckpt
from trainer.data import MemoryLoader, to_input
from trainer.ddp import pick_device
from trainer.model import build_model
from trainer.predict import predict_file
from trainer.source import describe
from trainer.train import evaluate

CLASSES = 10


def write_test_file(path: Path, n: int) -> Path:
    """A valid bs-encrypt file (docs/FORMAT.md) whose test split holds ``n`` random images."""
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        f.attrs.update(format="bs-encrypt", format_version=1, tool_version="bench",
                       created="", dataset_id="0" * 32, key_fingerprint="", scrambled=True,
                       block_size=[8, 8], image_shape=[32, 32, 3], source="bench", augment="{}")
        f["class_names"] = np.array([f"c{k}" for k in range(CLASSES)], dtype=h5py.string_dtype())
        g = f.create_group("test")
        g.attrs.update(split="test", n_images=n, n_copies=1, shard_size=n, n_shards=1,
                       augment="{}")
        s = g.create_group("shard_00000")
        s.attrs.update(start=0, n_images=n)
        s["images"] = rng.integers(0, 256, (n, 1, 32, 32, 3), dtype=np.uint8)
        s["labels"] = rng.integers(0, CLASSES, n).astype(np.int64)
        s["ids"] = np.arange(n, dtype=np.int64)
        f.attrs["complete"] = True
    return path


def write_checkpoint(path: Path, model_name: str) -> Path:
    """A best.pt as bs-train writes it, for an untrained model (speed does not need weights)."""
    torch.manual_seed(0)
    model = build_model(model_name, CLASSES, (32, 32, 3))
    ckpt.save({"identity": {"model": model_name}, "mean": [0.5] * 3, "std": [0.25] * 3,
               "model_name": model_name, "class_names": [f"c{k}" for k in range(CLASSES)],
               "image_shape": [32, 32, 3], "block_size": [8, 8], "scrambled": True,
               "model": model.state_dict(), "epoch": 1, "metrics": {}}, path)
    return path


def eval_path(data: Path, run: Path, device: torch.device) -> tuple[float, float]:
    """Wall and CPU seconds of bs-train's evaluation of the test split (data from the file)."""
    state = ckpt.load(run / "best.pt")
    model = build_model(state["model_name"], CLASSES, (32, 32, 3)).to(device)
    model.load_state_dict(state["model"])
    cuda = device.type == "cuda"
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    mean = torch.tensor(state["mean"], device=device)
    std = torch.tensor(state["std"], device=device)
    t0, c0 = time.perf_counter(), time.process_time()
    loader = MemoryLoader(describe(str(data), "test"), device, batch_size=128, shuffle=False)
    sums = evaluate(model, loader.batches(0), lambda x: to_input(x, mean, std, cuda),
                    autocast=cuda)
    if cuda:
        torch.cuda.synchronize()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert int(sums[0]) == loader.split.n_images
    return seconds, cpu


def predict_path(data: Path, run: Path, out: Path, device: str) -> tuple[float, float]:
    """Wall and CPU seconds of bs-predict's work after start-up (checkpoint, file, TTA, CSV)."""
    t0, c0 = time.perf_counter(), time.process_time()
    predict_file(run, str(data), out, "best", True, None, 256, device, overwrite=True)
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--model", default="resnet18-narrow")
    ap.add_argument("--device", default="auto")
    a = ap.parse_args()
    device = pick_device(a.device)
    print(f"machine: {machine()}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"device {device}")
    print(f"{a.images} images of 32x32, {a.model}, flip TTA, median of {a.repeats} runs each")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = write_test_file(tmp / "test.h5", a.images)
        (tmp / "run").mkdir()
        write_checkpoint(tmp / "run" / "best.pt", a.model)
        eval_path(data, tmp / "run", device)  # warm-up: allocator, kernels, page cache
        times: dict[str, list[tuple[float, float]]] = {"eval": [], "predict": []}
        for _ in range(a.repeats):
            times["eval"].append(eval_path(data, tmp / "run", device))
            with contextlib.redirect_stdout(io.StringIO()):
                times["predict"].append(predict_path(data, tmp / "run", tmp / "p.csv",
                                                     str(device)))
    ev, pr = (statistics.median(t[0] for t in times[k]) for k in ("eval", "predict"))
    cev, cpr = (statistics.median(t[1] for t in times[k]) for k in ("eval", "predict"))
    n = a.images
    print("| path | seconds | images/s | CPU seconds | images per CPU second |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| bs-train evaluation (MemoryLoader + evaluate, batch 128) | {ev:.3f} | "
          f"{n / ev:,.0f} | {cev:.3f} | {n / cev:,.0f} |")
    print(f"| bs-predict (checkpoint + file + TTA + CSV, batch 256) | {pr:.3f} | "
          f"{n / pr:,.0f} | {cpr:.3f} | {n / cpr:,.0f} |")
    print(f"| ratio bs-predict / evaluation (throughput) | | **{ev / pr:.2f}x** | | "
          f"**{cev / cpr:.2f}x** |")
    print("(CPU seconds count every thread: on an idle machine, images/s is about the images "
          "per CPU second times the threads)")

if __name__ == "__main__":
    main()
