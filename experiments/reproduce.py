"""Reproduce the paper's Fig. 3: train on plain and scrambled CIFAR-10, with and without
augmentation, and report test accuracy with and without flip TTA.

The run's master key is derived from its seed (``run_key``), so the same command gives the
same encrypted data and the same table; the harness plays both parties, so this key is no
secret. ``key_file`` uses a real master key instead. The key is kept in memory only; the
encrypted files are written under the run folder (and removed at the end unless ``keep_data``).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from bsformat.files import write_atomic
from encrypt_tool import __version__
from encrypt_tool.pipeline import build_dataset
from encrypt_tool.setting import Setting
from experiments.conditions import CONDITIONS
from experiments.machine import cpu_model
from experiments.report import bar_chart, sample_figure, write_tables
from experiments.splits import SPLIT_ROLES, reproduce_source
from keys.master import KEY_BYTES, load_key

__all__ = ["ReproduceConfig", "run_key", "run_reproduce"]

_RUN_KEY_PERSON = b"bs-repro-key-v1"


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
    key_file: str | None = None  # None: the key derived from ``seed``

    def __post_init__(self) -> None:
        known = {c.name for c in CONDITIONS}
        bad = [c for c in self.conditions if c not in known]
        if bad or not self.conditions:
            raise ValueError(f"conditions {bad or '(none)'} are not valid; choose from "
                             f"{', '.join(sorted(known))}")
        at_least_1 = {"epochs": self.epochs, "batch-size": self.batch_size, "jobs": self.jobs,
                      "n-train": self.n_train, "n-holdout": self.n_holdout,
                      "n-test": self.n_test}
        for name, value in at_least_1.items():
            if value is not None and value < 1:
                raise ValueError(f"--{name} {value} is not valid; it must be >= 1")
        if self.lr is not None and self.lr <= 0:
            raise ValueError(f"--lr {self.lr} is not valid; it must be > 0")
        out = Path(self.out)
        if out.exists() and not out.is_dir():
            raise FileExistsError(f"--out {out} is a file; give a folder for the run")
        if (out / "results.csv").exists() and not self.overwrite:
            raise FileExistsError(f"{out} already holds results; pass --overwrite to replace them")


def run_key(seed: int) -> bytes:
    """The run's master key, BLAKE2b(seed) under a fixed label: reproducible, not secret."""
    return hashlib.blake2b(str(seed).encode(), digest_size=KEY_BYTES,
                           person=_RUN_KEY_PERSON).digest()


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


def _encrypt(cond: Setting, cfg: ReproduceConfig, source, key: bytes, path: Path) -> float:
    t0 = time.perf_counter()
    dcfg = cond.dataset_config(str(path), source.name, seed=cfg.seed, jobs=cfg.jobs,
                               overwrite=True)
    build_dataset(dcfg, key if cond.scramble else b"", lambda *a, **k: source)
    return time.perf_counter() - t0


def _train(cond: Setting, cfg: ReproduceConfig, data: Path, run_dir: Path) -> dict:
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
    labels = ["plain test images"] + [
        f"copy {s + 1} of 4: augmented (crop, flip, GridMask), then scrambled with its own key"
        for s in range(4)]
    return sample_figure([x] + [enc[:, s] for s in range(4)], out, labels)


def run_reproduce(cfg: ReproduceConfig, announce: Callable[[], None] | None = None) -> dict:
    """Run every condition of ``cfg``; write the table, chart, sample picture and run.json.

    Every input is checked before anything is written (``announce()`` is called then, once
    the options are known to be valid); a run that fails removes the run
    folder it created (or, in an existing folder, the data it wrote).
    """
    from experiments.evaluate import evaluate_checkpoint
    from trainer.config import TrainConfig
    from trainer.ddp import pick_device

    out = Path(cfg.out)
    t_start = time.perf_counter()
    TrainConfig(data="", out=str(out), epochs=cfg.epochs, batch_size=cfg.batch_size,
                recipe=cfg.recipe, lr=cfg.lr, model=cfg.model,
                device=cfg.device).validate(check_files=False)
    key = load_key(cfg.key_file) if cfg.key_file is not None else run_key(cfg.seed)
    source = reproduce_source(cfg.source, cfg.data_dir, cfg.download, cfg.n_train,
                              cfg.n_holdout, cfg.n_test)
    n_fit = source.splits["train"].n
    if cfg.batch_size > n_fit:
        raise ValueError(f"--batch-size {cfg.batch_size} is larger than the {n_fit:,} training "
                         f"images; give at most {n_fit}")
    device = pick_device(cfg.device)
    if announce is not None:
        announce()
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        return _run(cfg, source, key, device, out, t_start, evaluate_checkpoint)
    except BaseException:  # keep finished conditions' runs; no stray folder or data
        if created and not (out / "runs").exists():
            shutil.rmtree(out, ignore_errors=True)
        elif not cfg.keep_data:
            shutil.rmtree(out / "data", ignore_errors=True)
        raise


def _run(cfg: ReproduceConfig, source, key: bytes, device, out: Path, t_start: float,
         evaluate_checkpoint) -> dict:
    rows, timings = [], {}
    for cond in (c for c in CONDITIONS if c.name in cfg.conditions):
        print(f"== {cond.caption}", flush=True)
        data = out / "data" / f"{cond.name}.h5"
        data.parent.mkdir(exist_ok=True)
        enc_s = _encrypt(cond, cfg, source, key, data)
        t0 = time.perf_counter()
        _train(cond, cfg, data, out / "runs" / cond.name)
        train_s = time.perf_counter() - t0
        last = out / "runs" / cond.name / "last.pt"
        for split in (s for s in SPLIT_ROLES if s in source.splits):
            m = evaluate_checkpoint(str(last), str(data), split, device)
            rows.append({"condition": cond.name, "label": cond.caption, "split": split,
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
    write_atomic(out / "run.json", json.dumps(record, indent=2) + "\n")
    return record
