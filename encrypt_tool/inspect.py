"""``bs-encrypt inspect``: the public metadata and a sample picture."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bsformat.format import FileInfo, FormatError
from bsformat.reader import Dataset
from encrypt_tool.augment import describe_augment
from encrypt_tool.defences import DefenceConfig
from encrypt_tool.figures import image_grid

__all__ = ["describe", "sample_grid"]


def describe(info: FileInfo) -> str:
    """Human-readable summary of a file's public metadata."""
    bh, bw = info.block_size
    h, w, c = info.image_shape
    lines = [
        f"file            {info.path}",
        f"format          bs-encrypt v{info.format_version} (written by {info.tool_version})",
        f"source          {info.source}",
        f"images          {h}x{w}x{c} uint8, " + (
            f"blocks {bh}x{bw} ({(h // bh) * (w // bw)} per image)" if info.scrambled
            else "not cut into blocks"),
        f"scrambled       {'yes' if info.scrambled else 'no (plain baseline)'}",
        f"defences        {_defences(info)}",
        f"key fingerprint {info.key_fingerprint or '-'}",
        f"dataset id      {info.dataset_id}",
        f"classes         {info.n_classes}: {', '.join(info.class_names)}",
    ]
    for sp in info.splits.values():
        lines.append(
            f"split {sp.name:<9} {_count(sp.n_images, 'image')} x "
            f"{_count(sp.n_copies, 'copy', 'copies')} in {_count(len(sp.shards), 'shard')} of "
            f"up to {sp.shard_size:,} images; augment {describe_augment(sp.augment)}"
        )
    return "\n".join(lines)


def _defences(info: FileInfo) -> str:
    """The defences line: ``none``, or what is on and the source size."""
    try:
        d = DefenceConfig.from_dict(info.defences)
    except ValueError as e:
        return f"not understood ({e})"
    if not d.active:
        return "none"
    shape = "x".join(str(v) for v in d.source_image_shape or ())
    return f"{d.describe()}; source images {shape}" if shape else d.describe()


def _count(n: int, one: str, many: str | None = None) -> str:
    """``1 copy``, ``4 copies``, ``10,000 images``."""
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def sample_grid(
    ds: Dataset,
    out: str | os.PathLike,
    key: bytes | None = None,
    n: int = 8,
    split: str | None = None,
) -> Path | None:
    """Save encrypted samples (top row) and, with the key, their decryptions (bottom row);
    None (with a warning) where matplotlib is missing."""
    from encrypt_tool.decrypt import decrypt_images

    info = ds.info
    if not info.splits:
        raise FormatError(f"{ds.path} holds no splits: there are no images to show")
    split = split or ("test" if "test" in info.splits else next(iter(info.splits)))
    index = np.arange(min(n, ds.split(split).n_images))
    if len(index) == 0:
        raise ValueError(f"split {split!r} of {ds.path} is empty: there are no images to show")
    enc = ds.read(split, index, copy=0).images  # (n, H, W, C) uint8, only these images
    rows = [enc]
    labels = [f"encrypted ({split} split, copy 0, images 0-{len(index) - 1})"]
    if key is not None:
        rows.append(decrypt_images(ds, key, split, 0, index)[0])
        labels.append("decrypted with the key")
    scale = max(1, min(4, 128 // max(enc.shape[1:3])))  # large images stay 1:1
    return image_grid(rows, Path(out), row_labels=labels, scale=scale)
