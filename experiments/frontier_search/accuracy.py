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

__all__ = ["REFERENCES", "models_for", "train_setting"]

# plain images through the same pipeline (crop, flip, GridMask, N = 4), unscrambled
REFERENCES = (Setting("plain-n4-gm", scramble=False, augment=SCALED_AUGMENT),
              Setting("plain-n4-nogm", scramble=False,
                      augment=replace(SCALED_AUGMENT, gridmask=False)))


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
    return list(csv.DictReader(open(p))) if p.is_file() else []


def train_setting(s: Setting, data: Data, b: Budget, key_file: Path, out: Path,
                  threads: int | None = None) -> list[dict]:
    """Encrypt ``data`` as ``s`` (unless done) and train each model of :func:`models_for` at
    budget ``b`` (resuming a training cut short). Returns one row per model."""
    size = data.size
    r = s.resolve((size, size, 3))
    folder = out / "data" / b.name
    folder.mkdir(parents=True, exist_ok=True)
    h5, log = folder / f"{_slug(s.name)}.h5", out / "logs" / f"{b.name}-{_slug(s.name)}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    enc = ["dataset", "--source", data.source, *shlex.split(r.options()),
           "--limit", str(max(b.n_train, b.n_test)), "--seed", "0", "--jobs", "1",
           "--key", str(key_file), "--out", str(h5)]
    runs = {m: out / "runs" / b.name / f"{_slug(s.name)}-{m}" for m in models_for(s)}
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
                "--no-progress", "--overwrite"]
        args += ["--threads", str(threads)] if threads else []
        cmds = [" ".join(["bs-train", *map(shlex.quote, args)])]
        if (run / "last.pt").is_file() and not finished[model]:  # cut short: go on
            cmds.append(_run("bs-train", "trainer.cli", ["--resume", str(run), "--no-progress"],
                             log))
        elif not finished[model]:
            _run("bs-train", "trainer.cli", args, log)
        epochs = _epochs_done(run)
        last = epochs[-1]
        rows.append({"setting": s.name, "data": data.kind, "budget": b.name, "model": model,
                     "acc": float(last["test_acc"]), "acc_tta": float(last["test_acc_tta"]),
                     "epochs": len(epochs), "n_train": b.n_train, "n_test": b.n_test,
                     "train_s": round(sum(float(e["epoch_s"]) for e in epochs), 1),
                     "wall_s": round(time.perf_counter() - t0, 1),
                     "load": [round(load0, 2), round(os.getloadavg()[0], 2)],
                     "commands": [encrypt_cmd, *cmds], "run": str(run)})
    h5.unlink(missing_ok=True)  # the encrypted file is not a result
    return rows
