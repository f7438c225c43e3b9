"""The copies a public jigsaw solver attacks, with the truth its answers are scored against.

``setting_copies`` encrypts photos with ``bs-encrypt dataset``'s pipeline as a setting says;
``paper_copies`` encrypts them in memory with the paper preset at their size (no key);
``save_copies`` and ``load_copies`` move either through an .npz outside the repository.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from encrypt_tool.setting import Setting

__all__ = ["KEYS", "load_copies", "paper_copies", "save_copies", "setting_copies"]

KEYS = ("plain", "enc", "perm", "block", "defences", "pad", "pad_mode", "names")


def setting_copies(x: np.ndarray, names: list[str], setting: Setting, key: bytes) -> dict:
    """Photos x (M, H, W, 3) uint8 encrypted as ``setting`` says, N = 4.

    Returns plain (M, H', W', C) (the augmented copy 0 cut down to the kept blocks, plain
    order), enc (M, N, H', W', C) as stored, perm (M, n) (stored piece k is plain piece
    perm[m, k]), block (2,) the kept block, defences (the file's JSON), pad and pad_mode (the
    public crop padding).
    """
    from bsformat.reader import open_dataset
    from encrypt_tool.audit.pieces import kept_pixels
    from encrypt_tool.decrypt import decrypt_images
    from experiments.encrypt import encrypt
    from experiments.photos import write_folder

    with tempfile.TemporaryDirectory() as tmp:
        path = encrypt(write_folder(x, names, Path(tmp) / "photos"), key, setting,
                       Path(tmp) / "enc.h5")
        with open_dataset(path) as ds:
            info, aug = ds.info, ds.split("train").augment or {}
            enc = ds.read("train", None, copy=None).images  # (M, N, H', W', C)
            plain, perm = decrypt_images(ds, key, "train", 0)  # source size, (M, n)
    defences = dict(info.defences or {})
    crop = aug.get("crop", True)
    return {"plain": kept_pixels(plain, defences), "enc": enc,
            "perm": np.asarray(perm, np.int64), "block": tuple(int(b) for b in info.block_size),
            "defences": json.dumps(defences), "pad": int(aug.get("pad", 4)) if crop else 0,
            "pad_mode": str(aug.get("pad_mode", "zero"))}


def save_copies(path: str | Path, c: dict) -> None:
    """Write copies (as ``setting_copies`` returns them, with ``names``: the photos') to an
    .npz."""
    np.savez(path, **{k: np.asarray(c[k]) for k in KEYS})


def load_copies(path: str | Path) -> dict:
    """Copies written by ``save_copies``; ValueError naming a missing array."""
    with np.load(path) as z:
        missing = [k for k in KEYS if k not in z]
        if missing:
            raise ValueError(f"{path} lacks {', '.join(missing)}; write it with --save-copies")
        c = {k: z[k] for k in KEYS}
    c["defences"], c["pad"] = str(c["defences"]), int(c["pad"])
    c["pad_mode"], c["block"] = str(c["pad_mode"]), tuple(int(b) for b in c["block"])
    c["names"] = [str(n) for n in c["names"]]
    return c


def paper_copies(x: np.ndarray, names: list[str]) -> dict:
    """Photos x (M, 224, 224, 3) uint8 encrypted in memory as the paper preset does at that
    size (16x16 blocks, crop padding 28 px, flip, GridMask d 98-224, N = 4, seed 0), as
    ``setting_copies`` returns copies (with ``names``)."""
    from encrypt_tool.audit.simulate import Settings, simulate

    plain, enc, perm = simulate(x, Settings(block=16, pad=28, gm_d_range=(98, 224)), seed=0)
    return {"plain": plain[:, 0], "enc": enc, "perm": perm[:, 0], "block": (16, 16),
            "defences": "{}", "pad": 28, "pad_mode": "zero", "names": list(names)}
