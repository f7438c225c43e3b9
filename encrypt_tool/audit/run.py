"""Audit an encrypted file: attack its images without the key, score with the key, report."""

from __future__ import annotations

import math
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from encrypt_tool.audit.attack import SideInfo
from encrypt_tool.audit.attacks import choose
from encrypt_tool.audit.battery import run_battery
from encrypt_tool.audit.config import AuditConfig
from encrypt_tool.audit.learn.obtain import learned_models
from encrypt_tool.audit.learn.pool import folder_images, owner_images
from encrypt_tool.audit.metrics import key_space_bits
from encrypt_tool.audit.pieces import kept_pixels
from encrypt_tool.audit.progress import AuditProgress
from encrypt_tool.audit.report import write_report
from encrypt_tool.audit.scoring import image_row, per_image, summarize, verdict
from encrypt_tool.audit.select import select
from encrypt_tool.audit.states import StateSpace
from encrypt_tool.scramble import block_grid

__all__ = ["audit_arrays", "audit_file", "leak_figures", "run_audit", "side_info"]

PICTURED = 8
SELF = "self-chosen answer"
DEFAULT = AuditConfig()


def side_info(augment: dict | None) -> SideInfo:
    """The padding the attacker reads from a split's public ``augment`` attribute."""
    if not augment or not augment.get("crop", True):
        return SideInfo(pad=0)
    return SideInfo(pad=int(augment.get("pad", 4)), pad_mode=str(augment.get("pad_mode", "zero")))


def audit_arrays(
    plain: np.ndarray,
    enc: np.ndarray,
    block: tuple[int, int],
    side: SideInfo,
    defences: dict | None = None,
    cfg: AuditConfig = DEFAULT,
    index: np.ndarray | None = None,
    models: dict | None = None,
    progress=None,
) -> tuple[dict, list[np.ndarray]]:
    """Attack copy 0 of enc (M, N, H, W, C) with ``cfg``'s attacks and score every answer
    against plain (M, H, W, C).

    ``defences``: the file's public ``defences`` attribute (the attacks that know them run).
    ``index`` names the images in the per-image rows (default 0..M-1). ``models``: the learned
    attacks' models (or why there is none). ``progress``: an
    :class:`~encrypt_tool.audit.progress.AuditProgress` (or None).
    Returns the scores and the images to picture (plain, encrypted, best attack output,
    self-chosen answer), the first few of each.
    """
    M, N, H, W, C = enc.shape
    if plain.shape != (M, H, W, C):
        raise ValueError(f"plain images {plain.shape} do not match encrypted {enc.shape}")
    index = np.arange(M) if index is None else np.asarray(index)
    grid = block_grid((H, W), block)
    attacks = choose(list(cfg.attacks) if cfg.attacks is not None else None)
    bat = run_battery(enc, block, side, defences, attacks, cfg.beam, cfg.costs, models,
                      progress, cfg.jobs)
    outs = bat.images()
    if not outs:
        why = "; ".join(f"{n}: {w}" for n, w in bat.not_run.items()) or "none applies"
        raise ValueError(f"no chosen attack could run on this file ({why})")
    space = StateSpace.of(defences)
    view = space if space.size > 1 else None  # blocks placed as stored are states too
    t0 = time.perf_counter()
    rows = {name: per_image(out, plain, block, view) for name, out in outs.items()}
    scores = {name: summarize(outs[name], plain, rows[name]) for name in outs}
    stack = np.stack(list(rows.values()), axis=1)  # (M, A, 5)
    names = list(rows)
    pick = bat.pick
    best_per_image = np.lexsort((stack[:, :, 0], stack[:, :, 1], stack[:, :, 2]))[:, -1]
    union_out = np.stack([outs[names[a]][i] for i, a in enumerate(best_per_image)])
    self_out = bat.chosen(outs)
    union_rows = stack.max(axis=1)  # any attack: perfect if one is, best of each other score
    best = max(scores, key=lambda k: (scores[k]["perfect"], scores[k]["neighbour"]))
    bits = key_space_bits(grid) + grid[0] * grid[1] * math.log2(space.size)
    union = summarize(union_out, plain, union_rows)
    summary = {
        "key_space": {"blocks": grid[0] * grid[1], "bits_per_copy": bits,
                      "bits_per_image": bits * N},
        "encrypted": summarize(enc[:, 0], plain, per_image(enc[:, 0], plain, block)),
        "attacks": scores,
        "best_attack": best,
        "union": union,
        "self_chosen": summarize(self_out, plain, stack[np.arange(M), pick]),
        "verdict": verdict(union),
        "defences": dict(defences or {}),
        "ran": {name: {"seconds": round(bat.seconds.get(name, 0.0), 2), "answers": labels}
                for name, labels in bat.by_attack.items()},
        "not_run": [f"{name}: {why}" for name, why in bat.not_run.items()],
        "not_applicable": list(bat.not_applicable),
        "scoring_seconds": round(time.perf_counter() - t0, 2),
        "per_image": [
            {"index": int(index[i]), "copy": 0,
             "attacks": {n: image_row(r) for n, r in zip(names, stack[i], strict=True)},
             "union": image_row(union_rows[i]), "self_chosen": names[pick[i]]}
            for i in range(M)
        ],
    }
    k = min(PICTURED, M)
    return summary, [plain[:k], enc[:k, 0], outs[best][:k], self_out[:k]]


def _models(ds, key: bytes, cfg: AuditConfig, index: np.ndarray, augment: dict | None,
            bar: AuditProgress) -> tuple[dict, dict]:
    """The learned attacks' models for file ``ds``: cached, or trained on ``cfg.train`` or on
    the owner's images that are not audited."""
    info = ds.info
    names = [a.name for a in choose(list(cfg.attacks) if cfg.attacks is not None else None)]
    grid = block_grid(info.image_shape[:2], info.block_size)

    def images() -> np.ndarray:
        if cfg.train is not None:
            return folder_images(cfg.train, info, augment)
        return owner_images(ds, key, cfg.split, index, grid)

    cache = Path(cfg.models) if cfg.models is not None else None
    models, figures = learned_models(names, tuple(info.block_size), int(info.image_shape[2]),
                                     dict(info.defences or {}), images, cache, cfg.retrain,
                                     bar.note, cfg.attack_steps)
    models["threads"] = max(1, (os.cpu_count() or 1) // cfg.jobs)
    return models, figures


def audit_file(path: str | os.PathLike, key: bytes, cfg: AuditConfig = DEFAULT
               ) -> tuple[dict, list[np.ndarray]]:
    """Attack copy 0 of the images ``cfg`` selects and score every attack with the key.

    Returns the summary (as in audit.json) and the images to picture. The learned attacks
    train first (on ``cfg.train``, or on the owner's images that are not audited), unless
    ``cfg.models`` caches their models.
    """
    from bsformat.reader import open_dataset
    from encrypt_tool.decrypt import decrypt_images

    t0 = time.perf_counter()
    with open_dataset(path) as ds:
        info = ds.info
        sp = ds.split(cfg.split)
        if not info.scrambled:
            raise ValueError(f"{path} is not scrambled: there is nothing to attack")
        stratified = cfg.start is None and cfg.indices is None
        labels = ds.labels(cfg.split) if stratified else None
        index, selection = select(sp.n_images, cfg.samples, cfg.start, cfg.indices, labels)
        plain, _ = decrypt_images(ds, key, cfg.split, 0, index)  # (m, H, W, C)
        enc = ds.read(cfg.split, index, copy=None).images  # (m, N, H, W, C), only these images
        bar = AuditProgress(len(index), enabled=cfg.progress)
        try:
            t1 = time.perf_counter()
            models, figures = _models(ds, key, cfg, index, sp.augment, bar)
            training = time.perf_counter() - t1
            block = tuple(info.block_size)
            defences = dict(info.defences or {})
            summary, images = audit_arrays(kept_pixels(plain, defences), enc, block,
                                           side_info(sp.augment), defences, cfg, index, models,
                                           bar)
        finally:
            bar.close()
    summary = {
        "file": os.path.basename(str(path)),
        "dataset_id": info.dataset_id,
        "key_fingerprint": info.key_fingerprint,
        "samples": len(index),
        "selection": selection,
        "settings": {
            "split": cfg.split,
            "block_size": list(block),
            "grid": list(block_grid(info.image_shape[:2], block)),
            "image_shape": list(info.image_shape),
            "n_copies": sp.n_copies,
            "augment": sp.augment,
        },
        **summary,
        "learned": {**figures, "training_seconds": round(training, 1)},
        "seconds": time.perf_counter() - t0,
    }
    return summary, images


def leak_figures(path: str | os.PathLike, key: bytes, cfg: AuditConfig = DEFAULT
                 ) -> dict:
    """Summary figures of an audit, no report written.

    Returns ``{"samples": m, "best": {...}, "union": {...}, "self_chosen": {...}}``, each
    figure a dict with ``perfect`` (share of images reassembled exactly), ``neighbour`` (share of
    true neighbour pairs recovered), ``direct`` (share of blocks in place), ``largest_segment``
    and ``in_segments`` (mean recognisability scores) and ``recognisable`` (share of images);
    ``best`` also names its ``attack``.
    """
    s, _ = audit_file(path, key, cfg)
    keep = ("perfect", "neighbour", "direct", "largest_segment", "in_segments", "recognisable")
    best = s["attacks"][s["best_attack"]]
    return {
        "samples": s["samples"],
        "best": {"attack": s["best_attack"], **{k: best[k] for k in keep}},
        "union": {k: s["union"][k] for k in keep},
        "self_chosen": {k: s["self_chosen"][k] for k in keep},
    }


def run_audit(path: str | os.PathLike, key: bytes, out_dir: str | os.PathLike,
              cfg: AuditConfig = DEFAULT) -> dict:
    """Audit the images ``cfg`` selects; write audit.md, audit.json, audit.png to ``out_dir``
    (the learned attacks' models are cached in ``out_dir/models`` unless ``cfg.models`` says
    otherwise).

    The key only decrypts the images to score the attacks; no key material, permutation or
    plain image other than the picture's is written. The attacks are deterministic.
    """
    out = Path(out_dir)
    created = not out.exists()
    if cfg.models is None:
        cfg = replace(cfg, models=str(out / "models"))
    try:
        summary, images = audit_file(path, key, cfg)
        captions = ["plain", "encrypted", f"best: {summary['best_attack']}", SELF]
        summary["outputs"] = write_report(summary, images, out, captions)
    except BaseException:
        if created:  # nothing left behind: not the folder, not a model cached in it
            shutil.rmtree(out, ignore_errors=True)
        raise
    return summary
