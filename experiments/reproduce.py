"""Reproduce the paper's Fig. 3: train on plain and scrambled CIFAR-10, with and without
augmentation, and report test accuracy with and without flip TTA.

The master key is generated for the run and kept in memory only; the encrypted files are
written under the run folder (and removed at the end unless ``keep_data``).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from encrypt_tool import __version__
from encrypt_tool.pipeline import DatasetConfig, build_dataset
from experiments.conditions import CONDITIONS, Condition
from experiments.machine import cpu_model
from experiments.report import bar_chart, sample_figure, write_tables
from experiments.splits import SPLIT_ROLES, reproduce_source
from keys.master import generate_key

__all__ = ["ReproduceConfig", "run_reproduce"]


@dataclass(frozen=True)
class ReproduceConfig:
    """Settings of one reproduction; the defaults are the paper's."""

    out: str
    source: str = "cifar10"
    data_dir: str | None = None
    download: bool = False
    epochs: int = 250
    recipe: str = "paper"
    lr: float | None = None
    batch_size: int = 128
    seed: int = 0
    model: str = "resnet18"
    device: str = "auto"
    n_train: int | None = None
    n_holdout: int = 5000
    n_test: int | None = None
    conditions: tuple[str, ...] = field(default=tuple(c.name for c in CONDITIONS))
    jobs: int = 1
    progress: bool = True
    keep_data: bool = False
    overwrite: bool = False

    def __post_init__(self) -> None:
        known = {c.name for c in CONDITIONS}
        bad = [c for c in self.conditions if c not in known]
        if bad or not self.conditions:
            raise ValueError(f"conditions {bad or '(none)'} are not valid; choose from "
                             f"{', '.join(sorted(known))}")
        if self.epochs < 1:
            raise ValueError(f"epochs {self.epochs} is not valid; it must be >= 1")


def _device_name(device: str) -> str:
    import torch

    if device != "cpu" and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})"
    return f"CPU: {cpu_model()}, {os.cpu_count()} cores"


def _versions() -> dict[str, str]:
    import torch
    import torchvision

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=Path(__file__).parent, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"bs-encrypt": __version__, "commit": commit or "unknown",
            "python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__, "torchvision": torchvision.__version__}


def _encrypt(cond: Condition, cfg: ReproduceConfig, source, key: bytes, path: Path) -> float:
    t0 = time.perf_counter()
    dcfg = DatasetConfig(out=str(path), source=source.name, n_keys=cond.n_keys,
                         scramble=cond.scramble, augment=cond.augment_config(),
                         test_augment=cond.augment, seed=cfg.seed, jobs=cfg.jobs,
                         overwrite=True)
    build_dataset(dcfg, key if cond.scramble else b"", lambda *a, **k: source)
    return time.perf_counter() - t0


def _train(cond: Condition, cfg: ReproduceConfig, data: Path, run_dir: Path) -> dict:
    from trainer.config import TrainConfig
    from trainer.train import train

    tcfg = TrainConfig(data=str(data), out=str(run_dir), epochs=cfg.epochs,
                       batch_size=cfg.batch_size, recipe=cfg.recipe, lr=cfg.lr, seed=cfg.seed,
                       model=cfg.model, device=cfg.device, overwrite=True,
                       progress=cfg.progress)
    return train(tcfg)


def _figure2(source, key: bytes, out: Path) -> Path:
    """Plain test images above their copies encrypted like the training data (N = 4)."""
    from encrypt_tool.augment import AugmentConfig
    from encrypt_tool.encrypt import BatchSpec, encrypt_batch

    x = source.splits["test"].read(0, min(8, source.splits["test"].n))  # (8, H, W, C)
    spec = BatchSpec(split="figure", n_copies=4, block=(8, 8), augment=AugmentConfig(),
                     scramble=True, dataset_id=b"figure-2-sample!")
    enc = encrypt_batch(x, np.arange(len(x)), spec, key)  # (8, 4, H, W, C)
    return sample_figure([x] + [enc[:, s] for s in range(4)], out)


def run_reproduce(cfg: ReproduceConfig) -> dict:
    """Run every condition of ``cfg``; write the table, chart, sample picture and run.json."""
    from experiments.evaluate import evaluate_checkpoint
    from trainer.ddp import pick_device

    out = Path(cfg.out)
    if (out / "results.csv").exists() and not cfg.overwrite:
        raise FileExistsError(f"{out} already holds results; pass --overwrite to replace them")
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    source = reproduce_source(cfg.source, cfg.data_dir, cfg.download, cfg.n_train,
                              cfg.n_holdout, cfg.n_test)
    device = pick_device(cfg.device)
    key = generate_key()  # this run's client key: memory only
    rows, timings = [], {}
    for cond in (c for c in CONDITIONS if c.name in cfg.conditions):
        print(f"== {cond.label}", flush=True)
        data = out / "data" / f"{cond.name}.h5"
        data.parent.mkdir(exist_ok=True)
        enc_s = _encrypt(cond, cfg, source, key, data)
        t0 = time.perf_counter()
        _train(cond, cfg, data, out / "runs" / cond.name)
        train_s = time.perf_counter() - t0
        last = out / "runs" / cond.name / "last.pt"
        for split in (s for s in SPLIT_ROLES if s in source.splits):
            m = evaluate_checkpoint(str(last), str(data), split, device)
            rows.append({"condition": cond.name, "label": cond.label, "split": split,
                         "split_label": SPLIT_ROLES[split], "images": m["n"], "acc": m["acc"],
                         "acc_tta": m["acc_tta"], "loss": m["loss"], "loss_tta": m["loss_tta"]})
        timings[cond.name] = {"encrypt_s": round(enc_s, 1), "train_s": round(train_s, 1)}
        if not cfg.keep_data:
            data.unlink()
    write_tables(rows, out)
    head = {r["condition"]: r for r in rows if r["split"] == "test"}
    groups = []
    for aug, title, col in ((False, "(a) no augmentation", "acc"),
                            (True, "(b) augmentation + flip TTA", "acc_tta")):
        bars = [(c.name.split("_")[0], 100 * head[c.name][col]) for c in CONDITIONS
                if c.augment == aug and c.name in head]
        if bars:
            groups.append((title, bars))
    bar_chart(groups, f"Test accuracy, {source.name}, {cfg.epochs} epoch(s), recipe {cfg.recipe}",
              out / "fig3_accuracy.png")
    _figure2(source, key, out / "fig2_samples.png")
    wall = time.perf_counter() - t_start
    record = {
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": asdict(cfg), "device": _device_name(str(device)), "versions": _versions(),
        "splits": {k: {"images": source.splits[k].n, "role": SPLIT_ROLES.get(k, "training")}
                   for k in source.splits},
        "timings_s": timings, "wall_s": round(wall, 1), "results": rows,
    }
    (out / "run.json").write_text(json.dumps(record, indent=2) + "\n")
    return record
