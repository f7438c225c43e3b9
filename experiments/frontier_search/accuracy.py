"""Stages (b)-(d): train on the settings that met the leakage goal, beside the references.

Each training is two commands, recorded in its row as they ran: ``bs-encrypt dataset`` (the
setting's options, the run's key, ``--limit``) and ``bs-train`` (``blockset-narrow`` with the
invariances the file's defences call for; the plain references also ``resnet18-narrow``).
A training cut short continues with ``bs-train --resume RUN``; a finished one is skipped; the
encrypted file is removed once its trainings have finished.
"""

from __future__ import annotations

import csv
import os
import shlex
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from encrypt_tool.setting import SCALED_AUGMENT, Setting
from experiments.frontier_search.data import Data
from experiments.frontier_search.goal import Budget
from trainer.registry import get_model

__all__ = ["REFERENCES", "VARIANTS", "applies", "check_variant", "models_for", "run_folder",
           "train_setting"]

# plain images through the same pipeline (crop, flip, GridMask, N = 4), unscrambled
REFERENCES = (Setting("plain-n4-gm", scramble=False, augment=SCALED_AUGMENT),
              Setting("plain-n4-nogm", scramble=False,
                      augment=replace(SCALED_AUGMENT, gridmask=False)))

# model ideas measured on the same command: further bs-train options, by name
VARIANTS: dict[str, tuple[str, ...]] = {
    "base": (),
    "orbit": ("--invariance", "rotate:orbit"),  # pool the first layer over the 8 orientations
    "ema": ("--ema", "0.999"),  # evaluate an exponential moving average of the weights
}


def applies(variant: str, s: Setting, model: str) -> bool:
    """Whether ``variant`` means anything for ``model`` on ``s`` (orbit pooling: block-set
    models on a setting that rotates its blocks; the others: every model)."""
    return variant != "orbit" or (s.rotate and get_model(model).block_set)


def check_variant(name: str) -> str:
    """``name`` when it is a known model variant; ValueError naming the known ones."""
    if name not in VARIANTS:
        raise ValueError(f"--variant {name!r} is not known; use one of: {', '.join(VARIANTS)}")
    return name


def models_for(s: Setting) -> tuple[str, ...]:
    """The models trained on setting ``s``: a plain reference gets the CNN too."""
    return ("resnet18-narrow", "blockset-narrow") if not s.scramble else ("blockset-narrow",)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-")


def _run(tool: str, module: str, args: list[str], log: Path) -> str:
    """Run ``python -m module args`` (the console script ``tool``); its output goes to ``log``.
    Returns the command as a user types it. RuntimeError with the log's tail when it fails."""
    shown = " ".join([tool, *map(shlex.quote, args)])
    with open(log, "a") as f:
        f.write(f"$ {shown}\n")
        f.flush()
        rc = subprocess.call([sys.executable, "-m", module, *args], stdout=f,
                             stderr=subprocess.STDOUT)
    if rc:
        tail = log.read_text().splitlines()[-5:]
        raise RuntimeError(f"{shown} failed (exit {rc}):\n" + "\n".join(tail))
    return shown


def _epochs_done(run: Path) -> list[dict]:
    p = run / "metrics.csv"
    if not p.is_file():
        return []
    with open(p, newline="") as f:
        return list(csv.DictReader(f))


def run_folder(out: Path, b: Budget, s: Setting, model: str, seed: int = 0,
               variant: str = "base") -> Path:
    """Where one training runs: seed 0 of the base variant keeps the plain name."""
    tail = ("" if variant == "base" else f"-{variant}") + (f"-s{seed}" if seed else "")
    return out / "runs" / b.name / f"{_slug(s.name)}-{model}{tail}"


def train_setting(s: Setting, data: Data, b: Budget, key_file: Path, out: Path,
                  threads: int | None = None, seed: int = 0, variant: str = "base"
                  ) -> list[dict]:
    """Encrypt ``data`` as ``s`` (unless done) and train each model of :func:`models_for` at
    budget ``b`` with ``bs-train --seed seed`` and the options of ``variant`` (resuming a
    training cut short). Returns one row per model. The encrypted file is the same for every
    seed and variant (the data's seed is fixed): they differ only in the training."""
    size = data.size
    r = s.resolve((size, size, 3))
    folder = out / "data" / b.name
    folder.mkdir(parents=True, exist_ok=True)
    h5, log = folder / f"{_slug(s.name)}.h5", out / "logs" / f"{b.name}-{_slug(s.name)}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    enc = ["dataset", "--source", data.source, *shlex.split(r.options()),
           "--limit", str(max(b.n_train, b.n_test)), "--seed", "0", "--jobs", "1",
           "--key", str(key_file), "--out", str(h5)]
    runs = {m: run_folder(out, b, s, m, seed, variant) for m in models_for(s)
            if applies(variant, s, m)}
    finished = {m: len(_epochs_done(p)) >= b.epochs for m, p in runs.items()}
    encrypt_cmd = " ".join(["bs-encrypt", *map(shlex.quote, enc)])
    if not all(finished.values()) and not h5.is_file():
        encrypt_cmd = _run("bs-encrypt", "encrypt_tool.cli", enc, log)
    rows = []
    for model, run in runs.items():
        load0, t0 = os.getloadavg()[0], time.perf_counter()
        args = [str(h5), "--out", str(run), "--model", model, "--epochs", str(b.epochs),
                "--batch-size", str(b.batch_size), "--limit-train", str(b.n_train),
                "--limit-test", str(b.n_test), "--subset", "first", "--device", "cpu",
                "--no-progress", "--overwrite", "--seed", str(seed)]
        args += ["--threads", str(threads)] if threads else []
        args += list(VARIANTS[variant])
        cmds = [" ".join(["bs-train", *map(shlex.quote, args)])]
        if (run / "last.pt").is_file() and not finished[model]:  # cut short: go on
            cmds.append(_run("bs-train", "trainer.cli", ["--resume", str(run), "--no-progress"],
                             log))
        elif not finished[model]:
            _run("bs-train", "trainer.cli", args, log)
        epochs = _epochs_done(run)
        last = epochs[-1]
        rows.append({"setting": s.name, "data": data.kind, "budget": b.name, "model": model,
                     "seed": seed, "variant": variant,
                     "acc": float(last["test_acc"]), "acc_tta": float(last["test_acc_tta"]),
                     "epochs": len(epochs), "n_train": b.n_train, "n_test": b.n_test,
                     "train_s": round(sum(float(e["epoch_s"]) for e in epochs), 1),
                     "wall_s": round(time.perf_counter() - t0, 1),
                     "load": [round(load0, 2), round(os.getloadavg()[0], 2)],
                     "commands": [encrypt_cmd, *cmds], "run": str(run)})
    h5.unlink(missing_ok=True)  # the encrypted file is not a result
    return rows
