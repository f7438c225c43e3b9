"""Copies for a public jigsaw solver, and its answers scored against the truth.

A public solver (one that runs outside the project) gets copy 0 of each image as stored:
pieces of the kept block size, still turned, inverted or recoloured when the setting's
within-block transforms are on. It answers with a piece order per image (position ``q`` holds
stored piece ``order[m, q]``, row-major, as ``audit.pieces.assemble`` takes it).
``score_orders`` scores such answers two ways:

- as the audit scores the attacks that try the states: the assembled stored pieces against
  the plain image by content, a pair counting under any one transform of the whole picture
  (pairs of two one-colour blocks left out, as everywhere in the audit);
- by relation: the plain piece of every stored piece put where the solver put the stored one
  (the transforms undone by the key), so a true neighbour pair counts whenever the two pieces
  sit side by side in the right relation (left-right or above-below), whatever their states.
  Neither contains the other: two pieces in one state placed as that state turns them count
  only in the first; two pieces in their plain relation but different states only in the
  second. Without transforms the two are equal.

``setting_copies`` encrypts photos with ``bs-encrypt dataset``'s pipeline as a setting says and
keeps what the scores need; ``save_copies`` and ``load_copies`` move it through an .npz outside
the repository.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from encrypt_tool.audit.metrics import neighbour_comparison, perfect
from encrypt_tool.audit.pieces import assemble, to_pieces
from encrypt_tool.audit.states import StateSpace, global_variants
from encrypt_tool.setting import Setting

__all__ = ["load_copies", "relation_union", "save_copies", "score_orders", "setting_copies"]

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


def score_orders(orders: np.ndarray, c: dict) -> dict[str, np.ndarray]:
    """A public solver's piece orders (M, n) on copy 0, scored per image: ``neighbour`` and
    ``perfect`` as the audit scores its attacks, ``relation`` (neighbours with the transforms
    undone) and ``relation_perfect``, each (M,)."""
    plain, enc0, block = c["plain"], c["enc"][:, 0], c["block"]
    grid = (plain.shape[1] // block[0], plain.shape[2] // block[1])
    n = grid[0] * grid[1]
    orders = np.asarray(orders)
    if orders.shape != (len(plain), n) or not (np.sort(orders, axis=1) == np.arange(n)).all():
        raise ValueError(f"orders of shape {orders.shape} are not {len(plain)} permutations of "
                         f"0..{n - 1}")
    space = StateSpace.of(json.loads(c["defences"]))
    out = assemble(to_pieces(enc0, block), orders, grid)  # (M, H', W', C) as stored
    nb = neighbour_comparison(out, plain, block, space if space.size > 1 else None)
    ok = np.any([perfect(v, plain) for v in global_variants(out, space)], axis=0)
    truth = np.take_along_axis(to_pieces(plain, block), c["perm"][:, :, None, None, None], 1)
    undone = assemble(truth, orders, grid)  # the plain piece of each stored piece, as placed
    return {"neighbour": nb, "perfect": ok,
            "relation": neighbour_comparison(undone, plain, block),
            "relation_perfect": perfect(undone, plain)}


def relation_union(c: dict, jobs: int = 1) -> np.ndarray:
    """Per image (M,), the most true neighbour pairs by relation (transforms undone) among the
    audit's attacks that place the pieces as stored, scored as ``score_orders`` scores a
    public solver's ``relation``. The attacks that try the states (extended and cluster
    solvers) answer with images, not orders, and are left out; the audit scores them itself."""
    from encrypt_tool.audit.attack import SideInfo
    from encrypt_tool.audit.battery import run_battery

    side = SideInfo(pad=c["pad"], pad_mode=c["pad_mode"])
    bat = run_battery(c["enc"], tuple(c["block"]), side, json.loads(c["defences"]), jobs=jobs)
    orders = [a.orders for a in bat.answers.values() if a.orders is not None]
    return np.max([score_orders(o, c)["relation"] for o in orders], axis=0)
