"""Encrypt a source as a setting says, with ``bs-encrypt dataset``'s pipeline, in one call."""

from __future__ import annotations

from pathlib import Path

from encrypt_tool.pipeline import build_dataset
from encrypt_tool.setting import Setting
from encrypt_tool.sources import open_source

__all__ = ["encrypt", "write_npz"]


def encrypt(source: str, key: bytes, setting: Setting, out: Path, **run) -> Path:
    """``source`` encrypted as ``setting`` says into the file ``out`` (replaced if present),
    seed 0, one process unless ``run`` says otherwise (the other fields of
    :class:`~encrypt_tool.pipeline.DatasetConfig`: jobs, limit, batch_size, ...). A plain
    setting (``scramble=False``) needs no key. Returns the file's path."""
    run = {"seed": 0, "jobs": 1, "overwrite": True, **run}
    cfg = setting.dataset_config(str(out), source, **run)
    return build_dataset(cfg, key if setting.scramble else b"",
                         lambda *a, **k: open_source(source))


def write_npz(images, labels, names, path: Path) -> str:
    """Images (M, H, W, C) uint8 as an npz source in which they are the training split (and the
    test split: the file needs one; it is not used). Returns the source spec."""
    import numpy as np

    np.savez(path, images=images, labels=labels, class_names=np.asarray(names))
    return f"npz:{path},{path}"
