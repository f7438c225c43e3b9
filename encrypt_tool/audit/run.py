"""Audit an encrypted file: attack its images without the key, score with the key, report."""

from __future__ import annotations

import os
import time

import numpy as np

from encrypt_tool.audit.attack import SideInfo, attack
from encrypt_tool.audit.metrics import (
    direct_comparison,
    key_space_bits,
    neighbour_comparison,
    perfect,
    psnr,
    ssim,
)
from encrypt_tool.audit.report import write_report
from encrypt_tool.scramble import block_grid

__all__ = ["audit_arrays", "run_audit", "side_info"]

PICTURED = 8


def side_info(augment: dict | None) -> SideInfo:
    """The padding the attacker reads from a split's public ``augment`` attribute."""
    if not augment or not augment.get("crop", True):
        return SideInfo(pad=0)
    return SideInfo(pad=int(augment.get("pad", 4)), pad_mode=str(augment.get("pad_mode", "zero")))


def _scores(out: np.ndarray, plain: np.ndarray, block: tuple[int, int]) -> dict:
    exact = perfect(out, plain)
    p = psnr(out, plain)
    finite = p[np.isfinite(p)]
    return {
        "direct": float(direct_comparison(out, plain, block).mean()),
        "neighbour": float(neighbour_comparison(out, plain, block).mean()),
        "perfect": float(exact.mean()),
        "ssim": float(ssim(out, plain).mean()),
        "psnr": float(finite.mean()) if len(finite) else None,
    }


def _verdict(best: dict) -> str:
    if best["perfect"] >= 0.5:
        return (
            f"LEAKS. Without the key, {100 * best['perfect']:.0f}% of the images were "
            "reassembled exactly. These settings do not hide the images' content."
        )
    if best["neighbour"] >= 0.5:
        return (
            f"LEAKS PARTLY. {100 * best['neighbour']:.0f}% of true neighbouring blocks were "
            "recovered: large parts of the images can be seen."
        )
    return (
        "Resisted these attacks on this sample. That is no proof of security: stronger "
        "attacks exist, and the encrypted images still show each block's content."
    )


def audit_arrays(
    plain: np.ndarray, enc: np.ndarray, block: tuple[int, int], side: SideInfo, beam: int = 64
) -> tuple[dict, list[np.ndarray]]:
    """Attack copy 0 of enc (M, N, H, W, C) and score it against plain (M, H, W, C).

    Returns the scores and the images to picture (plain, encrypted, best attack output).
    """
    M, N, H, W, C = enc.shape
    if plain.shape != (M, H, W, C):
        raise ValueError(f"plain images {plain.shape} do not match encrypted {enc.shape}")
    grid = block_grid((H, W), block)
    attacks = {"edges only": attack(enc[:, :1], block, None, beam=beam)}
    label = "edges + padding" + (f" + {N - 1} other copies" if N > 1 else "")
    attacks[label] = attack(enc, block, side, beam=beam)
    scores = {name: _scores(out, plain, block) for name, out in attacks.items()}
    best = max(scores, key=lambda k: (scores[k]["perfect"], scores[k]["neighbour"]))
    bits = key_space_bits(grid)
    summary = {
        "key_space": {
            "blocks": grid[0] * grid[1],
            "bits_per_copy": bits,
            "bits_per_image": bits * N,
        },
        "encrypted": _scores(enc[:, 0], plain, block),
        "attacks": scores,
        "best_attack": best,
        "verdict": _verdict(scores[best]),
    }
    k = min(PICTURED, M)
    return summary, [plain[:k], enc[:k, 0], attacks[best][:k]]


def _read(f, split: str, samples: int) -> np.ndarray:
    """The first ``samples`` encrypted images of a split with all copies: (M, N, H, W, C)."""
    out, left = [], samples
    for name in sorted(k for k in f[split].keys() if k.startswith("shard_")):
        if left <= 0:
            break
        x = f[split][name]["images"][:left]
        out.append(x)
        left -= len(x)
    return np.concatenate(out)


def run_audit(
    path: str | os.PathLike,
    key: bytes,
    samples: int,
    out_dir: str | os.PathLike,
    split: str = "test",
) -> dict:
    """Audit ``samples`` images of ``split``; write audit.md, audit.json, audit.png to out_dir.

    The key only decrypts the images to score the attacks; no key material, permutation or
    plain image other than the picture's is written. The attacks are deterministic.
    """
    from encrypt_tool.decrypt import decrypt_images
    from encrypt_tool.format import FormatError, open_encrypted, read_info

    if samples < 1:
        raise ValueError(f"samples {samples} is not valid; it must be >= 1")
    t0 = time.perf_counter()
    with open_encrypted(path) as f:
        info = read_info(f)
        if split not in info.splits:
            raise FormatError(f"split {split!r} is not in {path}; it has {sorted(info.splits)}")
        if not info.scrambled:
            raise ValueError(f"{path} is not scrambled: there is nothing to attack")
        sp = info.splits[split]
        m = min(samples, sp.n_images)
        plain, _ = decrypt_images(f, key, split, 0, np.arange(m))  # (m, H, W, C)
        enc = _read(f, split, m)  # (m, N, H, W, C)
    block = tuple(info.block_size)
    summary, images = audit_arrays(plain, enc, block, side_info(sp.augment))
    summary = {
        "file": os.path.basename(str(path)),
        "dataset_id": info.dataset_id,
        "key_fingerprint": info.key_fingerprint,
        "samples": int(m),
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
    summary["outputs"] = write_report(summary, images, out_dir)
    return summary
