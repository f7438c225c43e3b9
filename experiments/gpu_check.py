"""Everything here that needs a GPU, in one command of at most about 8 minutes on one H100:

1. trainer throughput: ``bs-train``'s training images/s for ResNet-18 at batch 128 and 512,
   bf16 autocast, with and without ``--compile`` (2 epochs each on 25,000 CIFAR-10 images with
   the paper's settings, N = 4; the second epoch is the figure: the first holds compilation);
2. the privacy-accuracy frontier at the ``gpu`` budget (``experiments.frontier``).

Writes summary.json and summary.md (and the frontier's files) into one folder.

    make gpu-check DATA=DIR          # DIR: cifar10_train.npz + cifar10_test.npz, or the sheets
    .venv/bin/python -m experiments.gpu_check --smoke --out /tmp/check   # on a CPU, tiny,
                                                                        # no --compile

DIR may hold just ``labels.npz``, ``test_first1000.webp`` and ``train_half1.webp`` (43 MiB:
25,000 training images and the 1,000 exact test images), which fits one call of a machine that
carries at most 64 MiB.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from encrypt_tool.setting import Setting
from experiments.cifar import cifar_source
from experiments.frontier.budget import BUDGETS
from experiments.frontier.run import encrypt_setting, run_frontier
from experiments.machine import describe_machine as machine

__all__ = ["main", "throughput"]

SMOKE = replace(BUDGETS["smoke"], n_train=64, n_test=16, settings=("8x8", "plain"),
                audit_samples=2, batch_size=32)


def throughput(data: Path, out: Path, device: str, batches: tuple[int, ...], epochs: int,
               n_train: int, model: str, compiles: tuple[bool, ...] = (False, True),
               n_test: int = 1000) -> list[dict]:
    """Training images/s of the trainer on ``data``: the last epoch of a short run per case."""
    from trainer.config import TrainConfig
    from trainer.train import train

    rows = []
    for compile_ in compiles:
        for batch in batches:
            run = out / f"throughput-b{batch}{'-compile' if compile_ else ''}"
            t0 = time.perf_counter()
            train(TrainConfig(data=str(data), out=str(run), epochs=epochs, batch_size=batch,
                              model=model, device=device, limit_train=n_train,
                              limit_test=min(1000, n_test), subset="first",
                              compile=compile_, overwrite=True,
                              progress=False))
            last = list(csv.DictReader(open(run / "metrics.csv")))[-1]
            rows.append({"model": model, "batch": batch, "compile": compile_,
                         "images_per_s": float(last["images_per_s"]),
                         "epoch_s": float(last["epoch_s"]), "wall_s": time.perf_counter() - t0})
            print(f"throughput {model} batch {batch} compile {compile_}: "
                  f"{rows[-1]['images_per_s']:,.0f} img/s", flush=True)
    return rows


def _device_name(device: str) -> str:
    import torch

    if device != "cpu" and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    return f"CPU: {machine()}, torch {torch.__version__}"


def _markdown(s: dict) -> str:
    lines = [f"# gpu-check on {s['device']}", "",
             "| model | batch | compile | training images/s | epoch s |",
             "| --- | ---: | --- | ---: | ---: |"]
    lines += [f"| {r['model']} | {r['batch']} | {r['compile']} | {r['images_per_s']:,.0f} | "
              f"{r['epoch_s']:.1f} |" for r in s["throughput"]]
    lines += ["", f"Frontier ({s['frontier']['budget']['n_train']} training images, "
              f"{s['frontier']['budget']['epochs']} epochs):", "",
              (Path(s["out"]) / "frontier.md").read_text(), f"{s['wall_s']:.0f} s in all."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m experiments.gpu_check",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="?", type=Path, default=None,
                    help="CIFAR-10 folder (npz files or sheets); optional with --smoke")
    ap.add_argument("--out", type=Path, default=Path("runs/gpu-check"))
    ap.add_argument("--smoke", action="store_true", help="tiny budget on the CPU (tests)")
    ap.add_argument("--overwrite", action="store_true")
    a = ap.parse_args(argv)
    if a.data is None and not a.smoke:
        ap.error("DATA is missing: give a folder with CIFAR-10 (make gpu-check DATA=DIR)")
    if a.data is not None and not a.data.is_dir():
        ap.error(f"DATA {a.data} is not a folder")
    if (a.out / "summary.json").exists() and not a.overwrite:
        ap.error(f"{a.out} already holds a summary; pass --overwrite to replace it")
    budget = SMOKE if a.smoke else BUDGETS["gpu"]
    if not a.smoke:
        import torch

        if not torch.cuda.is_available():
            ap.error("no CUDA device: gpu-check needs a GPU (use --smoke to test it on a CPU)")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            source = (cifar_source(a.data, Path(tmp) / "cifar") if a.data is not None
                      else "synthetic:256,64")
        except ValueError as e:
            ap.error(str(e))
        a.out.mkdir(parents=True, exist_ok=True)
        from keys.master import generate_key

        key = generate_key()  # memory only
        paper = encrypt_setting(source, key, Setting("8x8", block=8),
                                replace(budget, gridmask=True), Path(tmp) / "paper.h5")
        if a.smoke:
            # torch.compile on a CPU takes minutes: the smoke run leaves it out
            rows = throughput(paper, a.out / "runs", "cpu", (16,), 1, 32, "resnet18-narrow",
                              (False,), n_test=budget.n_test)
        else:
            rows = throughput(paper, a.out / "runs", "auto", (128, 512), 2, 25_000, "resnet18",
                              n_test=budget.n_test)
        paper.unlink()
        frontier = run_frontier(budget, source, a.out, key)
    summary = {"device": _device_name(budget.device), "machine": machine(), "out": str(a.out),
               "throughput": rows, "frontier": frontier, "wall_s": time.perf_counter() - t0}
    (a.out / "summary.json").write_text(json.dumps(summary, indent=2))
    (a.out / "summary.md").write_text(_markdown(summary))
    print(_markdown(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
