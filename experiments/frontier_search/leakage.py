"""Stage (a): what every attack of the audit recovers under one setting of the grid.

The images are encrypted as ``bs-encrypt dataset`` does (the setting's crop, flip, GridMask
and N copies), and the audit attacks copy 0 of the first ``samples`` training images with all
N copies in the attacker's hands. The learned attacks train on the file's other images (its
other training images, every copy, and its test images: a disjoint part of the owner's images)
and are cached in ``models/<data>/<setting>/`` of the run, so that a rerun does not train them
again. A row holds the union's figures, each attack's figures alone and what the union loses
without it, and the learned attacks against the others; never an image.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from encrypt_tool.audit.learn.obtain import LEARNED
from encrypt_tool.audit.metrics import recognisable
from encrypt_tool.audit.scoring import ROW
from encrypt_tool.setting import Setting
from experiments.frontier_search.data import Data

__all__ = ["FIGURES", "contributions", "describe", "measure"]

FIGURES = ("perfect", "neighbour", "recognisable", "in_segments")


def describe(s: Setting, size: int) -> dict:
    """The parts of setting ``s`` at ``size`` px that a table shows."""
    r = s.resolve((size, size, 3))
    return {"options": r.options(), "block": r.block[0], "drop": r.drop, "kept": r.kept[0],
            "pixels_kept": r.pixels_kept,
            "transforms": [n for n in ("rotate", "negpos", "channel_perm") if getattr(r, n)],
            "n_copies": r.n_copies, "gridmask": bool(r.augment and r.augment.gridmask)}


def _figures(best: np.ndarray) -> dict:
    """Union figures of per-image rows (M, 5) in the order of ``scoring.ROW``."""
    col = {k: best[:, i] for i, k in enumerate(ROW)}
    return {"perfect": float(col["perfect"].mean()), "neighbour": float(col["neighbour"].mean()),
            "recognisable": float(recognisable(col["largest_segment"],
                                               col["in_segments"]).mean()),
            "in_segments": float(col["in_segments"].mean())}


def contributions(summary: dict) -> dict:
    """From an audit summary: per attack of the registry that ran, its figures alone and what
    the union loses without it (``adds``: neighbour pairs only it finds, in points of the
    share); the learned attacks together against the others."""
    ran = {n: r["answers"] for n, r in summary["ran"].items() if r["answers"]}
    per = summary["per_image"]

    def union(names: list[str]) -> dict | None:
        labels = [label for n in names for label in ran[n]]
        if not labels:
            return None
        rows = np.array([[[img["attacks"][lab][k] for k in ROW] for lab in labels]
                         for img in per], dtype=np.float64)  # (M, L, 5)
        return _figures(rows.max(axis=1))

    every = list(ran)
    full = union(every)
    attacks = {}
    for n in every:
        without = union([m for m in every if m != n])
        attacks[n] = {"alone": union([n]), "without": without, "seconds": summary["ran"][n][
            "seconds"], "adds": {k: full[k] - (without[k] if without else 0.0)
                                 for k in FIGURES}}
    learned = [n for n in every if n in LEARNED]
    return {"attacks": attacks,
            "learned": union(learned), "not_learned": union([n for n in every
                                                             if n not in LEARNED])}


def measure(s: Setting, data: Data, key: bytes, work: Path, samples: int,
            attacks: tuple[str, ...] | None, models: Path, attack_steps: int = 300) -> dict:
    """Encrypt ``data`` as setting ``s``, audit its first ``samples`` training images (the
    learned attacks trained for ``attack_steps`` steps), and return the row (the encrypted
    file is removed)."""
    from encrypt_tool.audit import AuditConfig, audit_file
    from encrypt_tool.pipeline import DatasetConfig, build_dataset
    from encrypt_tool.sources import open_source

    work.mkdir(parents=True, exist_ok=True)
    path = work / "stage-a.h5"
    cfg = DatasetConfig(out=str(path), setting=s.resolve((data.size, data.size, 3)),
                        source=data.source, seed=0, jobs=1, limit=data.limit, overwrite=True)
    load0, t0 = os.getloadavg()[0], time.perf_counter()
    try:
        build_dataset(cfg, key, lambda spec, **kw: open_source(spec, **kw))
        summary, _ = audit_file(path, key, AuditConfig(
            split="train", samples=samples, start=0, attacks=attacks, models=str(models),
            attack_steps=attack_steps))
    finally:
        path.unlink(missing_ok=True)  # the encrypted file is not a result
    wall = time.perf_counter() - t0
    u = summary["union"]
    learned = {n: {k: v for k, v in f.items() if k != "from"} | {"cached": f.get("from") !=
                                                                  "trained"}
               for n, f in summary["learned"].items() if isinstance(f, dict)}
    return {
        "setting": s.name, "data": data.kind, "samples": summary["samples"],
        **describe(s, data.size),
        **{k: u[k] for k in FIGURES}, "best_attack": summary["best_attack"],
        **contributions(summary),
        "learned_models": learned,
        "not_run": summary["not_run"], "not_applicable": summary["not_applicable"],
        "training_s": summary["learned"].get("training_seconds"),
        "wall_s": round(wall, 1), "load": [round(load0, 2), round(os.getloadavg()[0], 2)],
    }
