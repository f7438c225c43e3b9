"""The privacy-accuracy frontier on CIFAR-10: each setting of experiments.settings.FRONTIER (block
size, border drop, within-block transforms; zero-padded crop, flip, N = 4 keys per image), the
audit's leakage of each, ResNet (where it applies) and block-set models trained on each file,
plus plain references. Writes frontier.md, frontier.csv, frontier.json and frontier.png.

    .venv/bin/python -m experiments.frontier --budget cpu [--data DIR] [--out runs/frontier]
    ... --setting "8x8" --setting "8x8 drop 2 + all"     # only these settings
    ... --only accuracy --update                           # add to an earlier run in --out
    ... --lock /tmp/bench.lock                      # flock around each training/audit
    ... --model blockset-narrow                     # only this model (repeat for more)

Budgets: cpu (10,000 images, 10 epochs, narrow models; about 30 min on 2 idle cores),
cpu-quick (2,500 images, 4 epochs, for a loaded machine), gpu (25,000 images, 15 epochs,
full-width models), smoke (synthetic images, seconds). DATA: a folder with cifar10_train.npz and
cifar10_test.npz or the CIFAR-10 sheets; default: the offline copy, unpacked to a temporary
folder.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from encrypt_tool.setting import pick
from experiments.cifar import SHARED_CIFAR, cifar_source
from experiments.frontier.budget import BUDGETS, with_overrides
from experiments.frontier.run import run_frontier
from experiments.machine import describe_machine as machine
from experiments.settings import FRONTIER as SETTINGS
from trainer.registry import MODEL_NAMES

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m experiments.frontier",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--budget", choices=sorted(BUDGETS), default="cpu")
    ap.add_argument("--data", type=Path, default=None, help="CIFAR-10 folder (npz or sheets)")
    ap.add_argument("--out", type=Path, default=Path("runs/frontier"))
    ap.add_argument("--n-train", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--device", default=None)
    ap.add_argument("--audit-samples", type=int, default=None,
                    help="training images the audit attacks per setting")
    ap.add_argument("--setting", action="append", default=None,
                    help=f"a setting to measure (repeat; default: the budget's): "
                         f"{', '.join(s.name for s in SETTINGS)}")
    ap.add_argument("--model", action="append", choices=MODEL_NAMES, default=None,
                    help="a model to train (repeat; default: the budget's); the ResNet still "
                         "trains only on settings without within-block transforms")
    ap.add_argument("--only", choices=("accuracy", "leakage"), default=None,
                    help="measure only accuracy or only leakage")
    ap.add_argument("--update", action="store_true",
                    help="keep an earlier run's results in --out and replace what this run "
                         "measures")
    ap.add_argument("--lock", default=None,
                    help="a file to lock (as flock) around each training run and audit")
    ap.add_argument("--overwrite", action="store_true")
    a = ap.parse_args(argv)
    try:
        pick(SETTINGS, a.setting)
    except ValueError as e:
        ap.error(str(e))
    for name in ("n_train", "epochs", "audit_samples"):
        v = getattr(a, name)
        if v is not None and v < 1:
            ap.error(f"--{name.replace('_', '-')} {v} is not valid; it must be >= 1")
    if (a.out / "frontier.json").exists() and not (a.overwrite or a.update):
        ap.error(f"{a.out} already holds a frontier; pass --overwrite to replace it "
                 f"or --update to add to it")
    budget = with_overrides(BUDGETS[a.budget], n_train=a.n_train, epochs=a.epochs,
                            device=a.device, audit_samples=a.audit_samples)
    if a.setting:
        budget = with_overrides(budget, settings=tuple(a.setting))
    if a.model:
        budget = with_overrides(budget, models=tuple(dict.fromkeys(a.model)))
    with tempfile.TemporaryDirectory() as tmp:
        if a.budget == "smoke" and a.data is None:
            source = "synthetic:512,128"
        else:
            data = a.data or SHARED_CIFAR
            try:
                source = cifar_source(data, Path(tmp) / "cifar")
            except ValueError as e:
                ap.error(str(e))
        t0 = time.perf_counter()
        parts = (a.only,) if a.only else ("accuracy", "leakage")
        try:
            summary = run_frontier(budget, source, a.out, parts=parts, update=a.update,
                                   lock=a.lock)
        except ValueError as e:
            ap.error(str(e))
    summary.update(machine=machine(), wall_s=time.perf_counter() - t0,
                   load_end=os.getloadavg()[0])
    (a.out / "frontier.json").write_text(json.dumps(summary, indent=2))
    print((a.out / "frontier.md").read_text())
    print(f"{machine()}; {summary['wall_s']:.0f} s in all -> {a.out}")
    return 0
