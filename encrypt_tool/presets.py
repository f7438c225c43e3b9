"""Named settings for ``bs-encrypt dataset --preset``; options given explicitly win.

``paper``: Chuman & Kiya (2021): 8x8 blocks, zero-padded crop, flip, GridMask, N = 4.
``hardened``: what leaked least in our audit before the defences (docs/AUDIT.md): 4x4 blocks,
reflect padding, GridMask, N = 1. It still leaks about half of the true neighbour pairs.
``private``: the best point of the privacy-accuracy frontier (docs/FRONTIER.md): the paper's
8x8 blocks and augmentation, N = 4, with every defence: a 2-px border dropped from each block
(4x4 kept of 8x8; 12x12 of 16x16 with ``--block-size 16``), and each block keyed-rotated and
mirrored, inverted (negative-positive) and its colour channels reordered. Train it with a
block-set model (``bs-train --model blockset``: the invariances follow from the file). What it
still leaks is measured, not assumed: see docs/FRONTIER.md.
"""

from __future__ import annotations

__all__ = ["PRESETS"]

PRESETS: dict[str, dict[str, object]] = {
    "paper": {"block_size": "8", "pad_mode": "zero", "no_gridmask": False, "n_keys": 4},
    "hardened": {"block_size": "4", "pad_mode": "reflect", "no_gridmask": False, "n_keys": 1},
    "private": {"block_size": "8", "pad_mode": "zero", "no_gridmask": False, "n_keys": 4,
                "drop_border": 2, "rotate": True, "negpos": True, "channel_perm": True},
}
