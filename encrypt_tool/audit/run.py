"""Audit an encrypted file: attack its images without the key, score with the key, report."""

from __future__ import annotations

import math
import os
import time

import numpy as np

from encrypt_tool.audit.attack import COSTS, SideInfo
from encrypt_tool.audit.attacks import Attack
from encrypt_tool.audit.battery import run_battery
from encrypt_tool.audit.metrics import (
    direct_comparison,
    key_space_bits,
    neighbour_comparison,
    pair_codes,
    perfect,
    psnr,
    recognisable,
    segment_scores,
    ssim,
)
from encrypt_tool.audit.pieces import assemble, to_pieces
from encrypt_tool.audit.progress import AuditProgress
from encrypt_tool.audit.report import write_report
from encrypt_tool.audit.select import select
from encrypt_tool.audit.states import StateSpace, global_variants
from encrypt_tool.scramble import block_grid

__all__ = ["audit_arrays", "audit_file", "leak_figures", "run_audit", "side_info"]

PICTURED = 8
UNION = "union of all attacks"
SELF = "self-chosen answer"


def side_info(augment: dict | None) -> SideInfo:
    """The padding the attacker reads from a split's public ``augment`` attribute."""
    if not augment or not augment.get("crop", True):
        return SideInfo(pad=0)
    return SideInfo(pad=int(augment.get("pad", 4)), pad_mode=str(augment.get("pad_mode", "zero")))


ROW = ("direct", "neighbour", "perfect", "largest_segment", "in_segments")
LEAKS = 0.1  # share of images reassembled or recognisable that makes the verdict "LEAKS"
PARTLY = 0.25  # share of true neighbour pairs that makes it "LEAKS PARTLY"
PARTLY_SEGMENTS = 0.1  # or share of blocks in correct segments of 4+ blocks


def _per_image(out: np.ndarray, plain: np.ndarray, block: tuple[int, int],
               space: StateSpace | None = None) -> np.ndarray:
    """Scores of each image, in the order of ROW: (M, 5) float64. With ``space`` (attacks that
    find the blocks' states only up to one transform of the whole picture), direct and perfect
    take the best transform, and a neighbour pair or a correct segment counts under any one."""
    codes = pair_codes(plain, out, block, space)
    largest, in_segments = segment_scores(out, plain, block, space=space, codes=codes)
    views = list(global_variants(out, space)) if space is not None else [out]
    return np.stack(
        [
            np.max([direct_comparison(v, plain, block) for v in views], axis=0),
            neighbour_comparison(out, plain, block, space, codes),
            np.any([perfect(v, plain) for v in views], axis=0).astype(np.float64),
            largest,
            in_segments,
        ],
        axis=1,
    )


def _scores(out: np.ndarray, plain: np.ndarray, rows: np.ndarray) -> dict:
    p = psnr(out, plain)
    finite = p[np.isfinite(p)]
    return {
        **{k: float(rows[:, i].mean()) for i, k in enumerate(ROW)},
        "recognisable": float(recognisable(rows[:, 3], rows[:, 4]).mean()),
        "ssim": float(ssim(out, plain).mean()),
        "psnr": float(finite.mean()) if len(finite) else None,
    }


def _verdict(worst: dict) -> str:
    """The verdict from the union's figures; thresholds in docs/AUDIT.md."""
    shown = max(worst["perfect"], worst["recognisable"])
    if shown >= LEAKS:
        return (
            f"LEAKS. Without the key, {100 * worst['recognisable']:.0f}% of the images were "
            f"reassembled well enough to recognise (a correct piece covering a quarter of the "
            f"image, or half of its blocks in correct segments of 4+ blocks) and "
            f"{100 * worst['perfect']:.0f}% exactly, by at least one attack. These settings do "
            "not hide the images' content."
        )
    if worst["neighbour"] >= PARTLY or worst["in_segments"] >= PARTLY_SEGMENTS:
        return (
            f"LEAKS PARTLY. No more than {100 * shown:.0f}% of the images were recognisable, "
            f"but {100 * worst['neighbour']:.0f}% of true neighbouring blocks were recovered "
            f"and {100 * worst['in_segments']:.0f}% of the blocks lie in correct segments of 4+ "
            "blocks (best attack per image): fragments of the images can be seen."
        )
    return (
        "Resisted these attacks on this sample. That is no proof of security: stronger "
        "attacks exist, and the encrypted images still show each block's content."
    )


def kept_plain(plain: np.ndarray, defences: dict, stored: tuple[int, int]) -> np.ndarray:
    """The decrypted images (M, H, W, C) cut down to what the file stores: with a border drop
    of d px, each source block's interior, in plain order: (M, H', W', C)."""
    d = int(defences.get("drop_border", 0))
    if d == 0 or plain.shape[1:3] == tuple(stored):
        return plain
    bh, bw = defences["source_block_size"]
    M, H, W, C = plain.shape
    gy, gx = H // bh, W // bw
    p = to_pieces(plain, (bh, bw))[:, :, d : bh - d, d : bw - d]  # (M, n, kh, kw, C)
    return assemble(np.ascontiguousarray(p), np.tile(np.arange(gy * gx), (M, 1)), (gy, gx))


def _row(r: np.ndarray) -> dict:
    """One image's scores for audit.json."""
    out = {k: round(float(v), 4) for k, v in zip(ROW, r, strict=True)}
    out["perfect"] = bool(r[2])
    out["recognisable"] = bool(recognisable(r[3:4], r[4:5])[0])
    return out


def audit_arrays(
    plain: np.ndarray,
    enc: np.ndarray,
    block: tuple[int, int],
    side: SideInfo,
    beam: int = 64,
    index: np.ndarray | None = None,
    costs: tuple[str, ...] = COSTS,
    progress=None,
    defences: dict | None = None,
    jobs: int = 1,
    attacks: tuple[Attack, ...] | None = None,
    models: dict | None = None,
) -> tuple[dict, list[np.ndarray]]:
    """Attack copy 0 of enc (M, N, H, W, C) with the chosen attacks (default: all) and score
    every answer against plain (M, H, W, C).

    ``index`` names the images in the per-image rows (default 0..M-1). ``progress``: an
    :class:`~encrypt_tool.audit.progress.AuditProgress` (or None). ``defences``: the file's
    public ``defences`` attribute (the attacks that know them run). ``jobs``: worker
    processes for the attacks. ``models``: trained models of the learned attacks.
    Returns the scores and the images to picture (plain, encrypted, best attack output,
    self-chosen answer), the first few of each.
    """
    M, N, H, W, C = enc.shape
    if plain.shape != (M, H, W, C):
        raise ValueError(f"plain images {plain.shape} do not match encrypted {enc.shape}")
    index = np.arange(M) if index is None else np.asarray(index)
    grid = block_grid((H, W), block)
    bat = run_battery(enc, block, side, defences, attacks, beam, costs, models, progress, jobs)
    outs = bat.images()
    space = StateSpace.of(defences)
    view = space if space.size > 1 else None  # blocks placed as stored are states too
    rows = {name: _per_image(out, plain, block, view) for name, out in outs.items()}
    scores = {name: _scores(outs[name], plain, rows[name]) for name in outs}
    stack = np.stack(list(rows.values()), axis=1)  # (M, A, 5)
    names = list(rows)
    m = np.arange(M)
    pick = bat.pick
    best_per_image = np.lexsort((stack[:, :, 0], stack[:, :, 1], stack[:, :, 2]))[:, -1]
    union_out = np.stack([outs[names[a]][i] for i, a in enumerate(best_per_image)])
    self_out = bat.chosen(outs)
    union_rows = stack.max(axis=1)  # any attack: perfect if one is, best of each other score
    best = max(scores, key=lambda k: (scores[k]["perfect"], scores[k]["neighbour"]))
    bits = key_space_bits(grid) + grid[0] * grid[1] * math.log2(space.size)
    summary = {
        "key_space": {
            "blocks": grid[0] * grid[1],
            "bits_per_copy": bits,
            "bits_per_image": bits * N,
        },
        "encrypted": _scores(enc[:, 0], plain, _per_image(enc[:, 0], plain, block)),
        "attacks": scores,
        "best_attack": best,
        "union": _scores(union_out, plain, union_rows),
        "self_chosen": _scores(self_out, plain, stack[m, pick]),
        "verdict": _verdict(_scores(union_out, plain, union_rows)),
        "defences": dict(defences or {}),
        "ran": {name: {"seconds": round(bat.seconds.get(name, 0.0), 3), "answers": labels}
                for name, labels in bat.by_attack.items()},
        "not_run": [f"{name}: {why}" for name, why in bat.not_run.items()],
        "not_applicable": list(bat.not_applicable),
        "per_image": [
            {
                "index": int(index[i]),
                "copy": 0,
                "attacks": {n: _row(r) for n, r in zip(names, stack[i], strict=True)},
                "union": _row(union_rows[i]),
                "self_chosen": names[pick[i]],
            }
            for i in range(M)
        ],
    }
    k = min(PICTURED, M)
    images = [plain[:k], enc[:k, 0], outs[best][:k], self_out[:k]]
    return summary, images


def audit_file(
    path: str | os.PathLike,
    key: bytes,
    split: str = "test",
    samples: int | None = 200,
    start: int | None = 0,
    indices: np.ndarray | list[int] | None = None,
    beam: int = 64,
    costs: tuple[str, ...] = COSTS,
    progress: bool = False,
    jobs: int = 1,
) -> tuple[dict, list[np.ndarray]]:
    """Attack copy 0 of the selected images of ``split`` and score every attack with the key.

    Selection: ``indices`` (positions in the split), or ``samples`` images from ``start``
    (None: to the end), or with ``start=None`` a seeded sample of ``samples`` stratified by
    label (``select.select``). Returns the summary (as in audit.json) and the images to picture.
    ``progress``: report on stderr (a bar on a terminal, else a line per chunk of images).
    ``jobs``: worker processes for the attacks.
    """
    from bsformat.reader import open_dataset
    from encrypt_tool.decrypt import decrypt_images

    t0 = time.perf_counter()
    with open_dataset(path) as ds:
        info = ds.info
        sp = ds.split(split)
        if not info.scrambled:
            raise ValueError(f"{path} is not scrambled: there is nothing to attack")
        labels = ds.labels(split) if start is None and indices is None else None
        index, selection = select(sp.n_images, samples, start, indices, labels)
        plain, _ = decrypt_images(ds, key, split, 0, index)  # (m, H, W, C)
        enc = ds.read(split, index, copy=None).images  # (m, N, H, W, C), only these images
    block = tuple(info.block_size)
    defences = dict(info.defences or {})
    plain = kept_plain(plain, defences, enc.shape[2:4])
    bar = AuditProgress(len(index), enabled=progress)
    try:
        summary, images = audit_arrays(plain, enc, block, side_info(sp.augment), beam, index,
                                       costs, bar, defences, jobs)
    finally:
        bar.close()
    summary = {
        "file": os.path.basename(str(path)),
        "dataset_id": info.dataset_id,
        "key_fingerprint": info.key_fingerprint,
        "samples": len(index),
        "selection": selection,
        "settings": {
            "split": split,
            "block_size": list(block),
            "grid": list(block_grid(info.image_shape[:2], block)),
            "image_shape": list(info.image_shape),
            "n_copies": sp.n_copies,
            "augment": sp.augment,
        },
        **summary,
        "seconds": time.perf_counter() - t0,
    }
    return summary, images


def leak_figures(
    path: str | os.PathLike,
    key: bytes,
    split: str = "train",
    samples: int | None = 200,
    start: int = 0,
    indices: np.ndarray | list[int] | None = None,
) -> dict:
    """Summary figures of an audit, no report written.

    Returns ``{"samples": m, "best": {...}, "union": {...}, "self_chosen": {...}}``, each
    figure a dict with ``perfect`` (share of images reassembled exactly), ``neighbour`` (share of
    true neighbour pairs recovered), ``direct`` (share of blocks in place), ``largest_segment``
    and ``in_segments`` (mean recognisability scores) and ``recognisable`` (share of images);
    ``best`` also names its ``attack``.
    """
    s, _ = audit_file(path, key, split, samples, start, indices)
    keep = ("perfect", "neighbour", "direct", "largest_segment", "in_segments", "recognisable")
    best = s["attacks"][s["best_attack"]]
    return {
        "samples": s["samples"],
        "best": {"attack": s["best_attack"], **{k: best[k] for k in keep}},
        "union": {k: s["union"][k] for k in keep},
        "self_chosen": {k: s["self_chosen"][k] for k in keep},
    }


def run_audit(
    path: str | os.PathLike,
    key: bytes,
    samples: int | None,
    out_dir: str | os.PathLike,
    split: str = "test",
    start: int | None = 0,
    indices: np.ndarray | list[int] | None = None,
    progress: bool = False,
    jobs: int = 1,
) -> dict:
    """Audit the selected images of ``split``; write audit.md, audit.json, audit.png to out_dir.

    The key only decrypts the images to score the attacks; no key material, permutation or
    plain image other than the picture's is written. The attacks are deterministic.
    """
    summary, images = audit_file(path, key, split, samples, start, indices, progress=progress,
                                 jobs=jobs)
    captions = ["plain", "encrypted", f"best: {summary['best_attack']}", SELF]
    summary["outputs"] = write_report(summary, images, out_dir, captions)
    return summary
