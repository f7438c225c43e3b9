"""The privacy-accuracy frontier: encrypt, audit and train as a budget says.

``python -m experiments.frontier`` (the CLI) and ``experiments.gpu_check`` call
``run_frontier``. One encrypted file per setting (``experiments.settings.FRONTIER``: block size,
border drop, within-block transforms; the paper's other settings: zero-padded crop, flip, N = 4
keys per image; GridMask as the budget says), one plain file per plain reference; on each file
every model of the budget that applies is trained (the ResNet only without within-block
transforms: it has no invariance to them; the block-set model with the invariances the file's
defences call for); beside each setting the audit's leakage of its training copies (all N copies
in the attacker's hands).
"""

from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import asdict, replace
from pathlib import Path

from encrypt_tool.augment import AugmentConfig
from encrypt_tool.setting import Setting, pick
from experiments.encrypt import encrypt
from experiments.frontier.budget import Budget
from experiments.frontier.report import LEAK_KEYS, write
from experiments.locked import locked
from experiments.settings import FRONTIER
from trainer.registry import MODELS

__all__ = ["encrypt_setting", "leakage", "run_frontier"]


def leakage(path: Path, key: bytes, samples: int) -> dict:
    """What the audit recovers from the training copies of ``path`` (all N copies): the share of
    images that any of its attacks reassembles exactly (perfect, the per-image union), of true
    neighbour pairs found (neighbour, union), and the recognisability measures where the audit
    has them (recognisable images, blocks in correct segments of 4+, largest correct segment),
    with the best single attack named beside them and the attacks the audit could not run.

    The one call into the audit; switch here when its entry point changes.
    """
    from encrypt_tool.audit import AuditConfig, audit_file

    s, _ = audit_file(path, key, AuditConfig(split="train", samples=samples))
    u = s["union"]
    return {**{k: u.get(k) for k in LEAK_KEYS}, "best_attack": s["best_attack"],
            "not_run": s.get("not_run", []), "samples": s["samples"]}


def encrypt_setting(source: str, key: bytes, setting: Setting, b: Budget, out: Path) -> Path:
    """One file of the frontier: CIFAR-10 (or ``source``) encrypted as ``setting`` says, N = 4."""
    one = replace(setting, augment=AugmentConfig(gridmask=b.gridmask))
    return encrypt(source, key, one, out, jobs=2, limit=max(b.n_train, b.n_test))


def _train(data: Path, model: str, b: Budget, out: Path, lock: str | None) -> dict:
    from trainer.config import TrainConfig
    from trainer.train import train

    with locked(lock) as load:
        t0 = time.perf_counter()
        r = train(TrainConfig(data=str(data), out=str(out), epochs=b.epochs,
                              batch_size=b.batch_size, model=model, device=b.device,
                              limit_train=b.n_train, limit_test=b.n_test, subset="first",
                              overwrite=True, progress=False))  # the first 1,000: exact
        wall = time.perf_counter() - t0
        load_after = os.getloadavg()[0]
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    train_s = sum(float(r["epoch_s"]) for r in rows)
    return {"acc": r["final_test_acc"], "acc_tta": r["final_test_acc_tta"],
            "train_s": train_s, "wall_s": wall, "load": [load, load_after]}


def _models(s: Setting, b: Budget) -> list[tuple[str, str, int]]:
    """(row label, model, block side) of the runs on setting ``s``."""
    side = s.block[0]
    if s.scramble:
        return [(s.name, m, side) for m in b.models
                if MODELS[m].block_set or not s.transforms]
    runs = [(s.name, m, side) for m in b.models if not MODELS[m].block_set]
    return runs + [(f"plain ({pb}x{pb} grid)", m, pb) for pb in b.plain_blocks
                   for m in b.models if MODELS[m].block_set]


def run_frontier(b: Budget, source: str, out: Path, key: bytes | None = None,
                 parts: tuple[str, ...] = ("accuracy", "leakage"), update: bool = False,
                 lock: str | None = None) -> dict:
    """Encrypt, audit and train as ``b`` says; write frontier.{md,csv,json,png} into ``out``.

    ``parts``: what to measure (accuracy, leakage). ``update``: keep the results of an earlier
    run in ``out`` (same budget) and replace only what this run measures. ``lock``: a file
    locked (as ``flock``) around every training run and audit.
    """
    from keys.master import generate_key

    key = key or generate_key()  # memory only
    out.mkdir(parents=True, exist_ok=True)
    data, runs = out / "data", out / "runs"
    data.mkdir(exist_ok=True)
    results = _earlier(out, b) if update else {}
    settings = pick(FRONTIER, list(b.settings))
    for s in settings:
        res = results.setdefault(s.name, {"leak": None, "models": {}})
        files: dict[int, Path] = {}

        def file(block: int, s: Setting = s, files: dict = files) -> Path:
            if block not in files:
                t = s if block == s.block[0] else replace(s, name=f"plain{block}", block=block)
                files[block] = encrypt_setting(source, key, t, b, data / f"{_slug(t.name)}.h5")
            return files[block]

        if "leakage" in parts and s.scramble:
            with locked(lock) as load:
                t0 = time.perf_counter()
                res["leak"] = {**leakage(file(s.block[0]), key, b.audit_samples),
                               "wall_s": time.perf_counter() - t0,
                               "load": [load, os.getloadavg()[0]]}
            print(f"== {s.name}: leakage perfect {res['leak']['perfect']:.1%}, neighbours "
                  f"{res['leak']['neighbour']:.1%}", flush=True)
        if "accuracy" in parts:
            for label, model, block in _models(s, b):
                r = _train(file(block), model, b, runs / f"{_slug(label)}-{model}", lock)
                res["models"][f"{label}|{model}"] = r
                print(f"   {label:20s} {model:16s} test {r['acc']:.1%}  TTA {r['acc_tta']:.1%}"
                      f"  train {r['train_s']:.0f} s, load {r['load'][0]:.1f}", flush=True)
        for f in files.values():
            f.unlink(missing_ok=True)  # the encrypted file is not a result
        write({"budget": asdict(b), "results": results}, out)
    summary = {"budget": asdict(b), "results": results}
    write(summary, out)
    return json.loads((out / "frontier.json").read_text())


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-")


def _earlier(out: Path, b: Budget) -> dict:
    """The per-setting results of an earlier run in ``out`` at the same budget ({} if none)."""
    p = out / "frontier.json"
    if not p.exists():
        return {}
    old = json.loads(p.read_text())
    keep = ("n_train", "epochs", "n_test", "gridmask", "audit_samples")
    if any(old.get("budget", {}).get(k) != asdict(b)[k] for k in keep):
        raise ValueError(f"{p} was measured at another budget; use another --out or leave "
                         f"out --update")
    return old.get("results", {})
