"""Scores of the audit's answers against the true plain images, per image and per attack, and
the verdict on the union."""

from __future__ import annotations

import numpy as np

from encrypt_tool.audit.metrics import (
    direct_comparison,
    neighbour_comparison,
    pair_codes,
    perfect,
    psnr,
    recognisable,
    segment_scores,
    ssim,
)
from encrypt_tool.audit.states import StateSpace, global_variants

__all__ = ["LEAKS", "PARTLY", "PARTLY_SEGMENTS", "ROW", "image_row", "per_image", "summarize",
           "verdict"]

ROW = ("direct", "neighbour", "perfect", "largest_segment", "in_segments")
LEAKS = 0.1  # share of images reassembled or recognisable that makes the verdict "LEAKS"
PARTLY = 0.25  # share of true neighbour pairs that makes it "LEAKS PARTLY"
PARTLY_SEGMENTS = 0.1  # or share of blocks in correct segments of 4+ blocks


CHUNK_BYTES = 2**26  # the whole-picture variants of the images scored at once: ~64 MB


def per_image(out: np.ndarray, plain: np.ndarray, block: tuple[int, int],
              space: StateSpace | None = None) -> np.ndarray:
    """Scores of each image, in the order of ROW: (M, 5) float64. With ``space`` (attacks that
    find the blocks' states only up to one transform of the whole picture), direct and perfect
    take the best transform, and a neighbour pair or a correct segment counts under any one.
    Images are scored a few at a time, so that their variants stay within ``CHUNK_BYTES``."""
    views = space.size if space is not None else 1
    step = max(1, CHUNK_BYTES // max(1, views * plain[0].nbytes))
    return np.concatenate([_per_image(out[i : i + step], plain[i : i + step], block, space)
                           for i in range(0, len(plain), step)] or [np.zeros((0, len(ROW)))])


def _per_image(out: np.ndarray, plain: np.ndarray, block: tuple[int, int],
               space: StateSpace | None) -> np.ndarray:
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


def summarize(out: np.ndarray, plain: np.ndarray, rows: np.ndarray) -> dict:
    """Mean scores of answers ``out`` (M, H, W, C) with their per-image ``rows`` (M, 5)."""
    p = psnr(out, plain)
    finite = p[np.isfinite(p)]
    return {
        **{k: float(rows[:, i].mean()) for i, k in enumerate(ROW)},
        "recognisable": float(recognisable(rows[:, 3], rows[:, 4]).mean()),
        "ssim": float(ssim(out, plain).mean()),
        "psnr": float(finite.mean()) if len(finite) else None,
    }


def verdict(worst: dict) -> str:
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


def image_row(r: np.ndarray) -> dict:
    """One image's scores for audit.json."""
    out = {k: round(float(v), 4) for k, v in zip(ROW, r, strict=True)}
    out["perfect"] = bool(r[2])
    out["recognisable"] = bool(recognisable(r[3:4], r[4:5])[0])
    return out
