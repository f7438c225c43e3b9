"""``bs-encrypt inspect``: the public metadata and a sample picture."""

from __future__ import annotations

import os
from pathlib import Path

from bsformat.format import FileInfo, FormatError
from bsformat.reader import Dataset
from bsformat.subset import choose_subset
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
        f"stored as       {_store(info.attrs.get('store'))}",
    ]
    for sp in info.splits.values():
        lines.append(
            f"split {sp.name:<9} {_count(sp.n_images, 'image')} x "
            f"{_count(sp.n_copies, 'copy', 'copies')} in {_count(len(sp.shards), 'shard')} of "
            f"up to {sp.shard_size:,} images; augment {describe_augment(sp.augment)}"
        )
    return "\n".join(lines)


def _store(raw) -> str:
    """``raw pixels`` or ``JPEG q90, 4:4:4 chroma (lossy)`` from the ``store`` attribute."""
    import json

    spec = json.loads(raw) if raw else {"kind": "raw"}
    if spec.get("kind") != "jpeg":
        return "raw pixels"
    sub = str(spec.get("subsampling", "444"))
    return f"JPEG q{spec.get('quality')}, {sub[0]}:{sub[1]}:{sub[2]} chroma (lossy)"


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
) -> tuple[Path | None, str]:
    """Save encrypted samples (top row) and, with the key, their decryptions (bottom row);
    returns the path (None, with a warning, where matplotlib is missing) and which images were
    shown: ``n`` of the split stratified by label (seed 0; seeded random without labels), so a
    file stored class by class shows them all."""
    from encrypt_tool.decrypt import decrypt_images

    info = ds.info
    if not info.splits:
        raise FormatError(f"{ds.path} holds no splits: there are no images to show")
    split = split or ("test" if "test" in info.splits else next(iter(info.splits)))
    total = ds.split(split).n_images
    if total == 0:
        raise ValueError(f"split {split!r} of {ds.path} is empty: there are no images to show")
    chosen = choose_subset(total, min(n, total), 0, ds.labels(split))
    index = chosen.indices  # (n,) int64, increasing
    enc = ds.read(split, index, copy=0).images  # (n, H, W, C) uint8, only these images
    rows = [enc]
    labels = [f"encrypted ({split} split, copy 0, {chosen.describe()})"]
    if key is not None:
        rows.append(decrypt_images(ds, key, split, 0, index)[0])
        labels.append("decrypted with the key")
    scale = max(1, min(4, 128 // max(enc.shape[1:3])))  # large images stay 1:1
    return (image_grid(rows, Path(out), row_labels=labels, scale=scale),
            f"{split} split, {chosen.describe()}")
